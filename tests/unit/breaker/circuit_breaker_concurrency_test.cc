// Several threads share one CircuitBreaker, as workers do. Run under ThreadSanitizer too
// (build-breaker-tsan). The clock is a shared fake one that the threads move forward.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "upstream/breaker/circuit_breaker.h"

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kThreads = 8;

struct Shared {
  explicit Shared(CircuitBreakerOptions options) : breaker(options) {}
  CircuitBreaker breaker;
  std::atomic<std::int64_t> clock_ms{1'000'000'000};
  // Probes in flight per Half-open period (by ticket generation, modulo the array's size): the
  // limit holds within one period; a new period does not wait for the stale probes of the last.
  std::array<std::atomic<int>, 4096> probes_in_flight{};
  std::atomic<int> max_probes_in_flight{0};
  std::atomic<std::uint64_t> seen[kBreakerStateCount] = {};
  std::atomic<int> bad_edges{0};

  Clock::time_point now() const { return Clock::time_point{} + std::chrono::milliseconds(clock_ms.load()); }
  void observe(std::optional<BreakerTransition> t) {
    if (!t) return;
    const bool edge = (t->from == BreakerState::kClosed && t->to == BreakerState::kOpen) ||
                      (t->from == BreakerState::kOpen && t->to == BreakerState::kHalfOpen) ||
                      (t->from == BreakerState::kHalfOpen && t->to != BreakerState::kHalfOpen);
    if (!edge) bad_edges.fetch_add(1);
    seen[static_cast<std::size_t>(t->to)].fetch_add(1);
  }
};

// One worker: requests at the shared clock, reporting a failure with `failure_percent` odds.
void hammer(Shared& shared, std::uint32_t seed, int iterations, int failure_percent) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> percent(0, 99);
  for (int i = 0; i < iterations; ++i) {
    if (percent(rng) < 5) shared.clock_ms.fetch_add(std::uniform_int_distribution<int>(1, 50)(rng));
    CircuitBreaker::Admission admission = shared.breaker.try_acquire(shared.now());
    shared.observe(admission.transition);
    (void)shared.breaker.state();  // the lock-free readers metrics use
    (void)shared.breaker.transitions_to(BreakerState::kOpen);
    if (!admission.admitted()) continue;
    const bool probe = admission.ticket.is_probe();
    if (probe) {
      std::atomic<int>& counter = shared.probes_in_flight[admission.ticket.generation() % 4096];
      const int in_flight = counter.fetch_add(1) + 1;
      int max = shared.max_probes_in_flight.load();
      while (in_flight > max && !shared.max_probes_in_flight.compare_exchange_weak(max, in_flight)) {
      }
      std::this_thread::yield();  // widen the window in which other threads ask for probes
      counter.fetch_sub(1);
    }
    const int dice = percent(rng);
    const BreakerOutcome outcome = dice < failure_percent ? BreakerOutcome::kFailure
                                   : dice < 95            ? BreakerOutcome::kSuccess
                                                          : BreakerOutcome::kAbandoned;
    shared.observe(shared.breaker.report(admission.ticket, outcome, shared.now()));
  }
}

TEST(CircuitBreakerConcurrency, ManyThreadsKeepTheBreakerConsistent) {
  CircuitBreakerOptions o;
  o.failure_threshold_percent = 50;
  o.minimum_requests = 10;
  o.window = 1s;
  o.open_duration = 200ms;
  o.half_open_requests = 3;
  o.probe_timeout = 1000h;  // no reclaim: every probe reports, so in-flight counting is exact
  Shared shared(o);

  // Flapping: around the threshold, so the breaker cycles through every state many times.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(hammer, std::ref(shared), 100 + t, 20000, 45);
  for (std::thread& thread : threads) thread.join();
  threads.clear();
  EXPECT_GT(shared.seen[static_cast<std::size_t>(BreakerState::kOpen)].load(), 0u);
  EXPECT_GT(shared.seen[static_cast<std::size_t>(BreakerState::kClosed)].load(), 0u);

  // Healthy: only successes and abandons, then every state must settle on Closed.
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(hammer, std::ref(shared), 200 + t, 5000, 0);
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 100 && shared.breaker.state() != BreakerState::kClosed; ++i)
    hammer(shared, 300, 100, 0);
  EXPECT_EQ(shared.breaker.state(), BreakerState::kClosed);

  EXPECT_EQ(shared.bad_edges.load(), 0);
  EXPECT_LE(shared.max_probes_in_flight.load(), 3);
  std::array<std::uint64_t, kBreakerStateCount> seen{};
  for (std::size_t s = 0; s < kBreakerStateCount; ++s) {
    seen[s] = shared.seen[s].load();
    EXPECT_EQ(shared.breaker.transitions_to(static_cast<BreakerState>(s)), seen[s]) << s;
  }
  // It started and ended Closed: it left Closed as often as it came back, and every Half-open
  // period began with an Open one.
  const auto opened = seen[static_cast<std::size_t>(BreakerState::kOpen)];
  const auto half_opened = seen[static_cast<std::size_t>(BreakerState::kHalfOpen)];
  const auto closed = seen[static_cast<std::size_t>(BreakerState::kClosed)];
  EXPECT_EQ(half_opened, opened);  // ended Closed, so the last Open went on to Half-open
  EXPECT_GE(opened, closed);
}

}  // namespace
}  // namespace flexgate::upstream
