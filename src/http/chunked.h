#pragma once
// Sans-I/O decoder for the chunked transfer coding (RFC 9112 section 7.1), strict: hex sizes
// without prefix/sign/whitespace, no overflow, CRLF only, extensions validated and dropped, trailer
// fields validated and kept for the caller. Data comes out as views into the input: no copy.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/parser.h"

namespace flexgate::http {

class ChunkedDecoder {
 public:
  // kNeedMore: all of `in` was consumed (possibly part of a size line); feed more.
  // kData: `data` is body bytes (a view into `in`), `consumed` includes them.
  // kDone: last chunk and trailers consumed; bytes after `consumed` belong to the next message.
  // kError: `error` says why; the stream is unusable.
  enum class Kind : std::uint8_t { kNeedMore, kData, kDone, kError };
  struct Step {
    Kind kind = Kind::kNeedMore;
    std::size_t consumed = 0;
    std::string_view data;
    ParseError error = ParseError::kNone;
  };

  // `max_body` bounds the decoded body (kBodyTooLarge past it).
  explicit ChunkedDecoder(std::uint64_t max_body = UINT64_MAX) : max_body_(max_body) {}

  // Decodes from the start of `in`. Call repeatedly with the unconsumed rest.
  Step next(std::string_view in);

  std::uint64_t body_bytes() const { return body_bytes_; }
  bool done() const { return state_ == State::kDone; }
  void reset(std::uint64_t max_body = UINT64_MAX);

  // The trailer section's field lines ("name: value\r\n" each, validated, without the final
  // CRLF) once kDone; empty when the message had none. Copied out of the input only when there
  // are trailers (they may span reads), so the common message allocates nothing.
  std::string_view trailer_section() const { return trailers_; }

 private:
  enum class State : std::uint8_t {
    kSize, kSizeLf, kExtension, kData, kDataCr, kDataLf, kTrailerStart, kTrailerLine, kTrailerLf, kFinalLf, kDone, kError
  };
  State state_ = State::kSize;
  std::uint64_t max_body_;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t chunk_remaining_ = 0;
  std::size_t size_digits_ = 0;
  std::size_t line_bytes_ = 0;  // bounds size lines, extensions and trailer lines
  std::size_t trailer_bytes_ = 0;
  std::string trailers_;
  // Extension/trailer sub-state (quoted strings etc.), private to the implementation.
  std::uint8_t sub_state_ = 0;
  ParseError error_ = ParseError::kNone;  // repeated by next() once in kError

  Step fail(ParseError error, std::size_t consumed);
};

// Takes the first field line off `section` (as trailer_section() gives it) into `field`: the
// value without surrounding whitespace, the token looked up. False when no line is left.
bool next_trailer_field(std::string_view& section, HeaderField& field);

// True for a trailer field a proxy never forwards: framing (Content-Length, Transfer-Encoding),
// routing (Host), the hop-by-hop fields and Content-Type (RFC 9110 6.5.1: a trailer must not
// change how the message is framed, routed or processed), or a field `connection_options` (the
// message's Connection list, "" for none) nominates.
bool is_forbidden_trailer(const HeaderField& field, std::string_view connection_options);

}  // namespace flexgate::http
