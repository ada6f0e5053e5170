#pragma once
// Sans-I/O, zero-copy, strict HTTP/1.x head parsers (RFC 9112). Bytes in, a verdict out; no
// sockets, no allocation. The same code parses client requests and upstream responses.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/message.h"

namespace flexgate::http {

// Why a message was refused. Each maps to exactly one status via status_for().
enum class ParseError : std::uint8_t {
  kNone,
  kBadRequestLine,         // malformed request line / status line
  kBadMethod,              // method not a token
  kBadTarget,              // request-target has invalid bytes
  kBadVersion,             // not HTTP/1.x syntax
  kUnsupportedVersion,     // HTTP/2.0, HTTP/0.9 ... (505)
  kBadHeaderName,          // name not a token, empty, or whitespace before the colon
  kBadHeaderValue,         // CR, LF, NUL or other control bytes in a value
  kObsFold,                // line folding
  kBadLineEnding,          // bare CR or bare LF
  kMissingHost,            // HTTP/1.1 request without Host
  kDuplicateHost,          // more than one Host
  kBadHost,                // Host value not a valid authority
  kBadContentLength,       // not 1*DIGIT, overflow, or differing duplicates
  kContentLengthWithTransferEncoding,
  kBadTransferEncoding,    // chunked not last, chunked twice, empty coding
  kUnsupportedTransferCoding,  // a coding other than chunked (501)
  kHeadTooLarge,           // over Limits::max_head_bytes (431)
  kTooManyHeaders,         // over Limits::max_header_fields (431)
  kTargetTooLong,          // over Limits::max_target_bytes (414)
  kBadChunk,               // malformed chunk size, extension, CRLF, or trailer
  kChunkSizeOverflow,      // chunk size does not fit in 64 bits
  kBodyTooLarge,           // decoded body over the caller's limit (413)
  kBadStatus,              // response status not 3 digits
};

std::string_view to_string(ParseError error);
// The status a client gets for a request ParseError (400, 413, 414, 431, 501, 505).
std::uint16_t status_for(ParseError error);

enum class ParseStatus : std::uint8_t { kComplete, kPartial, kError };

// kComplete: `consumed` bytes form the head (through the final CRLF).
// kPartial: no verdict yet; call again with more bytes (the buffer prefix is re-parsed).
// kError: `error` says why; no byte at or after the fault may be interpreted.
struct ParseOutcome {
  ParseStatus status = ParseStatus::kPartial;
  std::size_t consumed = 0;
  ParseError error = ParseError::kNone;
};

// Parses a request head at the start of `buffer`. Errors are reported as soon as the bytes seen
// prove them (including limits: a partial head already over a limit is an error).
ParseOutcome parse_request_head(std::string_view buffer, const Limits& limits, RequestHead& head);

// Parses a response head to a request made with `request_method`. 1xx heads are returned as
// complete with framing kNone; the caller skips them (except 101). Malformed framing (CL with TE,
// conflicting CL, ...) is an error: the caller answers 502 and never reuses the connection.
ParseOutcome parse_response_head(std::string_view buffer, const Limits& limits, Method request_method,
                                 ResponseHead& head);

}  // namespace flexgate::http
