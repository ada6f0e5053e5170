#include "policy/ratelimit/token_bucket_table.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace flexgate::policy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A fake clock: every test passes `now` explicitly.
const Clock::time_point t0 = Clock::time_point{} + 1000h;

TEST(TokenBucketTable, BurstOfMaxThenRefused) {
  TokenBucketTable table;
  for (std::uint64_t i = 0; i < 5; ++i) {
    RateLimitDecision d = table.decide("k", 5, 1000ms, t0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 5u);
    EXPECT_EQ(d.remaining, 4 - i);
  }
  RateLimitDecision refused = table.decide("k", 5, 1000ms, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_EQ(refused.retry_after, 200ms);  // one token per window/max
  EXPECT_EQ(refused.reset, 1000ms);
}

TEST(TokenBucketTable, OneTokenComesBackEveryWindowOverMax) {
  TokenBucketTable table;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(table.decide("k", 5, 1000ms, t0).allowed);
  EXPECT_FALSE(table.decide("k", 5, 1000ms, t0 + 199ms).allowed);
  EXPECT_EQ(table.decide("k", 5, 1000ms, t0 + 199ms).retry_after, 1ms);
  EXPECT_TRUE(table.decide("k", 5, 1000ms, t0 + 200ms).allowed);
  EXPECT_FALSE(table.decide("k", 5, 1000ms, t0 + 200ms).allowed);
  EXPECT_TRUE(table.decide("k", 5, 1000ms, t0 + 400ms).allowed);
}

TEST(TokenBucketTable, PartialRefillKeepsTheFraction) {
  TokenBucketTable table;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(table.decide("k", 10, 1000ms, t0).allowed);
  // 350ms = 3.5 tokens: three requests pass, the fourth waits for the other half token.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(table.decide("k", 10, 1000ms, t0 + 350ms).allowed) << i;
  RateLimitDecision d = table.decide("k", 10, 1000ms, t0 + 350ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 50ms);
  EXPECT_TRUE(table.decide("k", 10, 1000ms, t0 + 400ms).allowed);
}

TEST(TokenBucketTable, NeverAboveCapacity) {
  TokenBucketTable table;
  ASSERT_TRUE(table.decide("k", 3, 1000ms, t0).allowed);
  RateLimitDecision d = table.decide("k", 3, 1000ms, t0 + 10h);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2u);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(table.decide("k", 3, 1000ms, t0 + 10h).allowed);
  EXPECT_FALSE(table.decide("k", 3, 1000ms, t0 + 10h).allowed);
}

TEST(TokenBucketTable, NoDriftWhenTheRateIsNotAWholeNumberOfMilliseconds) {
  // 3 per second = one token every 333.33ms. Polling every millisecond for 30 seconds admits
  // exactly the burst plus 90 refilled tokens: no rounding is lost or gained along the way.
  TokenBucketTable table;
  int allowed = 0;
  for (int ms = 0; ms <= 30000; ++ms) {
    if (table.decide("k", 3, 1000ms, t0 + std::chrono::milliseconds(ms)).allowed) ++allowed;
  }
  EXPECT_EQ(allowed, 3 + 90);
}

TEST(TokenBucketTable, AnOlderNowNeitherRefillsNorRewindsTheClock) {
  TokenBucketTable table;
  ASSERT_TRUE(table.decide("k", 1, 1000ms, t0 + 500ms).allowed);
  EXPECT_FALSE(table.decide("k", 1, 1000ms, t0).allowed);           // a racing caller's older now
  EXPECT_FALSE(table.decide("k", 1, 1000ms, t0 + 1499ms).allowed);  // refill counts from t0+500ms
  EXPECT_TRUE(table.decide("k", 1, 1000ms, t0 + 1500ms).allowed);
}

TEST(TokenBucketTable, ZeroCapacityAlwaysRefuses) {
  TokenBucketTable table;
  RateLimitDecision d = table.decide("k", 0, 1000ms, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1000ms);
  EXPECT_EQ(table.size(), 0u);
}

