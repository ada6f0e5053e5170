#pragma once
// The balancers' pseudo-random numbers: SplitMix64 (Steele, Lea, Flood 2014), small and fast,
// seeded by the caller so tests are deterministic. Not for anything security related.

#include <cassert>
#include <cstdint>

#include "upstream/balance/stable_hash.h"

namespace flexgate::upstream {

// A deterministic 64-bit PRNG owned by one balancer (one thread).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed = 0) : state_(seed) {}

  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }

  // Uniform in [0, bound). The modulo bias is below bound / 2^64: nothing for target counts and
  // weight sums.
  std::uint64_t below(std::uint64_t bound) {
    assert(bound > 0);
    return next() % bound;
  }

 private:
  std::uint64_t state_;
};

}  // namespace flexgate::upstream
