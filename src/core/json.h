#pragma once
// Minimal JSON string writing for hot-path output (access log, error bodies): no DOM, no allocation
// beyond the caller's reused string.

#include <cstddef>
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

// The same writers through a pointer, for a line formatted in one pass into storage sized for
// its worst case (each returns one past the last byte it wrote):
// The most bytes write_json_string() writes for `size` bytes of text: each escaped as \u00XX,
// and the two quotes.
constexpr std::size_t max_json_string_size(std::size_t size) { return 6 * size + 2; }
char* write_json_string(char* out, std::string_view text);
// At most 20 bytes.
char* write_json_uint(char* out, std::uint64_t value);

}  // namespace flexgate
