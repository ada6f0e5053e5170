#include <gtest/gtest.h>

#include <vector>

#include "upstream/balance/balancer.h"

namespace flexgate::upstream {
namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1000);

Balancer least_request(const std::vector<WeightedTarget>& targets, std::uint64_t seed = 1) {
  return Balancer(targets, BalancerOptions{.strategy = Strategy::kLeastRequest, .seed = seed});
}

// Picks per target over `count` picks (requests end at once, so nothing stays in flight).
std::vector<int> count_picks(Balancer& balancer, const TargetMask& available, int count) {
  std::vector<int> picks(balancer.target_count(), 0);
  for (int i = 0; i < count; ++i) {
    const int target = balancer.pick(available, t0);
    if (target < 0) continue;
    ++picks[target];
    balancer.on_request_start(target);
    balancer.on_request_end(target, std::chrono::milliseconds(1), t0);
  }
  return picks;
}

TEST(LeastRequest, IdleTargetsShareByWeight) {
  Balancer balancer = least_request({{"a", 3}, {"b", 1}});
  const std::vector<int> picks = count_picks(balancer, TargetMask(2), 100000);
  EXPECT_NEAR(picks[0], 75000, 1000);
  EXPECT_NEAR(picks[1], 25000, 1000);
}

TEST(LeastRequest, EqualWeightsAreUniform) {
  Balancer balancer = least_request({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
  for (int picks : count_picks(balancer, TargetMask(4), 100000)) EXPECT_NEAR(picks, 25000, 1000);
}

TEST(LeastRequest, AvoidsTheLoadedTarget) {
  Balancer balancer = least_request({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}});
  for (int i = 0; i < 10; ++i) balancer.on_request_start(0);
  balancer.on_request_start(1);
  const std::vector<int> picks = count_picks(balancer, TargetMask(4), 10000);
  // Target 0 always meets a less loaded one: it is never picked.
  EXPECT_EQ(picks[0], 0);
  EXPECT_GT(picks[2] + picks[3], picks[1]);
  EXPECT_EQ(balancer.in_flight(0), 10u);
}

TEST(LeastRequest, LoadIsComparedPerWeight) {
  // a: 4 in flight / weight 4 = 1; b: 2 in flight / weight 1 = 2: a is less loaded.
  Balancer balancer = least_request({{"a", 4}, {"b", 1}});
  for (int i = 0; i < 4; ++i) balancer.on_request_start(0);
  for (int i = 0; i < 2; ++i) balancer.on_request_start(1);
  const std::vector<int> picks = count_picks(balancer, TargetMask(2), 1000);
  EXPECT_EQ(picks[0], 1000);
}

TEST(LeastRequest, InFlightSpreadsEvenlyUnderConcurrency) {
  // Requests that never end: each pick goes to a least loaded of two, so loads stay level.
  Balancer balancer = least_request({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}});
  for (int i = 0; i < 1000; ++i) balancer.on_request_start(balancer.pick(TargetMask(5), t0));
  for (int target = 0; target < 5; ++target) EXPECT_NEAR(balancer.in_flight(target), 200, 20);
}

TEST(LeastRequest, InFlightFollowsWeightsUnderConcurrency) {
  Balancer balancer = least_request({{"a", 3}, {"b", 1}});
  for (int i = 0; i < 4000; ++i) balancer.on_request_start(balancer.pick(TargetMask(2), t0));
  EXPECT_NEAR(balancer.in_flight(0), 3000, 3);
  EXPECT_NEAR(balancer.in_flight(1), 1000, 3);
}

TEST(LeastRequest, SkipsUnavailableTargets) {
  Balancer balancer = least_request({{"a", 1}, {"b", 1}, {"c", 1}});
  TargetMask available(3);
  available.set(1, false);
  const std::vector<int> picks = count_picks(balancer, available, 10000);
  EXPECT_EQ(picks[1], 0);
  EXPECT_NEAR(picks[0], 5000, 300);
  EXPECT_NEAR(picks[2], 5000, 300);
}

TEST(LeastRequest, FewUsableAmongManyStillShareByWeight) {
  // 2 usable of 200: the weighted draw falls back from rejection to counting usable weight.
  std::vector<WeightedTarget> targets(200, WeightedTarget{"t", 1});
  targets[17].weight = 3;
  Balancer balancer = least_request(targets);
  TargetMask available(200, false);
  available.set(17);
  available.set(150);
  const std::vector<int> picks = count_picks(balancer, available, 40000);
  EXPECT_NEAR(picks[17], 30000, 600);
  EXPECT_NEAR(picks[150], 10000, 600);
}

TEST(LeastRequest, SingleUsableTarget) {
  Balancer balancer = least_request({{"a", 1}, {"b", 1}});
  TargetMask available(2);
  available.set(0, false);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(balancer.pick(available, t0), 1);
}

TEST(LeastRequest, NoneWhenNothingIsAvailable) {
  Balancer balancer = least_request({{"a", 1}, {"b", 1}});
  EXPECT_EQ(balancer.pick(TargetMask(2, false), t0), Balancer::kNone);
  Balancer empty = least_request({});
  EXPECT_EQ(empty.pick(TargetMask(0), t0), Balancer::kNone);
}

TEST(LeastRequest, SameSeedSameChoicesOtherSeedOtherChoices) {
  const std::vector<WeightedTarget> targets{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 1}};
  Balancer first = least_request(targets, 7);
  Balancer second = least_request(targets, 7);
  Balancer other = least_request(targets, 8);
  int differences = 0;
  for (int i = 0; i < 1000; ++i) {
    const int pick = first.pick(TargetMask(4), t0);
    EXPECT_EQ(pick, second.pick(TargetMask(4), t0));
    if (pick != other.pick(TargetMask(4), t0)) ++differences;
  }
  EXPECT_GT(differences, 100);
}

}  // namespace
}  // namespace flexgate::upstream
