#include "upstream/concurrency/gradient_limit.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Clock::time_point t0 = Clock::time_point{} + 1000h;

GradientLimit::Options bounded(std::uint32_t initial, std::uint32_t min, std::uint32_t max) {
  GradientLimit::Options options;
  options.initial_limit = initial;
  options.min_limit = min;
  options.max_limit = max;
  return options;
}

// Feeds `count` samples of `latency` from a saturated upstream (every slot of the limit in use),
// one per millisecond from `now`. Returns the time after the last sample.
Clock::time_point feed(GradientLimit& limit, int count, Clock::duration latency, Clock::time_point now) {
  for (int i = 0; i < count; ++i) {
    limit.on_sample(latency, false, limit.limit(), now);
    now += 1ms;
  }
  return now;
}

TEST(GradientLimit, StartsAtTheInitialLimit) {
  GradientLimit limit(bounded(20, 4, 100));
  EXPECT_EQ(limit.limit(), 20u);
  EXPECT_EQ(limit.baseline(), 0ns);
}

TEST(GradientLimit, OneStepFollowsTheFormula) {
  GradientLimit::Options options = bounded(16, 1, 1000);
  options.smoothing = 1.0;  // jump straight to the target
  GradientLimit limit(options);
  // Steady latency: gradient 1, target = 16 + sqrt(16) = 20.
  EXPECT_EQ(limit.on_sample(10ms, false, 16, t0), 20u);
  EXPECT_EQ(limit.baseline(), 10ms);
  // Four times the baseline: gradient clamps to 0.5, target = 20 * 0.5 + sqrt(20) = 14.47.
  EXPECT_EQ(limit.on_sample(40ms, false, 20, t0 + 1ms), 14u);
}

TEST(GradientLimit, GrowsWhileLatencyStaysNearTheBaseline) {
  GradientLimit limit(bounded(20, 4, 100));
  Clock::time_point now = t0;
  std::uint32_t previous = limit.limit();
  for (int i = 0; i < 300; ++i) {
    // +-20% noise stays within the 1.5x tolerance.
    now = feed(limit, 1, i % 2 == 0 ? 8ms : 12ms, now);
    ASSERT_GE(limit.limit(), previous) << i;
    previous = limit.limit();
  }
  EXPECT_EQ(limit.limit(), 100u);  // and stops at max_limit
}

TEST(GradientLimit, AdaptsDownWhenLatencyRisesAndBackUpWhenItFalls) {
  GradientLimit limit(bounded(20, 4, 100));
  Clock::time_point now = feed(limit, 300, 10ms, t0);
  ASSERT_EQ(limit.limit(), 100u);

  // The upstream slows down five-fold (queueing): the limit falls fast.
  now = feed(limit, 10, 50ms, now);
  const std::uint32_t after_ten = limit.limit();
  EXPECT_LT(after_ten, 70u);
  now = feed(limit, 30, 50ms, now);
  EXPECT_LT(limit.limit(), 25u);
  EXPECT_LT(limit.limit(), after_ten);
  EXPECT_GE(limit.limit(), 4u);
  EXPECT_LT(limit.baseline(), 25ms);  // the baseline moves slowly

  // Latency falls back: the limit climbs again to the maximum.
  const std::uint32_t low_point = limit.limit();
  now = feed(limit, 20, 10ms, now);
  EXPECT_GT(limit.limit(), low_point);
  feed(limit, 400, 10ms, now);
  EXPECT_EQ(limit.limit(), 100u);
}

TEST(GradientLimit, ALastingNewLatencyBecomesTheBaseline) {
  GradientLimit limit(bounded(50, 4, 100));
  Clock::time_point now = feed(limit, 100, 10ms, t0);
  now = feed(limit, 50, 30ms, now);
  const std::uint32_t squeezed = limit.limit();
  // Thousands of samples at 30ms: the baseline reaches 30ms and the limit grows again.
  feed(limit, 3000, 30ms, now);
  EXPECT_GT(limit.baseline(), 25ms);
  EXPECT_GT(limit.limit(), squeezed);
  EXPECT_EQ(limit.limit(), 100u);
}

