#include "core/siphash.h"

#include <gtest/gtest.h>

#include <string>

namespace flexgate {
namespace {

// The reference implementation's vectors: key 00 01 … 0f, message 00 01 … (len − 1).
SipKey reference_key() {
  std::array<std::uint8_t, 16> key_bytes{};
  for (int i = 0; i < 16; ++i) key_bytes[i] = static_cast<std::uint8_t>(i);
  return SipKey::from_bytes(key_bytes);
}

std::string reference_message() {
  std::string message;
  for (int i = 0; i < 64; ++i) message.push_back(static_cast<char>(i));
  return message;
}

TEST(SipHash, MatchesTheReferenceVectors) {
  const SipKey key = reference_key();
  const std::string message = reference_message();
  const auto of_length = [&](std::size_t n) { return siphash24(key, std::string_view(message).substr(0, n)); };
  EXPECT_EQ(of_length(0), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(of_length(1), 0x74f839c593dc67fdull);
  EXPECT_EQ(of_length(7), 0xab0200f58b01d137ull);
  EXPECT_EQ(of_length(8), 0x93f5f5799a932462ull);
  EXPECT_EQ(of_length(15), 0xa129ca6149be45e5ull);
  EXPECT_EQ(of_length(16), 0x3f2acc7f57c29bdbull);
  EXPECT_EQ(of_length(63), 0x958a324ceb064572ull);
}

// The reference's 128-bit vectors (vectors_sip128), same key and messages; bytes 0-7 are `low`.
TEST(SipHash, TheHundredTwentyEightBitTagMatchesTheReferenceVectors) {
  const SipKey key = reference_key();
  const std::string message = reference_message();
  const auto of_length = [&](std::size_t n) { return siphash24_128(key, std::string_view(message).substr(0, n)); };
  // Each expected tag is the reference's 16 bytes read as two little-endian words.
  const auto tag = [](std::array<std::uint8_t, 16> bytes) {
    SipHash128 t;
    for (int i = 7; i >= 0; --i) t.low = (t.low << 8) | bytes[i];
    for (int i = 15; i >= 8; --i) t.high = (t.high << 8) | bytes[i];
    return t;
  };
  EXPECT_EQ(of_length(0), tag({0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02,
                               0x93}));
  EXPECT_EQ(of_length(1), tag({0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44, 0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc,
                               0x45}));
  EXPECT_EQ(of_length(8), tag({0x3b, 0x62, 0xa9, 0xba, 0x62, 0x58, 0xf5, 0x61, 0x0f, 0x83, 0xe2, 0x64, 0xf3, 0x14, 0x97,
                               0xb4}));
  EXPECT_EQ(of_length(16), tag({0x6e, 0xe2, 0xa4, 0xca, 0x67, 0xb0, 0x54, 0xbb, 0xfd, 0x33, 0x15, 0xbf, 0x85, 0x23,
                                0x05, 0x77}));
  EXPECT_EQ(of_length(63), tag({0x51, 0x50, 0xd1, 0x77, 0x2f, 0x50, 0x83, 0x4a, 0x50, 0x3e, 0x06, 0x9a, 0x97, 0x3f,
                                0xbd, 0x7c}));
}

TEST(SipHash, DependsOnTheKey) {
  const SipKey a{1, 2};
  const SipKey b{1, 3};
  EXPECT_NE(siphash24(a, "api-key"), siphash24(b, "api-key"));
  EXPECT_EQ(siphash24(a, "api-key"), siphash24(a, "api-key"));
  EXPECT_NE(siphash24_128(a, "api-key"), siphash24_128(b, "api-key"));
}

}  // namespace
}  // namespace flexgate
