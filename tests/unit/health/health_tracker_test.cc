#include "upstream/health/health_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace flexgate::upstream {
namespace {

HealthTrackerOptions thresholds(unsigned healthy, unsigned unhealthy) {
  HealthTrackerOptions o;
  o.healthy_threshold = healthy;
  o.unhealthy_threshold = unhealthy;
  return o;
}

TEST(HealthTracker, TargetsStartHealthy) {
  HealthTracker tracker(3, HealthTrackerOptions{});
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(tracker.is_healthy(i));
  EXPECT_EQ(tracker.healthy_count(), 3u);
  EXPECT_EQ(tracker.target_count(), 3u);
}

TEST(HealthTracker, UnhealthyAfterUnhealthyThresholdFailuresInARow) {
  HealthTracker tracker(2, thresholds(2, 3));
  EXPECT_FALSE(tracker.record_probe(0, false));
  EXPECT_FALSE(tracker.record_probe(0, false));
  EXPECT_TRUE(tracker.is_healthy(0));
  EXPECT_TRUE(tracker.record_probe(0, false));  // the third: changed
  EXPECT_FALSE(tracker.is_healthy(0));
  EXPECT_FALSE(tracker.record_probe(0, false));  // already unhealthy: no change
  EXPECT_TRUE(tracker.is_healthy(1));
  EXPECT_EQ(tracker.healthy_count(), 1u);
  EXPECT_EQ(tracker.became_unhealthy(), 1u);
}

TEST(HealthTracker, ASuccessBreaksAFailureStreak) {
  HealthTracker tracker(1, thresholds(2, 3));
  EXPECT_FALSE(tracker.record_probe(0, false));
  EXPECT_FALSE(tracker.record_probe(0, false));
  EXPECT_FALSE(tracker.record_probe(0, true));
  EXPECT_FALSE(tracker.record_probe(0, false));
  EXPECT_FALSE(tracker.record_probe(0, false));
  EXPECT_TRUE(tracker.is_healthy(0));
  EXPECT_TRUE(tracker.record_probe(0, false));
}

TEST(HealthTracker, HealthyAgainAfterHealthyThresholdSuccessesInARow) {
  HealthTracker tracker(1, thresholds(2, 1));
  EXPECT_TRUE(tracker.record_probe(0, false));  // threshold 1: the first failure flips it
  EXPECT_FALSE(tracker.record_probe(0, true));
  EXPECT_FALSE(tracker.record_probe(0, false));  // breaks the success streak
  EXPECT_FALSE(tracker.record_probe(0, true));
  EXPECT_FALSE(tracker.is_healthy(0));
  EXPECT_TRUE(tracker.record_probe(0, true));
  EXPECT_TRUE(tracker.is_healthy(0));
  EXPECT_EQ(tracker.became_healthy(), 1u);
  EXPECT_EQ(tracker.became_unhealthy(), 1u);
}

TEST(HealthTracker, ZeroThresholdsActAsOne) {
  HealthTracker tracker(1, thresholds(0, 0));
  EXPECT_TRUE(tracker.record_probe(0, false));
  EXPECT_TRUE(tracker.record_probe(0, true));
}

TEST(HealthTracker, ProbesAndReadsFromManyThreads) {
  // Each thread probes its own targets (as one checker per target would) while others read.
  constexpr std::size_t kTargets = 8;
  HealthTracker tracker(kTargets, thresholds(2, 2));
  std::atomic<std::uint64_t> changes{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::size_t target = t * 2 + static_cast<std::size_t>(i % 2);
        if (tracker.record_probe(target, (i / 8) % 2 == 0)) ++changes;
        (void)tracker.is_healthy((target + 3) % kTargets);
        (void)tracker.healthy_count();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(tracker.became_healthy() + tracker.became_unhealthy(), changes.load());
  EXPECT_EQ(tracker.became_unhealthy() - tracker.became_healthy(), kTargets - tracker.healthy_count());
}

}  // namespace
}  // namespace flexgate::upstream
