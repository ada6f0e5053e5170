#include "proxy/server.h"


#include "net/listener.h"

namespace flexgate::proxy {
namespace {

// After the drain deadline: how long aborted sessions get to wind down (log) before the loops stop.
constexpr std::chrono::milliseconds kAbortGrace{1000};

policy::LoadShedder::Options shedder_options(const config::ProxySettings& proxy) {
  policy::LoadShedder::Options options;
  // The shedding thresholds are fractions of maxInFlight; 0 sheds no request (maxConnections still
  // bounds the work: HTTP/1.1 serves at most one request per connection at a time).
  options.max_in_flight = proxy.max_in_flight;
  options.low_shed_at = proxy.shedding.low_at;
  options.normal_shed_at = proxy.shedding.normal_at;
  options.max_connections = proxy.max_connections;
  return options;
}

}  // namespace

Server::Server(std::shared_ptr<const Runtime> runtime, observe::MetricsRegistry& metrics)
    : runtime_(std::move(runtime)), shedder_(shedder_options(runtime_->config().proxy)) {
  unsigned count = metrics.worker_count();
  pool_ = std::make_unique<net::WorkerPool>(count);
  for (unsigned i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(pool_->loop(i).context(), i, runtime_, metrics, shedder_, stopping_));
  }
}

Server::~Server() { stop(); }

std::error_code Server::start() {
  const auto& proxy_settings = runtime_->config().proxy;
  net::tcp::endpoint endpoint;
  if (auto ec = net::make_endpoint(proxy_settings.host, proxy_settings.port, endpoint)) return ec;
  // The first listener learns the real port (port 0 in tests); the others share it.
  for (unsigned i = 0; i < workers_.size(); ++i) {
    net::tcp::acceptor acceptor(pool_->loop(i).context());
    if (auto ec = net::open_listener(acceptor, endpoint)) return ec;
    if (i == 0) {
      port_ = acceptor.local_endpoint().port();
      endpoint.port(port_);
    }
    workers_[i]->start(std::move(acceptor));
  }
  pool_->start();
  return {};
}

void Server::swap_runtime(const std::shared_ptr<const Runtime>& runtime) {
  runtime_ = runtime;
  shedder_.reconfigure(shedder_options(runtime_->config().proxy));
  for (unsigned i = 0; i < workers_.size(); ++i) {
    pool_->loop(i).post([worker = workers_[i].get(), runtime] { worker->set_runtime(runtime); });
  }
}

void Server::start_drain() {
  for (unsigned i = 0; i < workers_.size(); ++i) {
    pool_->loop(i).post([this, worker = workers_[i].get()] {
      {
        std::lock_guard lock(drain_mutex_);
        ++draining_workers_;
        drain_changed_.notify_all();
      }
      worker->begin_drain([this] {
        std::lock_guard lock(drain_mutex_);
        ++drained_workers_;
        drain_changed_.notify_all();
      });
    });
  }
  // The loops are running, so every worker gets to the posted step promptly.
  std::unique_lock lock(drain_mutex_);
  drain_changed_.wait(lock, [&] { return draining_workers_ == workers_.size(); });
}

bool Server::finish_drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(drain_mutex_);
  bool drained = drain_changed_.wait_for(lock, timeout, [&] { return drained_workers_ == workers_.size(); });
  lock.unlock();
  if (!drained) {
    for (unsigned i = 0; i < workers_.size(); ++i) {
      pool_->loop(i).post([worker = workers_[i].get()] { worker->abort_all(); });
    }
    // Aborted sessions (WebSocket tunnels above all: they never finish on their own) end as soon
    // as their sockets are shut: a short, bounded wait lets them write their access lines before
    // the loops stop.
    lock.lock();
    drain_changed_.wait_for(lock, kAbortGrace, [&] { return drained_workers_ == workers_.size(); });
    lock.unlock();
  }
  stop();
  return drained;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  pool_->stop();
  pool_->join();
  for (auto& worker : workers_) worker->release_io();
  pool_.reset();  // destroys the loops (and any session still in them) while workers exist
  workers_.clear();
}

}  // namespace flexgate::proxy
