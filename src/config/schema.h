#pragma once
// Typed config: the structs the YAML file loads into. Validated once at load (config/loader.h);
// the data path never meets an invalid value. Defaults here are the documented defaults.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flexgate::config {

using Millis = std::chrono::milliseconds;

// Where a value came from in the file (1-based; 0 when not from a file).
struct SourcePos {
  int line = 0;
  int column = 0;
};

// `proxy:` — the listener, global limits and timeouts.
struct ProxySettings {
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;                  // 0 = pick a free port (tests)
  Millis timeout{30000};                      // whole-request deadline
  std::uint64_t max_body_size = 10ull << 20;  // bytes; "10mb" in YAML
  unsigned workers = 0;                       // 0 = one per CPU
  Millis header_timeout{10000};               // client must send a full head within this
  Millis idle_timeout{60000};                 // keep-alive idle between client requests
  Millis drain_timeout{30000};                // graceful shutdown deadline
  std::uint64_t max_head_size = 16 * 1024;    // request head bytes (431)
  std::uint64_t max_uri_size = 8 * 1024;      // request target bytes (414)
  unsigned max_header_count = 100;            // header fields (431)
};

// One upstream endpoint, parsed from `url` (http://host:port).
struct TargetSpec {
  std::string url;
  std::string scheme = "http";
  std::string host;  // name or IP literal (IPv6 without brackets)
  std::uint16_t port = 80;
  unsigned weight = 1;
  SourcePos pos;
};

// `circuitBreaker:` (behaviour arrives with the traffic-control issue).
struct CircuitBreakerSpec {
  bool enabled = false;
  unsigned failure_threshold = 50;  // percent, 1..100
  unsigned minimum_requests = 20;
  Millis window{10000};
  Millis open_duration{30000};
  unsigned half_open_requests = 1;
};

// Per-upstream keep-alive pool (per worker, per target).
struct PoolSpec {
  unsigned max_idle = 64;
  Millis idle_timeout{60000};
};

// `upstreams[]`
struct UpstreamSpec {
  std::string name;
  std::vector<TargetSpec> targets;  // from `url` (one target) or `targets`
  Millis timeout{30000};            // response (first byte) timeout
  Millis connect_timeout{5000};
  unsigned retries = 0;
  std::string load_balancer = "round_robin";
  CircuitBreakerSpec circuit_breaker;
  PoolSpec pool;
  SourcePos pos;
};

// A token-bucket limit: `max` requests per `windowMs`.
struct RateLimitSpec {
  std::uint64_t max = 0;
  Millis window{60000};
  std::string message;  // optional body message for 429
  std::string key;      // "" (default: client name or ip), "ip", "header:NAME"
  SourcePos pos;
};

enum class AuthMode : std::uint8_t { kNone, kOptional, kRequired };

// `routes[].validate`: request body checks.
struct ValidateSpec {
  std::vector<std::string> content_types;  // allowed media types ("application/json"); empty = any
  std::string json_schema;                 // path as written (relative to the config file)
  std::string json_schema_path;            // resolved absolute path ("" if none)
  SourcePos pos;
};

// `routes[]`
struct RouteSpec {
  std::string path;                  // "/api/*", "/users/:id", "/exact"
  std::string host;                  // "" = any; "api.example.com" or "*.example.com"
  std::vector<std::string> methods;  // empty = all; upper-case tokens
  std::string upstream;
  std::optional<AuthMode> auth;      // unset: decided by the security policy's default
  std::optional<Millis> timeout;     // overrides the upstream's response timeout
  std::optional<RateLimitSpec> rate_limit;
  std::optional<std::uint64_t> max_body_size;
  bool strip_prefix = false;  // drop the literal prefix before `*`
  std::string rewrite;        // replaces the matched prefix; may use ${path.NAME}
  bool preserve_host = false; // forward the client's Host instead of the upstream's
  std::vector<std::string> allow_from;  // `allowFrom`: client CIDRs allowed ("" = everyone)
  std::vector<std::string> deny_from;   // `denyFrom`: client CIDRs refused (checked first)
  std::optional<ValidateSpec> validate;
  bool forward_credentials = false;  // `forwardCredentials`: keep the API-key/signature headers upstream
  SourcePos pos;
};

// `security.auth.keys[]`: only the SHA-256 hex digest of a key is ever stored.
struct ApiKeySpec {
  std::string key_sha256;  // 64 lower-case hex chars
  std::string name;
  std::string hmac_secret; // optional
  SourcePos pos;
};

// `security.auth`
struct AuthSpec {
  std::string type = "apiKey";  // apiKey | hmac
  std::string header = "X-API-Key";
  std::vector<ApiKeySpec> keys;
  std::string timestamp_header = "X-Timestamp";  // `timestampHeader` (HMAC)
  std::string signature_header = "X-Signature";  // `signatureHeader` (HMAC)
  Millis max_clock_skew{300000};                 // `maxSkew`: accepted timestamp distance (HMAC)
  bool present = false;  // the section appeared in the file
};

// `security`
struct SecuritySpec {
  std::vector<std::string> allowed_hosts;  // exact names or "*.suffix"
  std::vector<std::string> blocked_ips;    // addresses or CIDRs, v4/v6
  bool builtin_deny_list = true;           // `builtinDenyList`: metadata, link-local, reserved ranges
  std::vector<std::string> trusted_proxies;  // `trustedProxies`: CIDRs whose X-Forwarded-For is believed
  std::string underscore_headers = "reject"; // `underscoreHeaders`: reject | drop
  AuthSpec auth;
};

// `dns`: how upstream names are resolved.
struct DnsSpec {
  std::vector<std::string> servers;  // "127.0.0.1:5353", "[::1]:53"; empty = system resolv.conf
  Millis timeout{2000};
  Millis min_ttl{1000};
  Millis max_ttl{300000};
};

// `rateLimit.perRoute[]`
struct PerRouteRateLimitSpec {
  std::string path;  // route path pattern it applies to
  RateLimitSpec limit;
};

// `rateLimit.redis`
struct RedisSpec {
  std::string url = "redis://127.0.0.1:6379";
  Millis timeout{50};
};

// `rateLimit`
struct RateLimitSettings {
  std::string backend = "memory";  // memory | redis
  RedisSpec redis;
  std::optional<RateLimitSpec> global;
  std::vector<PerRouteRateLimitSpec> per_route;
  std::string fail_mode = "local";  // open | local | closed
};

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };
enum class LogFormat : std::uint8_t { kJson, kText };

// `logging.sampling`
struct SamplingSpec {
  double success_rate = 1.0;
  double error_rate = 1.0;
};

// `logging`
struct LoggingSpec {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kJson;
  SamplingSpec sampling;
  bool access_log = true;
};

// The whole file, validated. Immutable once loaded; shared by all workers through a snapshot.
struct Config {
  std::string source_path;
  ProxySettings proxy;
  std::vector<UpstreamSpec> upstreams;
  std::vector<RouteSpec> routes;
  SecuritySpec security;
  RateLimitSettings rate_limit;
  LoggingSpec logging;
  DnsSpec dns;

  const UpstreamSpec* find_upstream(std::string_view name) const;
};

}  // namespace flexgate::config
