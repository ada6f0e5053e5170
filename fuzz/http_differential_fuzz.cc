// libFuzzer target: our request framing against Debian's libhttp-parser 2.9 (the Node.js parser)
// as an oracle. For up to kMaxMessages pipelined requests, on every message BOTH parsers accept
// completely, the method, target, version, body framing (none / Content-Length n / chunked), the
// head boundary (for a Content-Length body), the decoded body and the message boundary (where the
// next message starts) must agree. Where only one
// accepts we stop comparing: our parser is deliberately stricter (obs-fold, bare LF, whitespace
// before ':', CL with TE, a Host per HTTP/1.1 message...) and refusing is always safe for a proxy.
// A disagreement on a message both accept is what request smuggling is made of: it traps.
//
// Documented, intentional divergences (checked for, not trapped on):
// - keep-alive is not compared: http-parser reads only the last Connection token it recognises
//   per field, we read every token of every field (close wins); a proxy that closes when asked is
//   never less safe.
// - after a message http-parser treats as an upgrade (Upgrade + Connection: upgrade, or CONNECT)
//   the rest of the stream is another protocol to it; we compare that message and stop.
// - CONNECT: http-parser ends the message at the head whatever Content-Length says (a tunnel
//   starts); our parser frames the body. Only method, target and version are compared: the gateway
//   never serves CONNECT (its authority-form target fails normalization: 400 and the connection is
//   closed), so no byte after such a head is interpreted by either side.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <http_parser.h>

#include "http/chunked.h"
#include "http/parser.h"

namespace {

using namespace flexgate::http;

constexpr int kMaxMessages = 3;

[[noreturn]] void disagree(const char* what, std::string_view message) {
  std::fprintf(stderr, "differential: %s\nmessage: ", what);
  std::fwrite(message.data(), 1, message.size(), stderr);
  std::fputc('\n', stderr);
  __builtin_trap();
}

// What the oracle saw of one message.
struct OracleMessage {
  std::string url;
  std::string body;
  bool headers_done = false;
  bool complete = false;
  bool chunked = false;
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  unsigned method = 0;
  unsigned short major = 0;
  unsigned short minor = 0;
  const char* first_body_byte = nullptr;  // where the body starts (the head's end, for Content-Length)
};

int on_url(http_parser* p, const char* at, std::size_t length) {
  static_cast<OracleMessage*>(p->data)->url.append(at, length);
  return 0;
}
int on_headers_complete(http_parser* p) {
  auto* m = static_cast<OracleMessage*>(p->data);
  m->headers_done = true;
  m->chunked = (p->flags & F_CHUNKED) != 0;
  m->has_content_length = (p->flags & F_CONTENTLENGTH) != 0;
  m->content_length = p->content_length;
  m->method = p->method;
  m->major = p->http_major;
  m->minor = p->http_minor;
  return 0;
}
int on_body(http_parser* p, const char* at, std::size_t length) {
  auto* m = static_cast<OracleMessage*>(p->data);
  if (m->first_body_byte == nullptr) m->first_body_byte = at;
  m->body.append(at, length);
  return 0;
}
int on_message_complete(http_parser* p) {
  static_cast<OracleMessage*>(p->data)->complete = true;
  http_parser_pause(p, 1);  // execute() returns right after this message: its boundary
  return 0;
}

// Our side: head, then the body by the framing we decided. Returns false unless the whole message
// is in `in` and valid; `end` is where the next message starts, `body` the decoded body.
bool ours(std::string_view in, RequestHead& head, std::size_t& head_end, std::size_t& end, std::string& body) {
  Limits limits;
  limits.max_head_bytes = 80 * 1024;  // http-parser's own head limit
  limits.max_target_bytes = 80 * 1024;
  limits.max_header_fields = kMaxHeaderFieldsCapacity;
  const ParseOutcome outcome = parse_request_head(in, limits, head);
  if (outcome.status != ParseStatus::kComplete) return false;
  head_end = outcome.consumed;
  std::string_view rest = in.substr(outcome.consumed);
  body.clear();
  switch (head.framing) {
    case BodyFraming::kNone:
      end = head_end;
      return true;
    case BodyFraming::kContentLength:
      if (head.content_length > rest.size()) return false;
      body.assign(rest.substr(0, head.content_length));
      end = head_end + head.content_length;
      return true;
    case BodyFraming::kChunked: {
      ChunkedDecoder decoder;
      for (;;) {
        const ChunkedDecoder::Step step = decoder.next(rest);
        if (step.kind == ChunkedDecoder::Kind::kData) body.append(step.data);
        rest.remove_prefix(step.consumed);
        if (step.kind == ChunkedDecoder::Kind::kDone) break;
        if (step.kind != ChunkedDecoder::Kind::kData) return false;  // error, or incomplete
      }
      end = in.size() - rest.size();
      return true;
    }
    case BodyFraming::kUntilClose:
      disagree("request framed until close", in);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = on_url;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    return s;
  }();
  static RequestHead head;  // ~5 KiB: kept off the stack
  std::string our_body;

  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  std::size_t offset = 0;
  for (int i = 0; i < kMaxMessages && offset < input.size(); ++i) {
    const std::string_view rest = input.substr(offset);
    OracleMessage oracle;
    parser.data = &oracle;
    const std::size_t parsed = http_parser_execute(&parser, &settings, rest.data(), rest.size());
    const http_errno error = HTTP_PARSER_ERRNO(&parser);
    const bool oracle_accepts = oracle.complete && (error == HPE_OK || error == HPE_PAUSED);
    std::size_t head_end = 0;
    std::size_t end = 0;
    if (!oracle_accepts || !ours(rest, head, head_end, end, our_body)) return 0;

    const std::string_view message = rest.substr(0, std::max(end, parsed));
    if (head.method_text != http_method_str(static_cast<http_method>(oracle.method)))
      disagree("method", message);
    if (head.target != oracle.url) disagree("request-target", message);
    if (oracle.major != 1 || oracle.minor != head.version_minor) disagree("version", message);
    if (oracle.method == HTTP_CONNECT) return 0;  // see the header comment
    switch (head.framing) {
      case BodyFraming::kNone:
        if (oracle.chunked || (oracle.has_content_length && oracle.content_length != 0))
          disagree("framing: we see no body, http-parser does", message);
        break;
      case BodyFraming::kContentLength:
        if (oracle.chunked || !oracle.has_content_length || oracle.content_length != head.content_length)
          disagree("framing: Content-Length", message);
        // Where the head ends (the body starts): the same byte for both.
        if (head.content_length > 0 && oracle.first_body_byte != rest.data() + head_end)
          disagree("head boundary (first body byte)", message);
        break;
      case BodyFraming::kChunked:
        if (!oracle.chunked) disagree("framing: chunked", message);
        break;
      case BodyFraming::kUntilClose:
        break;  // ours() already trapped
    }
    if (our_body != oracle.body) disagree("decoded body", message);
    if (end != parsed) disagree("message boundary (where the next request starts)", message);
    // DIFFERENTIAL_DEBUG=1: say which messages were compared (to check the target reaches them).
    static const bool debug = std::getenv("DIFFERENTIAL_DEBUG") != nullptr;
    if (debug) std::fprintf(stderr, "compared message %d: %zu bytes, framing %d\n", i, end, static_cast<int>(head.framing));
    if (parser.upgrade) return 0;  // the rest is another protocol to http-parser
    offset += end;
    http_parser_pause(&parser, 0);
  }
  return 0;
}
