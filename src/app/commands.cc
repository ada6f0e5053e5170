#include "app/commands.h"

#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "admin/admin_server.h"
#include "admin/side_listener.h"
#include "app/config_watcher.h"
#include "app/main_wait.h"
#include "config/loader.h"
#include "net/worker_pool.h"
#include "observe/metrics.h"
#include "observe/access_log.h"
#include "observe/span_exporter.h"
#include "observe/log.h"
#include "proxy/runtime.h"
#include "proxy/server.h"
#include "proxy/traffic_metrics.h"

namespace flexgate::app {
namespace {

constexpr const char* kVersion = "0.1.0";

void print_errors(const std::vector<config::ConfigError>& errors) {
  for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
  std::fprintf(stderr, "%zu error%s; the configuration was not loaded.\n", errors.size(),
               errors.size() == 1 ? "" : "s");
}

// Loads and validates a config file; prints every problem to stderr.
std::optional<config::Config> load_config_or_report(const std::string& path) {
  auto loaded = config::load_config_file(path);
  if (!loaded.ok()) {
    print_errors(loaded.errors);
    return std::nullopt;
  }
  return std::move(loaded.config);
}

// Compiles a loaded config into a snapshot; prints every problem to stderr.
std::shared_ptr<const proxy::Runtime> build_runtime(config::Config config, const proxy::Runtime* previous,
                                                    observe::MetricsRegistry* metrics) {
  std::vector<std::string> errors;
  auto runtime = proxy::Runtime::build(std::move(config), errors, previous, metrics);
  for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "%zu error%s; the configuration was not loaded.\n", errors.size(), errors.size() == 1 ? "" : "s");
  }
  return runtime;
}

std::shared_ptr<const proxy::Runtime> load_runtime(const std::string& path, const proxy::Runtime* previous = nullptr,
                                                   observe::MetricsRegistry* metrics = nullptr) {
  auto config = load_config_or_report(path);
  if (!config) return nullptr;
  return build_runtime(std::move(*config), previous, metrics);
}

// A reload: loads and compiles the file, collecting every error instead of printing it (the
// caller logs them as one event and keeps them for /health/deep).
std::shared_ptr<const proxy::Runtime> reload_runtime(const std::string& path, const proxy::Runtime& previous,
                                                     observe::MetricsRegistry& metrics, std::vector<std::string>& errors) {
  auto loaded = config::load_config_file(path);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) errors.push_back(error.to_string());
    return nullptr;
  }
  return proxy::Runtime::build(std::move(*loaded.config), errors, &previous, &metrics);
}

// The snapshot serving now and the file bytes it came from: read by /metrics and the admin API on
// other threads while this one swaps them.
class Serving {
 public:
  void set(std::shared_ptr<const proxy::Runtime> runtime, std::string text) {
    const std::lock_guard lock(mutex_);
    runtime_ = std::move(runtime);
    text_ = std::move(text);
  }
  std::shared_ptr<const proxy::Runtime> runtime() const {
    const std::lock_guard lock(mutex_);
    return runtime_;
  }
  std::string text() const {
    const std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const proxy::Runtime> runtime_;
  std::string text_;
};

// Reloads asked by the admin API (its thread) and run by the main thread's loop.
class AdminReloads {
 public:
  explicit AdminReloads(MainWait& main_wait) : main_wait_(main_wait) {}
  // Admin thread: wakes the main loop and waits for it to run the reload.
  admin::ReloadOutcome request() {
    auto promise = std::make_shared<std::promise<admin::ReloadOutcome>>();
    auto future = promise->get_future();
    {
      const std::lock_guard lock(mutex_);
      if (closed_) return {false, 0, {"the gateway is shutting down"}};
      pending_.push_back(std::move(promise));
    }
    main_wait_.wake();
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      return {false, 0, {"the reload did not finish within 60 s"}};
    }
    return future.get();
  }
  // Main thread: runs `reload` for every pending request.
  template <typename Reload>
  void serve(Reload&& reload) {
    std::vector<std::shared_ptr<std::promise<admin::ReloadOutcome>>> pending;
    {
      const std::lock_guard lock(mutex_);
      pending.swap(pending_);
    }
    for (auto& promise : pending) promise->set_value(reload());
  }
  // Main thread, at exit: refuses what is still waiting.
  void close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& promise : pending_) promise->set_value({false, 0, {"the gateway is shutting down"}});
    pending_.clear();
  }

 private:
  MainWait& main_wait_;
  std::mutex mutex_;
  bool closed_ = false;
  std::vector<std::shared_ptr<std::promise<admin::ReloadOutcome>>> pending_;
};


}  // namespace

