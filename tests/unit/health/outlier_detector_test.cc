#include "upstream/health/outlier_detector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A fake clock: every test passes `now` explicitly.
const Clock::time_point t0 = Clock::time_point{} + 1000h;

OutlierDetectorOptions defaults() {
  return OutlierDetectorOptions{};
}  // 5 failures, 30s..300s, 50%

// Reports `count` failures for `target`; returns the ejection the last one caused, if any.
std::optional<Ejection> fail(OutlierDetector& detector, std::size_t target, unsigned count,
                             Clock::time_point now) {
  std::optional<Ejection> ejection;
  for (unsigned i = 0; i < count; ++i) {
    std::optional<Ejection> e = detector.record_result(target, false, now);
    if (i + 1 < count) {
      EXPECT_FALSE(e.has_value()) << "ejected early, after " << i + 1;
    }
    ejection = e;
  }
  return ejection;
}

TEST(OutlierDetector, EjectsAfterConsecutiveFailuresUntilTheTimePasses) {
  OutlierDetector detector(4, defaults());
  EXPECT_FALSE(detector.is_ejected(1, t0));
  std::optional<Ejection> ejection = fail(detector, 1, 5, t0);
  ASSERT_TRUE(ejection.has_value());
  EXPECT_EQ(ejection->target, 1u);
  EXPECT_EQ(ejection->level, 1u);
  EXPECT_EQ(ejection->duration, 30s);
  EXPECT_EQ(ejection->until, t0 + 30s);
  EXPECT_TRUE(detector.is_ejected(1, t0));
  EXPECT_TRUE(detector.is_ejected(1, t0 + 29999ms));
  EXPECT_FALSE(detector.is_ejected(1, t0 + 30s));  // ends by itself
  EXPECT_FALSE(detector.is_ejected(0, t0));
  EXPECT_EQ(detector.ejected_count(t0), 1u);
  EXPECT_EQ(detector.ejected_count(t0 + 30s), 0u);
  EXPECT_EQ(detector.ejections(), 1u);
}

TEST(OutlierDetector, ASuccessBreaksTheRun) {
  OutlierDetector detector(4, defaults());
  EXPECT_FALSE(fail(detector, 0, 4, t0).has_value());
  EXPECT_FALSE(detector.record_result(0, true, t0).has_value());
  EXPECT_FALSE(fail(detector, 0, 4, t0).has_value());
  EXPECT_FALSE(detector.is_ejected(0, t0));
  EXPECT_TRUE(fail(detector, 0, 1, t0).has_value());  // the fifth in a row
}

TEST(OutlierDetector, TargetsCountTheirFailuresApart) {
  OutlierDetector detector(4, defaults());
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(detector.record_result(0, false, t0).has_value());
    EXPECT_FALSE(detector.record_result(1, false, t0).has_value());
  }
  EXPECT_TRUE(detector.record_result(1, false, t0).has_value());
  EXPECT_FALSE(detector.is_ejected(0, t0));
}

TEST(OutlierDetector, EjectionTimeDoublesUpToTheMaximum) {
  OutlierDetector detector(4, defaults());
  Clock::time_point now = t0;
  const std::vector<std::chrono::milliseconds> expected = {30s, 60s, 120s, 240s, 300s, 300s, 300s};
  for (std::size_t k = 0; k < expected.size(); ++k) {
    std::optional<Ejection> ejection = fail(detector, 2, 5, now);  // fails again as soon as it is back
    ASSERT_TRUE(ejection.has_value()) << k;
    EXPECT_EQ(ejection->duration, expected[k]) << k;
    EXPECT_EQ(ejection->level, std::min<unsigned>(static_cast<unsigned>(k) + 1, 5)) << k;
    now = ejection->until;
  }
}

