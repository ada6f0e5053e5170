#include "upstream/retry/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A fake clock: every test passes `now` explicitly.
const Clock::time_point t0 = Clock::time_point{} + 1000h;
constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

Backoff::Options options(std::chrono::milliseconds base, std::chrono::milliseconds max,
                         std::chrono::milliseconds min_attempt = 5ms) {
  return Backoff::Options{base, max, min_attempt};
}

TEST(Backoff, CeilingDoublesUpToMax) {
  const Backoff::Options o = options(100ms, 1000ms);
  EXPECT_EQ(Backoff::ceiling(o, 1), 100ms);
  EXPECT_EQ(Backoff::ceiling(o, 2), 200ms);
  EXPECT_EQ(Backoff::ceiling(o, 3), 400ms);
  EXPECT_EQ(Backoff::ceiling(o, 4), 800ms);
  EXPECT_EQ(Backoff::ceiling(o, 5), 1000ms);
  EXPECT_EQ(Backoff::ceiling(o, 6), 1000ms);
  EXPECT_EQ(Backoff::ceiling(o, 0), 100ms);  // 0 is treated as the first retry
}

TEST(Backoff, CeilingIsOverflowSafeForLargeRetryNumbers) {
  const Backoff::Options o = options(25ms, 30s);
  for (unsigned retry : {40u, 62u, 63u, 64u, 65u, 1000u, UINT_MAX}) {
    EXPECT_EQ(Backoff::ceiling(o, retry), 30s) << retry;
  }
  // Huge options are clamped to kMaxDelay, so nanosecond arithmetic cannot overflow either.
  const Backoff::Options huge = options(std::chrono::milliseconds::max(), std::chrono::milliseconds::max());
  EXPECT_EQ(Backoff::ceiling(huge, UINT_MAX), Backoff::kMaxDelay);
}

TEST(Backoff, CeilingEdgeOptions) {
  EXPECT_EQ(Backoff::ceiling(options(0ms, 1s), 100), 0ms);   // no base: no delay ever
  EXPECT_EQ(Backoff::ceiling(options(2s, 1s), 1), 1s);       // base above max: max
  EXPECT_EQ(Backoff::ceiling(options(-5ms, -1ms), 3), 0ms);  // negative options count as 0
}

TEST(Backoff, DelaysCoverTheFullJitterRange) {
  Backoff backoff(options(100ms, 10s), 42);
  for (unsigned retry = 1; retry <= 4; ++retry) {
    const Clock::duration ceiling = Backoff::ceiling(backoff.options(), retry);
    Clock::duration lowest = Clock::duration::max();
    Clock::duration highest = Clock::duration::zero();
    double sum = 0;
    constexpr int kDraws = 2000;
    for (int i = 0; i < kDraws; ++i) {
      const auto delay = backoff.delay_before(retry, t0, kNoDeadline);
      ASSERT_TRUE(delay.has_value());
      ASSERT_GE(*delay, 0ns);
      ASSERT_LE(*delay, ceiling);
      lowest = std::min(lowest, *delay);
      highest = std::max(highest, *delay);
      sum += static_cast<double>(delay->count());
    }
    // Uniform on [0, ceiling]: draws reach both ends and average about half the ceiling.
    EXPECT_LT(lowest, ceiling / 20) << retry;
    EXPECT_GT(highest, ceiling * 19 / 20) << retry;
    const double mean = sum / kDraws / static_cast<double>(ceiling.count());
    EXPECT_NEAR(mean, 0.5, 0.05) << retry;
  }
}

TEST(Backoff, SameSeedGivesTheSameDelays) {
  Backoff a(options(100ms, 1s), 7);
  Backoff b(options(100ms, 1s), 7);
  Backoff c(options(100ms, 1s), 8);
  bool differs = false;
  for (unsigned retry = 1; retry <= 20; ++retry) {
    const auto da = a.delay_before(retry, t0, kNoDeadline);
    EXPECT_EQ(da, b.delay_before(retry, t0, kNoDeadline));
    differs = differs || da != c.delay_before(retry, t0, kNoDeadline);
  }
  EXPECT_TRUE(differs);
}

TEST(Backoff, DelayNeverReachesPastTheDeadline) {
  Backoff backoff(options(1s, 10s, 5ms), 1);
  // 50ms left: the delay is drawn from [0, 45ms] so the attempt keeps its 5ms.
  for (int i = 0; i < 500; ++i) {
    const auto delay = backoff.delay_before(3, t0, t0 + 50ms);
    ASSERT_TRUE(delay.has_value());
    ASSERT_LE(*delay, 45ms);
  }
}

TEST(Backoff, NoRetryWhenTheRemainingTimeCannotFitAnAttempt) {
  Backoff backoff(options(100ms, 1s, 5ms), 1);
  EXPECT_FALSE(backoff.delay_before(1, t0, t0).has_value());        // deadline now
  EXPECT_FALSE(backoff.delay_before(1, t0, t0 - 1ms).has_value());  // deadline passed
  EXPECT_FALSE(backoff.delay_before(1, t0, t0 + 5ms).has_value());  // remaining == min_attempt
  const auto just = backoff.delay_before(1, t0, t0 + 5ms + 1ns);    // 1ns to spare
  ASSERT_TRUE(just.has_value());
  EXPECT_LE(*just, 1ns);
}

TEST(Backoff, ZeroMinAttemptStillKeepsSomeTime) {
  Backoff backoff(options(100ms, 1s, 0ms), 3);
  EXPECT_FALSE(backoff.delay_before(1, t0, t0 + 1ns).has_value());  // a delay of 0 leaves 1ns: no
  for (int i = 0; i < 100; ++i) {
    const auto delay = backoff.delay_before(1, t0, t0 + 10ms);
    ASSERT_TRUE(delay.has_value());
    ASSERT_LT(*delay, 10ms);
  }
}

TEST(Backoff, FarDeadlineUsesTheCeiling) {
  Backoff backoff(options(10ms, 20ms), 5);
  for (int i = 0; i < 200; ++i) {
    const auto delay = backoff.delay_before(UINT_MAX, t0, t0 + 1h);
    ASSERT_TRUE(delay.has_value());
    ASSERT_LE(*delay, 20ms);
  }
}

}  // namespace
}  // namespace flexgate::upstream
