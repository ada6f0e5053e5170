#include "upstream/health/outlier_detector.h"

#include <algorithm>
#include <cassert>

namespace flexgate::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr std::int64_t kYearMs = 365LL * 24 * 60 * 60 * 1000;

std::int64_t to_ns(std::chrono::steady_clock::time_point now) {
  return std::chrono::duration_cast<nanoseconds>(now.time_since_epoch()).count();
}

OutlierDetectorOptions clamped(OutlierDetectorOptions options) {
  options.consecutive_failures = std::max(options.consecutive_failures, 1u);
  options.base_ejection_time = std::max(options.base_ejection_time, milliseconds(1));
  // A year at most keeps every time point sum and doubling far from overflow.
  options.max_ejection_time = std::clamp(options.max_ejection_time, milliseconds(1), milliseconds(kYearMs));
  options.max_ejection_percent = std::min(options.max_ejection_percent, 100u);
  return options;
}

// base * 2^(level-1), capped at max; level >= 1.
milliseconds ejection_time(const OutlierDetectorOptions& options, unsigned level) {
  milliseconds duration = options.base_ejection_time;
  for (unsigned k = 1; k < level && duration < options.max_ejection_time; ++k) duration *= 2;
  return std::min(duration, options.max_ejection_time);
}

}  // namespace

OutlierDetector::OutlierDetector(std::size_t target_count, OutlierDetectorOptions options)
    : options_(clamped(options)),
      target_count_(target_count),
      // Rounded down: the percentage is a ceiling never to exceed. Never every target.
      max_ejected_(std::min(target_count * options_.max_ejection_percent / 100,
                            target_count == 0 ? 0 : target_count - 1)),
      targets_(std::make_unique<Target[]>(target_count)) {
  // Levels beyond the one that reaches the cap would change nothing but how long decay takes.
  while (ejection_time(options_, max_level_) < options_.max_ejection_time) ++max_level_;
}

OutlierDetector::Target& OutlierDetector::target_at(std::size_t target) const {
  assert(target < target_count_);
  return targets_[target];
}

bool OutlierDetector::is_ejected(std::size_t target, TimePoint now) const {
  return to_ns(now) < target_at(target).ejected_until_ns.load(std::memory_order_acquire);
}

std::size_t OutlierDetector::ejected_count_locked(std::int64_t now_ns) const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < target_count_; ++i) {
    if (now_ns < targets_[i].ejected_until_ns.load(std::memory_order_acquire)) ++count;
  }
  return count;
}

std::size_t OutlierDetector::ejected_count(TimePoint now) const {
  return ejected_count_locked(to_ns(now));
}

std::optional<Ejection> OutlierDetector::record_result(std::size_t index, bool success, TimePoint now) {
  Target& target = target_at(index);
  if (is_ejected(index, now)) return std::nullopt;  // a request sent before the ejection
  if (success) {
    // Read first: a healthy target's counter is already 0, and a store would bounce its cache line.
    if (target.consecutive_failures.load(std::memory_order_relaxed) != 0) {
      target.consecutive_failures.store(0, std::memory_order_relaxed);
    }
    return std::nullopt;
  }
  const std::uint32_t failures = target.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures < options_.consecutive_failures) return std::nullopt;
  return try_eject(index, now);
}

std::optional<Ejection> OutlierDetector::try_eject(std::size_t index, TimePoint now) {
  Target& target = targets_[index];
  const std::int64_t now_ns = to_ns(now);
  std::lock_guard lock(mutex_);
  // Re-check under the lock: another thread may have ejected it, or a success reset the run.
  if (now_ns < target.ejected_until_ns.load(std::memory_order_relaxed)) return std::nullopt;
  if (target.consecutive_failures.load(std::memory_order_relaxed) < options_.consecutive_failures) {
    return std::nullopt;
  }
  target.consecutive_failures.store(0, std::memory_order_relaxed);
  if (ejected_count_locked(now_ns) + 1 > max_ejected_) {
    ejections_skipped_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }

  const std::int64_t previous_until = target.ejected_until_ns.load(std::memory_order_relaxed);
  if (target.return_pending) {  // its previous ejection ended but nobody took the return yet
    returned_.push_back(index);
    target.return_pending = false;
  }
  if (target.level > 0) {
    const auto in_service = nanoseconds(now_ns - previous_until);
    const auto forgiven = static_cast<std::uint64_t>(in_service / options_.base_ejection_time);
    target.level -= static_cast<unsigned>(std::min<std::uint64_t>(target.level, forgiven));
  }
  target.level = std::min(target.level + 1, max_level_);

  Ejection ejection;
  ejection.target = index;
  ejection.level = target.level;
  ejection.duration = ejection_time(options_, target.level);
  ejection.until = now + ejection.duration;
  target.ejected_until_ns.store(to_ns(ejection.until), std::memory_order_release);
  target.return_pending = true;
  ejections_.fetch_add(1, std::memory_order_relaxed);
  return ejection;
}

std::vector<std::size_t> OutlierDetector::take_returns(TimePoint now) {
  const std::int64_t now_ns = to_ns(now);
  std::lock_guard lock(mutex_);
  std::vector<std::size_t> returned;
  returned.swap(returned_);
  for (std::size_t i = 0; i < target_count_; ++i) {
    Target& target = targets_[i];
    if (target.return_pending && now_ns >= target.ejected_until_ns.load(std::memory_order_relaxed)) {
      target.return_pending = false;
      returned.push_back(i);
    }
  }
  returns_.fetch_add(returned.size(), std::memory_order_relaxed);
  return returned;
}

}  // namespace flexgate::upstream
