#include "upstream/breaker/circuit_breaker.h"

#include <gtest/gtest.h>

#include <vector>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ticket = CircuitBreaker::Ticket;

// A fake clock: every test passes `now` explicitly. A whole number of seconds, so bucket
// boundaries (window / 10) fall on round numbers.
const Clock::time_point t0 = Clock::time_point{} + 1000h;

constexpr BreakerTransition kOpened{BreakerState::kClosed, BreakerState::kOpen};
constexpr BreakerTransition kHalfOpened{BreakerState::kOpen, BreakerState::kHalfOpen};
constexpr BreakerTransition kReopened{BreakerState::kHalfOpen, BreakerState::kOpen};
constexpr BreakerTransition kClosed{BreakerState::kHalfOpen, BreakerState::kClosed};

CircuitBreakerOptions options(unsigned threshold = 50, unsigned minimum = 4, unsigned probes = 1) {
  CircuitBreakerOptions o;
  o.failure_threshold_percent = threshold;
  o.minimum_requests = minimum;
  o.window = 10s;
  o.open_duration = 30s;
  o.half_open_requests = probes;
  return o;
}

// Admits one request at `now` and reports `outcome` for it; returns the transition it caused.
std::optional<BreakerTransition> request(CircuitBreaker& breaker, BreakerOutcome outcome,
                                         Clock::time_point now) {
  CircuitBreaker::Admission admission = breaker.try_acquire(now);
  EXPECT_TRUE(admission.admitted());
  return breaker.report(admission.ticket, outcome, now);
}

// Opens `breaker` (minimum_requests failures at `now`; the options must open on those).
void open(CircuitBreaker& breaker, Clock::time_point now) {
  for (unsigned i = 1; i < breaker.options().minimum_requests; ++i) {
    ASSERT_EQ(request(breaker, BreakerOutcome::kFailure, now), std::nullopt);
  }
  ASSERT_EQ(request(breaker, BreakerOutcome::kFailure, now), kOpened);
}

TEST(CircuitBreaker, StartsClosedAndAdmitsEverything) {
  CircuitBreaker breaker(options());
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  for (int i = 0; i < 100; ++i) {
    CircuitBreaker::Admission admission = breaker.try_acquire(t0);
    ASSERT_TRUE(admission.admitted());
    EXPECT_FALSE(admission.ticket.is_probe());
    EXPECT_EQ(admission.retry_after, 0s);
    EXPECT_EQ(admission.transition, std::nullopt);
  }
  EXPECT_EQ(breaker.retry_after(t0), 0s);
}

TEST(CircuitBreaker, OpensWhenTheFailurePercentageReachesTheThreshold) {
  CircuitBreaker breaker(options(50, 4));
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), kOpened);  // 2 of 4 = 50%
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker.transitions_to(BreakerState::kOpen), 1u);
}

TEST(CircuitBreaker, StaysClosedJustBelowTheThreshold) {
  CircuitBreaker breaker(options(50, 4));
  // 1 of 3 fails: below 50% (and below the minimum); then 2 of 5 (40%), 3 of 7 (42.9%).
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);
    EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
    EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);
  }
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
}

TEST(CircuitBreaker, ThresholdArithmeticIsExactInIntegers) {
  // 34%: 1 failure of 3 is 33.3% (stays closed), 2 of 5 is 40% (opens).
  CircuitBreaker breaker(options(34, 3));
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), std::nullopt);  // 1 of 4
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), kOpened);       // 2 of 5

  // 100%: one success in the window keeps it closed however many failures follow.
  CircuitBreaker strict(options(100, 3));
  EXPECT_EQ(request(strict, BreakerOutcome::kSuccess, t0), std::nullopt);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(request(strict, BreakerOutcome::kFailure, t0), std::nullopt);

  // 1%: a single failure among 100 requests opens it.
  CircuitBreaker touchy(options(1, 100));
  for (int i = 0; i < 99; ++i) EXPECT_EQ(request(touchy, BreakerOutcome::kSuccess, t0), std::nullopt);
  EXPECT_EQ(request(touchy, BreakerOutcome::kFailure, t0), kOpened);
}

TEST(CircuitBreaker, NeedsMinimumRequestsBeforeOpening) {
  CircuitBreaker breaker(options(50, 5));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), kOpened);
}

TEST(CircuitBreaker, EveryCountedOutcomeIsChecked) {
  // The rule is evaluated after every outcome: a success that brings the window to
  // minimum_requests while failures are still >= the threshold opens it.
  CircuitBreaker breaker(options(50, 4));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0), kOpened);  // 3 of 4
}

