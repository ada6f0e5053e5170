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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "policy/ratelimit/token_bucket_table.h"
#include "policy/request_view.h"

namespace flexgate::policy {

// Where the buckets live (`rateLimit.backend`).
enum class RateLimitBackend : std::uint8_t { kMemory, kRedis };
// What a decision does when the Redis backend cannot answer (`rateLimit.failMode`).
enum class RateLimitFailMode : std::uint8_t { kOpen, kLocal, kClosed };

// The per-request working storage of a decision. It lives in the request context and is reused,
// so once its strings have grown a decision allocates nothing.
struct RateLimitScratch {
  static constexpr std::size_t kLevels = 3;
  std::array<std::string, kLevels> keys;  // bucket keys; `buckets[i].key` views keys[i]
  std::array<BucketRequest, kLevels> buckets{};
  std::array<RateLimitDecision, kLevels> decisions{};
  std::size_t count = 0;  // levels that apply to this request
  std::string ip_text;    // the client address as text, when the caller had none

  std::span<const BucketRequest> requests() const { return {buckets.data(), count}; }
};

class RateLimitPolicy {
 public:
  static constexpr std::string_view kDefaultMessage = "rate limit exceeded";
  static constexpr std::size_t kLevels = RateLimitScratch::kLevels;  // global, per-route, route

  // Compiles the limits of every route of `config`. `reuse` is the previous snapshot's table (so
  // buckets survive a reload); nullptr makes a new table. With the Redis backend the table is the
  // local fallback (failMode: local).
  static RateLimitPolicy build(const config::Config& config,
                               std::shared_ptr<TokenBucketTable> reuse = nullptr);

  // True when any limit applies to the route: otherwise check() always allows and adds nothing.
  bool active_for(std::size_t route_index) const {
    return route_index < routes_.size() && routes_[route_index].count > 0;
  }
  RateLimitBackend backend() const { return backend_; }
  RateLimitFailMode fail_mode() const { return fail_mode_; }

  // A decision in three steps, so the bucket store can be chosen (and awaited) in between:
  //   prepare()      -> the buckets this request takes a token from (into `scratch`);
  //   decide_local() -> takes them from the in-memory table (or the Redis client fills
  //                     scratch.decisions and reports the refused index itself);
  //   conclude()     -> allow (RateLimit lines appended to `response_headers`, unless
  //                     rateLimit.headers is false) or the 429 (which always carries them).
  // `client_name` is the authenticated client ("" when anonymous); `client_ip` the client address
  // as text ("" = render `request.client`). Precondition: active_for(route_index).
  void prepare(const RequestView& request, std::size_t route_index, std::string_view client_name,
               std::string_view client_ip, RateLimitScratch& scratch) const;
  // Returns the index of the first level without a token, or scratch.count when allowed.
  std::size_t decide_local(RateLimitScratch& scratch, std::chrono::steady_clock::time_point now) const;
  Verdict conclude(std::size_t route_index, const RateLimitScratch& scratch, std::size_t refused,
                   std::string& response_headers) const;

  // prepare + decide_local + conclude: the memory backend in one call.
  Verdict check(const RequestView& request, std::size_t route_index, std::string_view client_name,
                std::string_view client_ip, std::chrono::steady_clock::time_point now,
                RateLimitScratch& scratch, std::string& response_headers) const;

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
    std::string member_prefix;  // this level's member of the RateLimit line up to r's value: "\"route\";r="
  };
  struct RouteLimits {
    std::array<Level, kLevels> levels;
    std::size_t count = 0;
    std::string policy_line;  // "RateLimit-Policy: ...\r\n", fixed per route
  };

  static Level compile(std::string_view name, const config::RateLimitSpec& spec, std::string bucket_prefix);

  std::vector<RouteLimits> routes_;
  std::shared_ptr<TokenBucketTable> table_;
  RateLimitBackend backend_ = RateLimitBackend::kMemory;
  RateLimitFailMode fail_mode_ = RateLimitFailMode::kLocal;
  bool headers_on_allowed_ = true;  // rateLimit.headers
};

}  // namespace flexgate::policy
