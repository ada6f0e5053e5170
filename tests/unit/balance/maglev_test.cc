#include "upstream/balance/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "upstream/balance/balancer.h"
#include "upstream/balance/stable_hash.h"

namespace flexgate::upstream {
namespace {

// Identities and weights of a target list; list() views them.
struct Targets {
  std::vector<std::string> names;
  std::vector<std::uint32_t> weights;

  static Targets numbered(int count) {
    Targets t;
    for (int i = 0; i < count; ++i) t.add("10.0.0." + std::to_string(i) + ":8080", 1);
    return t;
  }
  void add(std::string name, std::uint32_t weight) {
    names.push_back(std::move(name));
    weights.push_back(weight);
  }
  void remove(std::size_t index) {
    names.erase(names.begin() + static_cast<std::ptrdiff_t>(index));
    weights.erase(weights.begin() + static_cast<std::ptrdiff_t>(index));
  }
  std::vector<WeightedTarget> list() const {
    std::vector<WeightedTarget> out;
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back(WeightedTarget{names[i], weights[i]});
    return out;
  }
};

// Slot -> identity, to compare tables whose target lists differ.
std::vector<std::string> slot_identities(const MaglevTable& table, const Targets& targets) {
  std::vector<std::string> out;
  for (std::uint32_t target : table.slots()) out.push_back(targets.names[target]);
  return out;
}

std::vector<int> slot_counts(const MaglevTable& table) {
  std::vector<int> counts(table.target_count(), 0);
  for (std::uint32_t target : table.slots()) ++counts[target];
  return counts;
}

TEST(MaglevTable, ValidSizesArePrimes) {
  for (std::uint32_t size : {2u, 3u, 13u, 251u, 65537u, 1000003u})
    EXPECT_TRUE(MaglevTable::is_valid_size(size));
  for (std::uint32_t size : {0u, 1u, 4u, 15u, 65535u, 65536u}) EXPECT_FALSE(MaglevTable::is_valid_size(size));
  EXPECT_FALSE(MaglevTable::is_valid_size(MaglevTable::kMaxSize + 1));
}

TEST(MaglevTable, EveryTargetGetsItsShareOfSlots) {
  const Targets targets = Targets::numbered(7);
  const MaglevTable table(targets.list());
  ASSERT_EQ(table.size(), 65537u);
  ASSERT_EQ(table.slots().size(), 65537u);
  // Equal weights: every target gets floor or ceil of size / targets.
  for (int count : slot_counts(table)) EXPECT_NEAR(count, 65537.0 / 7, 1.0);
}

TEST(MaglevTable, WeightedShares) {
  Targets targets;
  for (std::uint32_t weight : {1u, 2u, 3u, 4u, 10u}) targets.add("w" + std::to_string(weight), weight);
  const MaglevTable table(targets.list());
  const std::vector<int> counts = slot_counts(table);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double expected = 65537.0 * targets.weights[i] / 20;
    EXPECT_NEAR(counts[i], expected, expected * 0.01) << targets.names[i];
  }
}

TEST(MaglevTable, SmallPrimeTableFillsEverySlot) {
  const Targets targets = Targets::numbered(3);
  const MaglevTable table(targets.list(), 13);
  ASSERT_EQ(table.slots().size(), 13u);
  for (int count : slot_counts(table)) EXPECT_GE(count, 4);
}

TEST(MaglevTable, Deterministic) {
  const Targets targets = Targets::numbered(5);
  const MaglevTable a(targets.list(), 1009);
  const MaglevTable b(targets.list(), 1009);
  EXPECT_TRUE(std::ranges::equal(a.slots(), b.slots()));
}

TEST(MaglevTable, DependsOnIdentitiesNotOnListOrder) {
  Targets forward;
  Targets backward;
  for (int i = 0; i < 6; ++i) forward.add("host-" + std::to_string(i) + ":80", 1 + i % 3);
  for (int i = 5; i >= 0; --i) backward.add("host-" + std::to_string(i) + ":80", 1 + i % 3);
  const MaglevTable a(forward.list(), 4099);
  const MaglevTable b(backward.list(), 4099);
  EXPECT_EQ(slot_identities(a, forward), slot_identities(b, backward));
}

TEST(MaglevTable, AddingATargetMovesAboutItsShareAndMostlyOntoIt) {
  Targets before = Targets::numbered(10);
  Targets after = before;
  after.add("10.0.0.10:8080", 1);
  const MaglevTable old_table(before.list());
  const MaglevTable new_table(after.list());
  const std::vector<std::string> old_slots = slot_identities(old_table, before);
  const std::vector<std::string> new_slots = slot_identities(new_table, after);
  int moved = 0;
  int moved_elsewhere = 0;
  for (std::size_t slot = 0; slot < old_slots.size(); ++slot) {
    if (old_slots[slot] == new_slots[slot]) continue;
    ++moved;
    if (new_slots[slot] != "10.0.0.10:8080") ++moved_elsewhere;
  }
  const double fraction = static_cast<double>(moved) / static_cast<double>(old_slots.size());
  EXPECT_NEAR(fraction, 1.0 / 11, 0.015);
  // Maglev trades perfect stability for balance: a few slots change between old targets.
  EXPECT_LT(static_cast<double>(moved_elsewhere) / old_slots.size(), 0.01);
}

TEST(MaglevTable, RemovingATargetMovesItsKeysAndFewOthers) {
  Targets before = Targets::numbered(10);
  Targets after = before;
  after.remove(3);
  const MaglevTable old_table(before.list());
  const MaglevTable new_table(after.list());
  const std::vector<std::string> old_slots = slot_identities(old_table, before);
  const std::vector<std::string> new_slots = slot_identities(new_table, after);
  int others_moved = 0;
  for (std::size_t slot = 0; slot < old_slots.size(); ++slot) {
    if (old_slots[slot] == before.names[3]) continue;  // must move, anywhere
    if (old_slots[slot] != new_slots[slot]) ++others_moved;
  }
  EXPECT_LT(static_cast<double>(others_moved) / old_slots.size(), 0.01);
}

TEST(MaglevTable, KeysFollowTheSlots) {
  const Targets targets = Targets::numbered(4);
  const MaglevTable table(targets.list(), 101);
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t hash = stable_hash("user-" + std::to_string(i));
    EXPECT_EQ(table.lookup(hash), static_cast<int>(table.slots()[hash % 101]));
    EXPECT_EQ(table.pick(hash, TargetMask(4)), table.lookup(hash));
  }
}

