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

// Defaults of the timeouts (`timeouts:` at proxy, upstream and route level; see resolve_timeouts).
inline constexpr Millis kDefaultConnectTimeout{5000};
inline constexpr Millis kDefaultFirstByteTimeout{30000};
inline constexpr Millis kDefaultRequestTimeout{30000};
inline constexpr Millis kDefaultIdleTimeout{60000};

// `timeouts: {connect, firstByte, perTry, request, idle}` at proxy, upstream or route level.
// Unset = inherited from the wider scope: route > upstream > proxy > default.
struct TimeoutsSpec {
  std::optional<Millis> connect;     // TCP connect to a target, per try (default 5s)
  std::optional<Millis> first_byte;  // `firstByte`: request sent -> response head, per try (30s)
  std::optional<Millis> per_try;     // `perTry`: one whole try, connect to response head (default: request)
  std::optional<Millis> request;     // the whole request, every try and backoff included (30s)
  std::optional<Millis> idle;        // client keep-alive idle after a response (60s)
};

// Every timeout concrete, for one (proxy, upstream, route); see resolve_timeouts().
struct EffectiveTimeouts {
  Millis connect = kDefaultConnectTimeout;
  Millis first_byte = kDefaultFirstByteTimeout;
  Millis per_try = kDefaultRequestTimeout;
  Millis request = kDefaultRequestTimeout;
  Millis idle = kDefaultIdleTimeout;
};

// `proxy.shedding`: fractions of proxy.maxInFlight at which requests are refused (503) by route
// priority; `critical` requests only at maxInFlight itself. Nothing is shed while maxInFlight is 0.
struct SheddingSpec {
  double low_at = 0.7;      // `lowAt`: from here `priority: low` is shed (0..1)
  double normal_at = 0.85;  // `normalAt`: from here `priority: normal` too (lowAt..1)
};

// `proxy.tls`: TLS termination on the listener. File paths are resolved against the config
// file's directory at load, where every file is loaded and checked.
struct ServerTlsSpec {
  std::string cert;  // PEM chain, leaf first: the default certificate
  std::string key;
  // `certificates`: more certificates chosen by SNI; `hosts` are names or "*.suffix".
  struct NamedCertificate {
    std::vector<std::string> hosts;
    std::string cert;
    std::string key;
    SourcePos pos;
  };
  std::vector<NamedCertificate> certificates;
  std::string min_version = "1.2";   // `minVersion`: "1.2" | "1.3"
  std::string ciphers;               // TLS 1.2 cipher list (OpenSSL syntax); "" = defaults
  std::string client_ca;             // `clientCA`: ask for client certificates, verified against it
  bool require_client_cert = false;  // `requireClientCert`: no valid certificate, no connection
  SourcePos pos;
};

// `upstreams[].protocol`: how the gateway speaks to the upstream's targets.
enum class UpstreamProtocol : std::uint8_t {
  kHttp1,  // HTTP/1.1 with a keep-alive pool (the default)
  kH2,     // HTTP/2 over TLS (ALPN "h2"); https:// targets only
  kH2c,    // HTTP/2 over cleartext, prior knowledge; http:// targets only
};

// `upstreams[].tls`: settings for the upstream's https:// targets.
struct UpstreamTlsSpec {
  bool verify = true;        // verify the chain and the name (false: a load warning)
  std::string ca;            // PEM bundle to verify against; "" = the system store
  std::string cert;          // client certificate (mTLS to the backend), with `key`
  std::string key;
  std::string server_name;   // `serverName`: SNI and the name checked, instead of the URL's host
  std::string min_version = "1.2";
  SourcePos pos;
};

// `proxy.http2`: HTTP/2 from clients (over TLS by ALPN, or h2c with prior knowledge).
struct Http2Spec {
  bool enabled = false;                       // offer h2 in ALPN on a TLS listener
  bool h2c = false;                           // accept the HTTP/2 preface on a plaintext listener
  unsigned max_concurrent_streams = 100;      // `maxConcurrentStreams`
  std::uint64_t initial_window_size = 256 * 1024;  // `initialWindowSize`: per request body
  unsigned max_resets_per_second = 100;       // `maxResetsPerSecond`: more closes the connection
};

