#pragma once
// Exponential backoff with full jitter for the retries of one request (AWS "Exponential Backoff
// and Jitter"): retry n (1-based) waits a delay drawn uniformly from [0, ceiling(n)], where
// ceiling(n) = min(max, base * 2^(n-1)). Full jitter spreads the retries of many requests that
// failed together, so they do not hit the upstream again in lockstep.
//
// Deadline rule: a retry is only worth sending if it still has `min_attempt` of the request's
// time left once its delay is over. With remaining = deadline - now:
//   remaining <= min_attempt  -> no retry (std::nullopt)
//   otherwise                 -> delay uniform in [0, min(ceiling(n), remaining - min_attempt)]
// so the delay never reaches past the deadline and the attempt keeps at least `min_attempt`
// (at least 1ns when min_attempt is 0). Whether to retry is deterministic; only the delay is random.
//
// One Backoff per request, used by one thread. Randomness comes from a seeded splitmix64 generator
// (8 bytes of state): tests are deterministic and workers share no RNG.

#include <chrono>
#include <cstdint>
#include <optional>

namespace flexgate::upstream {

// Computes the jittered delay before each retry of one request.
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  // Per route; the config loader fills it (milliseconds, as in the YAML).
  struct Options {
    std::chrono::milliseconds base{25};        // ceiling of the first retry's delay
    std::chrono::milliseconds max{1000};       // the ceiling never grows past this
    std::chrono::milliseconds min_attempt{5};  // time an attempt needs after its delay to be useful
  };
  // Options are clamped to [0, kMaxDelay] so every computation fits in Clock::duration.
  static constexpr std::chrono::hours kMaxDelay{24};

  Backoff(Options options, std::uint64_t seed);

  // The delay before retry `retry` (1-based; 0 is treated as 1), or std::nullopt when the time
  // left before `deadline` cannot fit a useful attempt (rule above). Pass Clock::time_point::max()
  // when the request has no deadline.
  std::optional<Clock::duration> delay_before(unsigned retry, Clock::time_point now,
                                              Clock::time_point deadline);

  // min(max, base * 2^(retry-1)) without overflow for any `retry` (0 is treated as 1).
  static Clock::duration ceiling(const Options& options, unsigned retry);

  const Options& options() const { return options_; }

 private:
  std::uint64_t next_random();

  Options options_;
  std::uint64_t state_;
};

}  // namespace flexgate::upstream
