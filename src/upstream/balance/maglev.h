#pragma once
// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, section 3.4), weighted: a lookup table of `size` slots, each holding a
// target index, so a key's target is one array read.
//
// Building: each target walks its own permutation of the slots (offset and skip from hashes of
// its identity) and, in turns, claims the next free slot of its permutation until every slot is
// taken. Weighted: in round r, a target takes a turn only while it has taken fewer than
// r * weight / max_weight turns, so its share of slots follows its weight. Targets take their
// turns in identity order, not list order, so the table depends only on identities and weights.
// Adding or removing a target moves about the keys it gains or loses, and few others.

#include <cstdint>
#include <span>
#include <vector>

#include "upstream/balance/target_mask.h"
#include "upstream/balance/weighted_target.h"

namespace flexgate::upstream {

// The consistent-hash table of one upstream for one config snapshot. Immutable once built: build
// it once (about size x log(size) steps, off the workers) and share it read-only between workers
// through a std::shared_ptr<const MaglevTable>.
class MaglevTable {
 public:
  // The paper's size. Keep the size above 100 x targets: the larger, the fewer keys move on change.
  static constexpr std::uint32_t kDefaultSize = 65537;
  static constexpr std::uint32_t kMaxSize = 1U << 24;  // keeps turn arithmetic within 64 bits

  // Whether `size` may be used as a table size: a prime in [2, kMaxSize] (for config validation).
  static bool is_valid_size(std::uint32_t size);

  // Builds the table for `targets` (slot values are indexes into `targets`). `size` should be
  // is_valid_size() (asserted); in release an invalid size is replaced by the largest valid
  // size not above it (2 at least).
  explicit MaglevTable(std::span<const WeightedTarget> targets, std::uint32_t size = kDefaultSize);

  // The target for `key_hash` (e.g. stable_hash() of a header), or -1 when none is usable. When
  // the key's own target is not usable, walks the table from the key's slot to the next usable
  // target, so the key keeps landing on the same replacement while the mask stays the same.
  // Allocation-free.
  int pick(std::uint64_t key_hash, const TargetMask& available) const;

  // The key's own target, availability ignored; -1 when the table has no targets.
  int lookup(std::uint64_t key_hash) const;

  std::uint32_t size() const { return size_; }
  std::size_t target_count() const { return target_count_; }
  // Slot -> target index (empty when there are no targets): for tests and the admin view.
  std::span<const std::uint32_t> slots() const { return slots_; }

 private:
  std::uint32_t size_;
  std::size_t target_count_;
  std::vector<std::uint32_t> slots_;
};

}  // namespace flexgate::upstream
