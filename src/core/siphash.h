#pragma once
// SipHash-2-4 (Aumasson & Bernstein): a keyed pseudorandom function for short inputs. With a
// secret key its outputs cannot be predicted or collided by whoever chooses the input, which is
// what a memo keyed by attacker-supplied bytes needs (and what a plain hash cannot give).

#include <array>
#include <cstdint>
#include <string_view>

namespace flexgate {

// 128-bit key: k0 = bytes 0–7, k1 = bytes 8–15 (little-endian), as in the reference.
struct SipKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;

  static SipKey from_bytes(const std::array<std::uint8_t, 16>& bytes);
  static SipKey random();  // from std::random_device
};

// The 64-bit SipHash-2-4 of `data` under `key`.
std::uint64_t siphash24(const SipKey& key, std::string_view data);

// A 128-bit tag: the reference's output bytes 0–7 (`low`) and 8–15 (`high`), little-endian.
struct SipHash128 {
  std::uint64_t low = 0;
  std::uint64_t high = 0;

  friend bool operator==(const SipHash128&, const SipHash128&) = default;
};

// The 128-bit SipHash-2-4 of `data` under `key`: one pass over the data, where two 64-bit hashes
// under two keys take two.
SipHash128 siphash24_128(const SipKey& key, std::string_view data);

}  // namespace flexgate
