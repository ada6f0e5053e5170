#include "upstream/balance/maglev.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "upstream/balance/stable_hash.h"

namespace flexgate::upstream {
namespace {

constexpr std::uint32_t kFree = std::numeric_limits<std::uint32_t>::max();

// One target's walk through its permutation of the slots: position_j = (offset + j * skip) % size.
// `size` is prime and 0 < skip < size, so the walk visits every slot once in `size` steps.
struct Walk {
  std::uint32_t target = 0;
  std::uint64_t weight = 1;
  std::uint64_t position = 0;
  std::uint64_t skip = 1;
  std::uint64_t turns = 0;
};

}  // namespace

bool MaglevTable::is_valid_size(std::uint32_t size) {
  if (size < 2 || size > kMaxSize) return false;
  for (std::uint32_t d = 2; d <= size / d; ++d) {
    if (size % d == 0) return false;
  }
  return true;
}

MaglevTable::MaglevTable(std::span<const WeightedTarget> targets, std::uint32_t size)
    : size_(size), target_count_(targets.size()) {
  assert(is_valid_size(size));
  assert(targets.size() < kFree);
  size_ = std::clamp<std::uint32_t>(size_, 2, kMaxSize);
  while (!is_valid_size(size_)) --size_;  // primes are dense: a few steps at most, and 2 is prime
  if (targets.empty()) return;

  std::vector<Walk> walks;
  walks.reserve(targets.size());
  std::uint64_t max_weight = 1;
  for (std::uint32_t i = 0; i < targets.size(); ++i) {
    assert(targets[i].weight >= 1);
    const std::uint64_t weight = std::max<std::uint32_t>(targets[i].weight, 1);
    // The paper's offset and skip, from two independent hashes of the identity.
    const std::uint64_t h1 = stable_hash(targets[i].identity);
    const std::uint64_t h2 = mix64(h1 ^ 0x5bd1e9955bd1e995ULL);
    walks.push_back(Walk{i, weight, h1 % size_, h2 % (size_ - 1) + 1, 0});
    max_weight = std::max(max_weight, weight);
  }
  // Turn order by identity (then weight, then list position for duplicates): list order must not
  // change the table.
  std::stable_sort(walks.begin(), walks.end(), [&](const Walk& a, const Walk& b) {
    if (targets[a.target].identity != targets[b.target].identity) {
      return targets[a.target].identity < targets[b.target].identity;
    }
    return a.weight < b.weight;
  });

  slots_.assign(size_, kFree);
  std::uint32_t filled = 0;
  // The heaviest target takes a turn every round, so each round fills at least one slot.
  for (std::uint64_t round = 1; filled < size_; ++round) {
    for (Walk& walk : walks) {
      if (walk.turns * max_weight >= round * walk.weight) continue;  // not its turn yet
      ++walk.turns;
      while (slots_[walk.position] != kFree) walk.position = (walk.position + walk.skip) % size_;
      slots_[walk.position] = walk.target;
      if (++filled == size_) break;
    }
  }
}

int MaglevTable::lookup(std::uint64_t key_hash) const {
  if (slots_.empty()) return -1;
  return static_cast<int>(slots_[key_hash % size_]);
}

int MaglevTable::pick(std::uint64_t key_hash, const TargetMask& available) const {
  assert(available.size() == target_count_);
  if (slots_.empty() || !available.any()) return -1;
  // Walking from the key's slot: deterministic per key, and the next slot's target is as random
  // as the table, so an unusable target's keys spread over the others by weight.
  const std::size_t start = key_hash % size_;
  for (std::size_t step = 0; step < size_; ++step) {
    std::size_t slot = start + step;
    if (slot >= size_) slot -= size_;
    if (available.test(slots_[slot])) return static_cast<int>(slots_[slot]);
  }
  // Only usable targets that hold no slot (more targets than slots, or extreme weights): take the
  // first one, still deterministic.
  for (std::size_t target = 0; target < target_count_; ++target) {
    if (available.test(target)) return static_cast<int>(target);
  }
  return -1;
}

}  // namespace flexgate::upstream
