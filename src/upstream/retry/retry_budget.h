#pragma once
// A retry budget per upstream (Finagle/Linkerd's RetryBudget): over a rolling window, retries may
// not exceed
//     allowance = max(min_retries_per_window, floor(ratio * requests in the window))
// so a struggling upstream receives at most (1 + ratio) times its normal load, while a quiet
// upstream can still retry a few sporadic failures. Defaults: 20% over 10 s, at least 3 retries
// per window (Linkerd's minRetriesPerSecond=10 would let a dead upstream with little traffic be
// retried 100 times per window; 3 keeps that small).
//
// The window is `buckets` buckets of window/buckets each (default 10 of 1 s); at `now` it holds the
// bucket `now` falls in and the buckets-1 before it, so counts expire one bucket at a time.
//
// Shared by every worker, lock-free: each bucket is one 64-bit atomic holding {bucket epoch, count},
// rotated and incremented with compare-exchange. A retry is counted by a compare-exchange on the
// current retry bucket that fails if anyone counted a retry there since the caller summed the
// window, so callers whose `now` falls in the same bucket never overspend. Tolerance: callers
// whose `now` values fall in different buckets (racing across a bucket boundary) count into
// different cells, and each cell can take the last retry once: the overspend is at most one retry
// per extra bucket among racing callers (1 at a boundary). Worker clocks agree to far less than a
// bucket (1 s), so this is rare and small.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>

namespace flexgate::upstream {

// Caps retries to an upstream at a fraction of its recent requests.
class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;

  // The budget's window and ratio (defaults as above).
  struct Options {
    std::chrono::milliseconds window{10'000};
    std::uint32_t buckets = 10;  // clamped to [1, 1000]
    double ratio = 0.2;          // retries per original request, clamped to [0, 1000]
    std::uint32_t min_retries_per_window = 3;
  };

  RetryBudget();
  explicit RetryBudget(Options options);
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // Counts one original request (not a retry) at `now`.
  void record_request(Clock::time_point now);

  // True, and the retry is counted, when the window at `now` has room for one more retry;
  // false (counted in retries_refused()) otherwise.
  bool try_spend_retry(Clock::time_point now);

  // For metrics.
  std::uint64_t retries_allowed() const { return retries_allowed_.load(std::memory_order_relaxed); }
  std::uint64_t retries_refused() const { return retries_refused_.load(std::memory_order_relaxed); }
  // The window's counts at `now` (a snapshot; other workers may be adding).
  std::uint64_t requests_in_window(Clock::time_point now) const;
  std::uint64_t retries_in_window(Clock::time_point now) const;
  // The retries the window at `now` allows in total (spent ones included).
  std::uint64_t allowance(Clock::time_point now) const;

 private:
  using Buckets = std::unique_ptr<std::atomic<std::uint64_t>[]>;

  std::int64_t epoch_of(Clock::time_point now) const;
  // Adds one to the bucket of `epoch` (rotating it if it holds an older epoch).
  void count(const Buckets& buckets, std::int64_t epoch);
  // Whether a cell counts for the window that ends in bucket `epoch`.
  bool in_window(std::uint64_t cell, std::int64_t epoch) const;
  // The sum of the cells in the window of `epoch`, leaving out cell `skip` (none by default).
  std::uint64_t sum(const Buckets& buckets, std::int64_t epoch,
                    std::uint32_t skip = std::numeric_limits<std::uint32_t>::max()) const;
  std::uint64_t allowance_for(std::uint64_t requests) const;

  std::uint32_t buckets_;
  Clock::duration bucket_width_;
  std::uint64_t ratio_ppm_;  // ratio in millionths: integer arithmetic, no rounding surprises
  std::uint64_t min_retries_;
  Buckets requests_;
  Buckets retries_;
  std::atomic<std::uint64_t> retries_allowed_{0};
  std::atomic<std::uint64_t> retries_refused_{0};
};

}  // namespace flexgate::upstream
