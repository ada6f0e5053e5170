#pragma once
// The I/O side of active health checks for one upstream: probes every target on an interval and
// feeds a HealthTracker (the state machine; see health_tracker.h).
//
// One probe: connect (the target's endpoints in order; an address the egress guard refuses is
// skipped without a connect, a failed connect moves on to the next), send the request from
// build_probe_request() (Connection: close), read the response head into a bounded buffer, close.
// The body is never read. Healthy iff the head parses and is_healthy_status(status, expected);
// anything else fails: no endpoint connects, a malformed head, a head over kMaxProbeHeadBytes, a
// close before the head ends, or `timeout` passing (it bounds connect + write + read together).
// Interim 1xx heads (not 101) are skipped, as a client would.
//
// Scheduling: each target has its own loop, so a slow target never delays the others and a
// target's probes never overlap: the first probe starts at once, the next `interval` after the
// previous one started (at once if that probe took longer).
//
// Threading: everything runs on the executor given to the constructor, which must not run
// handlers concurrently (an io_context run by one thread, or a strand). allowed() and
// on_change() are called there. start() and stop() may be called from any thread; the counters
// are atomics, readable anywhere.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/asio.h"
#include "upstream/health/health_tracker.h"
#include "upstream/health/probe_request.h"

namespace flexgate::upstream {

// The largest response head a probe accepts (status line + fields + blank line); larger fails.
inline constexpr std::size_t kMaxProbeHeadBytes = 8 * 1024;

// One target to probe: its resolved addresses (tried in order) and the Host header to send.
struct ProbeTarget {
  std::string host_header;                    // "api.internal:8080"
  std::vector<net::tcp::endpoint> endpoints;  // empty: every probe fails
};

// The checker's settings, plain values (the caller converts its config).
struct ActiveHealthCheckOptions {
  // Origin-form ("/healthz"). A path (or host header) build_probe_request() refuses makes every
  // probe of that target fail without connecting: validate it with the config.
  std::string path = "/";
  std::chrono::milliseconds interval{5000};  // from the start of one probe to the next
  std::chrono::milliseconds timeout{1000};   // for a whole probe
  ExpectedStatus expected;
};

// Probes the targets of one upstream and records the results in a HealthTracker; see the top of
// this file. Create with std::make_shared; start() it, and stop() it before dropping it (the
// running loops keep it alive until then).
class ActiveHealthChecker : public std::enable_shared_from_this<ActiveHealthChecker> {
 public:
  // The egress guard's verdict on the exact address a probe is about to connect to, so probes
  // cannot become an SSRF path either.
  using AllowedFn = std::function<bool(const asio::ip::address&)>;
  // Called when a target's state changed, with its index and the new state (logs, metrics).
  using OnChangeFn = std::function<void(std::size_t target, bool healthy)>;

  // `tracker` must have one slot per target (target_count() == targets.size()). An empty `allowed`
  // refuses every address (fail closed); `on_change` may be empty.
  ActiveHealthChecker(net::Executor executor, std::vector<ProbeTarget> targets,
                      ActiveHealthCheckOptions options, std::shared_ptr<HealthTracker> tracker,
                      AllowedFn allowed, OnChangeFn on_change);
  ~ActiveHealthChecker();
  ActiveHealthChecker(const ActiveHealthChecker&) = delete;
  ActiveHealthChecker& operator=(const ActiveHealthChecker&) = delete;

  // Spawns one probe loop per target; the first probes start at once. Does nothing when already
  // started or stopped.
  void start();
  // Cancels the interval timers and in-flight probes (an interrupted probe is not recorded) and
  // ends the loops; safe to call twice, or before start(). Runs on the executor (inline when
  // called there); once the executor has run the resulting handlers, the loops have released
  // the checker.
  void stop();
  bool stopped() const { return stopping_.load(std::memory_order_relaxed); }

  const std::shared_ptr<HealthTracker>& tracker() const { return tracker_; }

  // Probes started (one per target per interval), whatever their outcome.
  std::uint64_t probes_sent() const { return probes_sent_.load(std::memory_order_relaxed); }
  std::uint64_t probes_succeeded() const { return probes_succeeded_.load(std::memory_order_relaxed); }
  // Failed probes, timeouts included (interrupted ones by stop() are in neither).
  std::uint64_t probes_failed() const { return probes_failed_.load(std::memory_order_relaxed); }
  std::uint64_t probes_timed_out() const { return probes_timed_out_.load(std::memory_order_relaxed); }
  // Endpoints skipped because allowed() refused their address.
  std::uint64_t endpoints_denied() const { return endpoints_denied_.load(std::memory_order_relaxed); }

 private:
  struct Target;
  enum class ProbeResult : std::uint8_t { kHealthy, kUnhealthy, kTimedOut, kInterrupted };

  net::Task<void> run_target(std::size_t index);
  net::Task<ProbeResult> probe(Target& target);
  // The steps of one probe; false / a failed verdict ends it.
  net::Task<bool> connect(Target& target);
  net::Task<bool> read_head_is_healthy(Target& target);
  void stop_on_executor();

  net::Executor executor_;
  ActiveHealthCheckOptions options_;
  std::shared_ptr<HealthTracker> tracker_;
  AllowedFn allowed_;
  OnChangeFn on_change_;
  std::vector<std::unique_ptr<Target>> targets_;  // stable addresses: the deadlines point at them
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> probes_sent_{0};
  std::atomic<std::uint64_t> probes_succeeded_{0};
  std::atomic<std::uint64_t> probes_failed_{0};
  std::atomic<std::uint64_t> probes_timed_out_{0};
  std::atomic<std::uint64_t> endpoints_denied_{0};
};

}  // namespace flexgate::upstream
