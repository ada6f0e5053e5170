#include "upstream/balance/balancer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

// Counts allocations made on the thread that asks, to check that pick() never allocates. Replaces
// every non-aligned global operator new/delete of this test binary (also under sanitizers, whose
// own versions must not be paired with these); aligned ones keep pairing among themselves.
namespace {
thread_local bool counting_allocations = false;
std::atomic<int> allocations{0};

void* counted_malloc(std::size_t size) noexcept {
  if (counting_allocations) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* counted_malloc_or_abort(std::size_t size) {
  void* p = counted_malloc(size);
  if (p == nullptr) std::abort();  // out of memory in a test
  return p;
}
}  // namespace

void* operator new(std::size_t size) {
  return counted_malloc_or_abort(size);
}
void* operator new[](std::size_t size) {
  return counted_malloc_or_abort(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
// g++ sees malloc behind `new` and free behind `delete` once both are inlined, and calls it a mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const Clock::time_point t0 = Clock::time_point{} + 1000h;

constexpr Strategy kAll[] = {Strategy::kRoundRobin, Strategy::kLeastRequest, Strategy::kLatency,
                             Strategy::kConsistentHash};

std::vector<WeightedTarget> three_targets() {
  return {{"a:80", 1}, {"b:80", 2}, {"c:80", 3}};
}

TEST(Balancer, EveryStrategyPicksOnlyUsableTargets) {
  for (Strategy strategy : kAll) {
    Balancer balancer(three_targets(), BalancerOptions{.strategy = strategy, .hash_table_size = 101});
    EXPECT_EQ(balancer.strategy(), strategy);
    EXPECT_EQ(balancer.target_count(), 3u);
    TargetMask available(3);
    available.set(1, false);
    for (int i = 0; i < 500; ++i) {
      const int target = balancer.pick(available, t0 + i * 1ms, static_cast<std::uint64_t>(i) * 7919);
      ASSERT_TRUE(target == 0 || target == 2) << to_string(strategy) << " picked " << target;
      balancer.on_request_start(target);
      balancer.on_request_end(target, 1ms, t0 + i * 1ms);
    }
    EXPECT_EQ(balancer.pick(TargetMask(3, false), t0, 1), Balancer::kNone) << to_string(strategy);
  }
}

TEST(Balancer, EveryStrategyPicksTheOnlyTargetWhenUsable) {
  for (Strategy strategy : kAll) {
    const std::vector<WeightedTarget> one{{"only:80", 5}};
    Balancer balancer(one, BalancerOptions{.strategy = strategy, .hash_table_size = 13});
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(balancer.pick(TargetMask(1), t0 + i * 1ms, static_cast<std::uint64_t>(i)), 0) << to_string(strategy);
    }
    EXPECT_EQ(balancer.pick(TargetMask(1, false), t0, 1), Balancer::kNone) << to_string(strategy);
  }
}

TEST(Balancer, EveryStrategyHandlesAnUpstreamWithoutTargets) {
  for (Strategy strategy : kAll) {
    Balancer balancer({}, BalancerOptions{.strategy = strategy, .hash_table_size = 13});
    EXPECT_EQ(balancer.pick(TargetMask(0), t0, 5), Balancer::kNone) << to_string(strategy);
  }
}

TEST(Balancer, PickNeverAllocates) {
  for (Strategy strategy : kAll) {
    Balancer balancer(three_targets(), BalancerOptions{.strategy = strategy, .hash_table_size = 101});
    TargetMask available(3);
    available.set(0, false);
    const TargetMask none(3, false);
    allocations = 0;
    counting_allocations = true;
    for (int i = 0; i < 1000; ++i) {
      const int target = balancer.pick(available, t0 + i * 1ms, static_cast<std::uint64_t>(i));
      balancer.on_request_start(target);
      balancer.on_request_end(target, 2ms, t0 + i * 1ms);
      balancer.pick(none, t0, 0);
    }
    counting_allocations = false;
    EXPECT_EQ(allocations.load(), 0) << to_string(strategy);
  }
}

TEST(Balancer, MasksUpToInlineSizeDoNotAllocate) {
  counting_allocations = true;
  allocations = 0;
  TargetMask healthy(TargetMask::kInlineTargets);
  TargetMask tried = healthy;
  tried.set(3, false);
  healthy &= tried;
  counting_allocations = false;
  EXPECT_EQ(allocations.load(), 0);
}

TEST(Balancer, CountsInFlightRequests) {
  Balancer balancer(three_targets(), BalancerOptions{.strategy = Strategy::kLatency});
  balancer.on_request_start(1);
  balancer.on_request_start(1);
  balancer.on_request_start(2);
  EXPECT_EQ(balancer.in_flight(0), 0u);
  EXPECT_EQ(balancer.in_flight(1), 2u);
  balancer.on_request_end(1, 5ms, t0);
  balancer.on_request_abandoned(2);
  EXPECT_EQ(balancer.in_flight(1), 1u);
  EXPECT_EQ(balancer.in_flight(2), 0u);
  EXPECT_DOUBLE_EQ(balancer.latency_estimate_ns(1, t0), 5e6);
  EXPECT_DOUBLE_EQ(balancer.latency_estimate_ns(2, t0), 0) << "abandoned: no sample";
}

TEST(Balancer, LatencyIsTrackedOnlyWherePicksReadIt) {
  for (Strategy strategy : kAll) {
    Balancer three(three_targets(), BalancerOptions{.strategy = strategy, .hash_table_size = 101});
    three.on_request_start(1);
    three.on_request_end(1, 5ms, t0);
    EXPECT_DOUBLE_EQ(three.latency_estimate_ns(1, t0), strategy == Strategy::kLatency ? 5e6 : 0) << to_string(strategy);
    EXPECT_EQ(three.in_flight(1), 0u);
  }
  const std::vector<WeightedTarget> one{{"only:80", 1}};
  Balancer single(one, BalancerOptions{.strategy = Strategy::kLatency});
  single.on_request_start(0);
  single.on_request_end(0, 5ms, t0);
  EXPECT_DOUBLE_EQ(single.latency_estimate_ns(0, t0), 0) << "one target: nothing to choose between";
  EXPECT_EQ(single.in_flight(0), 0u);
}

#ifdef NDEBUG
TEST(Balancer, EndWithoutStartNeverUnderflowsInRelease) {
  Balancer balancer(three_targets(), BalancerOptions{});
  balancer.on_request_end(0, 1ms, t0);
  balancer.on_request_abandoned(0);
  EXPECT_EQ(balancer.in_flight(0), 0u);
  balancer.on_request_start(7);  // out of range: ignored
  balancer.on_request_end(-1, 1ms, t0);
  EXPECT_EQ(balancer.in_flight(0), 0u);
}
#else
TEST(BalancerDeathTest, EndWithoutStartAsserts) {
  Balancer balancer(three_targets(), BalancerOptions{});
  EXPECT_DEATH(balancer.on_request_end(0, 1ms, t0), "without start");
  EXPECT_DEATH(balancer.on_request_start(7), "valid");
}
#endif

}  // namespace
}  // namespace flexgate::upstream