TEST(CircuitBreaker, AbandonedRequestsAreNotCounted) {
  CircuitBreaker breaker(options(50, 2));
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(request(breaker, BreakerOutcome::kAbandoned, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), kOpened);  // 2 of 2, the abandons ignored
}

TEST(CircuitBreaker, OldFailuresFallOutOfTheWindow) {
  // window 10s in 10 buckets of 1s: outcomes at t0 count until t0 + 10s (exclusive).
  CircuitBreaker breaker(options(50, 4));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0 + 10s), std::nullopt);  // 1 of 1
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);

  CircuitBreaker still(options(50, 4));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(still, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(request(still, BreakerOutcome::kFailure, t0 + 9999ms), kOpened);  // 4 of 4
}

TEST(CircuitBreaker, TheWindowRollsBucketByBucket) {
  CircuitBreaker breaker(options(50, 4));
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0 + 5s), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0 + 12s), std::nullopt);  // t0's failure gone
  EXPECT_EQ(request(breaker, BreakerOutcome::kSuccess, t0 + 12s), std::nullopt);  // 1 of 3
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0 + 14s), kOpened);       // 2 of 4
}

TEST(CircuitBreaker, OpenRefusesWithRetryAfterRoundedUpToSeconds) {
  CircuitBreaker breaker(options());
  open(breaker, t0);
  CircuitBreaker::Admission refused = breaker.try_acquire(t0 + 500ms);
  EXPECT_FALSE(refused.admitted());
  EXPECT_EQ(refused.retry_after, 30s);  // 29.5s left
  EXPECT_EQ(refused.transition, std::nullopt);
  EXPECT_EQ(breaker.retry_after(t0), 30s);
  EXPECT_EQ(breaker.retry_after(t0 + 1s), 29s);
  EXPECT_EQ(breaker.retry_after(t0 + 28999ms), 2s);
  EXPECT_EQ(breaker.try_acquire(t0 + 29999ms).retry_after, 1s);  // 1ms left: at least 1s
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
}

TEST(CircuitBreaker, OpenMovesToHalfOpenAfterOpenDuration) {
  CircuitBreaker breaker(options());
  open(breaker, t0);
  EXPECT_FALSE(breaker.try_acquire(t0 + 29999ms).admitted());
  CircuitBreaker::Admission probe = breaker.try_acquire(t0 + 30s);
  ASSERT_TRUE(probe.admitted());
  EXPECT_TRUE(probe.ticket.is_probe());
  EXPECT_EQ(probe.transition, kHalfOpened);
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(breaker.transitions_to(BreakerState::kHalfOpen), 1u);
}

TEST(CircuitBreaker, HalfOpenAdmitsAtMostHalfOpenRequestsProbes) {
  CircuitBreaker breaker(options(50, 4, 3));
  open(breaker, t0);
  std::vector<Ticket> probes;
  for (int i = 0; i < 3; ++i) {
    CircuitBreaker::Admission admission = breaker.try_acquire(t0 + 30s);
    ASSERT_TRUE(admission.admitted()) << i;
    probes.push_back(admission.ticket);
  }
  CircuitBreaker::Admission refused = breaker.try_acquire(t0 + 31s);
  EXPECT_FALSE(refused.admitted());
  EXPECT_EQ(refused.retry_after, 1s);
  EXPECT_EQ(breaker.retry_after(t0 + 31s), 1s);

  // An abandoned probe frees its slot without counting as a success.
  EXPECT_EQ(breaker.report(probes[0], BreakerOutcome::kAbandoned, t0 + 31s), std::nullopt);
  CircuitBreaker::Admission again = breaker.try_acquire(t0 + 31s);
  ASSERT_TRUE(again.admitted());
  EXPECT_FALSE(breaker.try_acquire(t0 + 31s).admitted());
  EXPECT_EQ(breaker.report(probes[1], BreakerOutcome::kSuccess, t0 + 32s), std::nullopt);
  EXPECT_EQ(breaker.report(probes[2], BreakerOutcome::kSuccess, t0 + 32s), std::nullopt);
  EXPECT_EQ(breaker.report(again.ticket, BreakerOutcome::kSuccess, t0 + 32s), kClosed);  // the third success
}

