#pragma once
// The built-in endpoints answered before routing (no route can shadow them): liveness,
// readiness, a deep health view, and the Prometheus metrics.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/runtime.h"

namespace flexgate::proxy {

// Which built-in endpoint a request target names, if any.
enum class BuiltinEndpoint : std::uint8_t { kNone, kLive, kReady, kDeep, kMetrics };

// Which built-in endpoint a request target names under `config` (health.* and metrics.path).
BuiltinEndpoint builtin_endpoint_for(std::string_view target, const config::Config& config);

// Facts about the process and this worker that the health views report.
struct HealthFacts {
  bool draining = false;
  std::size_t worker_index = 0;
  std::size_t worker_sessions = 0;
  std::size_t worker_idle_upstream_connections = 0;
  // The rate-limit store: "UP", or "DEGRADED" while Redis fails and decisions fall back
  // (failMode). Degraded is not down: the instance still serves, so readiness stays 200.
  std::string_view rate_limit = "UP";
  // Why the last config reload was refused ("" when the last one succeeded): the running config
  // is the previous good one.
  std::string last_reload_error;
};

// Readiness: config loaded, every upstream has at least one target with an address, the rate-limit
// backend usable, not draining. Writes the JSON body into `body`; returns the status (200 or 503).
std::uint16_t render_readiness(const Runtime& runtime, const HealthFacts& facts, std::string& body);
// Liveness: 200 {"status":"UP","timestamp":...} while the process can serve.
std::uint16_t render_liveness(std::string& body);
// Deep health: readiness checks plus upstream targets, config version and load time, uptime and
// memory. Always 200 (it is a view, not a probe).
std::uint16_t render_deep_health(const Runtime& runtime, const HealthFacts& facts, std::string& body);

}  // namespace flexgate::proxy
