#pragma once
// Comparison of secrets (digests, MACs, tokens) in time that depends only on their length.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace flexgate {

// True when the N bytes at `a` and `b` are equal. Every byte is read whatever differs, with no
// branch on the data: eight bytes per step, where OpenSSL's CRYPTO_memcmp takes one (~450
// instructions for a SHA-256 digest, on every API-key check).
template <std::size_t N>
bool constant_time_equal(const std::array<std::uint8_t, N>& a, const std::array<std::uint8_t, N>& b) {
  static_assert(N % 8 == 0, "whole 64-bit words");
  std::uint64_t difference = 0;
  for (std::size_t i = 0; i < N; i += 8) {
    std::uint64_t word_a = 0;
    std::uint64_t word_b = 0;
    std::memcpy(&word_a, a.data() + i, 8);
    std::memcpy(&word_b, b.data() + i, 8);
    difference |= word_a ^ word_b;
  }
  return difference == 0;
}

}  // namespace flexgate