TEST(OutlierDetector, TheLevelDecaysWhileTheTargetStaysInService) {
  OutlierDetector detector(4, defaults());
  Clock::time_point now = t0;
  for (int k = 0; k < 3; ++k) now = fail(detector, 0, 5, now)->until;  // level 3 (120s), ended at `now`
  // 59s back in service forgives one level (one whole base_ejection_time): 3 - 1 + 1 = 3.
  std::optional<Ejection> ejection = fail(detector, 0, 5, now + 59s);
  EXPECT_EQ(ejection->level, 3u);
  EXPECT_EQ(ejection->duration, 120s);
  // 60s forgives two: 3 - 2 + 1 = 2.
  ejection = fail(detector, 0, 5, ejection->until + 60s);
  EXPECT_EQ(ejection->level, 2u);
  EXPECT_EQ(ejection->duration, 60s);
  // A long healthy stretch starts again from the base time.
  ejection = fail(detector, 0, 5, ejection->until + 1h);
  EXPECT_EQ(ejection->level, 1u);
  EXPECT_EQ(ejection->duration, 30s);
}

TEST(OutlierDetector, NeverEjectsMoreThanMaxEjectionPercent) {
  OutlierDetector detector(4, defaults());  // 50% of 4: two at once
  EXPECT_EQ(detector.max_ejected(), 2u);
  ASSERT_TRUE(fail(detector, 0, 5, t0).has_value());
  ASSERT_TRUE(fail(detector, 1, 5, t0 + 10s).has_value());
  EXPECT_FALSE(fail(detector, 2, 5, t0 + 20s).has_value());  // the cap is full
  EXPECT_FALSE(detector.is_ejected(2, t0 + 20s));
  EXPECT_EQ(detector.ejections_skipped(), 1u);
  // Its count started again: four more failures are not enough, even after target 0 is back.
  EXPECT_FALSE(fail(detector, 2, 4, t0 + 30s).has_value());
  EXPECT_TRUE(detector.record_result(2, false, t0 + 30s).has_value());
  EXPECT_EQ(detector.ejected_count(t0 + 30s), 2u);
  EXPECT_EQ(detector.ejections(), 3u);
}

TEST(OutlierDetector, TheCapRoundsDownAndKeepsOneTargetInRotation) {
  struct Case {
    std::size_t targets;
    unsigned percent;
    std::size_t max_ejected;
  };
  for (Case c :
       {Case{1, 50, 0}, Case{1, 100, 0}, Case{2, 50, 1}, Case{3, 50, 1}, Case{2, 100, 1}, Case{5, 100, 4},
        Case{10, 10, 1}, Case{9, 10, 0}, Case{4, 0, 0}, Case{0, 50, 0}, Case{7, 30, 2}, Case{3, 200, 2}}) {
    OutlierDetectorOptions o;
    o.max_ejection_percent = c.percent;
    EXPECT_EQ(OutlierDetector(c.targets, o).max_ejected(), c.max_ejected) << c.targets << " " << c.percent;
  }
  // The last target is never ejected, whatever the percentage.
  OutlierDetectorOptions all;
  all.max_ejection_percent = 100;
  OutlierDetector single(1, all);
  EXPECT_FALSE(fail(single, 0, 50, t0).has_value());
  EXPECT_FALSE(single.is_ejected(0, t0));
  EXPECT_EQ(single.ejections_skipped(), 10u);
  OutlierDetector pair(2, all);
  EXPECT_TRUE(fail(pair, 0, 5, t0).has_value());
  EXPECT_FALSE(fail(pair, 1, 5, t0).has_value());
}

TEST(OutlierDetector, ResultsReportedWhileEjectedAreIgnored) {
  OutlierDetector detector(4, defaults());
  ASSERT_TRUE(fail(detector, 0, 5, t0).has_value());
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(detector.record_result(0, false, t0 + 10s).has_value());
  EXPECT_EQ(detector.ejections(), 1u);
  EXPECT_FALSE(fail(detector, 0, 4, t0 + 30s).has_value());  // back: a fresh run of five
  EXPECT_TRUE(detector.record_result(0, false, t0 + 30s).has_value());
}

