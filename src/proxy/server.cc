#include "proxy/server.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "net/listener.h"

namespace flexgate::proxy {

Server::Server(std::shared_ptr<const Runtime> runtime, observe::MetricsRegistry& metrics)
    : runtime_(std::move(runtime)) {
  unsigned count = metrics.worker_count();
  pool_ = std::make_unique<net::WorkerPool>(count);
  for (unsigned i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(pool_->loop(i).context(), i, runtime_, metrics));
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

void Server::swap_runtime(std::shared_ptr<const Runtime> runtime) {
  runtime_ = runtime;
  for (unsigned i = 0; i < workers_.size(); ++i) {
    asio::post(pool_->loop(i).context(), [worker = workers_[i].get(), runtime] { worker->set_runtime(runtime); });
  }
}

bool Server::drain(std::chrono::milliseconds timeout) {
  std::mutex mutex;
  std::condition_variable drained_cv;
  auto remaining = std::make_shared<std::atomic<unsigned>>(static_cast<unsigned>(workers_.size()));
  for (unsigned i = 0; i < workers_.size(); ++i) {
    asio::post(pool_->loop(i).context(), [&, worker = workers_[i].get(), remaining] {
      worker->begin_drain([&, remaining] {
        if (remaining->fetch_sub(1) == 1) {
          std::lock_guard lock(mutex);
          drained_cv.notify_all();
        }
      });
    });
  }
  std::unique_lock lock(mutex);
  bool drained = drained_cv.wait_for(lock, timeout, [&] { return remaining->load() == 0; });
  lock.unlock();
  if (!drained) {
    for (unsigned i = 0; i < workers_.size(); ++i) {
      asio::post(pool_->loop(i).context(), [worker = workers_[i].get()] { worker->abort_all(); });
    }
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
