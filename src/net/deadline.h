#pragma once
// Deadlines watched by one timer per event loop. Each Deadline sits in its io_context's
// DeadlineQueue (a binary heap, earliest on top); the queue's single timer waits for the top entry.
// Setting a deadline is a heap insert, stopping one a heap erase: no timer of its own, so no
// asynchronous wait to start and no cancelled wait to complete for each HTTP/2 stream or
// connection. Moving a deadline later is a plain store: the entry keeps its earlier place and is
// put back with the new time when it comes up. When a deadline passes, its owner's `on_expire`
// runs (it cancels the sockets) and expired() turns true.

#include <chrono>
#include <cstddef>
#include <functional>
#include <system_error>
#include <vector>

#include "net/asio.h"

namespace flexgate::net {

using Clock = std::chrono::steady_clock;

class DeadlineQueue;

// One deadline of one owner (a session, a health probe), usually a member of it. Used from its
// io_context's thread only. Destroying it takes it out of the queue (it never fires after).
class Deadline {
 public:
  using OnExpire = std::function<void()>;

  // A deadline on `executor`'s io_context. Until set(), it is "never" (and nothing waits for it).
  Deadline(const net::Executor& executor, OnExpire on_expire);
  // The same, in a queue the owner already has (no service lookup, which takes a lock).
  Deadline(DeadlineQueue& queue, OnExpire on_expire);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Sets the deadline to `at` and clears a previous expiry.
  void set(Clock::time_point at);
  void set_after(std::chrono::milliseconds duration) { set(Clock::now() + duration); }
  // No deadline.
  void clear();
  bool expired() const { return expired_; }
  Clock::time_point at() const { return at_; }
  // No more expiries; call once when the owner is done.
  void stop();

 private:
  friend class DeadlineQueue;
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);

  DeadlineQueue& queue_;
  OnExpire on_expire_;
  Clock::time_point at_ = Clock::time_point::max();
  Clock::time_point queued_for_ = Clock::time_point::max();  // the heap key (at most at_)
  std::size_t heap_index_ = kNotQueued;
  bool expired_ = false;
  bool stopped_ = false;
};

// The deadlines of one io_context and the one timer that waits for the earliest (an Asio service:
// one per io_context, created on first use, shut down with it).
class DeadlineQueue : public asio::io_context::service {
 public:
  static asio::io_context::id id;  // NOLINT(readability-identifier-naming): Asio's service key

  explicit DeadlineQueue(asio::io_context& context);
  ~DeadlineQueue() override;

  // Entries waiting (set, not yet popped): for tests.
  std::size_t size() const { return heap_.size(); }

 private:
  friend class Deadline;

  void shutdown() override;

  // Puts `deadline` in the heap under `at` (or moves it there, when it is already queued later).
  void queue(Deadline& deadline, Clock::time_point at);
  void erase(Deadline& deadline);
  void sift_up(std::size_t index);
  void sift_down(std::size_t index);
  void place(std::size_t index, Deadline* deadline);
  // Keeps the timer waiting for the top entry: re-armed when the top is earlier than the wait,
  // cancelled when the heap is empty (so an idle event loop runs out of work).
  void arm();
  void on_timer(const std::error_code& error);
  void expire_due(Clock::time_point now);

  SteadyTimer timer_;
  std::vector<Deadline*> heap_;
  bool waiting_ = false;  // a wait is pending, for timer_.expiry()
  bool shut_down_ = false;
};

}  // namespace flexgate::net
