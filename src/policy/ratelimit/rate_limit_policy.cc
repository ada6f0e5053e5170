#include "policy/ratelimit/rate_limit_policy.h"

#include <cassert>
#include <charconv>
#include <cstring>
#include <limits>
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

// Decimal digits without a temporary string (this runs on every rate-limited request).
void append_decimal(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  (void)ec;
  out.append(digits, end);
}

// Writers into a buffer the caller has sized (the RateLimit line, below).
char* put(char* p, std::string_view text) {
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}
char* put_decimal(char* p, std::uint64_t value) {
  return std::to_chars(p, p + std::numeric_limits<std::uint64_t>::digits10 + 1, value).ptr;
}

// "RateLimit: " + at most kLevels members of `, "per-route";r=N;t=N` + CRLF.
constexpr std::size_t kMaxMemberPrefix = 16;  // `, "per-route";r=`
constexpr std::size_t kMaxRateLimitLine =
    11 + RateLimitScratch::kLevels * (kMaxMemberPrefix + 2 * (std::numeric_limits<std::uint64_t>::digits10 + 1) + 3) + 2;

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
  policy.backend_ = settings.backend == "redis" ? RateLimitBackend::kRedis : RateLimitBackend::kMemory;
  policy.fail_mode_ = settings.fail_mode == "open"     ? RateLimitFailMode::kOpen
                      : settings.fail_mode == "closed" ? RateLimitFailMode::kClosed
                                                       : RateLimitFailMode::kLocal;
  policy.headers_on_allowed_ = settings.headers;
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
      Level& level = limits.levels[l];
      level.member_prefix = std::string(l > 0 ? ", " : "") + "\"" + std::string(level.name) + "\";r=";
      assert(level.member_prefix.size() <= kMaxMemberPrefix);
      if (l > 0) limits.policy_line += ", ";
      limits.policy_line.append("\"").append(level.name).append("\";q=").append(std::to_string(level.max));
      limits.policy_line.append(";w=").append(
          std::to_string(std::max<std::uint64_t>(ceil_seconds(level.window), 1)));
    }
    limits.policy_line += "\r\n";
  }
  return policy;
}

void RateLimitPolicy::prepare(const RequestView& request, std::size_t route_index, std::string_view client_name,
                              std::string_view client_ip, RateLimitScratch& scratch) const {
  assert(active_for(route_index));
  const RouteLimits& limits = routes_[route_index];
  scratch.count = limits.count;
  for (std::size_t l = 0; l < limits.count; ++l) {
    const Level& level = limits.levels[l];
    std::string& key = scratch.keys[l];
    key.assign(level.bucket_prefix);
    const http::HeaderField* field = nullptr;
    if (level.key == KeyKind::kHeader && request.head != nullptr) field = request.head->fields.find(level.header);
    if (field != nullptr && !field->value.empty()) {
      append_client_key(key, "h", field->value);
    } else if (level.key == KeyKind::kClient && !client_name.empty()) {
      append_client_key(key, "n", client_name);
    } else {
      if (client_ip.empty()) {  // formatted only when a bucket is keyed by the address
        scratch.ip_text = request.client.to_string();
        client_ip = scratch.ip_text;
      }
      append_client_key(key, "i", client_ip);
    }
    scratch.buckets[l] = BucketRequest{key, level.max, level.window};
  }
}

std::size_t RateLimitPolicy::decide_local(RateLimitScratch& scratch, std::chrono::steady_clock::time_point now) const {
  return table_->decide_all(scratch.requests(), now, std::span(scratch.decisions.data(), scratch.count));
}

Verdict RateLimitPolicy::conclude(std::size_t route_index, const RateLimitScratch& scratch, std::size_t refused,
                                  std::string& response_headers) const {
  assert(active_for(route_index) && scratch.count == routes_[route_index].count && refused <= scratch.count);
  const RouteLimits& limits = routes_[route_index];
  const bool allowed = refused == limits.count;
  if (allowed && !headers_on_allowed_) return Verdict::allow();
  // Allowed: the lines go into the proxied response. Refused: into the 429 (after Retry-After).
  std::string refusal;
  std::string& lines = allowed ? response_headers : refusal;
  if (!allowed) {
    lines += "Retry-After: ";
    append_decimal(lines, std::max<std::uint64_t>(ceil_seconds(scratch.decisions[refused].retry_after), 1));
    lines += "\r\n";
  }
  lines += limits.policy_line;
  // Formatted on the stack and appended once: this runs on every rate-limited request.
  char line[kMaxRateLimitLine];
  char* p = put(line, "RateLimit: ");
  for (std::size_t l = 0; l < limits.count; ++l) {
    const RateLimitDecision& decision = scratch.decisions[l];
    const std::uint64_t reset = l == refused ? std::max<std::uint64_t>(ceil_seconds(decision.retry_after), 1)
                                             : ceil_seconds(decision.reset);
    p = put(p, limits.levels[l].member_prefix);
    p = put_decimal(p, decision.remaining);
    p = put(p, ";t=");
    p = put_decimal(p, reset);
  }
  p = put(p, "\r\n");
  lines.append(line, p);
  if (allowed) return Verdict::allow();
  return Verdict::deny(ErrorKind::kTooManyRequests, limits.levels[refused].message, std::move(refusal))
      .because("limited");
}

Verdict RateLimitPolicy::check(const RequestView& request, std::size_t route_index, std::string_view client_name,
                               std::string_view client_ip, std::chrono::steady_clock::time_point now,
                               RateLimitScratch& scratch, std::string& response_headers) const {
  if (!active_for(route_index)) return Verdict::allow();
  prepare(request, route_index, client_name, client_ip, scratch);
  return conclude(route_index, scratch, decide_local(scratch, now), response_headers);
}

}  // namespace flexgate::policy
