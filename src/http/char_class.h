#pragma once
// Byte classes of the HTTP grammar (RFC 9110 5.5, 5.6.2; RFC 9112 3.2) as 256-entry tables, so the
// parser's inner loops cost one load and one test per byte. Internal to src/http.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flexgate::http::detail {

using ByteTable = std::array<std::uint8_t, 256>;

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//       / DIGIT / ALPHA
constexpr ByteTable make_tchar_table() {
  ByteTable t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 1;
  for (char c : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'}) {
    t[static_cast<unsigned char>(c)] = 1;
  }
  return t;
}

// Bytes allowed inside a field value (and a reason phrase): VCHAR, obs-text, SP, HTAB.
constexpr ByteTable make_field_table() {
  ByteTable t{};
  t['\t'] = 1;
  for (int c = 0x20; c <= 0x7e; ++c) t[c] = 1;
  for (int c = 0x80; c <= 0xff; ++c) t[c] = 1;
  return t;
}

// Bytes allowed in a request-target: visible ASCII only (the router validates the finer grammar).
constexpr ByteTable make_target_table() {
  ByteTable t{};
  for (int c = 0x21; c <= 0x7e; ++c) t[c] = 1;
  return t;
}

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (no DQUOTE, no backslash).
constexpr ByteTable make_qdtext_table() {
  ByteTable t = make_field_table();
  t['"'] = 0;
  t['\\'] = 0;
  return t;
}

// Hex digit value + 1 (0 = not a hex digit), so the table stays unsigned.
constexpr ByteTable make_hex_table() {
  ByteTable t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::uint8_t>(c - '0' + 1);
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::uint8_t>(c - 'a' + 11);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<std::uint8_t>(c - 'A' + 11);
  return t;
}

inline constexpr ByteTable kTchar = make_tchar_table();
inline constexpr ByteTable kFieldChar = make_field_table();
inline constexpr ByteTable kTargetChar = make_target_table();
inline constexpr ByteTable kQdtext = make_qdtext_table();
inline constexpr ByteTable kHexPlusOne = make_hex_table();

inline constexpr unsigned char byte(char c) {
  return static_cast<unsigned char>(c);
}
inline constexpr bool is_tchar(char c) {
  return kTchar[byte(c)] != 0;
}
inline constexpr bool is_field_char(char c) {
  return kFieldChar[byte(c)] != 0;
}
inline constexpr bool is_ows(char c) {
  return c == ' ' || c == '\t';
}
inline constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Strips leading and trailing OWS.
constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

constexpr bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// Calls f(element) for each comma-separated element of a list-valued field (RFC 9110 5.6.1), OWS
// trimmed. Empty elements are passed too: each caller decides whether they are an error. Returns
// false as soon as f does.
template <class F>
constexpr bool for_each_list_element(std::string_view value, F&& f) {
  for (;;) {
    const std::size_t comma = value.find(',');
    if (!f(trim_ows(value.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace flexgate::http::detail
