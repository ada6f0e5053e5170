#include "core/json.h"

#include <array>
#include <charconv>
#include <cstring>

namespace flexgate {

namespace {

// Bytes written as they are: printable ASCII except the quote and the backslash.
constexpr std::array<bool, 256> make_plain_json_bytes() {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}
constexpr std::array<bool, 256> kPlainJsonByte = make_plain_json_bytes();

// True when any of the eight bytes of `w` must be escaped: below 0x20, '"', '\\', 0x7f, or 0x80
// and above. The has-zero-byte and has-byte-below tests may flag extra bytes after a real hit,
// never a word without one, so "any" is exact.
constexpr bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = kOnes * 0x80;
  const auto has_zero_byte = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  return (below_space | has_zero_byte(w ^ (kOnes * '"')) | has_zero_byte(w ^ (kOnes * '\\')) |
          has_zero_byte(w ^ (kOnes * 0x7f)) | (w & kHighs)) != 0;
}
static_assert(!word_needs_escape(0x2020202020202020ULL) && word_needs_escape(0x2020202020201f20ULL) &&
              word_needs_escape(0x7f20202020202020ULL) && word_needs_escape(0x2022202020202020ULL));

std::uint64_t load_word(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default: {
      // Control bytes and all non-ASCII bytes are escaped: the output is valid JSON whatever
      // bytes a client sent (a lone 0x80 would otherwise make the line invalid UTF-8).
      const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(escape, sizeof escape);
    }
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  // Runs of plain bytes go out in one append each, found eight bytes at a time: per-byte appends
  // cost several times more, and most values (paths, ids, names) have nothing to escape.
  const char* const data = text.data();
  const std::size_t size = text.size();
  std::size_t run_start = 0;
  std::size_t i = 0;
  for (;;) {
    while (size - i >= 8 && !word_needs_escape(load_word(data + i))) i += 8;
    while (i < size && kPlainJsonByte[static_cast<unsigned char>(data[i])]) ++i;
    if (i == size) break;
    out.append(data + run_start, i - run_start);
    append_escape(out, static_cast<unsigned char>(data[i]));
    run_start = ++i;
  }
  out.append(data + run_start, size - run_start);
  out += '"';
}

void append_json_uint(std::string& out, std::uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;
  out.append(buf, end);
}

}  // namespace flexgate
