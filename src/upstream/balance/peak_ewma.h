#pragma once
// Peak-EWMA latency estimate of one target, as in Finagle's PeakEwma and Linkerd (tower's
// peak_ewma): peak-sensitive so a target that turns slow is avoided after one slow response, and
// decaying so a target that was slow is tried again once time has passed.

#include <chrono>

namespace flexgate::upstream {

// A moving estimate of one target's response latency, fed by completed requests.
//  - A sample above the estimate replaces it at once (peak).
//  - A lower sample pulls it down with weight 1 - exp(-elapsed / decay), `elapsed` being the
//    time since the previous sample: a target answering often converges fast.
//  - Between samples, estimate() decays towards zero as exp(-elapsed / decay): an avoided target
//    becomes cheap again, gets a request, and its next sample tells whether it is still slow.
class PeakEwma {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `decay` is the time constant tau (> 0); `initial` is the estimate before the first sample.
  explicit PeakEwma(std::chrono::nanoseconds decay = std::chrono::seconds(10),
                    std::chrono::nanoseconds initial = std::chrono::nanoseconds(0));

  // Feeds one response latency measured at `now`. The first sample replaces `initial`.
  void observe(std::chrono::nanoseconds latency, TimePoint now);

  // The estimate at `now`, in nanoseconds: `initial` before any sample, else the last estimate
  // decayed towards zero for the time since the last sample. Does not change the state.
  double estimate_ns(TimePoint now) const;

  bool has_sample() const { return has_sample_; }

 private:
  // exp(-elapsed / decay), elapsed = now - stamp_ (clamped at zero).
  double decay_weight(TimePoint now) const;

  double decay_ns_;
  double estimate_ns_;
  TimePoint stamp_{};  // when the last sample was observed
  bool has_sample_ = false;
};

}  // namespace flexgate::upstream
