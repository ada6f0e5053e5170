#include "proxy/health.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "core/json.h"
#include "observe/log.h"

namespace flexgate::proxy {
namespace {

const auto kProcessStart = std::chrono::steady_clock::now();

void append_iso_time(std::string& out, std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  out += '"';
  out += text;
  out += '"';
}

// Resident memory of the process in bytes (from /proc/self/statm).
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0;
  std::uint64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A target is available when it has an address, passes its health checks and is not ejected.
bool upstreams_available(const Runtime& runtime) {
  const auto now = std::chrono::steady_clock::now();
  for (const auto& upstream : runtime.upstreams().upstreams()) {
    const upstream::UpstreamControls& controls = runtime.controls(upstream.index);
    bool any = false;
    for (std::size_t t = 0; t < upstream.targets.size() && !any; ++t) {
      any = !upstream.targets[t].endpoints.empty() && (!controls.health || controls.health->is_healthy(t)) &&
            (!controls.outliers || !controls.outliers->is_ejected(t, now));
    }
    if (!any) return false;
  }
  return true;
}

void append_checks(const Runtime& runtime, const HealthFacts& facts, std::string& out) {
  out += "\"checks\":{\"config\":\"UP\",\"upstreams\":";
  out += upstreams_available(runtime) ? "\"UP\"" : "\"DOWN\"";
  if (runtime.redis_endpoint()) {
    // The shared rate limiter: DEGRADED while decisions fall back (failMode), which keeps the
    // instance ready: it still serves.
    out += ",\"redis\":\"";
    out += facts.rate_limit;
    out += '"';
  }
  out += ",\"draining\":";
  out += facts.draining ? "true" : "false";
  out += '}';
}

}  // namespace

BuiltinEndpoint builtin_endpoint_for(std::string_view target, const config::Config& config) {
  if (target == config.health.live) return BuiltinEndpoint::kLive;
  if (target == config.health.ready) return BuiltinEndpoint::kReady;
  if (target == config.health.deep) return BuiltinEndpoint::kDeep;
  // With a metrics port of its own, the main listener leaves the path to the routes.
  if (config.metrics.port == 0 && target == config.metrics.path) return BuiltinEndpoint::kMetrics;
  return BuiltinEndpoint::kNone;
}

std::uint16_t render_liveness(std::string& body) {
  body = "{\"status\":\"UP\",\"timestamp\":\"";
  observe::append_timestamp(body);
  body += "\"}\n";
  return 200;
}

std::uint16_t render_readiness(const Runtime& runtime, const HealthFacts& facts, std::string& body) {
  bool ready = !facts.draining && upstreams_available(runtime);
  body = ready ? "{\"status\":\"UP\"," : "{\"status\":\"DOWN\",";
  append_checks(runtime, facts, body);
  body += "}\n";
  return ready ? 200 : 503;
}

std::uint16_t render_deep_health(const Runtime& runtime, const HealthFacts& facts, std::string& body) {
  bool ready = !facts.draining && upstreams_available(runtime);
  body = ready ? "{\"status\":\"UP\"," : "{\"status\":\"DOWN\",";
  append_checks(runtime, facts, body);
  body += ",\"config\":{\"path\":";
  append_json_string(body, runtime.config().source_path);
  body += ",\"version\":";
  append_json_uint(body, runtime.version());
  body += ",\"loadedAt\":";
  append_iso_time(body, runtime.loaded_at());
  if (!facts.last_reload_error.empty()) {
    body += ",\"lastReloadError\":";
    append_json_string(body, facts.last_reload_error);
  }
  body += "},\"upstreams\":[";
  bool first_upstream = true;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& upstream : runtime.upstreams().upstreams()) {
    if (!first_upstream) body += ',';
    first_upstream = false;
    const upstream::UpstreamControls& controls = runtime.controls(upstream.index);
    body += "{\"name\":";
    append_json_string(body, upstream.spec->name);
    body += ",\"loadBalancer\":";
    append_json_string(body, upstream::to_string(controls.balancer.strategy));
    if (controls.breaker) {
      body += ",\"circuitBreaker\":";
      append_json_string(body, upstream::to_string(controls.breaker->state()));
    }
    body += ",\"targets\":[";
    bool first_target = true;
    for (std::size_t t = 0; t < upstream.targets.size(); ++t) {
      const auto& target = upstream.targets[t];
      if (!first_target) body += ',';
      first_target = false;
      body += "{\"target\":";
      append_json_string(body, target.authority);
      body += ",\"addresses\":[";
      bool first_address = true;
      for (const auto& endpoint : target.endpoints) {
        if (!first_address) body += ',';
        first_address = false;
        append_json_string(body, endpoint.address().to_string());
      }
      body += "],\"weight\":";
      append_json_uint(body, target.weight);
      // DOWN: no address, failing its health checks, or ejected for errors.
      const bool healthy = !controls.health || controls.health->is_healthy(t);
      const bool ejected = controls.outliers && controls.outliers->is_ejected(t, now);
      body += ",\"status\":";
      body += target.endpoints.empty() || !healthy || ejected ? "\"DOWN\"" : "\"UP\"";
      if (controls.health) body += healthy ? ",\"healthCheck\":\"passing\"" : ",\"healthCheck\":\"failing\"";
      if (ejected) body += ",\"ejected\":true";
      body += '}';
    }
    body += "]}";
  }
  body += "],\"worker\":{\"index\":";
  append_json_uint(body, facts.worker_index);
  body += ",\"connections\":";
  append_json_uint(body, facts.worker_sessions);
  body += ",\"idleUpstreamConnections\":";
  append_json_uint(body, facts.worker_idle_upstream_connections);
  body += "},\"uptimeSeconds\":";
  append_json_uint(body, static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                              kProcessStart)
                                 .count()));
  body += ",\"residentMemoryBytes\":";
  append_json_uint(body, resident_bytes());
  body += "}\n";
  return 200;
}

}  // namespace flexgate::proxy
