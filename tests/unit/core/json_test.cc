#include "core/json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace flexgate {
namespace {

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

// write_json_string() into storage of exactly max_json_string_size(): the bound must hold.
std::string written_json_string(std::string_view text) {
  std::vector<char> storage(max_json_string_size(text.size()));
  char* end = write_json_string(storage.data(), text);
  EXPECT_LE(end, storage.data() + storage.size());
  return std::string(storage.data(), end);
}

TEST(JsonStringTest, EveryByteEscapedTakesTheWholeBound) {
  const std::string controls(64, '\x01');
  EXPECT_EQ(written_json_string(controls).size(), max_json_string_size(controls.size()));
  EXPECT_EQ(written_json_string(""), R"("")");
}

TEST(JsonUintTest, WrittenThroughAPointer) {
  char digits[20];
  EXPECT_EQ(std::string(digits, write_json_uint(digits, 18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(std::string(digits, write_json_uint(digits, 0)), "0");
}

TEST(JsonStringTest, PlainAsciiIsQuotedUnchanged) {
  EXPECT_EQ(json_string("GET /api/users?id=1"), R"("GET /api/users?id=1")");
  EXPECT_EQ(json_string(""), R"("")");
}

TEST(JsonStringTest, QuoteAndBackslashAreEscaped) {
  EXPECT_EQ(json_string(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(json_string(R"(C:\path)"), R"("C:\\path")");
  EXPECT_EQ(json_string(R"(\")"), R"("\\\"")");
}

TEST(JsonStringTest, CommonControlBytesUseShortEscapes) {
  EXPECT_EQ(json_string("a\nb\rc\td"), R"("a\nb\rc\td")");
}

TEST(JsonStringTest, OtherControlBytesAreEscapedAsUnicode) {
  EXPECT_EQ(json_string(std::string_view("\x00", 1)), R"("\u0000")");
  EXPECT_EQ(json_string("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(json_string("\x08\x0c"), R"("\u0008\u000c")");
  EXPECT_EQ(json_string("\x7f"), R"("\u007f")");
}

TEST(JsonStringTest, NonAsciiBytesAreEscapedOneByOne) {
  EXPECT_EQ(json_string("\x80"), R"("\u0080")");
  EXPECT_EQ(json_string("\xff"), R"("\u00ff")");
  // Every byte, even of valid UTF-8, becomes its own escape: the line is pure ASCII.
  EXPECT_EQ(json_string("\xc3\xa9"), R"("\u00c3\u00a9")");
}

TEST(JsonStringTest, AppendsToExistingContent) {
  std::string out = "{";
  append_json_key(out, "path");
  append_json_string(out, "/a");
  out += '}';
  EXPECT_EQ(out, R"({"path":"/a"})");
}

TEST(JsonStringTest, EveryByteValueGivesValidJson) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string out = json_string(all);
  for (char c : out)
    EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f);
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(out));
  ASSERT_TRUE(parsed.is_string());
  // ASCII round-trips byte for byte; each byte >= 0x80 comes back as the code point U+00XX.
  const std::string decoded = parsed.get<std::string>();
  EXPECT_EQ(decoded.substr(0, 128), all.substr(0, 128));
  EXPECT_EQ(decoded.size(), 128u + 128u * 2u);
}

// The plain/escape decision one byte at a time, as the spec above says it.
std::string reference_json_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The writer skips plain bytes eight at a time: every byte value, at every position of a value
// three words long (and in the shorter tail after it), must still be found and escaped.
TEST(JsonStringTest, EveryByteValueAtEveryPositionIsEscapedAsOneByOne) {
  for (const std::size_t length : {7u, 8u, 9u, 24u, 29u}) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int c = 0; c < 256; ++c) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(c);
        ASSERT_EQ(json_string(text), reference_json_string(text)) << "byte " << c << " at " << at << " of " << length;
        ASSERT_EQ(written_json_string(text), reference_json_string(text)) << "byte " << c << " at " << at;
      }
    }
  }
  // Two bytes to escape in one word, and a run of plain bytes between escapes.
  EXPECT_EQ(json_string("abc\"d\x01" "fgh/ijklmnop\\q"), R"("abc\"d\u0001fgh/ijklmnop\\q")");
}

TEST(JsonUintTest, WritesDecimalDigits) {
  std::string out;
  append_json_uint(out, 0);
  out += ',';
  append_json_uint(out, 413);
  out += ',';
  append_json_uint(out, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(out, "0,413,18446744073709551615");
}

}  // namespace
}  // namespace flexgate