TEST(CircuitBreaker, HalfOpenClosesWithAnEmptyWindow) {
  CircuitBreakerOptions o = options(50, 4);
  o.open_duration = 2s;  // closes again well within the window (10s) of the failures that opened it
  CircuitBreaker breaker(o);
  open(breaker, t0);
  CircuitBreaker::Admission probe = breaker.try_acquire(t0 + 2s);
  EXPECT_EQ(breaker.report(probe.ticket, BreakerOutcome::kSuccess, t0 + 2s), kClosed);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_EQ(breaker.transitions_to(BreakerState::kClosed), 1u);
  // The failures that opened it are gone: it takes minimum_requests new ones.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0 + 2s), std::nullopt);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0 + 2s), kOpened);
}

TEST(CircuitBreaker, AnyProbeFailureReopensForAnotherOpenDuration) {
  CircuitBreaker breaker(options(50, 4, 3));
  open(breaker, t0);
  Ticket first = breaker.try_acquire(t0 + 30s).ticket;
  Ticket second = breaker.try_acquire(t0 + 30s).ticket;
  EXPECT_EQ(breaker.report(first, BreakerOutcome::kSuccess, t0 + 31s), std::nullopt);
  EXPECT_EQ(breaker.report(second, BreakerOutcome::kFailure, t0 + 32s), kReopened);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker.retry_after(t0 + 32s), 30s);
  EXPECT_FALSE(breaker.try_acquire(t0 + 61s).admitted());
  EXPECT_EQ(breaker.try_acquire(t0 + 62s).transition, kHalfOpened);
  EXPECT_EQ(breaker.transitions_to(BreakerState::kOpen), 2u);
}

TEST(CircuitBreaker, SuccessesFromAnEarlierHalfOpenDoNotCarryOver) {
  CircuitBreaker breaker(options(50, 4, 2));
  open(breaker, t0);
  Ticket a = breaker.try_acquire(t0 + 30s).ticket;
  Ticket b = breaker.try_acquire(t0 + 30s).ticket;
  EXPECT_EQ(breaker.report(a, BreakerOutcome::kSuccess, t0 + 30s), std::nullopt);
  EXPECT_EQ(breaker.report(b, BreakerOutcome::kFailure, t0 + 30s), kReopened);
  Ticket c = breaker.try_acquire(t0 + 60s).ticket;
  EXPECT_EQ(breaker.report(c, BreakerOutcome::kSuccess, t0 + 60s), std::nullopt);  // 1 of 2 in this round
  Ticket d = breaker.try_acquire(t0 + 60s).ticket;
  EXPECT_EQ(breaker.report(d, BreakerOutcome::kSuccess, t0 + 60s), kClosed);
}

TEST(CircuitBreaker, ALateFailureFromClosedDoesNotReopenOrCountAsAProbe) {
  CircuitBreaker breaker(options(50, 4));
  Ticket slow = breaker.try_acquire(t0).ticket;  // admitted while Closed, answers much later
  open(breaker, t0);
  EXPECT_EQ(breaker.report(slow, BreakerOutcome::kFailure, t0 + 1s), std::nullopt);
  EXPECT_EQ(breaker.retry_after(t0 + 1s), 29s);  // the open period did not restart

  Ticket probe = breaker.try_acquire(t0 + 30s).ticket;
  ASSERT_TRUE(probe.is_probe());
  EXPECT_EQ(breaker.report(slow, BreakerOutcome::kFailure, t0 + 30s), std::nullopt);  // not a probe failure
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(breaker.try_acquire(t0 + 30s).admitted());  // and it did not free the probe's slot
  EXPECT_EQ(breaker.report(probe, BreakerOutcome::kSuccess, t0 + 30s), kClosed);

  // Nor does it count in the next Closed period.
  CircuitBreaker strict(options(100, 1));
  Ticket old = strict.try_acquire(t0).ticket;
  EXPECT_EQ(request(strict, BreakerOutcome::kFailure, t0), kOpened);
  EXPECT_EQ(strict.report(strict.try_acquire(t0 + 30s).ticket, BreakerOutcome::kSuccess, t0 + 30s), kClosed);
  EXPECT_EQ(strict.report(old, BreakerOutcome::kFailure, t0 + 31s), std::nullopt);
  EXPECT_EQ(strict.state(), BreakerState::kClosed);
}

