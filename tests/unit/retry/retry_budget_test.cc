#include "upstream/retry/retry_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A fake clock on a whole second, so the default 1 s buckets start at t0.
const Clock::time_point t0 = Clock::time_point{} + 1000h;

void record(RetryBudget& budget, int requests, Clock::time_point now) {
  for (int i = 0; i < requests; ++i) budget.record_request(now);
}

int spend_all(RetryBudget& budget, Clock::time_point now) {
  int spent = 0;
  while (budget.try_spend_retry(now)) ++spent;
  return spent;
}

TEST(RetryBudget, QuietUpstreamGetsTheMinimum) {
  RetryBudget budget;  // 20% over 10 s, at least 3
  EXPECT_EQ(budget.allowance(t0), 3u);
  EXPECT_TRUE(budget.try_spend_retry(t0));
  EXPECT_TRUE(budget.try_spend_retry(t0));
  EXPECT_TRUE(budget.try_spend_retry(t0));
  EXPECT_FALSE(budget.try_spend_retry(t0));
  EXPECT_EQ(budget.retries_allowed(), 3u);
  EXPECT_EQ(budget.retries_refused(), 1u);
  EXPECT_EQ(budget.retries_in_window(t0), 3u);
}

TEST(RetryBudget, RatioOfRequestsInTheWindow) {
  RetryBudget budget;
  record(budget, 100, t0);
  EXPECT_EQ(budget.requests_in_window(t0), 100u);
  EXPECT_EQ(budget.allowance(t0), 20u);
  EXPECT_EQ(spend_all(budget, t0), 20);
  // Each new request earns a fifth of a retry.
  record(budget, 4, t0);
  EXPECT_FALSE(budget.try_spend_retry(t0));
  record(budget, 1, t0);
  EXPECT_TRUE(budget.try_spend_retry(t0));
  EXPECT_FALSE(budget.try_spend_retry(t0));
  EXPECT_EQ(budget.retries_allowed(), 21u);
  EXPECT_EQ(budget.retries_refused(), 3u);
}

TEST(RetryBudget, TheMinimumAppliesWhenTheRatioGivesLess) {
  RetryBudget budget;
  record(budget, 10, t0);  // 20% of 10 = 2 < 3
  EXPECT_EQ(spend_all(budget, t0), 3);
}

TEST(RetryBudget, ArithmeticIsExact) {
  RetryBudget budget(RetryBudget::Options{10s, 10, 0.29, 0});
  record(budget, 100, t0);
  EXPECT_EQ(budget.allowance(t0), 29u);  // 0.29 * 100 in floating point is 28.999...
  RetryBudget tenth(RetryBudget::Options{10s, 10, 0.1, 0});
  record(tenth, 9, t0);
  EXPECT_EQ(tenth.allowance(t0), 0u);  // floor(0.9)
  EXPECT_FALSE(tenth.try_spend_retry(t0));
  record(tenth, 1, t0);
  EXPECT_TRUE(tenth.try_spend_retry(t0));
}

TEST(RetryBudget, ZeroRatioAndZeroMinimumNeverRetry) {
  RetryBudget budget(RetryBudget::Options{10s, 10, 0.0, 0});
  record(budget, 1000, t0);
  EXPECT_FALSE(budget.try_spend_retry(t0));
}

TEST(RetryBudget, CountsExpireOneBucketAtATime) {
  RetryBudget budget;           // 10 buckets of 1 s
  record(budget, 50, t0);       // bucket 0
  record(budget, 50, t0 + 3s);  // bucket 3
  EXPECT_EQ(spend_all(budget, t0 + 3s), 20);
  EXPECT_EQ(budget.requests_in_window(t0 + 9999ms), 100u);
  EXPECT_EQ(budget.retries_in_window(t0 + 9999ms), 20u);
  // At 10 s bucket 0 leaves the window; bucket 3 (and its retries) stays until 13 s.
  EXPECT_EQ(budget.requests_in_window(t0 + 10s), 50u);
  EXPECT_EQ(budget.retries_in_window(t0 + 10s), 20u);
  EXPECT_FALSE(budget.try_spend_retry(t0 + 10s));
  EXPECT_EQ(budget.requests_in_window(t0 + 13s), 0u);
  EXPECT_EQ(budget.retries_in_window(t0 + 13s), 0u);
  EXPECT_EQ(spend_all(budget, t0 + 13s), 3);  // back to the minimum
}

