#include "core/siphash.h"

#include <bit>
#include <cstring>
#include <random>

namespace flexgate {
namespace {

std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

struct State {
  std::uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  void compress(std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

// The message blocks, then the last block (the remaining bytes, and the length's low byte on top),
// from a state already keyed.
void absorb(State& s, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t whole = data.size() & ~std::size_t{7};
  for (std::size_t i = 0; i < whole; i += 8) s.compress(load_le64(p + i));
  std::uint64_t last = static_cast<std::uint64_t>(data.size()) << 56;
  for (std::size_t i = whole; i < data.size(); ++i) last |= static_cast<std::uint64_t>(p[i]) << (8 * (i - whole));
  s.compress(last);
}

State keyed_state(const SipKey& key) {
  return {0x736f6d6570736575ull ^ key.k0, 0x646f72616e646f6dull ^ key.k1, 0x6c7967656e657261ull ^ key.k0,
          0x7465646279746573ull ^ key.k1};
}

// The four finalization rounds and the output word (the caller marks the state first).
std::uint64_t squeeze(State& s) {
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace

SipKey SipKey::from_bytes(const std::array<std::uint8_t, 16>& bytes) {
  return {load_le64(bytes.data()), load_le64(bytes.data() + 8)};
}

SipKey SipKey::random() {
  std::random_device device;
  const auto draw = [&device] { return (static_cast<std::uint64_t>(device()) << 32) ^ device(); };
  return {draw(), draw()};
}

std::uint64_t siphash24(const SipKey& key, std::string_view data) {
  State s = keyed_state(key);
  absorb(s, data);
  s.v2 ^= 0xff;
  return squeeze(s);
}

SipHash128 siphash24_128(const SipKey& key, std::string_view data) {
  State s = keyed_state(key);
  s.v1 ^= 0xee;
  absorb(s, data);
  SipHash128 out;
  s.v2 ^= 0xee;
  out.low = squeeze(s);
  s.v1 ^= 0xdd;
  out.high = squeeze(s);
  return out;
}

}  // namespace flexgate
