#include "upstream/health/health_tracker.h"

#include <algorithm>
#include <cassert>

namespace flexgate::upstream {

HealthTracker::HealthTracker(std::size_t target_count, HealthTrackerOptions options)
    : options_(options), target_count_(target_count), targets_(std::make_unique<Target[]>(target_count)) {
  options_.healthy_threshold = std::max(options_.healthy_threshold, 1u);
  options_.unhealthy_threshold = std::max(options_.unhealthy_threshold, 1u);
}

bool HealthTracker::record_probe(std::size_t index, bool ok) {
  assert(index < target_count_);
  Target& target = targets_[index];
  std::lock_guard lock(mutex_);
  const bool healthy = target.healthy.load(std::memory_order_relaxed);
  if (ok == healthy) {  // agrees with the current state: any streak towards a change is broken
    target.streak = 0;
    return false;
  }
  const unsigned threshold = healthy ? options_.unhealthy_threshold : options_.healthy_threshold;
  if (++target.streak < threshold) return false;
  target.streak = 0;
  target.healthy.store(ok, std::memory_order_release);
  (ok ? became_healthy_ : became_unhealthy_).fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool HealthTracker::is_healthy(std::size_t index) const {
  assert(index < target_count_);
  return targets_[index].healthy.load(std::memory_order_acquire);
}

std::size_t HealthTracker::healthy_count() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < target_count_; ++i) count += is_healthy(i) ? 1 : 0;
  return count;
}

}  // namespace flexgate::upstream