TEST(RetryBudget, ABucketReusedLaterStartsOver) {
  RetryBudget budget;
  record(budget, 100, t0);
  EXPECT_EQ(spend_all(budget, t0), 20);
  // t0 + 10s falls in the same bucket slot as t0: its old counts are replaced, not added to.
  record(budget, 10, t0 + 10s);
  EXPECT_EQ(budget.requests_in_window(t0 + 10s), 10u);
  EXPECT_EQ(budget.retries_in_window(t0 + 10s), 0u);
  // Long idle periods too (many windows later).
  record(budget, 5, t0 + 1h);
  EXPECT_EQ(budget.requests_in_window(t0 + 1h), 5u);
}

TEST(RetryBudget, SteadyTrafficKeepsASteadyAllowance) {
  RetryBudget budget;
  // 10 requests per second for a minute, spending whatever the budget allows each second.
  int spent = 0;
  for (int second = 0; second < 60; ++second) {
    const Clock::time_point now = t0 + std::chrono::seconds(second);
    record(budget, 10, now);
    spent += spend_all(budget, now);
    if (second >= 9) {
      EXPECT_EQ(budget.requests_in_window(now), 100u) << second;
    }
    EXPECT_LE(budget.retries_in_window(now), budget.allowance(now)) << second;
  }
  // 20 per 10 s window: the first second spends 3 (the minimum), then 2 per second on average.
  EXPECT_GE(spent, 6 * 20 - 3);
  EXPECT_LE(spent, 6 * 20 + 3);
}

TEST(RetryBudget, CustomBucketsAndWindow) {
  RetryBudget budget(RetryBudget::Options{1s, 4, 0.5, 0});  // 4 buckets of 250 ms
  record(budget, 10, t0);
  EXPECT_EQ(budget.allowance(t0 + 999ms), 5u);
  EXPECT_EQ(budget.allowance(t0 + 1s), 0u);
}

TEST(RetryBudget, DegenerateOptionsAreClamped) {
  RetryBudget budget(RetryBudget::Options{0ms, 0, -1.0, 1});  // one bucket of 1 ms, ratio 0
  record(budget, 100, t0);
  EXPECT_EQ(budget.allowance(t0), 1u);
  EXPECT_EQ(budget.allowance(t0 + 1ms), 1u);
  EXPECT_EQ(budget.requests_in_window(t0 + 1ms), 0u);
}

TEST(RetryBudget, ConcurrentSpendersInOneBucketNeverOverspend) {
  RetryBudget budget;
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 1000;
  constexpr int kSpendsPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] { record(budget, kRequestsPerThread, t0 + 100ms); });
  }
  for (auto& thread : threads) thread.join();
  threads.clear();
  ASSERT_EQ(budget.requests_in_window(t0 + 500ms), 8000u);

  std::atomic<int> allowed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSpendsPerThread; ++i) {
        if (budget.try_spend_retry(t0 + 500ms)) allowed.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 1600);  // exactly 20% of 8000
  EXPECT_EQ(budget.retries_allowed(), 1600u);
  EXPECT_EQ(budget.retries_refused(), 8u * kSpendsPerThread - 1600u);
}

TEST(RetryBudget, ConcurrentRequestsAndRetriesStayWithinTheAllowance) {
  RetryBudget budget;
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        budget.record_request(t0 + 200ms);
        budget.try_spend_retry(t0 + 200ms);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // The allowance only grows during the run, so no moment allowed more than the final one.
  EXPECT_LE(budget.retries_allowed(), budget.allowance(t0 + 200ms));
  EXPECT_EQ(budget.retries_allowed(), budget.retries_in_window(t0 + 200ms));
  EXPECT_EQ(budget.retries_allowed() + budget.retries_refused(), 16000u);
}

TEST(RetryBudget, RacingAcrossABucketBoundaryOverspendsAtMostOne) {
  RetryBudget budget;
  record(budget, 1000, t0);  // allowance 200 in both buckets used below
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Half the callers see a clock one bucket later than the other half.
    const Clock::time_point now = t % 2 == 0 ? t0 + 999ms : t0 + 1s;
    threads.emplace_back([&budget, now] {
      for (int i = 0; i < 200; ++i) budget.try_spend_retry(now);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_GE(budget.retries_allowed(), 200u);
  EXPECT_LE(budget.retries_allowed(), 201u);  // the documented tolerance: one per extra bucket
}

}  // namespace
}  // namespace flexgate::upstream
