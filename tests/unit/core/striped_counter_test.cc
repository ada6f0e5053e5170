// The counter the data path adds to from every worker: exact sums, no shared cache line between
// the threads that add.

#include "core/striped_counter.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace flexgate {
namespace {

TEST(StripedCounter, SumsEveryThreadsAdditionsExactly) {
  StripedCounter counter;
  constexpr int kThreads = 4;
  constexpr std::uint64_t kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counter] {
      for (std::uint64_t i = 0; i < kAdds; ++i) counter.add();
    });
  }
  for (std::thread& thread : threads) thread.join();
  counter.add(5);
  EXPECT_EQ(counter.load(), kThreads * kAdds + 5);
}

TEST(StripedCounter, ThreadsThatAddTogetherUseDifferentStripes) {
  // Up to kStripes threads, each holding its stripe while the others take theirs: all differ.
  std::vector<std::size_t> stripes(StripedCounter::kStripes);
  std::vector<std::thread> threads;
  for (std::size_t& stripe : stripes) {
    threads.emplace_back([&stripe] { stripe = StripedCounter::stripe_of_this_thread(); });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<bool> seen(StripedCounter::kStripes, false);
  std::size_t distinct = 0;
  for (const std::size_t stripe : stripes) {
    ASSERT_LT(stripe, StripedCounter::kStripes);
    if (!seen[stripe]) ++distinct;
    seen[stripe] = true;
  }
  // Consecutive first uses take consecutive stripes, so sixteen new threads cover all sixteen.
  EXPECT_EQ(distinct, StripedCounter::kStripes);
}

}  // namespace
}  // namespace flexgate
