#pragma once
// The state side of active health checks for one upstream: turns each target's probe results
// into healthy/unhealthy, with hysteresis so one lost probe does not flap a target.
//
// A healthy target becomes unhealthy after unhealthy_threshold consecutive failed probes; an
// unhealthy target becomes healthy after healthy_threshold consecutive successful probes.
// Targets start healthy: at start-up and after a reload, traffic flows at once instead of
// answering 503 for healthy_threshold probe intervals, and a target that is really down is
// found within unhealthy_threshold probes (the breaker and outlier ejection cover the gap).
//
// Thread safety: record_probe() may be called from any thread (it takes a mutex; probes are
// rare); is_healthy() and healthy_count() are lock-free atomic reads, for the load balancer.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace flexgate::upstream {

// The tracker's settings, plain values (the caller converts its config).
struct HealthTrackerOptions {
  unsigned healthy_threshold = 2;    // at least 1 (clamped)
  unsigned unhealthy_threshold = 3;  // at least 1 (clamped)
};

// Per-target healthy/unhealthy state fed by active probes; see the top of this file.
class HealthTracker {
 public:
  HealthTracker(std::size_t target_count, HealthTrackerOptions options);
  HealthTracker(const HealthTracker&) = delete;
  HealthTracker& operator=(const HealthTracker&) = delete;

  // Records one probe of target `index`. Returns true when the target's state changed (read the
  // new state with is_healthy()), for logs and counters.
  bool record_probe(std::size_t index, bool ok);

  // Lock-free: one atomic load.
  bool is_healthy(std::size_t index) const;

  std::size_t target_count() const { return target_count_; }
  std::size_t healthy_count() const;  // lock-free
  std::uint64_t became_healthy() const { return became_healthy_.load(std::memory_order_relaxed); }
  std::uint64_t became_unhealthy() const { return became_unhealthy_.load(std::memory_order_relaxed); }

 private:
  struct Target {
    std::atomic<bool> healthy{true};
    unsigned streak = 0;  // consecutive probes that disagree with `healthy` (mutex_)
  };

  HealthTrackerOptions options_;
  std::size_t target_count_;
  std::unique_ptr<Target[]> targets_;
  std::mutex mutex_;
  std::atomic<std::uint64_t> became_healthy_{0};
  std::atomic<std::uint64_t> became_unhealthy_{0};
};

}  // namespace flexgate::upstream