int run_command(const std::string& config_path) {
  // Signals are taken synchronously by this thread (sigtimedwait); no other thread may see them,
  // so they are blocked before any thread exists (the log writer, workers, admin): a thread
  // created earlier would inherit an open mask and SIGTERM's default action could kill us.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // The bytes before the load: a change made after this (even before "listening") differs from
  // them and is reloaded. Read after the load, a quick edit could be taken as already loaded.
  std::string loaded_bytes = read_config_bytes(config_path);
  // Fail fast: an invalid file exits 1 before any port is bound.
  auto config = load_config_or_report(config_path);
  if (!config) return 1;
  // One metrics shard per worker; the worker count is fixed for the life of the process.
  unsigned workers = config->proxy.workers == 0 ? net::available_cpus() : config->proxy.workers;
  observe::MetricsRegistry metrics(workers);
  metrics.set_build_version(kVersion);
  auto runtime = build_runtime(std::move(*config), nullptr, &metrics);
  if (!runtime) return 1;
  metrics.record_config_load();
  observe::configure_logging(runtime->config());
  // The in-memory bucket table lives in the snapshot and is carried across reloads.
  metrics.set_rate_limit_table_source(
      [table = std::weak_ptr<policy::TokenBucketTable>(runtime->rate_limit().table())] {
        auto held = table.lock();
        return held ? std::pair<std::uint64_t, std::uint64_t>(held->evictions(), held->size())
                    : std::pair<std::uint64_t, std::uint64_t>(0, 0);
      });


  // tracing.otlp: spans go to the collector from a thread of its own (set at start).
  std::unique_ptr<observe::SpanExporter> span_exporter;
  if (const config::OtlpSpec& otlp = runtime->config().tracing.otlp; !otlp.endpoint.empty()) {
    observe::SpanExporterOptions options;
    options.endpoint = otlp.endpoint;
    options.service_name = otlp.service_name;
    options.max_queue = otlp.max_queue;
    std::string error;
    span_exporter = observe::SpanExporter::create(options, error);
    if (!span_exporter) {
      observe::log_event(config::LogLevel::kError, "tracing_export_failed", {{"error", error}});
      return 1;
    }
    observe::set_process_span_exporter(span_exporter.get());
  }
  // Watch the file before anything is announced: a change made right after "listening" counts.
  ConfigWatcher watcher(config_path);
  if (!watcher.ok()) {
    observe::log_event(config::LogLevel::kWarn, "config_watch_unavailable",
                       {{"error", watcher.error()}, {"detail", "reload with SIGHUP"}});
  }
  proxy::Server server(runtime, metrics);
  // /metrics reads breaker, ejection, health and admission state from the snapshot serving now;
  // a scrape runs on a worker while this thread may swap the snapshot, hence the lock.
  auto serving = std::make_shared<Serving>();
  serving->set(runtime, loaded_bytes);
  metrics.set_external_source([serving, &server](std::vector<observe::MetricsRegistry::ExternalSample>& out) {
    proxy::append_traffic_samples(*serving->runtime(), server.shedder(), out);
  });
  if (auto ec = server.start()) {
    observe::log_event(config::LogLevel::kError, "listen_failed",
                       {{"address", runtime->config().proxy.host + ":" + std::to_string(runtime->config().proxy.port)},
                        {"error", ec.message()}});
    return 1;
  }
  observe::log_event(config::LogLevel::kInfo, "listening",
                     {{"host", runtime->config().proxy.host},
                      {"port", std::to_string(server.port())},
                      {"workers", std::to_string(server.worker_count())},
                      {"config", config_path}});

  const config::ProxySettings started_with = runtime->config().proxy;
  std::atomic<bool> drained{false};
  std::thread drainer;
  bool draining = false;
  // Upstream names are resolved again when their TTL runs out; a changed answer becomes a new
  // snapshot (new addresses join, gone ones leave), an unchanged one costs nothing more.
  auto dns_refresh_at = [](const proxy::Runtime& current) {
    const auto ttl = current.upstreams().shortest_ttl();
    return ttl.count() > 0 ? std::chrono::steady_clock::now() + ttl : std::chrono::steady_clock::time_point::max();
  };
  auto next_dns_refresh = dns_refresh_at(*runtime);

  // Hot reload: only a valid file replaces the running snapshot, atomically for every worker;
  // requests in flight finish on the snapshot they started with.
  auto reload = [&](std::string_view trigger) -> admin::ReloadOutcome {
    std::vector<std::string> errors;
    const std::string bytes = read_config_bytes(config_path);
    auto next = reload_runtime(config_path, *runtime, metrics, errors);
    metrics.record_config_reload(next != nullptr);
    if (!next) {
      std::string joined;
      for (std::size_t i = 0; i < errors.size() && i < 20; ++i) joined += (i > 0 ? "\n" : "") + errors[i];
      metrics.set_last_reload_error(joined);
      observe::log_event(config::LogLevel::kError, "config_reload_failed",
                         {{"config", config_path}, {"trigger", trigger}, {"errors", joined},
                          {"detail", "kept the running configuration"}});
      loaded_bytes = bytes;  // do not retry the same broken bytes on every directory event
      return {false, runtime->version(), std::move(errors)};
    }
    // The listeners and the worker threads are made at start: say so instead of pretending.
    const auto& before = started_with;
    const auto& after = next->config().proxy;
    if (before.host != after.host || before.port != after.port || before.workers != after.workers) {
      observe::log_event(config::LogLevel::kWarn, "config_reload_needs_restart",
                         {{"detail", "proxy.host, proxy.port and proxy.workers apply at start only; "
                                     "the running values are kept"}});
    }
    runtime = next;
    loaded_bytes = bytes;
    metrics.set_last_reload_error("");
    observe::configure_logging(next->config());
    server.swap_runtime(next);
    serving->set(next, bytes);
    next_dns_refresh = dns_refresh_at(*runtime);
    observe::log_event(config::LogLevel::kInfo, "config_reloaded",
                       {{"config", config_path}, {"trigger", trigger}, {"version", std::to_string(next->version())}});
    return {true, runtime->version(), {}};
  };

  // The admin API's reloads run here, on this thread, like every other reload: the admin thread
  // queues a request and waits for its outcome.
  MainWait main_wait(signals);
  AdminReloads admin_reloads(main_wait);
  std::unique_ptr<admin::AdminServer> admin_server;
  if (const config::AdminSpec& spec = runtime->config().admin; spec.enabled) {
    admin::AdminHooks hooks;
    hooks.current = [serving] { return serving->runtime(); };
    hooks.config_text = [serving] { return serving->text(); };
    hooks.reload = [&admin_reloads] { return admin_reloads.request(); };
    hooks.metrics = &metrics;
    std::string error;
    admin_server = admin::AdminServer::start(spec.listen, spec.token_sha256, std::move(hooks), error);
    if (admin_server) {
      observe::log_event(config::LogLevel::kInfo, "admin_listening",
                         {{"listen", spec.listen}, {"port", std::to_string(admin_server->port())},
                          {"stateChanges", spec.token_sha256.empty() ? "off (no admin.tokenSha256)" : "token"}});
    } else if (spec.listen_written) {
      observe::log_event(config::LogLevel::kError, "admin_listen_failed", {{"error", error}});
      return 1;
    } else {
      // The default address may be taken (another instance on this host): serve without it.
      observe::log_event(config::LogLevel::kWarn, "admin_listen_failed",
                         {{"error", error}, {"detail", "serving without the admin API; set admin.listen"}});
    }
  }
  // metrics.port: Prometheus scrapes a listener of its own (thread of its own) on proxy.host.
  std::unique_ptr<admin::SideListener> metrics_listener;
  if (const config::MetricsSpec& spec = runtime->config().metrics; spec.port != 0) {
    const std::string host = runtime->config().proxy.host;
    const std::string listen = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                               std::to_string(spec.port);
    std::string error;
    metrics_listener = admin::SideListener::start(
        listen,
        [&metrics, path = spec.path](const http::RequestHead& head) {
          if (head.target != path) return admin::SideReply{404, "application/json", "{\"error\":\"not found\"}\n"};
          return admin::SideReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics.render_prometheus()};
        },
        error);
    if (!metrics_listener) {
      observe::log_event(config::LogLevel::kError, "metrics_listen_failed", {{"error", "metrics.port " + error}});
      return 1;
    }
    observe::log_event(config::LogLevel::kInfo, "metrics_listening",
                       {{"listen", listen}, {"path", spec.path}, {"port", std::to_string(metrics_listener->port())}});
  }
  // Editors and Kubernetes write in several steps: reload once the directory has been quiet a moment.
  std::optional<std::chrono::steady_clock::time_point> change_seen;
  constexpr std::chrono::milliseconds kSettleTime{200};

  // Asleep until a signal, a wake (an admin reload, the drain's end), a change in the config's
  // directory, or the next job that is due: the reload of a change seen, the DNS refresh.
  auto next_job_in = [&]() -> std::optional<std::chrono::milliseconds> {
    const auto now = std::chrono::steady_clock::now();
    auto due = std::chrono::steady_clock::time_point::max();
    if (change_seen) due = *change_seen + kSettleTime;
    if (!draining) due = std::min(due, next_dns_refresh);
    if (due == std::chrono::steady_clock::time_point::max()) return std::nullopt;
    // Rounded up, so a wait never ends just before its job is due.
    return std::chrono::ceil<std::chrono::milliseconds>(std::max(due - now, std::chrono::steady_clock::duration::zero()));
  };
  for (;;) {
    int signal_number = main_wait.wait(next_job_in(), draining ? -1 : watcher.fd());
    if (drained.load()) break;
    admin_reloads.serve([&] { return reload("admin"); });
    if (!draining && watcher.poll()) change_seen = std::chrono::steady_clock::now();
    if (change_seen && std::chrono::steady_clock::now() - *change_seen >= kSettleTime) {
      change_seen.reset();
      if (read_config_bytes(config_path) != loaded_bytes) reload("file");
    }
    if (signal_number < 0 && !draining && std::chrono::steady_clock::now() >= next_dns_refresh) {
      std::vector<std::string> errors;
      auto fresh = upstream::UpstreamSet::build(runtime->config(), errors);
      if (!errors.empty()) {
        // Keep serving the last good addresses; ask again after the shortest allowed TTL.
        observe::log_event(config::LogLevel::kWarn, "dns_refresh_failed", {{"error", errors.front()}});
        next_dns_refresh = std::chrono::steady_clock::now() + runtime->config().dns.min_ttl;
      } else if (fresh->same_addresses(runtime->upstreams())) {
        const auto ttl = fresh->shortest_ttl();
        next_dns_refresh = ttl.count() > 0 ? std::chrono::steady_clock::now() + ttl
                                           : std::chrono::steady_clock::time_point::max();
      } else {
        std::vector<std::string> build_errors;
        auto next = proxy::Runtime::build(runtime->config(), build_errors, runtime.get(), &metrics);
        if (next) {
          runtime = next;
          server.swap_runtime(next);
          serving->set(next, serving->text());
          observe::log_event(config::LogLevel::kInfo, "upstream_addresses_changed", {});
          next_dns_refresh = dns_refresh_at(*runtime);
        } else {
          observe::log_event(config::LogLevel::kWarn, "dns_refresh_failed",
                             {{"error", build_errors.empty() ? "unknown" : build_errors.front()}});
          next_dns_refresh = std::chrono::steady_clock::now() + runtime->config().dns.min_ttl;
        }
      }
      continue;
    }
    if (signal_number < 0) continue;  // timeout or EINTR: check the drain again
    if (signal_number == SIGHUP) {
      reload("SIGHUP");
      continue;
    }
    if (signal_number == SIGUSR1) {
      // logrotate moved the file away: write to a new one at the configured path.
      observe::reopen_log_output();
      observe::log_event(config::LogLevel::kInfo, "log_reopened", {});
      continue;
    }
    if (draining) {
      observe::log_event(config::LogLevel::kWarn, "shutdown_forced", {});
      observe::shutdown_logging();  // _Exit skips atexit: write out what is queued first
      std::_Exit(1);
    }
    draining = true;
    const auto timeout = runtime->config().proxy.drain_timeout;
    const auto delay = runtime->config().proxy.shutdown_delay;
    // Readiness goes first, so load balancers stop sending; the listeners stay open for
    // proxy.shutdownDelay, then close, and requests in flight get up to proxy.drainTimeout.
    server.stop_being_ready();
    observe::log_event(config::LogLevel::kInfo, "shutdown_started",
                       {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
                        {"shutdownDelayMs", std::to_string(delay.count())},
                        {"drainTimeoutMs", std::to_string(timeout.count())}});
    drainer = std::thread([&server, &drained, &main_wait, timeout, delay] {
      if (delay.count() > 0) std::this_thread::sleep_for(delay);  // the pause itself is the point
      // Listeners are closed and every worker marks responses Connection: close before the event
      // is logged, so what the log says has happened.
      server.start_drain();
      observe::log_event(config::LogLevel::kInfo, "draining", {{"timeoutMs", std::to_string(timeout.count())}});
      bool clean = server.finish_drain(timeout);
      observe::log_event(config::LogLevel::kInfo, "stopped", {{"clean", clean ? "true" : "false"}});
      drained.store(true);
      main_wait.wake();
    });
  }
  if (drainer.joinable()) drainer.join();
  admin_reloads.close();
  if (admin_server) admin_server->stop();
  if (metrics_listener) metrics_listener->stop();
  metrics.set_external_source(nullptr);  // it refers to the server, which goes first
  observe::set_process_span_exporter(nullptr);
  if (span_exporter) span_exporter->shutdown();  // sends what is queued (bounded by its timeout)
  observe::shutdown_logging();
  return 0;
}