TEST(MaglevTable, UnavailableTargetKeysMoveStablyAndSpread) {
  const Targets targets = Targets::numbered(5);
  const MaglevTable table(targets.list());
  TargetMask available(5);
  available.set(2, false);
  std::map<int, int> replacements;
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t hash = stable_hash("session-" + std::to_string(i));
    const int own = table.lookup(hash);
    const int picked = table.pick(hash, available);
    EXPECT_EQ(picked, table.pick(hash, available)) << "same key, same replacement";
    if (own != 2) {
      EXPECT_EQ(picked, own) << "keys of usable targets stay";
    } else {
      EXPECT_NE(picked, 2);
      ++replacements[picked];
    }
  }
  // Target 2's keys are spread over all four others.
  ASSERT_EQ(replacements.size(), 4u);
  for (const auto& [target, count] : replacements) EXPECT_GT(count, 500) << target;
}

TEST(MaglevTable, NoneWhenNothingIsAvailable) {
  const Targets targets = Targets::numbered(3);
  const MaglevTable table(targets.list(), 13);
  EXPECT_EQ(table.pick(42, TargetMask(3, false)), -1);
  const MaglevTable empty(std::span<const WeightedTarget>{}, 13);
  EXPECT_EQ(empty.lookup(42), -1);
  EXPECT_EQ(empty.pick(42, TargetMask(0)), -1);
  EXPECT_TRUE(empty.slots().empty());
}

TEST(MaglevTable, UsableTargetWithoutSlotIsStillPicked) {
  // More targets than slots: the last in identity order gets none.
  Targets targets;
  for (const char* name : {"d", "c", "b", "a"}) targets.add(name, 1);
  const MaglevTable table(targets.list(), 3);
  ASSERT_EQ(slot_counts(table)[0], 0);
  TargetMask available(4, false);
  available.set(0);
  EXPECT_EQ(table.pick(7, available), 0);
  EXPECT_EQ(table.lookup(7), static_cast<int>(table.slots()[7 % 3]));
}

#ifdef NDEBUG
TEST(MaglevTable, InvalidSizeBecomesAPrimeInRelease) {
  const Targets targets = Targets::numbered(2);
  EXPECT_EQ(MaglevTable(targets.list(), 100).size(), 97u);
  EXPECT_EQ(MaglevTable(targets.list(), 0).size(), 2u);
  // No targets, so no 16M-slot table to fill.
  EXPECT_EQ(MaglevTable(std::span<const WeightedTarget>{}, MaglevTable::kMaxSize).size(), 16777213u);
}
#endif

TEST(ConsistentHashBalancer, SharesOneTableAcrossWorkers) {
  const Targets targets = Targets::numbered(6);
  const auto table = std::make_shared<const MaglevTable>(targets.list(), 1009);
  const BalancerOptions options{.strategy = Strategy::kConsistentHash};
  Balancer worker1(targets.list(), options, table);
  Balancer worker2(targets.list(), BalancerOptions{.strategy = Strategy::kConsistentHash, .seed = 99}, table);
  Balancer own(targets.list(),
               BalancerOptions{.strategy = Strategy::kConsistentHash, .hash_table_size = 1009});
  const auto now = std::chrono::steady_clock::time_point{};
  TargetMask available(6);
  available.set(4, false);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t hash = stable_hash("client-" + std::to_string(i));
    const int picked = worker1.pick(available, now, hash);
    EXPECT_EQ(picked, table->pick(hash, available));
    EXPECT_EQ(picked, worker2.pick(available, now, hash));
    EXPECT_EQ(picked, own.pick(available, now, hash));
  }
}

}  // namespace
}  // namespace flexgate::upstream
