#include "proxy/worker.h"

#include "net/socket_io.h"
#include "observe/log.h"
#include "proxy/session.h"

namespace flexgate::proxy {

Worker::Worker(asio::io_context& context, unsigned index, std::shared_ptr<const Runtime> runtime,
               observe::MetricsRegistry& metrics)
    : context_(context),
      index_(index),
      registry_(metrics),
      metrics_(metrics.worker(index)),
      runtime_(std::move(runtime)),
      pool_(runtime_->upstreams().target_count()),
      sweep_timer_(std::make_unique<asio::steady_timer>(context)) {}

Worker::~Worker() = default;

void Worker::start(net::tcp::acceptor acceptor) {
  acceptor_ = std::make_unique<net::tcp::acceptor>(std::move(acceptor));
  asio::co_spawn(context_, accept_loop(), asio::detached);
  asio::co_spawn(context_, sweep_pool_loop(), asio::detached);
}

void Worker::set_runtime(std::shared_ptr<const Runtime> runtime) {
  // Target ids belong to a snapshot: connections pooled for the old one cannot be matched.
  pool_.close_all();
  pool_ = upstream::ConnectionPool(runtime->upstreams().target_count());
  runtime_ = std::move(runtime);
}

net::Task<void> Worker::accept_loop() {
  asio::steady_timer backoff(context_);
  while (acceptor_ && acceptor_->is_open()) {
    auto [ec, socket] = co_await acceptor_->async_accept(net::use_task);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) break;
      // Out of descriptors or memory: keep serving the connections we have and try again soon
      // instead of spinning on the same error.
      observe::log_event(config::LogLevel::kWarn, "accept_failed", {{"error", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(net::use_task);
      continue;
    }
    if (draining_) break;
    auto session = std::make_shared<Session>(*this, std::move(socket));
    asio::co_spawn(context_, session->run(), asio::detached);
  }
}

net::Task<void> Worker::sweep_pool_loop() {
  while (!draining_ && sweep_timer_) {
    sweep_timer_->expires_after(std::chrono::milliseconds(250));
    auto [ec] = co_await sweep_timer_->async_wait(net::use_task);
    if (ec) break;
    pool_.close_expired(net::Clock::now());
  }
}

void Worker::begin_drain(std::function<void()> on_drained) {
  draining_ = true;
  on_drained_ = std::move(on_drained);
  if (acceptor_) {
    std::error_code ignored;
    acceptor_->close(ignored);
  }
  sweep_timer_->cancel();
  pool_.close_all();
  // Copy: closing a session may remove it from the set.
  std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
  for (Session* session : sessions) session->close_if_idle();
  if (sessions_.empty() && on_drained_) {
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    callback();
  }
}

void Worker::abort_all() {
  std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
  for (Session* session : sessions) session->abort();
  pool_.close_all();
}

void Worker::release_io() {
  pool_.close_all();
  acceptor_.reset();
  sweep_timer_.reset();
}

void Worker::add_session(Session* session) { sessions_.insert(session); }

void Worker::remove_session(Session* session) {
  sessions_.erase(session);
  if (draining_ && sessions_.empty() && on_drained_) {
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    callback();
  }
}

}  // namespace flexgate::proxy
