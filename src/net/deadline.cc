#include "net/deadline.h"

namespace flexgate::net {

std::shared_ptr<Deadline> Deadline::start(const net::Executor& executor, OnExpire on_expire) {
  auto deadline = std::make_shared<Deadline>(executor, std::move(on_expire));
  deadline->arm();
  return deadline;
}

Deadline::Deadline(const net::Executor& executor, OnExpire on_expire)
    : timer_(executor), on_expire_(std::move(on_expire)) {}

void Deadline::set(Clock::time_point at) {
  at_ = at;
  expired_ = false;
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
  timer_.cancel();
}

void Deadline::arm() {
  // A plain completion handler, not a coroutine: no frame to spawn for each connection (each
  // HTTP/2 stream has a Session, so a deadline). It holds the deadline alive while it waits.
  armed_for_ = at_;
  timer_.expires_at(at_);
  timer_.async_wait([self = shared_from_this()](const std::error_code&) { self->on_timer(); });
}

void Deadline::on_timer() {
  armed_for_ = Clock::time_point::max();
  if (stopped_) return;
  if (!expired_ && at_ != Clock::time_point::max() && Clock::now() >= at_) {
    expired_ = true;
    at_ = Clock::time_point::max();
    // A copy: the callback may call stop(), which clears on_expire_ while it runs.
    if (auto callback = on_expire_) callback();
  }
  if (!stopped_) arm();
}

}  // namespace flexgate::net