TEST(OutlierDetector, ReturnsAreTakenOncePerEjection) {
  OutlierDetector detector(4, defaults());
  ASSERT_TRUE(fail(detector, 3, 5, t0).has_value());
  ASSERT_TRUE(fail(detector, 1, 5, t0 + 5s).has_value());
  EXPECT_TRUE(detector.take_returns(t0 + 29s).empty());
  EXPECT_EQ(detector.take_returns(t0 + 30s), std::vector<std::size_t>{3});
  EXPECT_TRUE(detector.take_returns(t0 + 31s).empty());
  EXPECT_EQ(detector.take_returns(t0 + 40s), std::vector<std::size_t>{1});
  EXPECT_EQ(detector.returns(), 2u);

  // Ejected again before anyone took its return: the return is kept for the next call.
  ASSERT_TRUE(fail(detector, 0, 5, t0 + 40s).has_value());
  ASSERT_TRUE(fail(detector, 0, 5, t0 + 70s).has_value());
  EXPECT_EQ(detector.take_returns(t0 + 71s), std::vector<std::size_t>{0});
  EXPECT_EQ(detector.take_returns(t0 + 130s), std::vector<std::size_t>{0});
  EXPECT_EQ(detector.returns(), 4u);
  EXPECT_EQ(detector.ejections(), 4u);
}

TEST(OutlierDetector, OptionsAreClamped) {
  OutlierDetectorOptions o;
  o.consecutive_failures = 0;  // 1: every failure ejects
  o.base_ejection_time = 0ms;  // 1ms
  o.max_ejection_time = 4ms;
  OutlierDetector detector(4, o);
  std::optional<Ejection> ejection = detector.record_result(0, false, t0);
  ASSERT_TRUE(ejection.has_value());
  EXPECT_EQ(ejection->duration, 1ms);
  EXPECT_EQ(detector.record_result(0, false, ejection->until)->duration, 2ms);

  OutlierDetectorOptions short_max;
  short_max.max_ejection_time = 10s;  // below the base: every ejection lasts max_ejection_time
  OutlierDetector capped(4, short_max);
  EXPECT_EQ(fail(capped, 0, 5, t0)->duration, 10s);
}

TEST(OutlierDetector, ConcurrentWorkersNeverExceedTheCap) {
  // Time stands still while workers race on a flaky upstream, so the cap check is exact.
  constexpr std::size_t kTargets = 10;
  OutlierDetectorOptions o;
  o.consecutive_failures = 3;
  o.max_ejection_percent = 30;  // 3 of 10
  OutlierDetector detector(kTargets, o);
  std::atomic<std::uint64_t> ejections{0};
  std::atomic<std::size_t> worst{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(t));
      for (int i = 0; i < 20000; ++i) {
        const std::size_t target = std::uniform_int_distribution<std::size_t>(0, kTargets - 1)(rng);
        if (detector.is_ejected(target, t0)) continue;
        if (detector.record_result(target, std::uniform_int_distribution<int>(0, 2)(rng) == 0, t0))
          ++ejections;
        const std::size_t count = detector.ejected_count(t0);
        std::size_t seen = worst.load();
        while (count > seen && !worst.compare_exchange_weak(seen, count)) {
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(worst.load(), 3u);
  EXPECT_EQ(detector.ejections(), ejections.load());
  EXPECT_EQ(detector.ejected_count(t0), 3u);
}

TEST(OutlierDetector, ConcurrentWorkersWithAMovingClock) {
  // TSan food: ejections end and start while other threads read and report.
  constexpr std::size_t kTargets = 6;
  OutlierDetectorOptions o;
  o.consecutive_failures = 2;
  o.base_ejection_time = 10ms;
  o.max_ejection_time = 80ms;
  OutlierDetector detector(kTargets, o);
  std::atomic<std::int64_t> clock_ms{0};
  std::atomic<std::uint64_t> ejections{0};
  std::atomic<std::uint64_t> returns{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(t));
      for (int i = 0; i < 20000; ++i) {
        const Clock::time_point now = t0 + std::chrono::milliseconds(clock_ms.fetch_add(i % 4 == 0 ? 1 : 0));
        const std::size_t target = std::uniform_int_distribution<std::size_t>(0, kTargets - 1)(rng);
        (void)detector.is_ejected(target, now);
        if (detector.record_result(target, std::uniform_int_distribution<int>(0, 1)(rng) == 0, now))
          ++ejections;
        if (t == 0 && i % 100 == 0) returns += detector.take_returns(now).size();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  returns += detector.take_returns(t0 + 1h).size();
  EXPECT_GT(ejections.load(), 0u);
  EXPECT_EQ(detector.ejections(), ejections.load());
  EXPECT_EQ(detector.returns(), returns.load());
  EXPECT_EQ(returns.load(), ejections.load());  // every ejection came back once
}

}  // namespace
}  // namespace flexgate::upstream
