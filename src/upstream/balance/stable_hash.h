#pragma once
// Stable 64-bit hashes for load balancing. Unlike std::hash, the same bytes give the same value
// on every build, platform and run, so a consistent-hash key keeps its target across restarts and
// every gateway instance agrees on it.

#include <cstdint>
#include <string_view>

namespace flexgate::upstream {

inline constexpr std::uint64_t kFnv1a64Basis = 0xcbf29ce484222325ULL;
inline constexpr std::uint64_t kFnv1a64Prime = 0x100000001b3ULL;

// FNV-1a, 64 bits (Fowler, Noll, Vo): for each byte, xor it in, then multiply by the FNV prime.
constexpr std::uint64_t fnv1a_64(std::string_view bytes, std::uint64_t basis = kFnv1a64Basis) {
  std::uint64_t hash = basis;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnv1a64Prime;
  }
  return hash;
}

// The SplitMix64 finalizer (Stafford's "Mix13"): a bijection in which every input bit affects
// every output bit.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The hash to give consistent hashing for a header value, cookie or client address:
// mix64(fnv1a_64(bytes)). The final mix matters: in FNV-1a a change in the last bytes only
// reaches the bits above it (multiplication carries upwards), so "key1" and "key3" would share
// their low bit.
constexpr std::uint64_t stable_hash(std::string_view bytes) {
  return mix64(fnv1a_64(bytes));
}

}  // namespace flexgate::upstream
