#pragma once
// Small writers for HTTP/1.1 message heads and chunk framing, appending to a caller's buffer.

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate::http {

// "METHOD target HTTP/1.1\r\n"
void append_request_line(std::string& out, std::string_view method, std::string_view target);
// "HTTP/1.1 NNN Reason\r\n"
void append_status_line(std::string& out, std::uint16_t status);
// "Name: value\r\n" (caller guarantees the name and value are valid)
void append_field(std::string& out, std::string_view name, std::string_view value);
// "<hex size>\r\n"
void append_chunk_size(std::string& out, std::uint64_t size);
inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Standard reason phrase for a status ("Bad Gateway"), "Unknown" if none.
std::string_view reason_phrase(std::uint16_t status);

}  // namespace flexgate::http
