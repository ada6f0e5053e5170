#include "net/deadline.h"

#include <cassert>
#include <utility>

namespace flexgate::net {

// ---- Deadline ----

Deadline::Deadline(const net::Executor& executor, OnExpire on_expire)
    : Deadline(asio::use_service<DeadlineQueue>(executor.context()), std::move(on_expire)) {}

Deadline::Deadline(DeadlineQueue& queue, OnExpire on_expire) : queue_(queue), on_expire_(std::move(on_expire)) {}

Deadline::~Deadline() {
  if (heap_index_ != kNotQueued) queue_.erase(*this);
}

void Deadline::set(Clock::time_point at) {
  at_ = at;
  expired_ = false;
  if (stopped_ || at == Clock::time_point::max()) return;
  // Only an earlier time moves the entry; a later one is noticed when the entry comes up.
  if (heap_index_ == kNotQueued || at < queued_for_) queue_.queue(*this, at);
}

void Deadline::clear() {
  at_ = Clock::time_point::max();
  expired_ = false;
}

void Deadline::stop() {
  stopped_ = true;
  on_expire_ = nullptr;
  if (heap_index_ != kNotQueued) queue_.erase(*this);
}

// ---- DeadlineQueue ----

asio::io_context::id DeadlineQueue::id;

DeadlineQueue::DeadlineQueue(asio::io_context& context)
    : asio::io_context::service(context), timer_(context.get_executor()) {}

DeadlineQueue::~DeadlineQueue() { shutdown(); }

void DeadlineQueue::shutdown() {
  // Deadlines still alive (their owners are destroyed with the io_context's pending work, after
  // this) find themselves unqueued and never touch the heap again.
  shut_down_ = true;
  for (Deadline* deadline : heap_) deadline->heap_index_ = Deadline::kNotQueued;
  heap_.clear();
}

void DeadlineQueue::queue(Deadline& deadline, Clock::time_point at) {
  if (shut_down_) return;
  deadline.queued_for_ = at;
  if (deadline.heap_index_ == Deadline::kNotQueued) {
    deadline.heap_index_ = heap_.size();
    heap_.push_back(&deadline);
  }
  sift_up(deadline.heap_index_);  // a new entry, or an existing one moved earlier
  if (heap_.front() == &deadline) arm();
}

void DeadlineQueue::erase(Deadline& deadline) {
  const std::size_t index = deadline.heap_index_;
  assert(index < heap_.size() && heap_[index] == &deadline);
  deadline.heap_index_ = Deadline::kNotQueued;
  deadline.queued_for_ = Clock::time_point::max();
  Deadline* last = heap_.back();
  heap_.pop_back();
  if (index < heap_.size()) {
    place(index, last);
    sift_up(index);
    sift_down(last->heap_index_);
  }
  // An earlier top than the wait is handled when the timer fires; only an empty heap must stop
  // the wait, or an event loop with nothing else to do would not run out of work.
  if (heap_.empty()) arm();
}

void DeadlineQueue::place(std::size_t index, Deadline* deadline) {
  heap_[index] = deadline;
  deadline->heap_index_ = index;
}

void DeadlineQueue::sift_up(std::size_t index) {
  Deadline* moving = heap_[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (heap_[parent]->queued_for_ <= moving->queued_for_) break;
    place(index, heap_[parent]);
    index = parent;
  }
  place(index, moving);
}

void DeadlineQueue::sift_down(std::size_t index) {
  Deadline* moving = heap_[index];
  const std::size_t count = heap_.size();
  for (;;) {
    std::size_t child = 2 * index + 1;
    if (child >= count) break;
    if (child + 1 < count && heap_[child + 1]->queued_for_ < heap_[child]->queued_for_) ++child;
    if (moving->queued_for_ <= heap_[child]->queued_for_) break;
    place(index, heap_[child]);
    index = child;
  }
  place(index, moving);
}

void DeadlineQueue::arm() {
  if (heap_.empty()) {
    if (waiting_) timer_.cancel();
    return;
  }
  const Clock::time_point top = heap_.front()->queued_for_;
  if (waiting_ && timer_.expiry() <= top) return;  // the pending wait comes first anyway
  // expires_at() cancels a pending wait; its handler then sees a wait for a later time pending.
  timer_.expires_at(top);
  if (waiting_) return;
  waiting_ = true;
  timer_.async_wait([this](const std::error_code& error) { on_timer(error); });
}

void DeadlineQueue::on_timer(const std::error_code& error) {
  waiting_ = false;
  if (shut_down_) return;
  // Cancelled: either the heap emptied (nothing to do) or the timer was moved earlier.
  if (error != asio::error::operation_aborted) expire_due(Clock::now());
  arm();  // a callback may have armed a wait already; arm() keeps it when it comes first
}

void DeadlineQueue::expire_due(Clock::time_point now) {
  while (!heap_.empty() && heap_.front()->queued_for_ <= now) {
    Deadline& deadline = *heap_.front();
    erase(deadline);
    if (deadline.at_ == Clock::time_point::max()) continue;  // cleared meanwhile
    if (deadline.at_ > now) {  // moved later meanwhile: back in under its current time
      queue(deadline, deadline.at_);
      continue;
    }
    deadline.expired_ = true;
    deadline.at_ = Clock::time_point::max();
    // A copy: the callback may stop() the deadline, which clears on_expire_ while it runs.
    if (auto callback = deadline.on_expire_) callback();
  }
}

}  // namespace flexgate::net
