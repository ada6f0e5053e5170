#include "core/hex.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace flexgate {
namespace {

std::string reference_hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += "0123456789abcdef"[b >> 4];
    out += "0123456789abcdef"[b & 0xf];
  }
  return out;
}

// Eight bytes at a time (SSE2) and the rest one at a time: every byte value, at every position of
// every length up to 40, gives the digits of the definition.
TEST(Hex, EncodeMatchesTheDigitsOfEveryByteAtEveryPositionAndLength) {
  for (std::size_t length = 0; length <= 40; ++length) {
    for (int value = 0; value < 256; ++value) {
      std::vector<std::uint8_t> bytes(length);
      for (std::size_t i = 0; i < length; ++i) bytes[i] = static_cast<std::uint8_t>(value + 7 * i);
      std::string out(2 * length + 1, '#');  // the byte past the digits must stay untouched
      encode_hex(bytes, out.data());
      ASSERT_EQ(out.substr(0, 2 * length), reference_hex(bytes)) << "length " << length << " value " << value;
      ASSERT_EQ(out.back(), '#');
    }
  }
}

TEST(Hex, EncodeU64IsMostSignificantDigitFirst) {
  std::string out(17, '#');
  encode_hex_u64(0x0123456789abcdefull, out.data());
  EXPECT_EQ(out, "0123456789abcdef#");
  encode_hex_u64(0xfedcba9876543210ull, out.data());
  EXPECT_EQ(out, "fedcba9876543210#");
  encode_hex_u64(0, out.data());
  EXPECT_EQ(out, "0000000000000000#");
}

}  // namespace
}  // namespace flexgate