// `proxy:` — the listener, global limits and timeouts.
struct ProxySettings {
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;                  // 0 = pick a free port (tests)
  Millis timeout{30000};                      // whole-request deadline (= timeouts.request, or its default)
  std::uint64_t max_body_size = 10ull << 20;  // bytes; "10mb" in YAML
  unsigned workers = 0;                       // 0 = one per CPU
  Millis header_timeout{10000};               // client must send a full head within this
  Millis idle_timeout{60000};                 // keep-alive idle between client requests (= timeouts.idle)
  Millis drain_timeout{30000};                // graceful shutdown deadline
  // `shutdownDelay`: on SIGTERM readiness turns 503 at once, and the listeners keep accepting
  // this long (so load balancers notice) before the drain starts. 0..10 min.
  Millis shutdown_delay{0};
  std::uint64_t max_head_size = 16 * 1024;    // request head bytes (431)
  std::uint64_t max_uri_size = 8 * 1024;      // request target bytes (414)
  unsigned max_header_count = 100;            // header fields (431)
  // `timeouts`; the older keys `timeout` (= request) and `idleTimeout` (= idle) are filled in here
  // too, and giving one with its twin is an error.
  TimeoutsSpec timeouts;
  unsigned max_connections = 10000;  // `maxConnections`: open client connections; 0 = unlimited
  // `maxInFlight`: requests being served at once; 0 = unlimited, and then nothing is shed by
  // priority. Off by default: HTTP/1.1 serves one request per connection at a time, so
  // maxConnections already bounds it, and a guessed limit would refuse traffic the host can serve.
  unsigned max_in_flight = 0;
  SheddingSpec shedding;
  std::optional<ServerTlsSpec> tls;  // absent = plaintext HTTP/1.1
  Http2Spec http2;
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

// What counts as a failure (`circuitBreaker.failOn`) or is worth a retry (`retry.on`), from the
// words connect-failure, timeout, reset, 5xx and status codes 500..599.
struct FailureConditions {
  bool connect_failure = false;  // `connect-failure`: connect refused, unreachable or timed out
  bool timeout = false;          // `timeout`: no response head within firstByte / perTry
  bool reset = false;            // `reset`: the connection closed or reset before a complete response head
  bool any_5xx = false;          // `5xx`: every status 500..599
  std::vector<std::uint16_t> statuses;  // single codes, 500..599, in file order

