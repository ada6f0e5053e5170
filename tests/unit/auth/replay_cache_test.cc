#include "policy/auth/replay_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include "policy/auth/request_signature.h"

namespace flexgate::policy {
namespace {

using Outcome = ReplayCache::Outcome;

// A distinct, well-spread signature per number (as HMAC outputs are).
Sha256Digest signature(std::uint64_t n) {
  Sha256Digest out{};
  EXPECT_TRUE(sha256(std::string_view(reinterpret_cast<const char*>(&n), sizeof n), out));
  return out;
}

TEST(ReplayCache, RemembersUntilTheWindowEnds) {
  ReplayCache cache(1024);
  cache.retain_at_least(300);
  const Sha256Digest sig = signature(1);
  EXPECT_EQ(cache.remember(sig, 1000, 1000), Outcome::kFresh);
  EXPECT_EQ(cache.remember(sig, 1000, 1000), Outcome::kReplay);
  EXPECT_EQ(cache.remember(sig, 1000, 1300), Outcome::kReplay);  // now == timestamp + retention: still live
  EXPECT_EQ(cache.size(), 1u);
  // Past the window the entry is purged; the same timestamp can no longer be proven fresh.
  EXPECT_EQ(cache.remember(sig, 1000, 1301), Outcome::kExpired);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ReplayCache, ForgottenEntriesFreeTheirPlace) {
  ReplayCache cache(16);  // one entry per shard
  cache.retain_at_least(10);
  for (std::uint64_t i = 0; i < 64; ++i) cache.remember(signature(i), 100, 100);
  EXPECT_LE(cache.size(), 16u);
  EXPECT_GE(cache.size(), 1u);
  // The same signature bytes are accepted again once their entry expired (with a newer timestamp).
  std::uint64_t accepted = 0;
  for (std::uint64_t i = 0; i < 64; ++i)
    accepted += cache.remember(signature(i), 200, 200) == Outcome::kFresh;
  EXPECT_EQ(accepted, cache.size());
  EXPECT_GE(accepted, 1u);
}

TEST(ReplayCache, FullMeansRefuseNotForget) {
  ReplayCache cache(16);
  cache.retain_at_least(300);
  std::vector<Outcome> outcomes;
  for (std::uint64_t i = 0; i < 17; ++i) outcomes.push_back(cache.remember(signature(i), 1000, 1000));
  EXPECT_NE(std::find(outcomes.begin(), outcomes.end(), Outcome::kFull), outcomes.end());
  for (std::uint64_t i = 0; i < 17; ++i) {  // every accepted one is still remembered
    if (outcomes[i] == Outcome::kFresh) {
      EXPECT_EQ(cache.remember(signature(i), 1000, 1000), Outcome::kReplay);
    }
  }
  EXPECT_LE(cache.size(), cache.capacity());
}

TEST(ReplayCache, RetentionOnlyGrows) {
  ReplayCache cache;
  cache.retain_at_least(300);
  cache.retain_at_least(60);
  EXPECT_EQ(cache.retention(), 300);
  cache.retain_at_least(900);
  EXPECT_EQ(cache.retention(), 900);
}

TEST(ReplayCache, LaggingClockCannotReplayAPurgedSignature) {
  ReplayCache cache;
  cache.retain_at_least(300);
  const Sha256Digest old_sig = signature(7);
  EXPECT_EQ(cache.remember(old_sig, 1000, 1000), Outcome::kFresh);
  // A thread whose clock is ahead purges the entry (1000 + 300 < 1302, same shard as old_sig)...
  EXPECT_EQ(cache.remember(old_sig, 1302, 1302), Outcome::kFresh);
  // ...a thread still at 1300 (where 1000 is inside the window) must not be fooled by the absence.
  Sha256Digest other = signature(8);
  std::memcpy(other.data(), old_sig.data(), 8);  // same shard
  EXPECT_EQ(cache.remember(other, 1000, 1300), Outcome::kExpired);
}

TEST(ReplayCache, ConcurrentRacesHaveExactlyOneWinner) {
  ReplayCache cache;
  cache.retain_at_least(300);
  constexpr int kThreads = 4;
  constexpr std::uint64_t kSignatures = 5000;
  std::vector<Sha256Digest> signatures;
  for (std::uint64_t i = 0; i < kSignatures; ++i) signatures.push_back(signature(i));
  std::atomic<std::uint64_t> fresh{0}, replays{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (const Sha256Digest& sig : signatures) {
        switch (cache.remember(sig, 1000, 1000)) {
          case Outcome::kFresh:
            ++fresh;
            break;
          case Outcome::kReplay:
            ++replays;
            break;
          default:
            ADD_FAILURE();
            break;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(fresh.load(), kSignatures);
  EXPECT_EQ(replays.load(), kSignatures * (kThreads - 1));
  EXPECT_EQ(cache.size(), kSignatures);
}

}  // namespace
}  // namespace flexgate::policy
