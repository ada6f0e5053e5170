#pragma once
// Minimal JSON string writing for hot-path output (access log, error bodies): no DOM, no allocation
// beyond the caller's reused string.

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate {

// Appends `text` as a quoted JSON string (control bytes escaped, invalid UTF-8 bytes as \u00XX).
void append_json_string(std::string& out, std::string_view text);
// Appends `"key":` (key must not need escaping).
inline void append_json_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}
void append_json_uint(std::string& out, std::uint64_t value);

}  // namespace flexgate
