#pragma once
// Small writers for HTTP/1.1 message heads and chunk framing, appending to a caller's buffer.

#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace flexgate::http {

// "METHOD target HTTP/1.1\r\n"
void append_request_line(std::string& out, std::string_view method, std::string_view target);
// "HTTP/1.1 NNN Reason\r\n"
void append_status_line(std::string& out, std::uint16_t status);
// The same line for a status from 100 to 599, from a table built once; empty for any other.
std::string_view tabled_status_line(std::uint16_t status);
// "Name: value\r\n" (caller guarantees the name and value are valid)
void append_field(std::string& out, std::string_view name, std::string_view value);

// append_field() for a field the parser produced, its views still into the parsed head: a line
// already written "Name: value\r\n" there is copied in one piece (most are).
void append_parsed_field(std::string& out, const HeaderField& field);
// The field's whole "Name: value\r\n" line in the parsed head when those bytes are already the
// canonical line (one space after the colon, no trailing whitespace); empty otherwise.
inline std::string_view canonical_line_in_head(const HeaderField& field) {
  // The parser guarantees CRLF after the value and its trailing whitespace: when the value starts
  // right after ": " and ends at the CR, the bytes in the head are exactly the canonical line.
  const char* line = field.name.data();
  const std::size_t before_value = field.name.size() + 2;
  if (field.value.data() == line + before_value && line[field.name.size() + 1] == ' ' &&
      line[before_value + field.value.size()] == '\r') {
    return {line, before_value + field.value.size() + 2};
  }
  return {};
}
// The Connection field of a response the gateway writes: "close" when the connection ends after it,
// "keep-alive" when it persists for an HTTP/1.0 client (which assumes close unless told otherwise,
// RFC 9112 9.3), none for HTTP/1.1, where persisting is the default.
std::string_view connection_field(bool close, std::uint8_t request_version_minor);
// "<hex size>\r\n"
void append_chunk_size(std::string& out, std::uint64_t size);
inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Standard reason phrase for a status ("Bad Gateway"), "Unknown" if none.
std::string_view reason_phrase(std::uint16_t status);

}  // namespace flexgate::http