int validate_command(const std::string& config_path) {
  // The same checks as `run`: the file, then what only a built snapshot can tell (names resolve,
  // the egress guard accepts every upstream, schemas compile).
  auto runtime = load_runtime(config_path);
  if (!runtime) return 1;
  const config::Config& cfg = runtime->config();
  std::size_t targets = 0;
  for (const auto& upstream : cfg.upstreams) targets += upstream.targets.size();
  std::printf("%s: valid\n", config_path.c_str());
  std::printf("  listen:    %s:%u (%s workers)\n", cfg.proxy.host.c_str(), cfg.proxy.port,
              cfg.proxy.workers == 0 ? "one per CPU" : std::to_string(cfg.proxy.workers).c_str());
  std::printf("  upstreams: %zu (%zu targets)\n", cfg.upstreams.size(), targets);
  for (const auto& upstream : cfg.upstreams) {
    std::printf("    - %s:", upstream.name.c_str());
    for (const auto& target : upstream.targets) std::printf(" %s", target.url.c_str());
    std::printf("\n");
  }
  std::printf("  routes:    %zu\n", cfg.routes.size());
  for (const auto& route : cfg.routes) {
    std::string methods;
    for (const auto& method : route.methods) methods += (methods.empty() ? "" : ",") + method;
    std::printf("    - %s%s%s -> %s%s\n", route.host.empty() ? "" : route.host.c_str(), route.path.c_str(),
                methods.empty() ? "" : (" [" + methods + "]").c_str(), route.upstream.c_str(), "");
  }
  return 0;
}

int hash_key_command(const std::vector<std::string>& args) {
  std::string key;
  if (args.size() > 1) {
    std::fprintf(stderr, "flexgate hash-key: takes at most one KEY (or reads it from stdin)\n");
    return 2;
  }
  if (args.size() == 1) {
    key = args[0];
  } else {
    std::getline(std::cin, key);
    if (!key.empty() && key.back() == '\r') key.pop_back();
  }
  if (key.empty()) {
    std::fprintf(stderr, "flexgate hash-key: empty key\n");
    return 1;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    std::fprintf(stderr, "flexgate hash-key: SHA-256 failed\n");
    return 1;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  std::printf("%s\n", hex.c_str());
  return 0;
}

}  // namespace flexgate::app
