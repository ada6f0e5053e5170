#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upstream/balance/balancer.h"

namespace flexgate::upstream {
namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1000);

Balancer round_robin(const std::vector<WeightedTarget>& targets) {
  return Balancer(targets, BalancerOptions{.strategy = Strategy::kRoundRobin});
}

// `count` picks as letters ("a" = target 0), '-' for none.
std::string sequence(Balancer& balancer, const TargetMask& available, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    const int target = balancer.pick(available, t0);
    out += target < 0 ? '-' : static_cast<char>('a' + target);
  }
  return out;
}

TEST(RoundRobin, SmoothWeightedSequenceLikeNginx) {
  Balancer balancer = round_robin({{"a", 5}, {"b", 1}, {"c", 1}});
  EXPECT_EQ(sequence(balancer, TargetMask(3), 14), "aabacaaaabacaa");
}

TEST(RoundRobin, EqualWeightsCycle) {
  Balancer balancer = round_robin({{"a", 1}, {"b", 1}, {"c", 1}});
  EXPECT_EQ(sequence(balancer, TargetMask(3), 7), "abcabca");
}

TEST(RoundRobin, WeightsThreeToOneExactly) {
  Balancer balancer = round_robin({{"a", 3}, {"b", 1}});
  EXPECT_EQ(sequence(balancer, TargetMask(2), 8), "aabaaaba");
  int picks[2] = {0, 0};
  for (int i = 0; i < 100000; ++i) ++picks[balancer.pick(TargetMask(2), t0)];
  EXPECT_EQ(picks[0], 75000);
  EXPECT_EQ(picks[1], 25000);
}

TEST(RoundRobin, SkipsUnavailableTargets) {
  Balancer balancer = round_robin({{"a", 1}, {"b", 1}, {"c", 1}});
  TargetMask available(3);
  available.set(1, false);
  EXPECT_EQ(sequence(balancer, available, 6), "acacac");
  // b comes back and takes its share at once.
  EXPECT_EQ(sequence(balancer, TargetMask(3), 6), "abcabc");
}

TEST(RoundRobin, StaysSmoothWhenWeightedTargetIsUnavailable) {
  Balancer balancer = round_robin({{"a", 5}, {"b", 1}, {"c", 1}});
  TargetMask available(3);
  available.set(0, false);
  EXPECT_EQ(sequence(balancer, available, 4), "bcbc");
}

TEST(RoundRobin, NoneWhenNothingIsAvailable) {
  Balancer balancer = round_robin({{"a", 1}, {"b", 2}});
  EXPECT_EQ(balancer.pick(TargetMask(2, false), t0), Balancer::kNone);
  Balancer empty = round_robin({});
  EXPECT_EQ(empty.pick(TargetMask(0), t0), Balancer::kNone);
}

TEST(RoundRobin, SingleTarget) {
  Balancer balancer = round_robin({{"a", 7}});
  EXPECT_EQ(sequence(balancer, TargetMask(1), 3), "aaa");
}

}  // namespace
}  // namespace flexgate::upstream
