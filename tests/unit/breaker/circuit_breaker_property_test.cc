// Randomized fault sequences against CircuitBreaker: random mixes of requests, outcomes,
// abandons, lost tickets and time jumps, checked against the rules after every call; then a
// healthy phase that must bring the breaker back to Closed within a bounded time.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "upstream/breaker/circuit_breaker.h"

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool is_edge(BreakerTransition t) {
  using S = BreakerState;
  return (t.from == S::kClosed && t.to == S::kOpen) || (t.from == S::kOpen && t.to == S::kHalfOpen) ||
         (t.from == S::kHalfOpen && t.to == S::kOpen) || (t.from == S::kHalfOpen && t.to == S::kClosed);
}

// Drives one breaker and checks every answer against an independent model of the rules.
class Driver {
 public:
  Driver(CircuitBreakerOptions options, std::uint32_t seed)
      : breaker_(options), options_(breaker_.options()), rng_(seed) {}

  CircuitBreaker& breaker() { return breaker_; }
  Clock::time_point now() const { return now_; }
  std::size_t outstanding() const { return outstanding_.size(); }

  void advance(milliseconds step) { now_ += step; }

  // One request at now(); false when refused. An admitted ticket joins outstanding_ (last).
  bool acquire() {
    const BreakerState before = breaker_.state();
    CircuitBreaker::Admission admission = breaker_.try_acquire(now_);
    observe(admission.transition);
    if (before == BreakerState::kClosed) {
      EXPECT_TRUE(admission.admitted());
    }
    if (!admission.admitted()) {
      EXPECT_NE(breaker_.state(), BreakerState::kClosed);
      EXPECT_GE(admission.retry_after, 1s);
      EXPECT_LE(admission.retry_after, std::chrono::ceil<std::chrono::seconds>(options_.open_duration) + 1s);
      return false;
    }
    EXPECT_EQ(admission.ticket.is_probe(), breaker_.state() == BreakerState::kHalfOpen);
    outstanding_.push_back(Outstanding{admission.ticket, now_, epoch_});
    if (admission.ticket.is_probe()) {
      // Probes of this Half-open period whose slot has not been reclaimed yet.
      // Lost tickets still hold their slot until probe_timeout.
      auto is_live = [&](const Outstanding& o) {
        return o.ticket.is_probe() && o.epoch == epoch_ && now_ - o.admitted_at < options_.probe_timeout;
      };
      const auto live = std::count_if(outstanding_.begin(), outstanding_.end(), is_live) +
                        std::count_if(lost_.begin(), lost_.end(), is_live);
      EXPECT_LE(static_cast<unsigned>(live), options_.half_open_requests);
      max_live_probes_ = std::max(max_live_probes_, static_cast<unsigned>(live));
    }
    return true;
  }

  void report(std::size_t index, BreakerOutcome outcome) {
    const Outstanding o = outstanding_[index];
    outstanding_.erase(outstanding_.begin() + static_cast<std::ptrdiff_t>(index));
    std::optional<BreakerTransition> t = breaker_.report(o.ticket, outcome, now_);
    observe(t);
    if (!t) return;
    EXPECT_EQ(o.epoch + 1, epoch_) << "a stale ticket moved the breaker";
    EXPECT_NE(outcome, BreakerOutcome::kAbandoned);
    EXPECT_EQ(o.ticket.is_probe(), t->from == BreakerState::kHalfOpen);
    if (t->to == BreakerState::kClosed) {
      EXPECT_EQ(outcome, BreakerOutcome::kSuccess);
    }
  }

  // The request behind outstanding_[index] never reports back.
  void drop(std::size_t index) {
    lost_.push_back(outstanding_[index]);
    outstanding_.erase(outstanding_.begin() + static_cast<std::ptrdiff_t>(index));
  }
  void drop_all() {
    while (!outstanding_.empty()) drop(outstanding_.size() - 1);
  }

  // One random step of the fault phase: acquire_percent% of steps ask for a request.
  void random_step(int acquire_percent = 40) {
    const int dice = std::uniform_int_distribution<int>(0, 99)(rng_);
    if (dice < acquire_percent) {
      acquire();
    } else if (dice < std::min(acquire_percent + 40, 80) && !outstanding_.empty()) {
      const std::size_t index = std::uniform_int_distribution<std::size_t>(0, outstanding_.size() - 1)(rng_);
      const int kind = std::uniform_int_distribution<int>(0, 9)(rng_);
      report(index, kind < 5   ? BreakerOutcome::kFailure
                    : kind < 9 ? BreakerOutcome::kSuccess
                               : BreakerOutcome::kAbandoned);
    } else if (dice < 83 && !outstanding_.empty()) {
      drop(std::uniform_int_distribution<std::size_t>(0, outstanding_.size() - 1)(rng_));  // lost for good
    } else if (dice < 97) {
      advance(milliseconds(std::uniform_int_distribution<int>(0, 300)(rng_)));
    } else {
      advance(milliseconds(std::uniform_int_distribution<std::int64_t>(
          0, 2 * std::max(options_.open_duration, options_.window).count())(rng_)));
    }
  }

