#include "proxy/worker.h"

#include <malloc.h>

#include "net/address.h"
#include "net/socket_io.h"
#include "observe/log.h"
#include "proxy/session.h"

namespace flexgate::proxy {

Worker::Worker(asio::io_context& context, unsigned index, std::shared_ptr<const Runtime> runtime,
               observe::MetricsRegistry& metrics, policy::LoadShedder& shedder, const std::atomic<bool>& stopping)
    : context_(context),
      deadlines_(asio::use_service<net::DeadlineQueue>(context)),
      index_(index),
      registry_(metrics),
      metrics_(metrics.worker(index)),
      shedder_(shedder),
      stopping_(stopping),
      runtime_(std::move(runtime)),
      pool_(runtime_->upstreams().target_count()),
      sweep_timer_(std::make_unique<net::SteadyTimer>(context)) {
  random_ = upstream::SplitMix64(0x5eed0000ull + index);
  configure_redis(*runtime_);
  build_balancers(*runtime_);
}

void Worker::build_balancers(const Runtime& runtime) {
  balancers_.clear();
  ++balancer_generation_;
  balancers_.reserve(runtime.all_controls().size());
  for (const upstream::UpstreamControls& controls : runtime.all_controls()) {
    upstream::BalancerOptions options = controls.balancer;
    options.seed = random_.next();  // each worker (and snapshot) its own sequence
    balancers_.emplace_back(controls.targets, options, controls.maglev);
  }
}

Worker::~Worker() = default;

void Worker::start(net::tcp::acceptor acceptor) {
  acceptor_ = std::make_unique<net::tcp::acceptor>(std::move(acceptor));
  asio::co_spawn(context_, accept_loop(), asio::detached);
  asio::co_spawn(context_, sweep_pool_loop(), asio::detached);
  restart_health_checks();
}

void Worker::restart_health_checks() {
  stop_health_checks();
  if (index_ != 0 || draining_) return;
  const std::shared_ptr<const Runtime> runtime = runtime_;
  for (const upstream::Upstream& target_upstream : runtime->upstreams().upstreams()) {
    const auto& spec = target_upstream.spec->health_check;
    const upstream::UpstreamControls& controls = runtime->controls(target_upstream.index);
    if (!spec || !controls.health) continue;
    std::vector<upstream::ProbeTarget> targets;
    for (const upstream::Target& target : target_upstream.targets) targets.push_back({target.host_header, target.endpoints});
    upstream::ActiveHealthCheckOptions options;
    options.path = spec->path;
    options.interval = spec->interval;
    options.timeout = spec->timeout;
    auto checker = std::make_shared<upstream::ActiveHealthChecker>(
        net::Executor(context_.get_executor()), std::move(targets), options, controls.health,
        // Probes go through the egress guard too: a health check is no way around it.
        [runtime](const asio::ip::address& address) {
          return runtime->egress().check(net::to_ip_address(address)).allowed;
        },
        [runtime, upstream_index = target_upstream.index](std::size_t target, bool healthy) {
          const upstream::Upstream& changed = runtime->upstreams().upstreams()[upstream_index];
          observe::log_event(healthy ? config::LogLevel::kInfo : config::LogLevel::kWarn, "target_health_changed",
                             {{"upstream", changed.spec->name},
                              {"target", changed.targets[target].authority},
                              {"healthy", healthy ? "true" : "false"}});
        });
    checker->start();
    health_checkers_.push_back(std::move(checker));
  }
}

void Worker::stop_health_checks() {
  for (auto& checker : health_checkers_) checker->stop();
  health_checkers_.clear();
}

void Worker::set_runtime(std::shared_ptr<const Runtime> runtime) {
  // Target ids belong to a snapshot: idle connections to targets the new one keeps move to its
  // ids; the others are closed.
  if (runtime->replaced(runtime_.get())) {
    pool_ = pool_.carry_over(runtime->target_ids_from_previous(), runtime->upstreams().target_count());
    http2_upstreams_.carry_over(runtime->target_ids_from_previous());
  } else {
    pool_.close_all();
    http2_upstreams_.close_all(/*now=*/false);
    pool_ = upstream::ConnectionPool(runtime->upstreams().target_count());
  }
  runtime_ = std::move(runtime);
  configure_redis(*runtime_);
  build_balancers(*runtime_);
  if (acceptor_) restart_health_checks();  // started: probe the new snapshot's targets
}

void Worker::configure_redis(const Runtime& runtime) {
  const auto& endpoint = runtime.redis_endpoint();
  if (!endpoint) {
    redis_limiter_.reset();
    redis_identity_.clear();
    return;
  }
  const auto& settings = runtime.config().rate_limit.redis;
  std::string identity = settings.url + '\n' + std::to_string(settings.timeout.count());
  if (redis_limiter_ && identity == redis_identity_) return;  // same server: keep the connection
  redis_limiter_ = std::make_shared<policy::RedisRateLimiter>(context_.get_executor(), *endpoint, settings.timeout);
  redis_identity_ = std::move(identity);
}

void Worker::note_redis_outcome(bool ok, std::string_view error, policy::RateLimitFailMode mode) {
  const auto now = net::Clock::now();
  if (ok) {
    if (!redis_degraded_) return;
    redis_degraded_ = false;
    metrics_.set_rate_limit_backend_degraded(false);
    const auto down_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - redis_degraded_since_).count();
    observe::log_event(config::LogLevel::kInfo, "rate_limit_backend_recovered",
                       {{"worker", std::to_string(index_)},
                        {"degradedMs", std::to_string(down_ms)},
                        {"fallbacks", std::to_string(redis_fallbacks_unreported_)}});
    redis_fallbacks_unreported_ = 0;
    return;
  }
  const std::string_view mode_name = mode == policy::RateLimitFailMode::kOpen     ? "open"
                                     : mode == policy::RateLimitFailMode::kClosed ? "closed"
                                                                                  : "local";
  metrics_.record_rate_limit_fallback(mode == policy::RateLimitFailMode::kOpen     ? observe::RateLimitFallback::kOpen
                                      : mode == policy::RateLimitFailMode::kClosed ? observe::RateLimitFallback::kClosed
                                                                                   : observe::RateLimitFallback::kLocal);
  ++redis_fallbacks_unreported_;
  // Rate-limited logging: an outage must not turn every request into a log line.
  if (!redis_degraded_) {
    redis_degraded_ = true;
    redis_degraded_since_ = now;
    metrics_.set_rate_limit_backend_degraded(true);
    observe::log_event(config::LogLevel::kWarn, "rate_limit_backend_degraded",
                       {{"worker", std::to_string(index_)}, {"error", std::string(error)},
                        {"failMode", std::string(mode_name)}});
    redis_next_report_ = now + std::chrono::seconds(10);
    redis_fallbacks_unreported_ = 0;
  } else if (now >= redis_next_report_) {
    observe::log_event(config::LogLevel::kWarn, "rate_limit_backend_unavailable",
                       {{"worker", std::to_string(index_)}, {"error", std::string(error)},
                        {"failMode", std::string(mode_name)},
                        {"fallbacks", std::to_string(redis_fallbacks_unreported_)}});
    redis_next_report_ = now + std::chrono::seconds(10);
    redis_fallbacks_unreported_ = 0;
  }
}

