#pragma once
// Everything one worker thread owns: its event loop, its listener, its upstream connection pool,
// its target pickers, its live sessions and its view of the current config snapshot.
// Only that thread touches a Worker (others post to its loop).

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/block_pool.h"
#include "core/intrusive_list.h"
#include "net/asio.h"
#include "net/deadline.h"
#include "net/splice_pipe.h"
#include "observe/metrics.h"
#include "policy/loadshed/load_shedder.h"
#include "policy/ratelimit/redis_rate_limiter.h"
#include "proxy/http2_upstream.h"
#include "proxy/runtime.h"
#include "upstream/balance/balancer.h"
#include "upstream/balance/random.h"
#include "upstream/connection_pool.h"
#include "upstream/health/active_checker.h"
#include "upstream/upstream_set.h"

namespace flexgate::proxy {

class Session;

class Worker {
 public:
  Worker(asio::io_context& context, unsigned index, std::shared_ptr<const Runtime> runtime,
         observe::MetricsRegistry& metrics, policy::LoadShedder& shedder, const std::atomic<bool>& stopping);
  ~Worker();

  asio::io_context& context() { return context_; }
  // The deadlines of this worker's sessions (one timer for all of them).
  net::DeadlineQueue& deadlines() { return deadlines_; }
  unsigned index() const { return index_; }
  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  upstream::ConnectionPool& pool() { return pool_; }
  // Multiplexed connections to `protocol: h2 | h2c` upstreams (they never enter pool()).
  Http2Upstreams& http2_upstreams() { return http2_upstreams_; }
  // Pipes for splicing large bodies socket to socket (proxy/body_forwarder.h).
  net::SplicePipes& splice_pipes() { return *splice_pipes_; }
  // This worker's balancer for upstream `index` of the current snapshot (in-flight counts and
  // latency estimates are per worker: no cross-thread traffic on the pick path).
  upstream::Balancer& balancer(std::size_t upstream_index) { return balancers_[upstream_index]; }
  // Changes when the balancers are rebuilt (reload): a request counted in older ones is not
  // reported to the new ones.
  std::uint64_t balancer_generation() const { return balancer_generation_; }
  // This worker's random numbers (route traffic splits, backoff seeds).
  upstream::SplitMix64& random() { return random_; }
  observe::WorkerMetrics& metrics() { return metrics_; }
  const observe::MetricsRegistry& registry() const { return registry_; }
  bool draining() const { return draining_; }
  // A shutdown has begun: readiness answers 503 (the listeners may still be open for a while).
  bool stopping() const { return draining_ || stopping_.load(std::memory_order_relaxed); }
  // The instance-wide admission of connections and requests (shared by every worker).
  policy::LoadShedder& shedder() { return shedder_; }

  // The Redis client of the shared rate limit (rateLimit.backend: redis), or nullptr. A session
  // holds a copy while it awaits a decision, so a reload that changes the URL never destroys the
  // client under a running call.
  const std::shared_ptr<policy::RedisRateLimiter>& redis_limiter() const { return redis_limiter_; }
  // Counts a Redis decision's outcome and logs the changes: the first failure (warn), then at
  // most one line every 10 s while failures last, and the recovery. `mode` is the failMode applied.
  void note_redis_outcome(bool ok, std::string_view error, policy::RateLimitFailMode mode);

  // Starts accepting on `acceptor` (already listening) and the pool sweeper. Worker thread only.
  void start(net::tcp::acceptor acceptor);
  // Swaps in a new snapshot for new requests. Worker thread only.
  void set_runtime(std::shared_ptr<const Runtime> runtime);
  // Stops accepting, closes idle connections, and lets busy ones finish their current request.
  // `on_drained` runs (on this thread) once no session is left. Worker thread only.
  void begin_drain(std::function<void()> on_drained);
  // Closes every connection now. Worker thread only.
  void abort_all();
  // Drops every I/O object this worker holds; call after its loop stopped, before the loop's
  // io_context is destroyed.
  void release_io();

  void add_session(Session* session);
  void remove_session(Session* session);
  // Storage for a Session's client read buffer: a closed connection's (or HTTP/2 stream's) goes
  // to the next one. Blocks of another capacity (a reload changed proxy.maxHeadSize) are freed.
  std::unique_ptr<char[]> take_client_buffer(std::size_t capacity);
  void give_client_buffer(std::unique_ptr<char[]> storage, std::size_t capacity);
  std::size_t session_count() const { return sessions_.size(); }

 private:
  net::Task<void> accept_loop();
  net::Task<void> sweep_pool_loop();
  // Gives memory the load no longer needs back to the system (spare buffer blocks, the heap's free
  // pages once connections closed); the sweep calls it every few seconds.
  void trim_memory();
  // Makes (or keeps, or drops) the Redis client for `runtime`'s rate-limit settings.
  void configure_redis(const Runtime& runtime);
  // New balancers for `runtime`'s upstreams (their state belongs to a snapshot's target list).
  void build_balancers(const Runtime& runtime);
  // Worker 0 probes the upstreams that have a healthCheck (probes are light: one loop is plenty);
  // a new snapshot restarts the probe loops, the health state carries over.
  void restart_health_checks();
  void stop_health_checks();

  asio::io_context& context_;
  net::DeadlineQueue& deadlines_;
  unsigned index_;
  observe::MetricsRegistry& registry_;
  observe::WorkerMetrics& metrics_;
  policy::LoadShedder& shedder_;
  const std::atomic<bool>& stopping_;
  std::shared_ptr<const Runtime> runtime_;
  upstream::ConnectionPool pool_;
  Http2Upstreams http2_upstreams_;
  std::shared_ptr<net::SplicePipes> splice_pipes_ = std::make_shared<net::SplicePipes>();
  std::vector<upstream::Balancer> balancers_;
  upstream::SplitMix64 random_;
  std::uint64_t balancer_generation_ = 0;
  std::unique_ptr<net::tcp::acceptor> acceptor_;
  std::unique_ptr<net::SteadyTimer> sweep_timer_;
  IntrusiveList<Session> sessions_;  // open ones, linked through themselves: no allocation per session
  BlockPool client_buffers_{0};
  std::size_t peak_sessions_ = 0;  // the most open at once since the last memory trim
  bool draining_ = false;
  std::shared_ptr<policy::RedisRateLimiter> redis_limiter_;
  std::vector<std::shared_ptr<upstream::ActiveHealthChecker>> health_checkers_;
  std::string redis_identity_;  // url + timeout the client was made for
  bool redis_degraded_ = false;
  net::Clock::time_point redis_degraded_since_{};
  net::Clock::time_point redis_next_report_{};
  std::uint64_t redis_fallbacks_unreported_ = 0;
  std::function<void()> on_drained_;
};

}  // namespace flexgate::proxy
