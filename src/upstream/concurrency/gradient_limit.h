#pragma once
// Adaptive concurrency limit, after Netflix concurrency-limits' Gradient2. Single-threaded and
// sans-I/O: ConcurrencyLimiter serializes the calls and publishes limit().
//
// Each finished request is one sample. The estimator keeps a long-term latency `baseline`: an
// exponential moving average over about `baseline_samples` samples, which also decays by 5% per
// sample while the latest latency is under half of it (so it follows an upstream that got faster).
// Each sample moves the limit a `smoothing` fraction of the way to
//     target = limit * gradient + sqrt(limit),   gradient = clamp(tolerance * baseline / latency, 0.5, 1)
// so:
//   - latency within `tolerance` x baseline: gradient 1, the limit grows by smoothing * sqrt(limit)
//     per sample (sqrt(limit) is the headroom that probes for more capacity);
//   - latency above it (requests queue up): gradient < 1 and the limit shrinks multiplicatively,
//     by up to smoothing/2 (10%) per sample.
// A lasting new latency level becomes the baseline over time and the limit grows again: the limit
// tracks queueing, not absolute latency.
//
// Drops (timeouts, refused connections, overload responses) multiply the limit by `drop_backoff`
// (AIMD's decrease), at most once per baseline latency, so a burst of timeouts from one overload
// cuts once rather than once per request. A drop's latency is censored by its timeout: it does
// not feed the baseline.
//
// App-limited: the limit does not grow while less than half of it is in use (there is no evidence
// the upstream copes with more); it can still shrink. The limit stays in [min_limit, max_limit].

#include <chrono>
#include <cstdint>
#include <optional>

namespace flexgate::upstream {

// Estimates an upstream's concurrency limit from latency samples and drops.
class GradientLimit {
 public:
  using Clock = std::chrono::steady_clock;

  // Bounds and tuning: Gradient2's defaults (tolerance 1.5, smoothing 0.2, 600 samples), wider bounds.
  struct Options {
    std::uint32_t initial_limit = 20;
    std::uint32_t min_limit = 4;
    std::uint32_t max_limit = 1000;
    double tolerance = 1.5;                // latency may reach tolerance x baseline before shrinking (>= 1)
    double smoothing = 0.2;                // share of the distance to the target moved per sample, (0, 1]
    std::uint32_t baseline_samples = 600;  // the baseline average's window, in samples
    double drop_backoff = 0.9;             // limit factor on a drop, (0, 1]
  };

  // Options out of range are clamped (min_limit >= 1, max_limit >= min_limit, ...).
  explicit GradientLimit(const Options& options);

  // One finished request: its latency, whether it was dropped, the requests in flight when it
  // finished (itself included) and the time it finished. Returns the new limit.
  std::uint32_t on_sample(Clock::duration latency, bool dropped, std::uint32_t in_flight,
                          Clock::time_point now);

  std::uint32_t limit() const { return static_cast<std::uint32_t>(estimate_); }
  // The long-term latency baseline; zero before the first sample.
  Clock::duration baseline() const;
  const Options& options() const { return options_; }

 private:
  Options options_;
  double estimate_;                            // the limit, fractional so small steps add up
  double baseline_ns_ = 0;                     // 0 until the first sample
  std::optional<Clock::time_point> last_cut_;  // the last drop that cut the limit
};

}  // namespace flexgate::upstream
