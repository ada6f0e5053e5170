#include "upstream/concurrency/gradient_limit.h"

#include <algorithm>
#include <cmath>

namespace flexgate::upstream {
namespace {

// NaN-safe clamp for options: NaN becomes `low`.
double clamp_option(double value, double low, double high) {
  return value >= low ? std::min(value, high) : low;
}

}  // namespace

GradientLimit::GradientLimit(const Options& options) : options_(options) {
  options_.min_limit = std::max<std::uint32_t>(options_.min_limit, 1);
  options_.max_limit = std::max(options_.max_limit, options_.min_limit);
  options_.initial_limit = std::clamp(options_.initial_limit, options_.min_limit, options_.max_limit);
  options_.tolerance = clamp_option(options_.tolerance, 1.0, 100.0);
  options_.smoothing = clamp_option(options_.smoothing, 0.001, 1.0);
  options_.baseline_samples = std::max<std::uint32_t>(options_.baseline_samples, 1);
  options_.drop_backoff = clamp_option(options_.drop_backoff, 0.01, 1.0);
  estimate_ = options_.initial_limit;
}

GradientLimit::Clock::duration GradientLimit::baseline() const {
  return Clock::duration(static_cast<Clock::rep>(baseline_ns_));
}

std::uint32_t GradientLimit::on_sample(Clock::duration latency, bool dropped, std::uint32_t in_flight,
                                       Clock::time_point now) {
  const double min_limit = options_.min_limit;
  const double max_limit = options_.max_limit;
  if (dropped) {
    if (!last_cut_ || now - *last_cut_ >= baseline()) {
      estimate_ = std::clamp(estimate_ * options_.drop_backoff, min_limit, max_limit);
      last_cut_ = now;
    }
    return limit();
  }

  const double sample = std::max<double>(static_cast<double>(latency.count()), 1.0);  // no division by 0
  if (baseline_ns_ == 0) {
    baseline_ns_ = sample;
  } else {
    baseline_ns_ += 2.0 / (options_.baseline_samples + 1.0) * (sample - baseline_ns_);
    if (baseline_ns_ > 2 * sample) baseline_ns_ *= 0.95;  // the upstream got faster: follow it down
  }

  const double gradient = std::clamp(options_.tolerance * baseline_ns_ / sample, 0.5, 1.0);
  const double target = estimate_ * gradient + std::sqrt(estimate_);
  double next = estimate_ + options_.smoothing * (target - estimate_);
  if (next > estimate_ && in_flight < estimate_ / 2) next = estimate_;  // app-limited: no evidence to grow
  estimate_ = std::clamp(next, min_limit, max_limit);
  return limit();
}

}  // namespace flexgate::upstream
