#pragma once
// Passive outlier ejection for one upstream, shared by every worker thread: a target whose
// requests fail `consecutive_failures` times in a row is taken out of the load balancer's
// rotation for a while, and comes back by itself when that time has passed.
//
// Ejection time: base_ejection_time * 2^(k-1), capped at max_ejection_time, where k is the
// target's ejection level. Each ejection raises k by one (k stops growing once the cap is
// reached); before that, k decays by one for every whole base_ejection_time the target spent
// back in service since its previous ejection ended. So a target that fails again right after
// coming back is ejected for longer and longer, and one that stays up for k * base_ejection_time
// starts again from base_ejection_time.
//
// Cap: at most floor(targets * max_ejection_percent / 100) targets are ejected at once, and
// never all of them (at least one target stays in rotation). With fewer targets than
// 100 / max_ejection_percent nothing is ejected. A target that reaches the failure count while
// the cap is full is not ejected; its count starts again (counted in ejections_skipped()).
// The detector knows only its own ejections; targets that active health checks marked down
// still count as available here.
//
// Results reported while a target is ejected (requests sent before the ejection) are ignored.
// The target set is fixed: on a config reload that changes targets, build a new detector.
//
// Time comes from the callers. Thread safety: every method may be called from any thread.
// is_ejected() and ejected_count() are lock-free; record_result() is lock-free except when a
// target reaches its failure count (the ejection decision takes a mutex), and take_returns()
// takes the mutex.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace flexgate::upstream {

// The detector's settings, plain values (the caller converts its config).
struct OutlierDetectorOptions {
  unsigned consecutive_failures = 5;                    // at least 1 (clamped)
  std::chrono::milliseconds base_ejection_time{30000};  // at least 1ms (clamped)
  std::chrono::milliseconds max_ejection_time{300000};  // caps every ejection; 1ms..1 year (clamped)
  unsigned max_ejection_percent = 50;                   // 0..100 (clamped); 0 never ejects
};

// One ejection, returned by the record_result() call that caused it (for logs and counters).
struct Ejection {
  std::size_t target = 0;
  unsigned level = 0;                     // k: 1 for a first ejection
  std::chrono::milliseconds duration{0};  // base * 2^(k-1), capped
  std::chrono::steady_clock::time_point until;
};

// Shared per-upstream passive ejection state; see the top of this file.
class OutlierDetector {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  OutlierDetector(std::size_t target_count, OutlierDetectorOptions options);
  OutlierDetector(const OutlierDetector&) = delete;
  OutlierDetector& operator=(const OutlierDetector&) = delete;

  // Reports one attempt's result for target `index` (the caller decides what fails: 5xx, connect
  // error, timeout). Returns the ejection it caused, if any.
  std::optional<Ejection> record_result(std::size_t index, bool success, TimePoint now);

  // True while `target`'s ejection lasts. Lock-free (one atomic load); for the load balancer.
  bool is_ejected(std::size_t target, TimePoint now) const;

  // Targets whose ejection has ended since the previous call, for "returned" logs and counters.
  // Call it from a periodic tick (e.g. the health-check timer); a target is listed once per
  // ejection (a return not yet taken when the target is ejected again is kept for the next call).
  std::vector<std::size_t> take_returns(TimePoint now);

  std::size_t target_count() const { return target_count_; }
  std::size_t ejected_count(TimePoint now) const;  // lock-free
  // The most targets that may be ejected at once (the cap above).
  std::size_t max_ejected() const { return max_ejected_; }

  std::uint64_t ejections() const { return ejections_.load(std::memory_order_relaxed); }
  std::uint64_t ejections_skipped() const { return ejections_skipped_.load(std::memory_order_relaxed); }
  std::uint64_t returns() const { return returns_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Target {  // own cache line: workers write the counters of different targets
    std::atomic<std::int64_t> ejected_until_ns{0};  // steady clock ns; written only under mutex_
    std::atomic<std::uint32_t> consecutive_failures{0};
    unsigned level = 0;           // k (mutex_)
    bool return_pending = false;  // ejected, and its return not yet taken (mutex_)
  };

  Target& target_at(std::size_t target) const;
  std::size_t ejected_count_locked(std::int64_t now_ns) const;
  std::optional<Ejection> try_eject(std::size_t index, TimePoint now);

  OutlierDetectorOptions options_;
  std::size_t target_count_;
  std::size_t max_ejected_;
  unsigned max_level_ = 1;  // the first level whose ejection time reaches max_ejection_time
  std::unique_ptr<Target[]> targets_;

  std::mutex mutex_;
  std::vector<std::size_t> returned_;  // returns taken early by try_eject (mutex_)

  std::atomic<std::uint64_t> ejections_{0};
  std::atomic<std::uint64_t> ejections_skipped_{0};
  std::atomic<std::uint64_t> returns_{0};
};

}  // namespace flexgate::upstream