TEST(CircuitBreaker, AProbeFromAnEarlierHalfOpenIsStale) {
  CircuitBreaker breaker(options(50, 4, 2));
  open(breaker, t0);
  Ticket old_probe = breaker.try_acquire(t0 + 30s).ticket;
  Ticket failing = breaker.try_acquire(t0 + 30s).ticket;
  EXPECT_EQ(breaker.report(failing, BreakerOutcome::kFailure, t0 + 30s), kReopened);
  Ticket probe = breaker.try_acquire(t0 + 60s).ticket;
  EXPECT_EQ(breaker.report(old_probe, BreakerOutcome::kFailure, t0 + 60s), std::nullopt);
  EXPECT_EQ(breaker.report(old_probe, BreakerOutcome::kSuccess, t0 + 60s), std::nullopt);
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  ASSERT_TRUE(breaker.try_acquire(t0 + 60s).admitted());  // 2 slots: `probe` and this one
  EXPECT_FALSE(breaker.try_acquire(t0 + 60s).admitted());
  EXPECT_EQ(breaker.report(probe, BreakerOutcome::kSuccess, t0 + 60s), std::nullopt);
}

TEST(CircuitBreaker, ALostProbeLosesItsSlotAfterTheProbeTimeout) {
  CircuitBreaker breaker(options());  // probe_timeout defaults to open_duration (30s)
  open(breaker, t0);
  Ticket lost = breaker.try_acquire(t0 + 30s).ticket;
  ASSERT_TRUE(lost.admitted());
  EXPECT_FALSE(breaker.try_acquire(t0 + 59999ms).admitted());
  Ticket next = breaker.try_acquire(t0 + 60s).ticket;
  ASSERT_TRUE(next.is_probe());
  // The lost probe's late answer is ignored either way; the new probe decides.
  EXPECT_EQ(breaker.report(lost, BreakerOutcome::kFailure, t0 + 61s), std::nullopt);
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(breaker.report(next, BreakerOutcome::kSuccess, t0 + 61s), kClosed);
}

TEST(CircuitBreaker, ProbeTimeoutCanBeSetApartFromOpenDuration) {
  CircuitBreakerOptions o = options();
  o.probe_timeout = 5s;
  CircuitBreaker breaker(o);
  open(breaker, t0);
  ASSERT_TRUE(breaker.try_acquire(t0 + 30s).admitted());
  EXPECT_FALSE(breaker.try_acquire(t0 + 34s).admitted());
  EXPECT_TRUE(breaker.try_acquire(t0 + 35s).admitted());
}

TEST(CircuitBreaker, ATicketThatWasNotAdmittedIsIgnored) {
  CircuitBreaker breaker(options(100, 1));
  EXPECT_EQ(breaker.report(Ticket{}, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), kOpened);
  Ticket refused = breaker.try_acquire(t0).ticket;
  EXPECT_FALSE(refused.admitted());
  EXPECT_EQ(breaker.report(refused, BreakerOutcome::kFailure, t0), std::nullopt);
  EXPECT_EQ(breaker.retry_after(t0), 30s);
}

TEST(CircuitBreaker, AnOlderNowDoesNotRewindTheClock) {
  CircuitBreaker breaker(options());
  open(breaker, t0 + 10s);
  // A thread that read the clock before the breaker opened is told the full remaining time.
  CircuitBreaker::Admission refused = breaker.try_acquire(t0);
  EXPECT_FALSE(refused.admitted());
  EXPECT_EQ(refused.retry_after, 30s);
  EXPECT_EQ(breaker.retry_after(t0), 30s);
}

TEST(CircuitBreaker, OptionsAreClamped) {
  CircuitBreakerOptions o;
  o.failure_threshold_percent = 0;
  o.minimum_requests = 0;
  o.window = 0ms;
  o.open_duration = -5s;
  o.half_open_requests = 0;
  CircuitBreaker breaker(o);
  EXPECT_EQ(breaker.options().failure_threshold_percent, 1u);
  EXPECT_EQ(breaker.options().minimum_requests, 1u);
  EXPECT_EQ(breaker.options().window, 1ms);
  EXPECT_EQ(breaker.options().open_duration, 0ms);
  EXPECT_EQ(breaker.options().half_open_requests, 1u);
  EXPECT_EQ(breaker.options().probe_timeout, 1ms);
  // open_duration 0: the next request after opening is already a probe.
  EXPECT_EQ(request(breaker, BreakerOutcome::kFailure, t0), kOpened);
  EXPECT_EQ(breaker.retry_after(t0), 1s);
  EXPECT_EQ(breaker.try_acquire(t0).transition, kHalfOpened);
}

TEST(CircuitBreaker, StateNames) {
  EXPECT_EQ(to_string(BreakerState::kClosed), "closed");
  EXPECT_EQ(to_string(BreakerState::kOpen), "open");
  EXPECT_EQ(to_string(BreakerState::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace flexgate::upstream