TEST(GradientLimit, TheBaselineFollowsAFasterUpstreamDown) {
  GradientLimit limit(bounded(20, 4, 100));
  Clock::time_point now = feed(limit, 50, 100ms, t0);
  ASSERT_EQ(limit.baseline(), 100ms);
  feed(limit, 100, 10ms, now);
  EXPECT_LT(limit.baseline(), 20ms);  // 5% per sample while under half the baseline
}

TEST(GradientLimit, AnIdleLimitDoesNotGrowButCanShrink) {
  GradientLimit limit(bounded(40, 4, 100));
  for (int i = 0; i < 100; ++i) limit.on_sample(10ms, false, 19, t0 + i * 1ms);  // under half in use
  EXPECT_EQ(limit.limit(), 40u);
  limit.on_sample(50ms, false, 1, t0 + 1s);
  EXPECT_LT(limit.limit(), 40u);
}

TEST(GradientLimit, DropsCutTheLimitOncePerBaselineLatency) {
  GradientLimit limit(bounded(100, 4, 100));
  limit.on_sample(20ms, false, 100, t0);  // baseline 20ms; the limit stays at its max
  ASSERT_EQ(limit.limit(), 100u);
  EXPECT_EQ(limit.on_sample(1s, true, 100, t0 + 1s), 90u);
  // The same overload episode: timeouts within one baseline latency of the cut are ignored.
  EXPECT_EQ(limit.on_sample(1s, true, 100, t0 + 1s + 5ms), 90u);
  EXPECT_EQ(limit.on_sample(1s, true, 100, t0 + 1s + 19ms), 90u);
  EXPECT_EQ(limit.on_sample(1s, true, 100, t0 + 1s + 20ms), 81u);
  EXPECT_EQ(limit.baseline(), 20ms);  // drops do not feed the baseline
}

TEST(GradientLimit, DropsBeforeAnySampleAlwaysCut) {
  GradientLimit limit(bounded(20, 4, 100));
  EXPECT_EQ(limit.on_sample(0ms, true, 1, t0), 18u);
  EXPECT_EQ(limit.on_sample(0ms, true, 1, t0), 16u);
  for (int i = 0; i < 100; ++i) limit.on_sample(0ms, true, 1, t0);
  EXPECT_EQ(limit.limit(), 4u);  // never below min_limit
}

TEST(GradientLimit, StaysInBoundsWhateverTheSamples) {
  GradientLimit limit(bounded(10, 3, 40));
  std::uint64_t state = 12345;
  Clock::time_point now = t0;
  for (int i = 0; i < 20000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;  // LCG: deterministic noise
    const auto latency = std::chrono::microseconds((state >> 33) % 200'000);
    const bool dropped = (state >> 20) % 17 == 0;
    const auto in_flight = static_cast<std::uint32_t>((state >> 40) % 60);
    now += std::chrono::microseconds((state >> 10) % 5000);
    const std::uint32_t value = limit.on_sample(latency, dropped, in_flight, now);
    ASSERT_GE(value, 3u) << i;
    ASSERT_LE(value, 40u) << i;
  }
}

TEST(GradientLimit, OptionsAreClamped) {
  GradientLimit::Options options = bounded(500, 0, 0);
  options.smoothing = -1;
  options.tolerance = 0.1;
  options.drop_backoff = 7;
  GradientLimit limit(options);
  EXPECT_EQ(limit.options().min_limit, 1u);
  EXPECT_EQ(limit.options().max_limit, 1u);
  EXPECT_EQ(limit.limit(), 1u);
  EXPECT_GT(limit.options().smoothing, 0.0);
  EXPECT_EQ(limit.options().tolerance, 1.0);
  EXPECT_EQ(limit.options().drop_backoff, 1.0);
  EXPECT_EQ(limit.on_sample(0ns, false, 1, t0), 1u);  // a zero latency is no division by zero
}

}  // namespace
}  // namespace flexgate::upstream
