#pragma once
// A circuit breaker for one upstream, shared by every worker thread: stops sending to an upstream
// that keeps failing, then lets a few probe requests through to find out whether it recovered.
//
//   Closed     every request is admitted. Outcomes are counted in a rolling window of `window`,
//              kept in kBuckets buckets (an outcome counts for between 9/10 of `window` and
//              `window`). After each counted outcome: when the window holds
//              total >= minimum_requests and failures * 100 >= failure_threshold_percent * total,
//              the breaker opens.
//   Open       every request is refused (503, Retry-After = retry_after(now)) until open_duration
//              has passed; the first try_acquire() after that moves to Half-open.
//   Half-open  at most half_open_requests probes are in flight at once; the others are refused.
//              When half_open_requests probes have succeeded: Closed, with an empty window. Any
//              probe failure: Open again for open_duration.
//
// Tickets: every transition starts a new generation. try_acquire() hands out a Ticket naming the
// generation it was admitted in (and, for a probe, the probe's id); report() counts an outcome
// only when its ticket belongs to the current generation. So a request admitted while Closed that
// fails after the breaker opened changes nothing, and is never mistaken for a probe.
//
// Never stuck: a probe that has not reported back after probe_timeout (default: open_duration)
// loses its slot, and its late report is ignored, so Half-open always admits again eventually.
// Set probe_timeout to the upstream's response timeout so a slow probe keeps its slot.
// Probe slots belong to one Half-open period: a new one does not wait for the last one's probes.
//
// Time comes from the callers. Threads may pass slightly older `now`s than one another; the
// breaker uses the latest `now` it has seen, so its clock never goes back.
// Thread safety: every method may be called from any thread. try_acquire(), report() and
// retry_after() take one short mutex; state() and transitions_to() are atomic reads.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace flexgate::upstream {

// The breaker's three states.
enum class BreakerState : std::uint8_t { kClosed, kOpen, kHalfOpen };
inline constexpr std::size_t kBreakerStateCount = 3;

// "closed", "open", "half_open": for logs and metric labels.
std::string_view to_string(BreakerState state);

// One state change, returned by the call that caused it so the caller can log and count it.
struct BreakerTransition {
  BreakerState from;
  BreakerState to;
  friend bool operator==(const BreakerTransition&, const BreakerTransition&) = default;
};

// How an admitted request ended, as the caller reports it.
enum class BreakerOutcome : std::uint8_t {
  kSuccess,
  kFailure,    // the caller decides what fails (5xx, connect error, timeout)
  kAbandoned,  // ended without an answer about the upstream (client went away): not counted
};

// The breaker's settings, plain values (the caller converts its config).
struct CircuitBreakerOptions {
  unsigned failure_threshold_percent = 50;  // 1..100 (clamped)
  unsigned minimum_requests = 20;           // at least 1 (clamped)
  std::chrono::milliseconds window{10000};  // at least 1ms (clamped)
  std::chrono::milliseconds open_duration{30000};
  unsigned half_open_requests = 1;             // at least 1 (clamped)
  std::chrono::milliseconds probe_timeout{0};  // a silent probe's slot is reclaimed after; 0 = open_duration
};

// Shared per-upstream breaker state machine; see the top of this file.
class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr std::size_t kBuckets = 10;

  // Proof of admission, handed back to report() with the outcome. A plain value: copy it into
  // the request's context. A default-constructed Ticket is "not admitted".
  class Ticket {
   public:
    Ticket() = default;
    bool admitted() const { return kind_ != Kind::kNone; }
    bool is_probe() const { return kind_ == Kind::kProbe; }
    // The generation it was admitted in (each transition starts the next one): for logs, tests.
    std::uint64_t generation() const { return generation_; }

   private:
    friend class CircuitBreaker;
    enum class Kind : std::uint8_t { kNone, kClosed, kProbe };
    Ticket(Kind kind, std::uint64_t generation, std::uint64_t probe_id)
        : kind_(kind), generation_(generation), probe_id_(probe_id) {}
    Kind kind_ = Kind::kNone;
    std::uint64_t generation_ = 0;
    std::uint64_t probe_id_ = 0;
  };

  // try_acquire()'s answer.
  struct Admission {
    Ticket ticket;                                // admitted() == false: refused
    std::chrono::seconds retry_after{0};          // refused: the Retry-After to send; else 0
    std::optional<BreakerTransition> transition;  // Open -> Half-open happened in this call
    bool admitted() const { return ticket.admitted(); }
  };

  explicit CircuitBreaker(CircuitBreakerOptions options);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Asks to send one request at `now`. Refused while Open, and in Half-open when every probe
  // slot is taken. Moves Open -> Half-open once open_duration has passed (and then admits a probe).
  Admission try_acquire(TimePoint now);

  // Reports how the request behind `ticket` ended. Call it exactly once per admitted ticket
  // (a ticket that was not admitted is ignored). Returns the transition it caused, if any:
  // Closed -> Open, Half-open -> Open or Half-open -> Closed. Stale tickets change nothing.
  std::optional<BreakerTransition> report(const Ticket& ticket, BreakerOutcome outcome, TimePoint now);

  // What a request refused at `now` should be told: while Open, the rest of open_duration
  // rounded up to whole seconds (at least 1s); in Half-open 1s; when Closed 0s.
  std::chrono::seconds retry_after(TimePoint now) const;

  // The state as of the latest call (Open stays Open here until a try_acquire() after
  // open_duration moves it). Lock-free, for metrics and admin views.
  BreakerState state() const { return state_mirror_.load(std::memory_order_relaxed); }

  // How many times the breaker entered `state` (metrics counters).
  std::uint64_t transitions_to(BreakerState state) const {
    return transitions_[static_cast<std::size_t>(state)].load(std::memory_order_relaxed);
  }

  const CircuitBreakerOptions& options() const { return options_; }

 private:
  using Duration = std::chrono::steady_clock::duration;
  struct Bucket {
    std::int64_t index = 0;  // which bucket-width slice of time it counts; `used` says it is valid
    bool used = false;
    std::uint64_t total = 0;
    std::uint64_t failures = 0;
  };
  struct Probe {
    std::uint64_t id = 0;
    TimePoint admitted_at;
  };

  TimePoint advance(TimePoint now);  // the monotonic `now` (mutex held)
  void record(bool failure, TimePoint now);
  bool should_open(TimePoint now) const;
  void reclaim_stale_probes(TimePoint now);
  std::chrono::seconds retry_after_locked(TimePoint now) const;
  BreakerTransition move_to(BreakerState to, TimePoint now);

  CircuitBreakerOptions options_;
  Duration bucket_width_;

  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;
  std::uint64_t generation_ = 0;
  TimePoint latest_{};
  TimePoint open_until_{};                // Open: when Half-open may begin
  std::array<Bucket, kBuckets> buckets_;  // Closed: the rolling window
  std::vector<Probe> probes_;             // Half-open: probes in flight (at most half_open_requests)
  std::uint64_t probe_successes_ = 0;     // Half-open: probes that succeeded
  std::uint64_t last_probe_id_ = 0;

  std::atomic<BreakerState> state_mirror_{BreakerState::kClosed};
  std::array<std::atomic<std::uint64_t>, kBreakerStateCount> transitions_{};
};

}  // namespace flexgate::upstream
