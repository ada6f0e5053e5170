// libFuzzer target: parse_request_head on arbitrary bytes, under default and tiny limits.
// Checks what the fuzzer cannot see by crashing: every view stays inside the input, limits hold,
// framing is coherent, and a prefix of the input never contradicts the verdict on the whole.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
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

void check_complete(std::string_view in, const Limits& limits, const ParseOutcome& out,
                    const RequestHead& h) {
  FUZZ_CHECK(out.consumed > 0 && out.consumed <= in.size() && out.consumed <= limits.max_head_bytes);
  FUZZ_CHECK(in.substr(0, out.consumed).ends_with("\r\n\r\n"));
  FUZZ_CHECK(inside(in, h.method_text) && inside(in, h.target) && inside(in, h.host));
  FUZZ_CHECK(inside(in, h.connection_tokens));
  FUZZ_CHECK(!h.method_text.empty() && !h.target.empty());
  FUZZ_CHECK(h.target.size() <= limits.max_target_bytes);
  FUZZ_CHECK(h.version_minor <= 1);
  FUZZ_CHECK(h.version_minor == 0 || !h.host.empty());
  FUZZ_CHECK(h.fields.count <= limits.max_header_fields && h.fields.count <= kMaxHeaderFieldsCapacity);
  for (const HeaderField& f : h.fields) {
    FUZZ_CHECK(inside(in, f.name) && inside(in, f.value) && !f.name.empty());
    FUZZ_CHECK(f.token == lookup_header_token(f.name));
    FUZZ_CHECK(f.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
  }
  FUZZ_CHECK(h.framing != BodyFraming::kUntilClose);
  if (h.framing == BodyFraming::kChunked) {
    FUZZ_CHECK(h.version_minor == 1 && h.fields.find(HeaderToken::kContentLength) == nullptr);
  }
  if (h.framing != BodyFraming::kContentLength) FUZZ_CHECK(h.content_length == 0);
  FUZZ_CHECK((h.framing == BodyFraming::kNone) == (h.fields.find(HeaderToken::kContentLength) == nullptr &&
                                                   h.fields.find(HeaderToken::kTransferEncoding) == nullptr));
  // connection_tokens empty means nothing is nominated: the proxy skips the hop-by-hop lookup then.
  if (h.connection_tokens.empty()) {
    for (const HeaderField& f : h.fields) FUZZ_CHECK(!connection_nominates(h.fields, f.name));
  }
  // Never a body length for a message carrying both Content-Length and Transfer-Encoding.
  if (h.framing == BodyFraming::kContentLength) FUZZ_CHECK(h.fields.find(HeaderToken::kTransferEncoding) == nullptr);
}

// Round trip: the head written back canonically ("Name: value", single spaces, CRLF) parses to the
// same request, so what the gateway re-serializes means what the client sent.
void check_round_trip(const Limits& limits, const RequestHead& h) {
  std::string text;
  text.append(h.method_text).append(" ").append(h.target).append(h.version_minor == 1 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  for (const HeaderField& f : h.fields) text.append(f.name).append(": ").append(f.value).append("\r\n");
  text.append("\r\n");
  Limits roomy = limits;
  roomy.max_head_bytes = text.size();  // the canonical form may be longer (a space after each ':')
  static RequestHead again;
  const ParseOutcome out = parse_request_head(text, roomy, again);
  FUZZ_CHECK(out.status == ParseStatus::kComplete && out.consumed == text.size());
  FUZZ_CHECK(again.method == h.method && again.method_text == h.method_text && again.target == h.target);
  FUZZ_CHECK(again.version_minor == h.version_minor && again.host == h.host);
  FUZZ_CHECK(again.framing == h.framing && again.content_length == h.content_length);
  FUZZ_CHECK(again.keep_alive == h.keep_alive && again.expect_continue == h.expect_continue &&
             again.has_upgrade == h.has_upgrade && again.fields.count == h.fields.count);
  for (std::size_t i = 0; i < h.fields.count; ++i) {
    FUZZ_CHECK(again.fields[i].name == h.fields[i].name && again.fields[i].value == h.fields[i].value);
  }
}

void run(std::string_view in, const Limits& limits, std::size_t cut) {
  static RequestHead head;  // ~5 KiB: kept off the stack
  const ParseOutcome full = parse_request_head(in, limits, head);
  switch (full.status) {
    case ParseStatus::kComplete:
      check_complete(in, limits, full, head);
      check_round_trip(limits, head);
      break;
    case ParseStatus::kError:
      FUZZ_CHECK(full.error != ParseError::kNone && full.consumed == 0);
      FUZZ_CHECK(status_for(full.error) >= 400 && to_string(full.error) != "unknown");
      break;
    case ParseStatus::kPartial:
      FUZZ_CHECK(full.error == ParseError::kNone && in.size() <= limits.max_head_bytes);
      break;
  }
  // Prefix invariant: what a shorter read says never contradicts the longer one.
  const ParseOutcome part = parse_request_head(in.substr(0, cut), limits, head);
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
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // A cut point derived from the input, so the fuzzer can steer it.
  std::size_t cut = size;
  for (std::size_t i = 0; i < size && i < 8; ++i) cut = cut * 31 + data[i];
  cut %= size + 1;

  run(in, Limits{}, cut);
  Limits tiny;
  tiny.max_head_bytes = 96;
  tiny.max_target_bytes = 16;
  tiny.max_header_fields = 4;
  run(in, tiny, cut);
  return 0;
}