TEST(TokenBucketTable, AChangedLimitKeepsTheTokensLeft) {
  TokenBucketTable table;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(table.decide("k", 10, 1000ms, t0).allowed);
  // Reload to a larger limit: the two tokens left stay two (no fresh burst).
  RateLimitDecision d = table.decide("k", 100, 1000ms, t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  // Reload to a smaller limit: at most the new capacity.
  EXPECT_TRUE(table.decide("k", 1, 60000ms, t0).allowed);
  EXPECT_FALSE(table.decide("k", 1, 60000ms, t0).allowed);
}

TEST(TokenBucketTable, AllOrNothingAcrossBuckets) {
  TokenBucketTable table;
  const std::array<BucketRequest, 2> both{BucketRequest{"a", 5, 1000ms}, BucketRequest{"b", 2, 1000ms}};
  std::array<RateLimitDecision, 2> out;
  EXPECT_EQ(table.decide_all(both, t0, out), 2u);
  EXPECT_EQ(table.decide_all(both, t0, out), 2u);
  EXPECT_EQ(out[0].remaining, 3u);
  EXPECT_EQ(out[1].remaining, 0u);
  // "b" is empty: the request is refused by bucket 1 and "a" keeps its tokens.
  EXPECT_EQ(table.decide_all(both, t0, out), 1u);
  EXPECT_TRUE(out[0].allowed);
  EXPECT_EQ(out[0].remaining, 3u);
  EXPECT_FALSE(out[1].allowed);
  EXPECT_EQ(out[1].retry_after, 500ms);
  EXPECT_EQ(table.decide("a", 5, 1000ms, t0).remaining, 2u);
}

TEST(TokenBucketTable, EntriesPerShardAreCappedAndEvictionsCounted) {
  TokenBucketTable table(TokenBucketTable::Options{.shards = 1, .max_entries_per_shard = 8});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(table.decide("client-" + std::to_string(i), 5, 1000ms, t0).allowed);
    EXPECT_LE(table.size(), 8u);
  }
  EXPECT_EQ(table.size(), 8u);
  EXPECT_EQ(table.evictions(), 12u);
  EXPECT_EQ(table.expirations(), 0u);
  // The least recently used went first: client-0 starts again with a full bucket.
  EXPECT_EQ(table.decide("client-0", 5, 1000ms, t0).remaining, 4u);
  EXPECT_EQ(table.decide("client-19", 5, 1000ms, t0).remaining, 3u);
}

TEST(TokenBucketTable, FullBucketsMakeRoomBeforeAnyEviction) {
  TokenBucketTable table(TokenBucketTable::Options{.shards = 1, .max_entries_per_shard = 8});
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(table.decide("old-" + std::to_string(i), 5, 1000ms, t0).allowed);
  // A window later the old buckets are full again: new clients replace them without evicting.
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(table.decide("new-" + std::to_string(i), 5, 1000ms, t0 + 1s).allowed);
  EXPECT_EQ(table.size(), 8u);
  EXPECT_EQ(table.evictions(), 0u);
  EXPECT_EQ(table.expirations(), 8u);
}

TEST(TokenBucketTable, ExpireIdleDropsOnlyFullBuckets) {
  TokenBucketTable table(TokenBucketTable::Options{.shards = 4, .max_entries_per_shard = 64});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(table.decide("short-" + std::to_string(i), 2, 1000ms, t0).allowed);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(table.decide("long-" + std::to_string(i), 2, 60000ms, t0).allowed);
  EXPECT_EQ(table.expire_idle(t0 + 499ms), 0u);
  EXPECT_EQ(table.size(), 15u);
  EXPECT_EQ(table.expire_idle(t0 + 500ms), 10u);  // half a window refills one of two tokens
  EXPECT_EQ(table.size(), 5u);
  EXPECT_EQ(table.expire_idle(t0 + 30s), 5u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.expirations(), 15u);
}

TEST(TokenBucketTable, ConcurrentCallersOnOneKeyAdmitExactlyTheCapacity) {
  TokenBucketTable table;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  constexpr std::uint64_t kMax = 5000;
  std::atomic<std::uint64_t> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        if (table.decide("hot", kMax, 60000ms, t0).allowed) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), kMax);
}

TEST(TokenBucketTable, ConcurrentMultiBucketDecisionsNeitherOverAdmitNorLeak) {
  // Two levels on different keys, racing from many threads: the smaller one admits exactly its
  // capacity and refused requests leave the larger one untouched.
  TokenBucketTable table(TokenBucketTable::Options{.shards = 2, .max_entries_per_shard = 64});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::atomic<std::uint64_t> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Alternate the order so shard locking order is exercised both ways.
      const std::array<BucketRequest, 2> ab{BucketRequest{"global", 300, 60000ms},
                                            BucketRequest{"route", 1000, 60000ms}};
      const std::array<BucketRequest, 2> ba{ab[1], ab[0]};
      std::array<RateLimitDecision, 2> out;
      for (int i = 0; i < kPerThread; ++i) {
        const auto& requests = (t + i) % 2 == 0 ? ab : ba;
        if (table.decide_all(requests, t0, out) == 2u) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 300u);
  EXPECT_EQ(table.decide("route", 1000, 60000ms, t0).remaining, 1000u - 300u - 1u);
}

}  // namespace
}  // namespace flexgate::policy
