#include "core/constant_time.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace flexgate {
namespace {

// Equal only when every byte is: a difference in any bit of any byte, in any of the 64-bit words,
// is seen.
TEST(ConstantTimeEqual, AnyDifferingBitAnywhereMakesThemUnequal) {
  std::array<std::uint8_t, 32> a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(i * 37 + 5);
  const std::array<std::uint8_t, 32> same = a;
  EXPECT_TRUE(constant_time_equal(a, same));
  for (std::size_t at = 0; at < a.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::array<std::uint8_t, 32> other = a;
      other[at] ^= static_cast<std::uint8_t>(1u << bit);
      EXPECT_FALSE(constant_time_equal(a, other)) << "byte " << at << " bit " << bit;
      EXPECT_FALSE(constant_time_equal(other, a)) << "byte " << at << " bit " << bit;
    }
  }
  EXPECT_TRUE(constant_time_equal(std::array<std::uint8_t, 8>{}, std::array<std::uint8_t, 8>{}));
}

}  // namespace
}  // namespace flexgate
