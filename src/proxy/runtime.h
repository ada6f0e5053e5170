#pragma once
// The immutable snapshot the data path runs on: the validated config plus everything compiled
// from it (route table, resolved upstreams, per-route settings). Swapped whole on reload;
// a request keeps the snapshot it started with.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.h"
#include "http/message.h"
#include "net/tls.h"
#include "observe/metrics.h"
#include "policy/auth/auth_policy.h"
#include "policy/cors/cors_policy.h"
#include "policy/egress/egress_policy.h"
#include "policy/headers/header_plan.h"
#include "policy/headers/path_rewrite.h"
#include "policy/ipfilter/client_filter.h"
#include "policy/ratelimit/rate_limit_policy.h"
#include "policy/ratelimit/redis_protocol.h"
#include "policy/validate/header_rules.h"
#include "policy/validate/route_validator.h"
#include "router/route_table.h"
#include "upstream/upstream_controls.h"
#include "upstream/upstream_set.h"

namespace flexgate::proxy {

// What a matched route resolves to, computed once per snapshot.
struct RouteBinding {
  const upstream::Upstream* upstream = nullptr;  // the primary (first) upstream
  // `routes[].upstreams`: the weighted split (one entry when the route names one upstream).
  struct Split {
    const upstream::Upstream* upstream = nullptr;
    unsigned weight = 1;
  };
  std::vector<Split> split;
  unsigned split_total = 0;                      // the sum of the split's weights
  const upstream::Upstream* fallback = nullptr;  // `fallback`: no target / breaker open on the chosen one
  config::EffectiveTimeouts timeouts;            // route > primary upstream > proxy (config::resolve_timeouts)
  // The same for each upstream the route may use (split entries and fallback), by upstream index.
  std::vector<std::pair<std::size_t, config::EffectiveTimeouts>> upstream_timeouts;
  const config::EffectiveTimeouts& timeouts_for(std::size_t upstream_index) const {
    for (const auto& [index, resolved] : upstream_timeouts) {
      if (index == upstream_index) return resolved;
    }
    return timeouts;
  }
  std::uint64_t max_body_size = 0;                     // route maxBodySize, else proxy.maxBodySize
  std::optional<policy::ClientFilter> client_filter;   // allowFrom / denyFrom, when set
  std::optional<policy::RouteValidator> validator;     // validate, when set
  observe::RouteId metrics_route = observe::kNoRoute;  // label ids in the metrics registry
  // Header transformations (route + upstream `headers`, `securityHeaders`) for each upstream the
  // route may use, by upstream index; every pair has one (the default hides Server/X-Powered-By).
  std::vector<std::pair<std::size_t, policy::HeaderPlan>> header_plans;
  const policy::HeaderPlan& header_plan_for(std::size_t upstream_index) const {
    for (const auto& [index, plan] : header_plans) {
      if (index == upstream_index) return plan;
    }
    return header_plans.front().second;
  }
  std::optional<policy::CorsPolicy> cors;              // the route's `cors`, else the global one
  std::shared_ptr<const policy::PathRewrite> path_rewrite;  // `rewrite: {regex, replace}`
};

// One config snapshot, ready to serve.
class Runtime {
 public:
  // Compiles `config`; returns nullptr and fills `errors` when it cannot be served (e.g. DNS, an
  // upstream the egress guard forbids). `previous` is the snapshot being replaced, if any: state
  // that must survive a reload (the HMAC replay cache) is carried over from it.
  // `metrics` (optional) gets the route and upstream label values registered.
  static std::shared_ptr<const Runtime> build(config::Config config, std::vector<std::string>& errors,
                                              const Runtime* previous = nullptr,
                                              observe::MetricsRegistry* metrics = nullptr);

  const config::Config& config() const { return config_; }
  const router::RouteTable& routes() const { return *routes_; }
  const upstream::UpstreamSet& upstreams() const { return *upstreams_; }
  // Breakers, ejection, health, retry budget... of each upstream (same index as upstreams()).
  const upstream::UpstreamControls& controls(std::size_t upstream_index) const { return controls_[upstream_index]; }
  const std::vector<upstream::UpstreamControls>& all_controls() const { return controls_; }
  // The metrics label id of upstream `upstream_index`.
  observe::UpstreamId metrics_upstream(std::size_t upstream_index) const { return metrics_upstreams_[upstream_index]; }
  // The metrics label id of target `target_index` of upstream `upstream_index`.
  observe::TargetId metrics_target(std::size_t upstream_index, std::size_t target_index) const {
    return metrics_targets_[upstream_index][target_index];
  }
  const RouteBinding& binding(std::size_t route_index) const { return bindings_[route_index]; }
  const http::Limits& limits() const { return limits_; }
  std::uint64_t version() const { return version_; }  // 1 for the first snapshot, +1 per reload
  std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }
  // True when this snapshot was built to replace `previous` (compared, never dereferenced).
  bool replaced(const Runtime* previous) const { return previous != nullptr && previous == previous_; }
  // For the snapshot this one replaced: its target id -> this snapshot's id for the same target
  // (same upstream name, authority and addresses), -1 when the target is gone or changed. Lets
  // pooled and in-flight upstream connections outlive a reload.
  const std::vector<std::ptrdiff_t>& target_ids_from_previous() const { return target_ids_from_previous_; }
  const policy::AuthPolicy& auth() const { return auth_; }
  const policy::EgressGuard& egress() const { return *egress_; }
  const policy::RateLimitPolicy& rate_limit() const { return *rate_limit_; }
  // The Redis server of the shared rate limit (rateLimit.backend: redis), parsed once; nullopt
  // with the memory backend.
  const std::optional<policy::RedisEndpoint>& redis_endpoint() const { return redis_endpoint_; }
  const policy::HeaderRules& header_rules() const { return *header_rules_; }
  const net::CidrSet& trusted_proxies() const { return trusted_proxies_; }
  // True when some route has CORS: only then are OPTIONS requests looked at as preflights.
  bool any_cors() const { return any_cors_; }
  // The listener's TLS (proxy.tls), or nullptr for plaintext. Connections keep the context they
  // were accepted with; a reload's new certificates apply to new connections.
  const std::shared_ptr<const net::ServerTls>& server_tls() const { return server_tls_; }

  explicit Runtime(config::Config config);  // use build()

 private:
  config::Config config_;
  std::unique_ptr<router::RouteTable> routes_;
  std::unique_ptr<upstream::UpstreamSet> upstreams_;
  std::vector<RouteBinding> bindings_;
  std::vector<upstream::UpstreamControls> controls_;
  std::vector<observe::UpstreamId> metrics_upstreams_;
  const Runtime* previous_ = nullptr;  // identity only: may be gone
  std::vector<std::ptrdiff_t> target_ids_from_previous_;
  std::vector<std::vector<observe::TargetId>> metrics_targets_;
  http::Limits limits_;
  std::uint64_t version_ = 1;
  std::chrono::system_clock::time_point loaded_at_ = std::chrono::system_clock::now();
  policy::AuthPolicy auth_;
  std::unique_ptr<policy::EgressGuard> egress_;
  std::optional<policy::RateLimitPolicy> rate_limit_;
  std::optional<policy::RedisEndpoint> redis_endpoint_;
  std::optional<policy::HeaderRules> header_rules_;
  net::CidrSet trusted_proxies_;
  bool any_cors_ = false;
  std::shared_ptr<const net::ServerTls> server_tls_;
};

}  // namespace flexgate::proxy
