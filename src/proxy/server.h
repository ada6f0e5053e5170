#pragma once
// The proxy server: the worker loops, one listener per worker on the same port, and the
// operations the main thread performs on them (start, config swap, drain).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <system_error>
#include <vector>

#include "net/worker_pool.h"
#include "policy/loadshed/load_shedder.h"
#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace flexgate::proxy {

class Server {
 public:
  // `metrics` must have one shard per worker and outlive the server.
  // The load shedder (proxy.maxConnections, maxInFlight, shedding) is shared by every worker.
  Server(std::shared_ptr<const Runtime> runtime, observe::MetricsRegistry& metrics);
  ~Server();

  // Binds every worker's listener on proxy.host:proxy.port (port 0 picks one port for all) and
  // starts the worker threads.
  std::error_code start();
  std::uint16_t port() const { return port_; }
  unsigned worker_count() const { return pool_->size(); }

  // Swaps the snapshot used by new requests on every worker.
  void swap_runtime(const std::shared_ptr<const Runtime>& runtime);

  // First step of a graceful shutdown: /health/ready answers 503 from now on, while everything
  // else is served as before, so load balancers stop sending before the listeners close. Any thread.
  void stop_being_ready() { stopping_.store(true, std::memory_order_relaxed); }
  // Stops accepting on every worker and marks them draining (responses in flight from now on carry
  // Connection: close); returns once every worker has done so.
  void start_drain();
  // Waits up to `timeout` for in-flight requests (start_drain() first); closes what is left and
  // stops. Returns true when everything finished in time.
  bool finish_drain(std::chrono::milliseconds timeout);
  // Stops everything now.
  void stop();

  const policy::LoadShedder& shedder() const { return shedder_; }

 private:
  std::shared_ptr<const Runtime> runtime_;
  policy::LoadShedder shedder_;                   // outlives the workers and their tickets
  std::atomic<bool> stopping_{false};             // readiness is off: a shutdown has begun
  std::vector<std::unique_ptr<Worker>> workers_;  // destroyed after the loops (declared first)
  std::unique_ptr<net::WorkerPool> pool_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
  std::mutex drain_mutex_;
  std::condition_variable drain_changed_;
  unsigned draining_workers_ = 0;  // workers that have begun draining
  unsigned drained_workers_ = 0;   // workers with no session left
};

}  // namespace flexgate::proxy
