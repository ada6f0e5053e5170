#pragma once
// Lowercase hex encoding for ids made on every request (correlation ids, trace context): one
// two-digit copy per byte from a table instead of two shifts and lookups per digit.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

#if defined(__SSE2__)
// The 16 digits of the 8 bytes at `in`, in order: each byte's two nibbles spread into a lane of
// their own and turned into digits together (about a dozen instructions, not two per byte).
inline void encode_hex_8(const std::uint8_t* in, char* out) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in));
  const __m128i nibble_mask = _mm_set1_epi8(0x0f);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble_mask);
  const __m128i low = _mm_and_si128(bytes, nibble_mask);
  const __m128i nibbles = _mm_unpacklo_epi8(high, low);
  const __m128i past_nine = _mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9));
  const __m128i digits = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')),
                                      _mm_and_si128(past_nine, _mm_set1_epi8('a' - '0' - 10)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), digits);
}
#endif

// 2 * bytes.size() digits at `out`.
inline void encode_hex(std::span<const std::uint8_t> bytes, char* out) {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 8 <= bytes.size(); i += 8, out += 16) encode_hex_8(bytes.data() + i, out);
#endif
  for (; i < bytes.size(); ++i, out += 2) std::memcpy(out, &kHexPairs[2 * bytes[i]], 2);
}

// The 16 digits of `value`, most significant first, at `out`.
inline void encode_hex_u64(std::uint64_t value, char* out) {
#if defined(__SSE2__)
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap64(value);
  std::uint8_t bytes[8];
  std::memcpy(bytes, &value, sizeof bytes);
  encode_hex_8(bytes, out);
#else
  for (int i = 7; i >= 0; --i, value >>= 8) std::memcpy(out + 2 * i, &kHexPairs[2 * (value & 0xff)], 2);
#endif
}

}  // namespace flexgate
