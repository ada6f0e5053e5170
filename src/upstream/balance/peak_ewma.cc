#include "upstream/balance/peak_ewma.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace flexgate::upstream {

PeakEwma::PeakEwma(std::chrono::nanoseconds decay, std::chrono::nanoseconds initial)
    : decay_ns_(static_cast<double>(std::max<std::int64_t>(decay.count(), 1))),
      estimate_ns_(static_cast<double>(std::max<std::int64_t>(initial.count(), 0))) {
  assert(decay.count() > 0);
}

double PeakEwma::decay_weight(TimePoint now) const {
  const auto elapsed = std::max<std::int64_t>((now - stamp_).count(), 0);
  return std::exp(-static_cast<double>(elapsed) / decay_ns_);
}

void PeakEwma::observe(std::chrono::nanoseconds latency, TimePoint now) {
  const double sample = static_cast<double>(std::max<std::int64_t>(latency.count(), 0));
  if (!has_sample_ || sample > estimate_ns_) {
    estimate_ns_ = sample;
  } else {
    const double weight = decay_weight(now);
    estimate_ns_ = estimate_ns_ * weight + sample * (1.0 - weight);
  }
  // A caller's clock never goes back; if it seems to, keep the later stamp.
  stamp_ = has_sample_ ? std::max(stamp_, now) : now;
  has_sample_ = true;
}

double PeakEwma::estimate_ns(TimePoint now) const {
  if (!has_sample_) return estimate_ns_;
  return estimate_ns_ * decay_weight(now);
}

}  // namespace flexgate::upstream
