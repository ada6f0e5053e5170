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

// Where the next byte that needs escaping is, from `i` on (or `size`): eight bytes at a time while
// the words are plain, then byte by byte.
std::size_t plain_run_end(const char* data, std::size_t size, std::size_t i) {
  while (size - i >= 8 && !word_needs_escape(load_word(data + i))) i += 8;
  // A tail shorter than a word: the text's last eight bytes in one test when it has eight (they
  // overlap bytes already found plain, or one just escaped, which only sends it byte by byte).
  if (i < size && size - i < 8 && size >= 8 && !word_needs_escape(load_word(data + size - 8))) return size;
  while (i < size && kPlainJsonByte[static_cast<unsigned char>(data[i])]) ++i;
  return i;
}

// The escape for a byte that is not plain, at `out` (2 or 6 bytes); returns its end.
char* write_escape(char* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  char short_form = 0;
  switch (c) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    default: break;
  }
  *out++ = '\\';
  if (short_form != 0) {
    *out++ = short_form;
    return out;
  }
  // Control bytes and all non-ASCII bytes are escaped: the output is valid JSON whatever bytes a
  // client sent (a lone 0x80 would otherwise make the line invalid UTF-8).
  *out++ = 'u';
  *out++ = '0';
  *out++ = '0';
  *out++ = kHex[c >> 4];
  *out++ = kHex[c & 0xf];
  return out;
}

}  // namespace

char* write_json_string(char* out, std::string_view text) {
  *out++ = '"';
  const char* const data = text.data();
  const std::size_t size = text.size();
  std::size_t run_start = 0;
  for (;;) {
    const std::size_t i = plain_run_end(data, size, run_start);
    if (i != run_start) std::memcpy(out, data + run_start, i - run_start);
    out += i - run_start;
    if (i == size) break;
    out = write_escape(out, static_cast<unsigned char>(data[i]));
    run_start = i + 1;
  }
  *out++ = '"';
  return out;
}

char* write_json_uint(char* out, std::uint64_t value) { return std::to_chars(out, out + 20, value).ptr; }

// The append forms write through the pointer forms into room sized for the worst case, so there
// is one writer of each.
void append_json_string(std::string& out, std::string_view text) {
  const std::size_t used = out.size();
  out.resize(used + max_json_string_size(text.size()));
  char* const end = write_json_string(out.data() + used, text);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

void append_json_uint(std::string& out, std::uint64_t value) {
  char digits[20];
  out.append(digits, static_cast<std::size_t>(write_json_uint(digits, value) - digits));
}

}  // namespace flexgate
