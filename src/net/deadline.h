#pragma once
// A per-connection deadline watched by one lazily re-armed timer. Moving the deadline later is a
// plain store (no syscall, no timer churn); only moving it earlier re-arms the timer, and with no
// deadline set nothing waits. When the deadline passes, the owner's `on_expire` runs (it cancels
// the sockets) and expired() turns true.

#include <chrono>
#include <functional>
#include <memory>

#include "net/asio.h"

namespace flexgate::net {

using Clock = std::chrono::steady_clock;

// Shared by the session coroutine and its timer's wait; create with Deadline::start().
class Deadline : public std::enable_shared_from_this<Deadline> {
 public:
  using OnExpire = std::function<void()>;

  // A deadline on `executor`. Until set(), it is "never" (and no timer waits).
  static std::shared_ptr<Deadline> start(const net::Executor& executor, OnExpire on_expire);
  explicit Deadline(const net::Executor& executor, OnExpire on_expire);

  // Sets the deadline to `at` and clears a previous expiry.
  void set(Clock::time_point at);
  void set_after(std::chrono::milliseconds duration) { set(Clock::now() + duration); }
  // No deadline.
  void clear();
  bool expired() const { return expired_; }
  Clock::time_point at() const { return at_; }
  // Ends the wait; call once when the connection is done.
  void stop();

 private:
  void arm();       // waits for the timer at at_ (a time already past completes at once)
  void on_timer();  // the timer fired or was moved: expire if due, then wait again

  net::SteadyTimer timer_;
  OnExpire on_expire_;
  Clock::time_point at_ = Clock::time_point::max();
  Clock::time_point armed_for_ = Clock::time_point::max();
  bool expired_ = false;
  bool stopped_ = false;
  bool waiting_ = false;  // the timer's wait is pending (it holds this deadline alive)
};

}  // namespace flexgate::net
