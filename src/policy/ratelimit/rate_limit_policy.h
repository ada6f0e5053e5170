#pragma once
// The rate-limit policy of one config snapshot: which token buckets a request takes from, and
// the 429 answer or the RateLimit response fields.
//
// Lifecycle (request_policies_phase, after auth, before the body schema):
//   check(...) -> allow (and `response_headers` gets the RateLimit lines for the proxied
//                 response) or a 429 local reply (Retry-After + RateLimit lines, reason "limited").
//
// Levels: `rateLimit.global` (one bucket per client across all routes), the `rateLimit.perRoute[]`
// entry whose `path` equals the route's `path`, and the route's own `rateLimit`. All that apply
// are checked together and a token is taken from each only when every one has a token (all or
// nothing: a refused request spends nothing). The first level without a token, in the order
// global, per-route, route, answers with its message ("rate limit exceeded" when unset).
//
// Key (each level's own `key`):
//   ""           -> the authenticated client name when there is one, else the client address;
//   "ip"         -> the client address;
//   "header:NAME"-> the field's value; when the field is absent or empty, the client address.
// Bucket keys are "<level>\x1f<route identity>\x1f<kind>:<value>", so levels, routes and key kinds
// never share a bucket; the route identity is its host, path and methods (not its index), so
// buckets survive a reload that reorders routes.
//
// Response fields (draft-ietf-httpapi-ratelimit-headers-08 structured fields), one list member
// per level that applies, in level order, named "global", "per-route", "route":
//   RateLimit-Policy: "global";q=1000;w=60, "route";q=100;w=60
//   RateLimit: "global";r=997;t=1, "route";r=0;t=3
// q = `max`; w = `windowMs` in seconds, rounded up (at least 1); r = whole tokens left after this
// request; t = seconds until that level's bucket is full again, rounded up (0 when full), except
// for the level that refused, where t equals Retry-After (seconds until its next token, rounded
// up, at least 1). A refusal adds `Retry-After: N`.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "policy/ratelimit/token_bucket_table.h"
#include "policy/request_view.h"

namespace flexgate::policy {

class RateLimitPolicy {
 public:
  static constexpr std::string_view kDefaultMessage = "rate limit exceeded";
  static constexpr std::size_t kLevels = 3;  // global, per-route, route

  // Compiles the limits of every route of `config`. `reuse` is the previous snapshot's table (so
  // buckets survive a reload); nullptr makes a new table. The backend setting is not read here:
  // this is the memory backend.
  static RateLimitPolicy build(const config::Config& config,
                               std::shared_ptr<TokenBucketTable> reuse = nullptr);

  // True when any limit applies to the route: otherwise check() always allows and adds nothing.
  bool active_for(std::size_t route_index) const {
    return route_index < routes_.size() && routes_[route_index].count > 0;
  }

  // Decides for one request on the route at `route_index` (`route` is that route's spec).
  // `client_name` is the authenticated client ("" when anonymous); `client_ip` the client address
  // as text ("" = render `request.client`). On allow, appends the RateLimit lines (complete
  // "Name: value\r\n" lines) to `response_headers`; on refusal, the verdict carries them.
  Verdict check(const RequestView& request, std::size_t route_index, const config::RouteSpec& route,
                std::string_view client_name, std::string_view client_ip,
                std::chrono::steady_clock::time_point now, std::string& response_headers) const;

  // The shared bucket table: hand it to the next snapshot's build().
  const std::shared_ptr<TokenBucketTable>& table() const { return table_; }

 private:
  enum class KeyKind : std::uint8_t { kClient, kIp, kHeader };
  struct Level {
    std::string_view name;  // "global", "per-route", "route" (static)
    std::uint64_t max = 0;
    std::chrono::milliseconds window{0};
    std::string message;
    KeyKind key = KeyKind::kClient;
    std::string header;         // kHeader: the field name
    std::string bucket_prefix;  // "<level>\x1f<route identity>\x1f"
  };
  struct RouteLimits {
    std::array<Level, kLevels> levels;
    std::size_t count = 0;
    std::string policy_line;  // "RateLimit-Policy: ...\r\n", fixed per route
  };

  static Level compile(std::string_view name, const config::RateLimitSpec& spec, std::string bucket_prefix);

  std::vector<RouteLimits> routes_;
  std::shared_ptr<TokenBucketTable> table_;
};

}  // namespace flexgate::policy
