#pragma once
// Minimal JSON string writing for hot-path output (access log, error bodies): no DOM, no allocation
// beyond the caller's reused string.

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate {

// Appends `text` as a quoted JSON string. Control bytes and every byte >= 0x7f are escaped as
// \u00XX, so the output is ASCII and valid JSON whatever the input (non-ASCII text is not
// preserved as UTF-8; the data path only writes ASCII-validated protocol text).
void append_json_string(std::string& out, std::string_view text);
// Appends `"key":` (key must not need escaping).
inline void append_json_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}
void append_json_uint(std::string& out, std::uint64_t value);

}  // namespace flexgate
