#pragma once
// Caps the requests in flight to one upstream (config `maxConcurrent`), shared by every worker.
//
// The limit is either fixed (`maxConcurrent: N`) or adaptive (`maxConcurrent: auto`, see
// GradientLimit: it follows the upstream's latency and drops). Admission is a compare-exchange on
// an atomic in-flight counter, so concurrent callers never exceed the limit they read. When the
// adaptive limit shrinks below the requests in flight, nothing is admitted until enough finish.
//
// Over the limit, a request may wait instead of failing at once: try_enter_queue() grants one of
// `max_queue` wait slots (or refuses: reject now). The waiting itself (wake-ups, timeouts) is the
// caller's; a waiter calls try_acquire() again when woken and drops its QueueSlot when done
// waiting, either way. The limiter does not order waiters: a new arrival can take a freed slot
// before a waiter does.
//
// Typical use:
//   auto ticket = limiter.try_acquire();
//   if (!ticket) { auto slot = limiter.try_enter_queue(); if (!slot) reject; ...wait, retry... }
//   ...send the request...
//   limiter.on_sample(latency, dropped, now);  // before the ticket is released
// Tickets and slots are RAII (movable); the limiter must outlive them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "upstream/concurrency/gradient_limit.h"

namespace flexgate::upstream {

// Holds one unit of a limiter's counter until released or destroyed (Ticket and QueueSlot).
class CounterHold {
 public:
  CounterHold() = default;  // holds nothing: refused, or moved from
  CounterHold(CounterHold&& other) noexcept;
  CounterHold& operator=(CounterHold&& other) noexcept;
  CounterHold(const CounterHold&) = delete;
  CounterHold& operator=(const CounterHold&) = delete;
  ~CounterHold() { release(); }

  bool held() const { return counter_ != nullptr; }
  explicit operator bool() const { return held(); }
  // Gives the unit back now (idempotent).
  void release();

 protected:
  explicit CounterHold(std::atomic<std::uint32_t>* counter) : counter_(counter) {}

 private:
  std::atomic<std::uint32_t>* counter_ = nullptr;
};

// Limits concurrent requests to one upstream, with a fixed or adaptive limit and a bounded wait queue.
class ConcurrencyLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `maxConcurrent: N` or `maxConcurrent: auto`.
  enum class Mode : std::uint8_t { kFixed, kAdaptive };

  // The upstream's concurrency settings.
  struct Options {
    Mode mode = Mode::kFixed;
    std::uint32_t fixed_limit = 100;  // kFixed: maxConcurrent N; 0 = unlimited
    GradientLimit::Options adaptive;  // kAdaptive: maxConcurrent auto
    std::uint32_t max_queue = 0;      // wait slots when over the limit; 0 = reject at once
  };

  // One request in flight (held), or a refusal because the limit is reached (not held).
  class Ticket : public CounterHold {
   public:
    Ticket() = default;

   private:
    friend class ConcurrencyLimiter;
    explicit Ticket(std::atomic<std::uint32_t>* in_flight) : CounterHold(in_flight) {}
  };

  // One waiter in the queue (held), or a refusal because the queue is full (not held).
  class QueueSlot : public CounterHold {
   public:
    QueueSlot() = default;

   private:
    friend class ConcurrencyLimiter;
    explicit QueueSlot(std::atomic<std::uint32_t>* queued) : CounterHold(queued) {}
  };

  explicit ConcurrencyLimiter(const Options& options);
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // A ticket if fewer than limit() requests are in flight; else a refusal (counted in rejected()).
  Ticket try_acquire();
  // A wait slot if fewer than max_queue requests wait; else a refusal (counted in queue_rejected()).
  QueueSlot try_enter_queue();

  // Reports one finished request to the adaptive limit (ignored in fixed mode). `dropped`: it
  // timed out or the upstream refused it for overload. Call before releasing its ticket, so the
  // in-flight count includes it. Serialized by a mutex held for a few arithmetic operations.
  void on_sample(Clock::duration latency, bool dropped, Clock::time_point now);

  std::uint32_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::uint32_t queued() const { return queued_.load(std::memory_order_relaxed); }
  std::uint32_t max_queue() const { return max_queue_; }
  Mode mode() const { return mode_; }
  // For metrics: refusals by try_acquire() and by try_enter_queue().
  std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  std::uint64_t queue_rejected() const { return queue_rejected_.load(std::memory_order_relaxed); }

 private:
  const Mode mode_;
  const std::uint32_t max_queue_;
  std::mutex estimator_mutex_;
  GradientLimit estimator_;  // guarded by estimator_mutex_; unused in fixed mode
  std::atomic<std::uint32_t> limit_;
  std::atomic<std::uint32_t> in_flight_{0};
  std::atomic<std::uint32_t> queued_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> queue_rejected_{0};
};

}  // namespace flexgate::upstream
