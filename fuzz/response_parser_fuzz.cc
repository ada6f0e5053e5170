// libFuzzer target: parse_response_head for every request method class, with the same view,
// framing and prefix checks as the request target.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/parser.h"

namespace {

using namespace flexgate::http;

#define FUZZ_CHECK(cond)  \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

bool inside(std::string_view in, std::string_view v) {
  return v.empty() || (v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size());
}

void check_complete(std::string_view in, Method method, const ParseOutcome& out, const ResponseHead& h) {
  FUZZ_CHECK(out.consumed > 0 && out.consumed <= in.size());
  FUZZ_CHECK(in.substr(0, out.consumed).ends_with("\r\n\r\n"));
  FUZZ_CHECK(h.status >= 100 && h.status <= 599 && h.version_minor <= 1);
  FUZZ_CHECK(inside(in, h.reason) && inside(in, h.connection_tokens));
  for (const HeaderField& f : h.fields) FUZZ_CHECK(inside(in, f.name) && inside(in, f.value));
  const bool no_body = method == Method::kHead || h.status < 200 || h.status == 204 || h.status == 304 ||
                       (method == Method::kConnect && h.status < 300);
  if (no_body) FUZZ_CHECK(h.framing == BodyFraming::kNone);
  if (!no_body) FUZZ_CHECK(h.framing != BodyFraming::kNone);
  if (h.framing == BodyFraming::kUntilClose) FUZZ_CHECK(!h.keep_alive);
  if (h.framing == BodyFraming::kChunked) FUZZ_CHECK(h.version_minor == 1);
  // connection_tokens empty means nothing is nominated: the proxy skips the hop-by-hop lookup then.
  if (h.connection_tokens.empty()) {
    for (const HeaderField& f : h.fields) FUZZ_CHECK(!connection_nominates(h.fields, f.name));
  }
  // A body length only from a lone Content-Length: never with Transfer-Encoding too.
  if (h.framing == BodyFraming::kContentLength) FUZZ_CHECK(h.fields.find(HeaderToken::kTransferEncoding) == nullptr);
  if (h.framing != BodyFraming::kContentLength) FUZZ_CHECK(h.content_length == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr Method kMethods[] = {Method::kGet, Method::kHead, Method::kConnect, Method::kPost};
  const Method method = kMethods[data[0] % 4];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = (size > 1 ? data[1] * 257u + data[size - 1] : 0) % (in.size() + 1);

  static ResponseHead head;
  Limits limits;
  limits.max_head_bytes = 4096;
  const ParseOutcome full = parse_response_head(in, limits, method, head);
  if (full.status == ParseStatus::kComplete) check_complete(in, method, full, head);
  if (full.status == ParseStatus::kError) FUZZ_CHECK(full.error != ParseError::kNone);

  const ParseOutcome part = parse_response_head(in.substr(0, cut), limits, method, head);
  if (full.status == ParseStatus::kComplete) {
    if (cut < full.consumed)
      FUZZ_CHECK(part.status == ParseStatus::kPartial);
    else
      FUZZ_CHECK(part.status == ParseStatus::kComplete && part.consumed == full.consumed);
  } else if (full.status == ParseStatus::kError) {
    FUZZ_CHECK(part.status == ParseStatus::kPartial ||
               (part.status == ParseStatus::kError && part.error == full.error));
  } else {
    FUZZ_CHECK(part.status == ParseStatus::kPartial);
  }
  return 0;
}
