#include "net/deadline.h"

namespace flexgate::net {

std::shared_ptr<Deadline> Deadline::start(const net::Executor& executor, OnExpire on_expire) {
  auto deadline = std::make_shared<Deadline>(executor, std::move(on_expire));
  asio::co_spawn(executor, [self = deadline]() { return self->watch(); }, asio::detached);
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

Task<void> Deadline::watch() {
  auto keep_alive = shared_from_this();
  while (!stopped_) {
    armed_for_ = at_;
    timer_.expires_at(at_);
    co_await timer_.async_wait(use_task);
    armed_for_ = Clock::time_point::max();
    if (stopped_) break;
    if (!expired_ && at_ != Clock::time_point::max() && Clock::now() >= at_) {
      expired_ = true;
      at_ = Clock::time_point::max();
      // A copy: the callback may call stop(), which clears on_expire_ while it runs.
      if (auto callback = on_expire_) callback();
    }
  }
}

}  // namespace flexgate::net
