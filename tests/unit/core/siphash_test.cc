#include "core/siphash.h"

#include <gtest/gtest.h>

#include <string>

namespace flexgate {
namespace {

// The reference implementation's vectors: key 00 01 … 0f, message 00 01 … (len − 1).
TEST(SipHash, MatchesTheReferenceVectors) {
  std::array<std::uint8_t, 16> key_bytes{};
  for (int i = 0; i < 16; ++i) key_bytes[i] = static_cast<std::uint8_t>(i);
  const SipKey key = SipKey::from_bytes(key_bytes);
  std::string message;
  for (int i = 0; i < 64; ++i) message.push_back(static_cast<char>(i));
  const auto of_length = [&](std::size_t n) { return siphash24(key, std::string_view(message).substr(0, n)); };
  EXPECT_EQ(of_length(0), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(of_length(1), 0x74f839c593dc67fdull);
  EXPECT_EQ(of_length(7), 0xab0200f58b01d137ull);
  EXPECT_EQ(of_length(8), 0x93f5f5799a932462ull);
  EXPECT_EQ(of_length(15), 0xa129ca6149be45e5ull);
  EXPECT_EQ(of_length(16), 0x3f2acc7f57c29bdbull);
  EXPECT_EQ(of_length(63), 0x958a324ceb064572ull);
}

TEST(SipHash, DependsOnTheKey) {
  const SipKey a{1, 2};
  const SipKey b{1, 3};
  EXPECT_NE(siphash24(a, "api-key"), siphash24(b, "api-key"));
  EXPECT_EQ(siphash24(a, "api-key"), siphash24(a, "api-key"));
}

}  // namespace
}  // namespace flexgate
