// Client bytes into the HTTP/2 server session (after a valid preface): nghttp2's framing and
// HPACK plus our callbacks, limits and checks must never crash, and every request the handler
// sees must satisfy what the HTTP/1.1 downgrade relies on.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http2/server_session.h"
#include "http2_field_checks.h"

namespace {

using flexgate::http2::Handler;
using flexgate::http2::Request;

using flexgate::fuzz::check_fields;
using flexgate::fuzz::safe_value;

class CheckingHandler final : public Handler {
 public:
  void on_request(std::int32_t, const Request& request) override {
    // What the HTTP/1.1 request line and fields are built from.
    if (request.path.empty() || request.path.front() != '/' || !safe_value(request.path)) std::abort();
    if (!safe_value(request.method) || !safe_value(request.authority)) std::abort();
    check_fields(request.fields);
  }
  void on_body(std::int32_t, std::span<const std::uint8_t>) override {}
  void on_request_end(std::int32_t) override {}
  void on_stream_closed(std::int32_t, std::uint32_t) override {}
  std::size_t read_response_body(std::int32_t, std::uint8_t*, std::size_t, bool& end) override {
    end = true;
    return 0;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckingHandler handler;
  flexgate::http2::Limits limits;
  limits.max_header_list_size = 4096;
  flexgate::http2::ServerSession session(handler, limits);
  const std::string input = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                            std::string(reinterpret_cast<const char*>(data), size);
  // Fed in two pieces, so frames split across reads are covered too.
  const std::size_t split = size > 0 ? data[0] % (input.size() + 1) : input.size();
  if (!session.receive(std::span<const char>(input.data(), split))) {
    (void)session.receive(std::span<const char>(input.data() + split, input.size() - split));
  }
  for (auto out = session.output(); !out.empty(); out = session.output()) {
  }
  return 0;
}
