#include "upstream/concurrency/concurrency_limiter.h"

#include <cassert>
#include <limits>
#include <utility>

namespace flexgate::upstream {
namespace {

// Takes one unit of `counter` if it is below `limit`.
bool try_take(std::atomic<std::uint32_t>& counter, std::uint32_t limit) {
  std::uint32_t current = counter.load(std::memory_order_relaxed);
  do {
    if (current >= limit) return false;
    // Relaxed: the counters guard no other data.
  } while (!counter.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

std::uint32_t initial_limit(const ConcurrencyLimiter::Options& options, const GradientLimit& estimator) {
  if (options.mode == ConcurrencyLimiter::Mode::kAdaptive) return estimator.limit();
  return options.fixed_limit == 0 ? std::numeric_limits<std::uint32_t>::max() : options.fixed_limit;
}

}  // namespace

CounterHold::CounterHold(CounterHold&& other) noexcept : counter_(std::exchange(other.counter_, nullptr)) {}

CounterHold& CounterHold::operator=(CounterHold&& other) noexcept {
  if (this != &other) {
    release();
    counter_ = std::exchange(other.counter_, nullptr);
  }
  return *this;
}

void CounterHold::release() {
  if (counter_ == nullptr) return;
  [[maybe_unused]] const std::uint32_t before = counter_->fetch_sub(1, std::memory_order_relaxed);
  assert(before > 0);
  counter_ = nullptr;
}

ConcurrencyLimiter::ConcurrencyLimiter(const Options& options)
    : mode_(options.mode),
      max_queue_(options.max_queue),
      estimator_(options.adaptive),
      limit_(initial_limit(options, estimator_)) {}

ConcurrencyLimiter::Ticket ConcurrencyLimiter::try_acquire() {
  if (try_take(in_flight_, limit_.load(std::memory_order_relaxed))) return Ticket(&in_flight_);
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return Ticket();
}

ConcurrencyLimiter::QueueSlot ConcurrencyLimiter::try_enter_queue() {
  if (try_take(queued_, max_queue_)) return QueueSlot(&queued_);
  queue_rejected_.fetch_add(1, std::memory_order_relaxed);
  return QueueSlot();
}

void ConcurrencyLimiter::on_sample(Clock::duration latency, bool dropped, Clock::time_point now) {
  if (mode_ != Mode::kAdaptive) return;
  std::lock_guard lock(estimator_mutex_);
  limit_.store(estimator_.on_sample(latency, dropped, in_flight_.load(std::memory_order_relaxed), now),
               std::memory_order_relaxed);
}

}  // namespace flexgate::upstream