net::Task<void> Worker::accept_loop() {
  net::SteadyTimer backoff(context_);
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
    // Past proxy.maxConnections a new connection is closed at once: accepting it is what keeps
    // the backlog from filling with clients that would wait for nothing.
    auto admission = shedder_.admit_connection();
    if (!admission) {
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto session = std::make_shared<Session>(*this, std::move(socket), std::move(admission));
    asio::co_spawn(context_, session->run(), asio::detached);
  }
}

net::Task<void> Worker::sweep_pool_loop() {
  // Once a second: an expired pooled connection is refused on take() anyway, so the sweep only
  // gives its descriptor back, and a slower tick is fewer wakeups for a quiet worker.
  constexpr auto kSweepInterval = std::chrono::seconds(1);
  constexpr unsigned kSweepsPerMemoryTrim = 2;  // every 2 s
  unsigned sweeps = 0;
  while (!draining_ && sweep_timer_) {
    sweep_timer_->expires_after(kSweepInterval);
    auto [ec] = co_await sweep_timer_->async_wait(net::use_task);
    if (ec) break;
    pool_.close_expired(net::Clock::now());
    splice_pipes_->close_idle_spares();
    if (++sweeps % kSweepsPerMemoryTrim == 0) trim_memory();
  }
}

void Worker::trim_memory() {
  // Closed connections leave their buffers free in the heap, where they stay resident until the
  // heap gives its free pages back (malloc_trim). Only worth it once the load went down: some
  // spare blocks went unused for a whole interval, or many connections closed.
  constexpr std::size_t kClosedConnectionsWorthATrim = 16;
  const bool fewer_connections = peak_sessions_ >= sessions_.size() + kClosedConnectionsWorthATrim;
  const std::size_t freed_blocks = pool_.trim_spare_buffers() + client_buffers_.trim();
  peak_sessions_ = sessions_.size();
  if (freed_blocks > 0 || fewer_connections) ::malloc_trim(0);
}

void Worker::begin_drain(std::function<void()> on_drained) {
  draining_ = true;
  on_drained_ = std::move(on_drained);
  if (acceptor_) {
    std::error_code ignored;
    acceptor_->close(ignored);
  }
  sweep_timer_->cancel();
  stop_health_checks();
  pool_.close_all();
  http2_upstreams_.close_all(/*now=*/false);  // GOAWAY: streams in flight finish
  // A snapshot: closing a session may remove it from the list.
  for (Session* session : sessions_.snapshot()) session->close_if_idle();
  if (sessions_.empty() && on_drained_) {
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    callback();
  }
}

void Worker::abort_all() {
  stop_health_checks();
  for (Session* session : sessions_.snapshot()) session->abort();
  pool_.close_all();
  http2_upstreams_.close_all(/*now=*/true);
}

void Worker::release_io() {
  stop_health_checks();
  pool_.close_all();
  http2_upstreams_.close_all(/*now=*/true);
  redis_limiter_.reset();
  acceptor_.reset();
  sweep_timer_.reset();
}

void Worker::add_session(Session* session) {
  sessions_.push_front(*session);
  peak_sessions_ = std::max(peak_sessions_, sessions_.size());
}

std::unique_ptr<char[]> Worker::take_client_buffer(std::size_t capacity) {
  client_buffers_.use_block_size(capacity);
  return client_buffers_.take();
}

void Worker::give_client_buffer(std::unique_ptr<char[]> storage, std::size_t capacity) {
  client_buffers_.give_sized(std::move(storage), capacity);
}

void Worker::remove_session(Session* session) {
  sessions_.erase(*session);
  if (draining_ && sessions_.empty() && on_drained_) {
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    callback();
  }
}

}  // namespace flexgate::proxy
