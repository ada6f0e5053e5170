#include "net/deadline.h"

namespace flexgate::net {

std::shared_ptr<Deadline> Deadline::start(const net::Executor& executor, OnExpire on_expire) {
  // Nothing to wait for until the first set(): a deadline that is never set never waits.
  return std::make_shared<Deadline>(executor, std::move(on_expire));
}

Deadline::Deadline(const net::Executor& executor, OnExpire on_expire)
    : timer_(executor), on_expire_(std::move(on_expire)) {}

void Deadline::set(Clock::time_point at) {
  at_ = at;
  expired_ = false;
  if (stopped_) return;
  if (!waiting_) {
    if (at != Clock::time_point::max()) arm();
    return;
  }
  // Only an earlier deadline needs the timer moved; a later one is noticed when the timer fires.
  if (at < armed_for_) timer_.cancel();
}

void Deadline::clear() {
  at_ = Clock::time_point::max();
  expired_ = false;
}

void Deadline::stop() {
  stopped_ = true;
  on_expire_ = nullptr;
  if (waiting_) timer_.cancel();
}

void Deadline::arm() {
  // A plain completion handler, not a coroutine: no frame to spawn for each connection (each
  // HTTP/2 stream has a Session, so a deadline). It holds the deadline alive while it waits.
  waiting_ = true;
  armed_for_ = at_;
  timer_.expires_at(at_);
  timer_.async_wait([self = shared_from_this()](const std::error_code&) { self->on_timer(); });
}

void Deadline::on_timer() {
  waiting_ = false;
  armed_for_ = Clock::time_point::max();
  if (stopped_) return;
  if (!expired_ && at_ != Clock::time_point::max() && Clock::now() >= at_) {
    expired_ = true;
    at_ = Clock::time_point::max();
    // A copy: the callback may call stop(), which clears on_expire_ while it runs.
    if (auto callback = on_expire_) callback();
  }
  // With no deadline left (expired, cleared) the next set() arms the timer again.
  if (!stopped_ && at_ != Clock::time_point::max()) arm();
}

}  // namespace flexgate::net
