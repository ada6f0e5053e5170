#include "upstream/retry/retry_budget.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace flexgate::upstream {
namespace {

// A bucket cell: the low 32 bits of the bucket's epoch (which bucket-width slice of time it counts)
// above a 32-bit count. Ages are computed modulo 2^32, so a cell left untouched for exactly a
// multiple of 2^32 buckets (136 years of 1 s buckets) would look current: ignored.
constexpr std::uint64_t kCountMask = 0xffff'ffffULL;

std::uint64_t pack(std::uint32_t epoch, std::uint32_t count) {
  return (static_cast<std::uint64_t>(epoch) << 32) | count;
}
std::uint32_t stored_epoch(std::uint64_t cell) {
  return static_cast<std::uint32_t>(cell >> 32);
}
std::uint32_t stored_count(std::uint64_t cell) {
  return static_cast<std::uint32_t>(cell & kCountMask);
}

// How many buckets older the cell is than `epoch` (negative: a caller with a later `now` wrote it).
std::int32_t age_of(std::uint64_t cell, std::int64_t epoch) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(epoch) - stored_epoch(cell));
}

// The cell after counting one more at `epoch`: an older bucket starts over, a current (or newer)
// one adds to its count (saturating; 4e9 per bucket is far beyond any real rate).
std::uint64_t counted(std::uint64_t cell, std::int64_t epoch) {
  if (age_of(cell, epoch) > 0) return pack(static_cast<std::uint32_t>(epoch), 1);
  const std::uint32_t count = stored_count(cell);
  return pack(stored_epoch(cell), count == std::numeric_limits<std::uint32_t>::max() ? count : count + 1);
}

}  // namespace

RetryBudget::RetryBudget() : RetryBudget(Options{}) {}

RetryBudget::RetryBudget(Options options)
    : buckets_(std::clamp<std::uint32_t>(options.buckets, 1, 1000)),
      bucket_width_(std::max<Clock::duration>(Clock::duration(options.window) / buckets_,
                                              std::chrono::milliseconds(1))),
      ratio_ppm_(static_cast<std::uint64_t>(
          std::llround(std::clamp(options.ratio >= 0 ? options.ratio : 0.0, 0.0, 1000.0) * 1e6))),
      min_retries_(options.min_retries_per_window),
      requests_(std::make_unique<std::atomic<std::uint64_t>[]>(buckets_)),
      retries_(std::make_unique<std::atomic<std::uint64_t>[]>(buckets_)) {}

std::int64_t RetryBudget::epoch_of(Clock::time_point now) const {
  return now.time_since_epoch() / bucket_width_;
}

void RetryBudget::count(const Buckets& buckets, std::int64_t epoch) {
  std::atomic<std::uint64_t>& cell = buckets[static_cast<std::uint64_t>(epoch) % buckets_];
  std::uint64_t old = cell.load(std::memory_order_relaxed);
  // Relaxed: the cells are counters that guard no other data.
  while (!cell.compare_exchange_weak(old, counted(old, epoch), std::memory_order_relaxed)) {
  }
}

bool RetryBudget::in_window(std::uint64_t cell, std::int64_t epoch) const {
  const std::int32_t age = age_of(cell, epoch);
  const auto window = static_cast<std::int32_t>(buckets_);
  return age > -window && age < window;
}

std::uint64_t RetryBudget::sum(const Buckets& buckets, std::int64_t epoch, std::uint32_t skip) const {
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < buckets_; ++i) {
    if (i == skip) continue;
    const std::uint64_t cell = buckets[i].load(std::memory_order_relaxed);
    if (in_window(cell, epoch)) total += stored_count(cell);
  }
  return total;
}

std::uint64_t RetryBudget::allowance_for(std::uint64_t requests) const {
  constexpr std::uint64_t kMillion = 1'000'000;
  // floor(requests * ratio_ppm / 1e6) without overflowing the product.
  const std::uint64_t by_ratio =
      requests / kMillion * ratio_ppm_ + requests % kMillion * ratio_ppm_ / kMillion;
  return std::max(min_retries_, by_ratio);
}

void RetryBudget::record_request(Clock::time_point now) {
  count(requests_, epoch_of(now));
}

bool RetryBudget::try_spend_retry(Clock::time_point now) {
  const std::int64_t epoch = epoch_of(now);
  const std::uint64_t allowed = allowance_for(sum(requests_, epoch));
  const auto slot = static_cast<std::uint32_t>(static_cast<std::uint64_t>(epoch) % buckets_);
  std::atomic<std::uint64_t>& cell = retries_[slot];
  std::uint64_t old = cell.load(std::memory_order_relaxed);
  while (true) {
    // The current bucket's share of the sum is `old` itself, so the exchange below succeeds only
    // if no retry was counted in this bucket since: callers in the same bucket cannot overspend.
    const std::uint64_t spent = sum(retries_, epoch, slot) + (in_window(old, epoch) ? stored_count(old) : 0);
    if (spent >= allowed) {
      retries_refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (cell.compare_exchange_weak(old, counted(old, epoch), std::memory_order_relaxed)) {
      retries_allowed_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
}

std::uint64_t RetryBudget::requests_in_window(Clock::time_point now) const {
  return sum(requests_, epoch_of(now));
}

std::uint64_t RetryBudget::retries_in_window(Clock::time_point now) const {
  return sum(retries_, epoch_of(now));
}

std::uint64_t RetryBudget::allowance(Clock::time_point now) const {
  return allowance_for(requests_in_window(now));
}

}  // namespace flexgate::upstream
