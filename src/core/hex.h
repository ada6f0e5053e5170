#pragma once
// Lowercase hex encoding for ids made on every request (correlation ids, trace context): one
// two-digit copy per byte from a table instead of two shifts and lookups per digit.

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

namespace flexgate {

// "000102…ff": the two digits of every byte value.
inline constexpr std::array<char, 512> kHexPairs = [] {
  std::array<char, 512> pairs{};
  for (int b = 0; b < 256; ++b) {
    pairs[2 * b] = "0123456789abcdef"[b >> 4];
    pairs[2 * b + 1] = "0123456789abcdef"[b & 0xf];
  }
  return pairs;
}();

// 2 * bytes.size() digits at `out`.
inline void encode_hex(std::span<const std::uint8_t> bytes, char* out) {
  for (const std::uint8_t byte : bytes) {
    std::memcpy(out, &kHexPairs[2 * byte], 2);
    out += 2;
  }
}

// The 16 digits of `value`, most significant first, at `out`.
inline void encode_hex_u64(std::uint64_t value, char* out) {
  for (int i = 7; i >= 0; --i, value >>= 8) std::memcpy(out + 2 * i, &kHexPairs[2 * (value & 0xff)], 2);
}

}  // namespace flexgate