  // True when a response with this status counts.
  bool matches_status(unsigned status) const;
};

// `circuitBreaker:`
struct CircuitBreakerSpec {
  bool enabled = false;
  unsigned failure_threshold = 50;  // percent, 1..100
  unsigned minimum_requests = 20;   // >= 1
  Millis window{10000};             // `windowMs`
  Millis open_duration{30000};
  unsigned half_open_requests = 1;  // >= 1
  // `failOn`, default [connect-failure, timeout, 5xx].
  FailureConditions fail_on{.connect_failure = true, .timeout = true, .any_5xx = true};
};

enum class LoadBalancerStrategy : std::uint8_t { kRoundRobin, kLeastRequest, kLatency, kConsistentHash };

// `loadBalancer.hashOn`: what a consistent_hash upstream hashes to pick a target.
enum class HashSource : std::uint8_t { kNone, kIp, kHeader, kCookie };
struct HashOnSpec {
  HashSource source = HashSource::kNone;  // kNone unless the strategy is consistent_hash
  std::string name;                       // header or cookie name as written ("" for ip)
};

// `upstreams[].loadBalancer`: a strategy name, or {strategy, hashOn, latencyDecay}.
struct LoadBalancerSpec {
  LoadBalancerStrategy strategy = LoadBalancerStrategy::kLeastRequest;
  HashOnSpec hash_on;           // "ip" | "header:NAME" | "cookie:NAME"; required by consistent_hash only
  Millis latency_decay{10000};  // `latencyDecay` (latency only): how fast old latency samples fade
  SourcePos pos;                // 0 when the key is absent
};

// `upstreams[].healthCheck`: active probes; the key absent = no active checks.
struct HealthCheckSpec {
  std::string path;  // required; starts with '/', may carry a query
  Millis interval{5000};
  Millis timeout{1000};              // less than interval
  unsigned healthy_threshold = 2;    // consecutive passes that bring a target back (1..100)
  unsigned unhealthy_threshold = 3;  // consecutive failures that take it out (1..100)
  SourcePos pos;
};

// `upstreams[].outlierDetection`: passive ejection of failing targets. The key absent = off (with
// these defaults); present = on unless `enabled: false`.
struct OutlierDetectionSpec {
  bool enabled = false;
  unsigned consecutive_failures = 5;   // `consecutiveFailures`: failures in a row that eject (1..1000)
  Millis base_ejection_time{30000};    // `baseEjectionTime`: the first ejection's length
  Millis max_ejection_time{300000};    // `maxEjectionTime`: repeated ejections grow up to this (>= base)
  unsigned max_ejection_percent = 50;  // `maxEjectionPercent`: at most this share of targets out (0..100)
  SourcePos pos;
};

// `upstreams[].retry.backoff`: jittered exponential backoff between tries.
struct RetryBackoffSpec {
  Millis base{25};
  Millis max{1000};  // >= base
};

// `upstreams[].retry.budget`: retries allowed beyond the minimum, as a share of requests.
struct RetryBudgetSpec {
  double ratio = 0.2;        // retries / requests over the window (0..1)
  unsigned min_retries = 3;  // `minRetries`: always allowed per window, whatever the ratio
  Millis window{10000};
};

// `upstreams[].retry` (or the shorthand `retries: N` = {attempts: N} with the other defaults).
// `retry.perTryTimeout` is the same setting as `timeouts.perTry` and is stored in
// UpstreamSpec::timeouts.per_try.
struct RetrySpec {
  unsigned attempts = 0;  // retries after the first try (0..10); required in `retry`
  // `on`, default [connect-failure, timeout, 502, 503, 504].
  FailureConditions on{.connect_failure = true, .timeout = true, .statuses = {502, 503, 504}};
  RetryBackoffSpec backoff;
  RetryBudgetSpec budget;
  SourcePos pos;  // of `retry` or `retries`; 0 when neither is set
};

// `upstreams[].maxConcurrent`: requests in flight to the upstream at once.
enum class ConcurrencyLimit : std::uint8_t { kUnlimited, kFixed, kAuto };

// `upstreams[].queue`: requests waiting for a maxConcurrent slot (503 when full or timed out).
struct QueueSpec {
  unsigned size = 0;     // 0 = no waiting: refused at once
  Millis timeout{1000};  // longest wait for a slot
};

// Per-upstream keep-alive pool (per worker, per target).
struct PoolSpec {
  unsigned max_idle = 256;  // fits a few hundred concurrent requests per worker without reconnecting
  Millis idle_timeout{60000};
};

// What a `${...}` variable in a header value stands for (see docs/transformations.md).
enum class TemplateVar : std::uint8_t {
  kLiteral,        // plain text (literal parts and ${env.NAME}, substituted at load)
  kClientIp,       // ${client_ip}
  kCorrelationId,  // ${correlation_id}
  kRoute,          // ${route}: the route's path pattern
  kUpstream,       // ${upstream}: the chosen upstream's name
  kAuthClient,     // ${auth.client}: the authenticated key's name ("" when anonymous)
  kRequestHeader,  // ${request.header.NAME}: the client's field (several joined with ", ")
  kPathParam,      // ${path.NAME}: a named route parameter
};

// One piece of a header value template.
struct TemplatePart {
  TemplateVar var = TemplateVar::kLiteral;
  std::string text;  // the literal text, the header name, or the parameter name
};

// A header value as written, with its variables parsed at load.
struct ValueTemplate {
  std::vector<TemplatePart> parts;
  std::string source;  // as written, for messages
  SourcePos pos;
};

// One `set`/`add` entry: a field name and its value template.
struct HeaderValueSpec {
  std::string name;
  ValueTemplate value;
};

// One `rename` entry (request only).
struct HeaderRenameSpec {
  std::string from;
  std::string to;
  SourcePos pos;
};

// `headers.request` / `headers.response`: applied in the order remove, rename, set, add.
struct HeaderOpsSpec {
  std::vector<HeaderValueSpec> set;      // replaces every field of the name (an empty value only removes)
  std::vector<HeaderValueSpec> add;      // appends a field (an empty value adds nothing)
  std::vector<std::string> remove;       // drops every field of the name
  std::vector<HeaderRenameSpec> rename;  // request only: Old -> New, value kept
  std::vector<std::string> keep;         // response only: upstream fields hidden by default to pass through
};

// `headers:` on a route or an upstream (route wins: its operations run after the upstream's).
struct HeadersSpec {
  HeaderOpsSpec request;
  HeaderOpsSpec response;
  SourcePos pos;
};

// `securityHeaders.hsts`: Strict-Transport-Security, sent only on a TLS listener.
struct HstsSpec {
  Millis max_age{31'536'000'000};  // `maxAge`, 1 year
  bool include_subdomains = false; // `includeSubDomains`
  bool preload = false;
};

// `securityHeaders`: `true`/`false`, or a mapping; at top level, upstream and route (route wins).
struct SecurityHeadersSpec {
  bool enabled = false;
  std::string frame_options = "DENY";                        // `frameOptions`: DENY | SAMEORIGIN
  std::string referrer_policy = "strict-origin-when-cross-origin";  // `referrerPolicy`
  std::optional<HstsSpec> hsts;
  SourcePos pos;
};

// `cors`: at top level (every route) or on a route (replaces it; `cors: false` turns it off).
struct CorsSpec {
  bool enabled = true;
  std::vector<std::string> allow_origins;   // `allowOrigins`: "https://a.example", "https://*.example.com", "*"
  std::vector<std::string> allow_methods;   // `allowMethods`: upper-case; default GET, HEAD, POST
  std::vector<std::string> allow_headers;   // `allowHeaders`: field names, or "*" (not with credentials)
  std::vector<std::string> expose_headers;  // `exposeHeaders`
  bool allow_credentials = false;           // `allowCredentials`
  std::optional<Millis> max_age;            // `maxAge`: preflight cache time (whole seconds sent)
  SourcePos pos;
};

// `rewrite: {regex, replace}`: the path rewritten with an RE2 expression (compiled at load).
struct RegexRewriteSpec {
  std::string regex;    // RE2 syntax, matched against the normalized path
  std::string replace;  // `$1`..`$9` insert groups, `$$` a '$'
  SourcePos regex_pos;
  SourcePos pos;
};

// `upstreams[]`
struct UpstreamSpec {
  std::string name;
  std::vector<TargetSpec> targets;  // from `url` (one target) or `targets`
  // The two below are the effective values at upstream level (timeouts.firstByte / .connect, else
  // proxy.timeouts', else the defaults); `timeout` and `connectTimeout` are the older keys for them.
  Millis timeout{30000};  // response (first byte) timeout
  Millis connect_timeout{5000};
  unsigned retries = 0;  // = retry.attempts
  // = balancer.strategy: round_robin | least_request | latency | consistent_hash
  std::string load_balancer = "least_request";
  CircuitBreakerSpec circuit_breaker;
  PoolSpec pool;
  SourcePos pos;
  TimeoutsSpec timeouts;  // as written (older keys and retry.perTryTimeout included)
  RetrySpec retry;
  LoadBalancerSpec balancer;
  std::optional<HealthCheckSpec> health_check;
  OutlierDetectionSpec outlier_detection;
  ConcurrencyLimit concurrency = ConcurrencyLimit::kUnlimited;  // `maxConcurrent` absent / N / auto
  unsigned max_concurrent = 0;                                  // kFixed: N (1..100000)
  QueueSpec queue;                                              // only with maxConcurrent
  std::optional<HeadersSpec> headers;                           // `headers` (a route's run after)
  std::optional<SecurityHeadersSpec> security_headers;          // `securityHeaders`
  std::optional<UpstreamTlsSpec> tls;                           // `tls` (for https:// targets)
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;         // `protocol: http1 | h2 | h2c`
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

// `routes[].priority`: which requests are shed first under load (see SheddingSpec).
enum class RoutePriority : std::uint8_t { kCritical, kNormal, kLow };

// One entry of `routes[].upstreams` (a weighted traffic split).
struct WeightedUpstream {
  std::string name;
  unsigned weight = 1;  // 1..1000
  SourcePos pos;
};

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
  std::string upstream;              // the (first, primary) upstream
  std::optional<AuthMode> auth;      // unset: decided by the security policy's default
  std::optional<Millis> timeout;     // overrides the upstream's response timeout (= timeouts.firstByte)
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
  // `upstreams: [{name, weight}]`, or `upstream` as one entry of weight 1: the loader always fills
  // it (hand-built specs may leave it empty, meaning {upstream, 1}).
  std::vector<WeightedUpstream> upstreams;
  std::string fallback;               // an upstream tried when the chosen one fails; "" = none
  TimeoutsSpec timeouts;              // as written (`timeout` included as firstByte)
  bool retry_non_idempotent = false;  // `retryNonIdempotent`: retry POST, PATCH... too
  RoutePriority priority = RoutePriority::kNormal;
  std::optional<RegexRewriteSpec> rewrite_regex;           // `rewrite: {regex, replace}`
  std::optional<HeadersSpec> headers;                      // `headers`
  std::optional<SecurityHeadersSpec> security_headers;     // `securityHeaders` (overrides upstream/global)
  std::optional<CorsSpec> cors;                            // `cors` (replaces the global one)
  // `websocket`: GET requests with `Upgrade: websocket` are forwarded and, on a 101, tunneled (idle
  // timeout: the route's timeouts.idle); false refuses them with 403.
  bool websocket = false;
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
  bool headers = true;              // allowed responses carry RateLimit / RateLimit-Policy (429s always do)
};

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };
enum class LogFormat : std::uint8_t { kJson, kText };

// `logging.sampling`
struct SamplingSpec {
  double success_rate = 1.0;
  double error_rate = 1.0;
};

// `logging.rotation`: size-based rotation of a log file (file output only).
struct LogRotationSpec {
  std::uint64_t max_size = 100ull << 20;  // `maxSize`: the file is rotated before it passes this
  unsigned max_files = 5;                 // `maxFiles`: rotated files kept (FILE.1 newest … FILE.N)
};

// `logging`
struct LoggingSpec {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kJson;
  SamplingSpec sampling;
  bool access_log = true;
  std::string output = "stdout";  // "stdout", or a file path as written
  std::string output_path;        // that file resolved against the config file's directory; "" = stdout
  LogRotationSpec rotation;
  std::vector<std::string> redact_headers;  // `redactHeaders`: more names whose values are logged as [REDACTED]
  std::vector<std::string> headers;         // request header fields copied into the access line
};

// `tracing.otlp`: export one span per proxied request over OTLP/HTTP (JSON) to a collector.
struct OtlpSpec {
  std::string endpoint;                 // "http://collector:4318/v1/traces"; "" = no export
  std::string service_name = "flexgate";
  unsigned max_queue = 2048;            // spans waiting for export; more are dropped and counted
};

// `tracing`
struct TracingSpec {
  OtlpSpec otlp;
};

// `metrics`: where Prometheus scrapes. Served before routing, so no route can shadow it.
struct MetricsSpec {
  std::string path = "/metrics";
  std::uint16_t port = 0;  // 0 = on the main listener; else a listener of its own on proxy.host:port
};

// `health`: the probe paths, served before routing like the metrics path.
struct HealthPathsSpec {
  std::string live = "/health/live";
  std::string ready = "/health/ready";
  std::string deep = "/health/deep";
};

// `admin`: the admin API listener (src/admin/admin_server.h); on by default, loopback only.
struct AdminSpec {
  bool enabled = true;
  std::string listen = "127.0.0.1:9901";  // host:port (port 0 picks a free one); never proxy.port
  bool listen_written = false;            // set in the file: failing to bind it stops the start
  std::string token_sha256;               // `tokenSha256`: SHA-256 hex of the bearer token; "" = no state changes
  SourcePos pos;
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
  AdminSpec admin;
  MetricsSpec metrics;
  HealthPathsSpec health;
  TracingSpec tracing;
  std::optional<CorsSpec> cors;                         // `cors`: for every route without its own
  std::optional<SecurityHeadersSpec> security_headers;  // `securityHeaders`: the default

  const UpstreamSpec* find_upstream(std::string_view name) const;
};

// The timeouts that apply to a request on `route` sent to `upstream` (one of the route's): each
// from the most specific scope that sets it — route.timeouts, upstream.timeouts, proxy.timeouts —
// else from the effective fields the loader keeps at each level (route.timeout for firstByte;
// upstream.timeout and .connect_timeout; proxy.timeout and .idle_timeout), which hold the
// defaults 5s connect, 30s firstByte, 30s request, 60s idle. perTry defaults to request. Values
// are not clamped: the request deadline still bounds every try.
EffectiveTimeouts resolve_timeouts(const ProxySettings& proxy, const UpstreamSpec& upstream,
                                   const RouteSpec& route);

}  // namespace flexgate::config