  // Counts of the transitions returned so far, by target state.
  std::uint64_t seen(BreakerState to) const { return seen_[static_cast<std::size_t>(to)]; }
  unsigned max_live_probes() const { return max_live_probes_; }

 private:
  struct Outstanding {
    CircuitBreaker::Ticket ticket;
    Clock::time_point admitted_at;
    std::uint64_t epoch;  // transitions seen before it was admitted
  };

  void observe(std::optional<BreakerTransition> t) {
    if (!t) return;
    EXPECT_TRUE(is_edge(*t));
    EXPECT_EQ(t->from, state_);
    EXPECT_EQ(t->to, breaker_.state());
    state_ = t->to;
    ++epoch_;
    ++seen_[static_cast<std::size_t>(t->to)];
  }

  CircuitBreaker breaker_;
  CircuitBreakerOptions options_;
  std::mt19937 rng_;
  Clock::time_point now_ = Clock::time_point{} + 1000h;
  BreakerState state_ = BreakerState::kClosed;
  std::uint64_t epoch_ = 0;
  std::vector<Outstanding> outstanding_;
  std::vector<Outstanding> lost_;
  std::array<std::uint64_t, kBreakerStateCount> seen_{};
  unsigned max_live_probes_ = 0;
};

CircuitBreakerOptions random_options(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  CircuitBreakerOptions o;
  o.failure_threshold_percent = static_cast<unsigned>(pick(1, 100));
  o.minimum_requests = static_cast<unsigned>(pick(1, 20));
  o.window = milliseconds(pick(1, 20000));
  o.open_duration = milliseconds(pick(0, 10000));
  o.half_open_requests = static_cast<unsigned>(pick(1, 5));
  if (pick(0, 1) == 1) o.probe_timeout = milliseconds(pick(1, 15000));
  return o;
}

TEST(CircuitBreakerProperty, RandomFaultsThenHealthAlwaysEndsClosed) {
  constexpr milliseconds kStep = 100ms;
  std::array<std::uint64_t, kBreakerStateCount> fault_phase_transitions{};  // the test's own coverage
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    Driver driver(random_options(rng), seed);
    const CircuitBreakerOptions& o = driver.breaker().options();

    for (int i = 0; i < 3000; ++i) driver.random_step();
    if (::testing::Test::HasFailure()) return;
    for (std::size_t s = 0; s < kBreakerStateCount; ++s)
      fault_phase_transitions[s] += driver.seen(BreakerState(s));

    // Healthy phase: the requests still out are lost; every new one succeeds at once.
    driver.drop_all();
    // Closed with old failures: may open within `window`; Open: Half-open within open_duration;
    // Half-open: lost probes' slots come back within probe_timeout; then half_open_requests
    // successes, one per step.
    const milliseconds bound =
        o.window + o.open_duration + o.probe_timeout + kStep * static_cast<int>(o.half_open_requests + 2);
    const Clock::time_point start = driver.now();
    while (driver.now() - start <= bound + 10 * kStep) {
      if (driver.acquire()) driver.report(driver.outstanding() - 1, BreakerOutcome::kSuccess);
      if (driver.now() - start > bound) {
        ASSERT_EQ(driver.breaker().state(), BreakerState::kClosed);
      }
      driver.advance(kStep);
    }

    EXPECT_LE(driver.max_live_probes(), o.half_open_requests);
    for (BreakerState s : {BreakerState::kClosed, BreakerState::kOpen, BreakerState::kHalfOpen}) {
      EXPECT_EQ(driver.breaker().transitions_to(s), driver.seen(s));
    }
  }
  // The random mixes do reach every state, many times.
  for (std::uint64_t count : fault_phase_transitions) EXPECT_GT(count, 1000u);
}

TEST(CircuitBreakerProperty, ConcurrentProbesNeverExceedTheLimit) {
  // Mostly requests, few answers: Half-open is asked for far more probes than it may admit.
  for (std::uint32_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    CircuitBreakerOptions o;
    o.failure_threshold_percent = 50;
    o.minimum_requests = 1;
    o.open_duration = 1s;
    o.half_open_requests = static_cast<unsigned>(std::uniform_int_distribution<int>(1, 8)(rng));
    Driver driver(o, seed);
    for (int i = 0; i < 2000; ++i) driver.random_step(70);
    EXPECT_LE(driver.max_live_probes(), o.half_open_requests);
  }
}

}  // namespace
}  // namespace flexgate::upstream
