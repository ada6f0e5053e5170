// Upstream bytes into the HTTP/2 client session (three requests in flight, one with a body):
// nghttp2's framing and HPACK plus our callbacks, limits and checks must never crash, and every
// response head and trailer the handler sees must be safe to write as HTTP/1.1 (what the upstream
// bridge, src/proxy/http2_upstream.cc, does with them): no response splitting from an upstream.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http2/client_session.h"
#include "http2_field_checks.h"

namespace {

using flexgate::http2::ClientHandler;
using flexgate::http2::FieldList;
using flexgate::http2::ResponseHead;

using flexgate::fuzz::check_fields;

class CheckingHandler final : public ClientHandler {
 public:
  flexgate::http2::ClientSession* session = nullptr;

  void on_response(std::int32_t, ResponseHead head) override {
    if (head.status < 200 || head.status > 999) std::abort();  // 1xx are dropped; three digits
    check_fields(head.fields);
  }
  void on_response_body(std::int32_t stream_id, std::span<const std::uint8_t> data) override {
    session->consume(stream_id, data.size());  // the consumer takes everything: windows reopen
  }
  void on_trailers(std::int32_t, FieldList trailers) override { check_fields(trailers); }
  void on_response_end(std::int32_t) override {}
  void on_stream_closed(std::int32_t, std::uint32_t, bool) override {}
  std::size_t read_request_body(std::int32_t, std::uint8_t* out, std::size_t room, bool& end) override {
    const std::string_view body = "name=value";
    const std::size_t n = std::min(room, body.size() - sent_);
    std::copy_n(body.data() + sent_, n, out);
    sent_ += n;
    end = sent_ == body.size();
    return n;
  }

 private:
  std::size_t sent_ = 0;
};

void drain(flexgate::http2::ClientSession& session) {
  for (auto out = session.output(); !out.empty(); out = session.output()) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckingHandler handler;
  flexgate::http2::ClientLimits limits;
  limits.max_header_list_size = 4096;
  flexgate::http2::ClientSession session(handler, limits);
  handler.session = &session;
  flexgate::http2::OutgoingRequest get{"GET", "http", "upstream.test", "/a", {{"accept", "*/*"}}};
  flexgate::http2::OutgoingRequest post{"POST", "http", "upstream.test", "/b", {{"content-type", "text/plain"}}};
  (void)session.submit(get, false);                          // stream 1
  (void)session.submit(post, true);                          // stream 3
  (void)session.submit(get, false);                          // stream 5
  drain(session);
  if (size == 0) return 0;
  // The first byte says where to split the rest: frames split across reads are covered too.
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = data[0] % (input.size() + 1);
  if (!session.receive(std::span<const char>(input.data(), split))) {
    drain(session);
    (void)session.receive(std::span<const char>(input.data() + split, input.size() - split));
  }
  drain(session);
  return 0;
}
