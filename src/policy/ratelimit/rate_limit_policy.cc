#include "policy/ratelimit/rate_limit_policy.h"

#include <cassert>
#include <span>
#include <utility>

namespace flexgate::policy {
namespace {

constexpr char kSep = '\x1f';

std::uint64_t ceil_seconds(std::chrono::milliseconds ms) {
  const auto count = static_cast<std::uint64_t>(std::max<std::int64_t>(ms.count(), 0));
  return count / 1000 + (count % 1000 != 0 ? 1 : 0);
}

// Stable across reloads that reorder routes: host, path and methods identify a route.
std::string route_identity(const config::RouteSpec& route) {
  std::string id = route.host;
  id += kSep;
  id += route.path;
  id += kSep;
  for (const std::string& method : route.methods) id.append(method).push_back(',');
  return id;
}

// "<kind>:<value>": the kinds never collide (a header value "1.2.3.4" is not the ip 1.2.3.4).
void append_client_key(std::string& key, std::string_view kind, std::string_view value) {
  key.append(kind).push_back(':');
  key.append(value);
}

}  // namespace

RateLimitPolicy::Level RateLimitPolicy::compile(std::string_view name, const config::RateLimitSpec& spec,
                                                std::string bucket_prefix) {
  Level level;
  level.name = name;
  level.max = spec.max;
  level.window = spec.window;
  level.message = spec.message.empty() ? std::string(kDefaultMessage) : spec.message;
  if (spec.key == "ip") {
    level.key = KeyKind::kIp;
  } else if (spec.key.starts_with("header:")) {
    level.key = KeyKind::kHeader;
    level.header = spec.key.substr(7);
  }
  level.bucket_prefix = std::move(bucket_prefix);
  return level;
}

RateLimitPolicy RateLimitPolicy::build(const config::Config& config,
                                       std::shared_ptr<TokenBucketTable> reuse) {
  RateLimitPolicy policy;
  policy.table_ = reuse ? std::move(reuse) : std::make_shared<TokenBucketTable>();
  const config::RateLimitSettings& settings = config.rate_limit;
  policy.routes_.resize(config.routes.size());
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    const config::RouteSpec& route = config.routes[i];
    RouteLimits& limits = policy.routes_[i];
    const std::string identity = route_identity(route);
    if (settings.global) {
      limits.levels[limits.count++] = compile("global", *settings.global, std::string("g") + kSep + kSep);
    }
    for (const config::PerRouteRateLimitSpec& entry : settings.per_route) {
      if (entry.path != route.path) continue;
      limits.levels[limits.count++] =
          compile("per-route", entry.limit, std::string("p") + kSep + identity + kSep);
      break;  // the first entry for a path applies
    }
    if (route.rate_limit) {
      limits.levels[limits.count++] =
          compile("route", *route.rate_limit, std::string("r") + kSep + identity + kSep);
    }
    if (limits.count == 0) continue;
    limits.policy_line = "RateLimit-Policy: ";
    for (std::size_t l = 0; l < limits.count; ++l) {
      const Level& level = limits.levels[l];
      if (l > 0) limits.policy_line += ", ";
      limits.policy_line.append("\"").append(level.name).append("\";q=").append(std::to_string(level.max));
      limits.policy_line.append(";w=").append(
          std::to_string(std::max<std::uint64_t>(ceil_seconds(level.window), 1)));
    }
    limits.policy_line += "\r\n";
  }
  return policy;
}

Verdict RateLimitPolicy::check(const RequestView& request, std::size_t route_index,
                               const config::RouteSpec& route, std::string_view client_name,
                               std::string_view client_ip, std::chrono::steady_clock::time_point now,
                               std::string& response_headers) const {
  (void)route;  // the route is identified by route_index; kept for the lifecycle's call shape
  if (!active_for(route_index)) return Verdict::allow();
  const RouteLimits& limits = routes_[route_index];

  std::string ip_text;
  if (client_ip.empty()) {
    ip_text = request.client.to_string();
    client_ip = ip_text;
  }
  std::array<std::string, kLevels> keys;
  std::array<BucketRequest, kLevels> buckets;
  for (std::size_t l = 0; l < limits.count; ++l) {
    const Level& level = limits.levels[l];
    std::string& key = keys[l];
    key = level.bucket_prefix;
    const http::HeaderField* field = nullptr;
    if (level.key == KeyKind::kHeader && request.head != nullptr)
      field = request.head->fields.find(level.header);
    if (field != nullptr && !field->value.empty()) {
      append_client_key(key, "h", field->value);
    } else if (level.key == KeyKind::kClient && !client_name.empty()) {
      append_client_key(key, "n", client_name);
    } else {
      append_client_key(key, "i", client_ip);
    }
    buckets[l] = BucketRequest{key, level.max, level.window};
  }

  std::array<RateLimitDecision, kLevels> decisions;
  const std::size_t refused = table_->decide_all(std::span(buckets.data(), limits.count), now, decisions);

  std::string lines = limits.policy_line;
  lines += "RateLimit: ";
  for (std::size_t l = 0; l < limits.count; ++l) {
    const RateLimitDecision& decision = decisions[l];
    const std::uint64_t reset = l == refused ? std::max<std::uint64_t>(ceil_seconds(decision.retry_after), 1)
                                             : ceil_seconds(decision.reset);
    if (l > 0) lines += ", ";
    lines.append("\"")
        .append(limits.levels[l].name)
        .append("\";r=")
        .append(std::to_string(decision.remaining));
    lines.append(";t=").append(std::to_string(reset));
  }
  lines += "\r\n";

  if (refused == limits.count) {
    response_headers += lines;
    return Verdict::allow();
  }
  const RateLimitDecision& decision = decisions[refused];
  std::string extra = "Retry-After: ";
  extra += std::to_string(std::max<std::uint64_t>(ceil_seconds(decision.retry_after), 1));
  extra += "\r\n";
  extra += lines;
  return Verdict::deny(ErrorKind::kTooManyRequests, limits.levels[refused].message, std::move(extra))
      .because("limited");
}

}  // namespace flexgate::policy
