#pragma once
// The metrics registry: per-worker counter shards, summed into the Prometheus text exposition
// format (0.0.4) when /metrics is scraped.
//
// How it stays off the hot path's back:
// - One writer per shard. Each worker thread owns one WorkerMetrics and is the only thread that
//   writes it. A Counter is a std::atomic advanced with a relaxed load + relaxed store: plain `mov`s
//   on x86, no `lock` prefix, no contention. It is atomic only so a scraping thread can read it
//   without tearing. Shards and their chunks are separate cache-line-aligned allocations, so two
//   workers never write the same line. Recording a request is ~4 such increments, no allocation,
//   no lock, no string hashing.
// - A scrape never stalls a worker: it only loads atomics. The registry mutex is taken by
//   registration (config build) and by a scrape to copy the label names, never by a worker.
// - Cardinality is fixed by the config: method is a closed enum, status the 3-digit code, policy and
//   reason one closed enum, route the configured pattern (never the raw path), upstream the
//   configured name. Route and upstream tables have a fixed capacity.
// - Reloads keep counts. Route patterns and upstream names are interned into append-only tables: a
//   name keeps its id for the life of the process, so a route kept by a reload keeps its series, and
//   names dropped from the config keep being exported with their last counts (a series that
//   vanished and came back would look like a counter reset). Per-id storage lives in chunks of 64
//   ids that the registering thread allocates for every worker, under the mutex, and publishes with
//   a release store before it returns the id. A worker only learns an id through a snapshot posted
//   to its loop, after that store; chunks never move and are freed only with the registry, so no
//   reader can see a dangling or half-built slot. Past the capacity, registration fails with a
//   message (the reload is refused; a restart resets the tables).
// - flexgate_http_requests_total is sparse (route x method x status), so each worker keeps a fixed
//   open-addressing table of series: insert-only, written by the worker, each key published after
//   its count (release) so a reader never sees a series without its first count. Past 3/4 full,
//   new series are dropped and counted in flexgate_metrics_dropped_total.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flexgate::observe {

// Every metric family, declared once: X(enumerator, name, type, help). Rendered in this order.
#define FLEXGATE_METRIC_FAMILIES(X)                                                                       \
  X(kHttpRequestsTotal, "flexgate_http_requests_total", "counter",                                        \
    "HTTP requests answered, by method, route pattern and status code.")                                  \
  X(kHttpRequestDurationSeconds, "flexgate_http_request_duration_seconds", "histogram",                   \
    "Time from a request head to its last response byte, by route pattern.")                              \
  X(kHttpRequestsInFlight, "flexgate_http_requests_in_flight", "gauge", "Requests being handled now.")    \
  X(kHttpRequestSizeBytes, "flexgate_http_request_size_bytes", "histogram",                               \
    "Request size received from the client (head and body), by route pattern.")                          \
  X(kHttpResponseSizeBytes, "flexgate_http_response_size_bytes", "histogram",                             \
    "Response size sent to the client (head and body), by route pattern.")                               \
  X(kPolicyRejectionsTotal, "flexgate_policy_rejections_total", "counter",                                \
    "Requests refused by a policy, by policy and reason.")                                                \
  X(kUpstreamRequestsTotal, "flexgate_upstream_requests_total", "counter",                                \
    "Requests sent to an upstream (each attempt, retries included), by outcome.")                         \
  X(kUpstreamResponseDurationSeconds, "flexgate_upstream_response_duration_seconds", "histogram",          \
    "Time from the start of an attempt to the upstream's response head, by upstream.")                   \
  X(kUpstreamTargetRequestsTotal, "flexgate_upstream_target_requests_total", "counter",                   \
    "Attempts sent to each target of an upstream, by outcome.")                                           \
  X(kUpstreamPoolIdleConnections, "flexgate_upstream_pool_idle_connections", "gauge",                     \
    "Idle keep-alive upstream connections held in the pools now, all workers.")                           \
  X(kUpstreamConnectionsOpenedTotal, "flexgate_upstream_connections_opened_total", "counter",             \
    "New connections opened to an upstream.")                                                             \
  X(kUpstreamPoolReusesTotal, "flexgate_upstream_pool_reuses_total", "counter",                           \
    "Requests sent on a pooled (reused) upstream connection.")                                            \
  X(kRateLimitHitsTotal, "flexgate_rate_limit_hits_total", "counter",                                     \
    "Requests refused with 429 by a rate limit, by route pattern.")                                       \
  X(kGrpcResponsesTotal, "flexgate_grpc_responses_total", "counter",                                      \
    "gRPC calls answered, by route pattern and gRPC status code (the upstream's, or the gateway's own).") \
  X(kRateLimitDecisionsTotal, "flexgate_rate_limit_decisions_total", "counter",                           \
    "Rate-limit decisions, by the store that made them (memory, redis) and result.")                      \
  X(kRateLimitBackendFallbacksTotal, "flexgate_rate_limit_backend_fallbacks_total", "counter",            \
    "Decisions Redis could not answer, by the failMode applied (open, local, closed).")                   \
  X(kRateLimitBackendDegradedWorkers, "flexgate_rate_limit_backend_degraded_workers", "gauge",            \
    "Workers whose Redis rate-limit connection is failing now (0 = healthy or not configured).")          \
  X(kRateLimitBackendRecoveriesTotal, "flexgate_rate_limit_backend_recoveries_total", "counter",          \
    "Times a worker's Redis rate-limit connection came back after failing.")                             \
  X(kRateLimitBucketEvictionsTotal, "flexgate_rate_limit_bucket_evictions_total", "counter",              \
    "In-memory buckets evicted before they were full again because the table was at its cap.")           \
  X(kRateLimitBuckets, "flexgate_rate_limit_buckets", "gauge", "In-memory rate-limit buckets held now.")  \
  X(kTimeoutsTotal, "flexgate_timeouts_total", "counter",                                                 \
    "Timeouts, by kind: connect, upstream_response (firstByte / perTry), request, client_head, client_body, websocket_idle.") \
  X(kTlsHandshakesTotal, "flexgate_tls_handshakes_total", "counter",                                      \
    "TLS handshakes, by side (downstream: clients, upstream: https targets) and result (ok or why it failed).") \
  X(kLoadShedTotal, "flexgate_load_shed_total", "counter",                                                 \
    "Requests refused with 503 because the gateway was overloaded, by route priority.")                   \
  X(kWebsocketConnections, "flexgate_websocket_connections", "gauge",                                     \
    "WebSocket tunnels open now (upgraded with a 101, not yet closed).")                                  \
  X(kWebsocketBytesTotal, "flexgate_websocket_bytes_total", "counter",                                    \
    "Bytes tunneled after a WebSocket upgrade, by direction (to_upstream, to_client).")                  \
  X(kConfigReloadsTotal, "flexgate_config_reloads_total", "counter", "Configuration reloads, by result.") \
  X(kConfigLastReloadSuccessTimestampSeconds, "flexgate_config_last_reload_success_timestamp_seconds",    \
    "gauge", "Unix time of the last successful configuration load or reload.")                            \
  X(kBuildInfo, "flexgate_build_info", "gauge", "Always 1; the version is a label.")                      \
  X(kMetricsDroppedTotal, "flexgate_metrics_dropped_total", "counter",                                    \
    "Observations not counted: a worker's series table was full or a label id was not registered.")       \
  /* Read from their owners at scrape time (MetricsRegistry::set_external_source). */                     \
  X(kDownstreamConnections, "flexgate_downstream_connections", "gauge", "Client connections open now.")    \
  X(kDownstreamConnectionsRefusedTotal, "flexgate_downstream_connections_refused_total", "counter",       \
    "Client connections closed at accept because proxy.maxConnections was reached.")                      \
  X(kCircuitBreakerState, "flexgate_circuit_breaker_state", "gauge",                                      \
    "1 for the state each upstream's circuit breaker is in, 0 for the others.")                           \
  X(kCircuitBreakerTransitionsTotal, "flexgate_circuit_breaker_transitions_total", "counter",             \
    "Circuit breaker transitions, by upstream and the state entered.")                                    \
  X(kUpstreamTargetsEjected, "flexgate_upstream_targets_ejected", "gauge",                                \
    "Targets taken out of rotation by outlier detection now, by upstream.")                               \
  X(kUpstreamEjectionsTotal, "flexgate_upstream_ejections_total", "counter",                              \
    "Outlier ejections, by upstream.")                                                                    \
  X(kUpstreamTargetsHealthy, "flexgate_upstream_targets_healthy", "gauge",                                \
    "Targets passing their active health checks now, by upstream.")                                       \
  X(kUpstreamRetriesTotal, "flexgate_upstream_retries_total", "counter",                                  \
    "Retries sent to an upstream, by upstream.")                                                          \
  X(kUpstreamRetriesRefusedTotal, "flexgate_upstream_retries_refused_total", "counter",                   \
    "Retries the retry budget refused, by upstream.")                                                     \
  X(kUpstreamConcurrencyLimit, "flexgate_upstream_concurrency_limit", "gauge",                            \
    "The current maxConcurrent of an upstream (adaptive limits move), by upstream.")                      \
  X(kUpstreamConcurrencyInFlight, "flexgate_upstream_concurrency_in_flight", "gauge",                     \
    "Requests holding one of an upstream's maxConcurrent slots now, by upstream.")                        \
  X(kLogLinesDroppedTotal, "flexgate_log_lines_dropped_total", "counter",                                 \
    "Log lines dropped because a thread's log buffer was full (the writer never blocks a worker).")      \
  X(kLogOutputErrorsTotal, "flexgate_log_output_errors_total", "counter",                                 \
    "Failed writes or opens of the log output.")                                                          \
  X(kAccessLinesSampledOutTotal, "flexgate_access_lines_sampled_out_total", "counter",                    \
    "Access lines left out by logging.sampling.")                                                         \
  X(kTraceSpansExportedTotal, "flexgate_trace_spans_exported_total", "counter",                           \
    "Spans sent to the OTLP collector.")                                                                  \
  X(kTraceSpansDroppedTotal, "flexgate_trace_spans_dropped_total", "counter",                             \
    "Spans dropped because the export queue was full or the exporter stopped.")                          \
  X(kTraceExportFailuresTotal, "flexgate_trace_export_failures_total", "counter",                         \
    "Span batches the OTLP collector did not accept.")                                                    \
  X(kUpstreamConcurrencyLimitedTotal, "flexgate_upstream_concurrency_limited_total", "counter",           \
    "Requests that found an upstream at maxConcurrent (then queued, or refused when the queue was full).")

// Every reason a policy refuses a request: X(enumerator, policy, reason). A closed set, so the
// policy_rejections_total series are fixed at compile time.
#define FLEXGATE_POLICY_REJECTIONS(X)                                                   \
  X(kIpfilterDenied, "ipfilter", "denied")                                              \
  X(kAuthMalformed, "auth", "malformed") /* repeated credential fields */               \
  X(kAuthMissingKey, "auth", "missing_key")                                             \
  X(kAuthUnknownKey, "auth", "unknown_key")                                             \
  X(kAuthMissingSignature, "auth", "missing_signature") /* or timestamp */              \
  X(kAuthBadSignature, "auth", "bad_signature")                                         \
  X(kAuthStaleTimestamp, "auth", "stale_timestamp")                                     \
  X(kAuthReplay, "auth", "replay")                                                      \
  X(kAuthReplayWindowFull, "auth", "replay_window_full")                                \
  X(kRatelimitLimited, "ratelimit", "limited")                                          \
  X(kRatelimitBackendUnavailable, "ratelimit", "backend_unavailable") /* fail closed */ \
  X(kValidateContentType, "validate", "content_type")                                   \
  X(kValidateNotJson, "validate", "not_json")                                           \
  X(kValidateSchema, "validate", "schema")                                              \
  X(kValidateHeader, "validate", "header")                                              \
  X(kEgressBlockedAddress, "egress", "blocked_address")                                 \
  X(kLimitsBodyTooLarge, "limits", "body_too_large")                                    \
  X(kLimitsHeadTooLarge, "limits", "head_too_large")                                    \
  X(kLimitsUriTooLong, "limits", "uri_too_long")                                        \
  X(kWebsocketNotAllowed, "websocket", "not_allowed") /* route without websocket: true */ \
  X(kWebsocketBadHandshake, "websocket", "bad_handshake")

// How one attempt to an upstream ended: X(enumerator, label).
#define FLEXGATE_UPSTREAM_OUTCOMES(X) \
  X(kSuccess, "success")              \
  X(kConnectError, "connect_error")   \
  X(kTimeout, "timeout")              \
  X(kReset, "reset")                  \
  X(kBadResponse, "bad_response")

// Which deadline passed (flexgate_timeouts_total{kind}).
enum class TimeoutKind : std::uint8_t { kConnect, kUpstreamResponse, kRequest, kClientHead, kClientBody, kWebsocketIdle };
inline constexpr std::size_t kTimeoutKindCount = 6;

// flexgate_websocket_bytes_total{direction}: which way tunneled bytes went.
enum class TunnelDirection : std::uint8_t { kToUpstream, kToClient };

// flexgate_tls_handshakes_total{side, result}: which end of the proxy, and how it ended.
enum class TlsSide : std::uint8_t { kDownstream, kUpstream };
// X(enumerator, label); labels match net::handshake_failure_reason() plus "ok".
#define FLEXGATE_TLS_RESULTS(X)                                       \
  X(kOk, "ok")                                                        \
  X(kCertificateExpired, "certificate_expired")                       \
  X(kCertificateUntrusted, "certificate_untrusted")                   \
  X(kCertificateHostnameMismatch, "certificate_hostname_mismatch")    \
  X(kNoClientCertificate, "no_client_certificate")                    \
  X(kProtocolVersion, "protocol_version")                             \
  X(kPlainHttp, "plain_http")                                         \
  X(kClosed, "closed")                                                \
  X(kTimeout, "timeout")                                              \
  X(kOther, "other")
#define FLEXGATE_TLS_RESULT_ENUMERATOR(enumerator, label) enumerator,
enum class TlsResult : std::uint8_t { FLEXGATE_TLS_RESULTS(FLEXGATE_TLS_RESULT_ENUMERATOR) };
// NOLINTNEXTLINE(bugprone-macro-parentheses): each expansion is one term of the sum below
#define FLEXGATE_TLS_RESULT_COUNT(enumerator, label) +1
inline constexpr std::size_t kTlsResultCount = 0 FLEXGATE_TLS_RESULTS(FLEXGATE_TLS_RESULT_COUNT);
// The result whose label is `label` (a failure reason), kOther when unknown.
TlsResult tls_result_from_label(std::string_view label);

// Which store made a rate-limit decision.
enum class RateLimitStore : std::uint8_t { kMemory, kRedis };
// What a decision concluded.
enum class RateLimitResult : std::uint8_t { kAllowed, kLimited };
// The failMode applied when Redis could not answer.
enum class RateLimitFallback : std::uint8_t { kOpen, kLocal, kClosed };

#define FLEXGATE_METRICS_ENUMERATOR(name, ...) name,
// NOLINTNEXTLINE(bugprone-macro-parentheses): a bare `+1` per family is the point (0 +1 +1 ...)
#define FLEXGATE_METRICS_PLUS_ONE(...) +1

// A metric family (name, type and help in FLEXGATE_METRIC_FAMILIES).
enum class MetricFamily : std::uint8_t { FLEXGATE_METRIC_FAMILIES(FLEXGATE_METRICS_ENUMERATOR) };
inline constexpr std::size_t kMetricFamilyCount = 0 FLEXGATE_METRIC_FAMILIES(FLEXGATE_METRICS_PLUS_ONE);

// A (policy, reason) pair of flexgate_policy_rejections_total.
enum class Rejection : std::uint8_t { FLEXGATE_POLICY_REJECTIONS(FLEXGATE_METRICS_ENUMERATOR) };
inline constexpr std::size_t kRejectionCount = 0 FLEXGATE_POLICY_REJECTIONS(FLEXGATE_METRICS_PLUS_ONE);

// The outcome label of flexgate_upstream_requests_total.
enum class UpstreamOutcome : std::uint8_t { FLEXGATE_UPSTREAM_OUTCOMES(FLEXGATE_METRICS_ENUMERATOR) };
inline constexpr std::size_t kUpstreamOutcomeCount = 0 FLEXGATE_UPSTREAM_OUTCOMES(FLEXGATE_METRICS_PLUS_ONE);

#undef FLEXGATE_METRICS_ENUMERATOR
#undef FLEXGATE_METRICS_PLUS_ONE

// The method label: the standard methods, anything else "OTHER". Same order as http::Method.
enum class MethodLabel : std::uint8_t {
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kOptions,
  kPatch,
  kTrace,
  kConnect,
  kOther
};
inline constexpr std::size_t kMethodLabelCount = 10;

// Name, type and help of a family.
struct MetricFamilyInfo {
  std::string_view name;
  std::string_view type;
  std::string_view help;
};
const MetricFamilyInfo& family_info(MetricFamily family);

std::string_view to_string(MethodLabel method);
std::string_view to_string(UpstreamOutcome outcome);
std::string_view policy_of(Rejection rejection);
std::string_view reason_of(Rejection rejection);

// Upper bounds of flexgate_http_request_duration_seconds buckets, in microseconds.
inline constexpr std::array<std::uint64_t, 16> kDurationBoundsMicros = {
    500,     1'000,   2'500,     5'000,     10'000,    25'000,     50'000,     100'000,
    250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000};
// Buckets per histogram: one per bound plus the one above the last bound (+Inf).
inline constexpr std::size_t kDurationBucketCount = kDurationBoundsMicros.size() + 1;

// The (non-cumulative) bucket of a duration: the first bound >= micros (le is inclusive).
inline std::size_t duration_bucket(std::uint64_t micros) {
  std::size_t index = 0;  // most requests are fast: a linear scan stops early
  while (index < kDurationBoundsMicros.size() && micros > kDurationBoundsMicros[index]) ++index;
  return index;
}

// Upper bounds of the size histograms, in bytes (100 B to 100 MB).
inline constexpr std::array<std::uint64_t, 7> kSizeBounds = {100,       1'000,      10'000,     100'000,
                                                              1'000'000, 10'000'000, 100'000'000};
inline constexpr std::size_t kSizeBucketCount = kSizeBounds.size() + 1;

// The (non-cumulative) bucket of a size: the first bound >= bytes.
inline std::size_t size_bucket(std::uint64_t bytes) {
  std::size_t index = 0;
  while (index < kSizeBounds.size() && bytes > kSizeBounds[index]) ++index;
  return index;
}

// Index of a route pattern in the registry's append-only table; stable for the process lifetime.
using RouteId = std::uint32_t;
// Index of an upstream name in the registry's append-only table; stable for the process lifetime.
using UpstreamId = std::uint32_t;
// Index of an (upstream, target) pair in the registry's append-only table.
using TargetId = std::uint32_t;
// The route of requests that matched none: rendered route="none".
inline constexpr RouteId kNoRoute = 0;

// A monotonic count with one writer (the thread owning its shard), readable from any thread.
class Counter {
 public:
  // Writer thread only: load + store, not fetch_add, because no other thread writes this.
  void add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A level that goes up and down, with one writer, readable from any thread.
class Gauge {
 public:
  void set(std::int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void add(std::int64_t delta) {
    value_.store(value_.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Capacities fixed at startup: they bound memory and label cardinality.
struct MetricsLimits {
  std::uint32_t max_routes = 4096;       // distinct route patterns since start, "none" included
  std::uint32_t max_upstreams = 1024;    // distinct upstream names since start
  std::uint32_t max_targets = 8192;      // distinct (upstream, target) pairs since start
  std::uint32_t request_series = 16384;  // per worker: (route, method, status) slots, 3/4 usable
};

// One route's request durations (per shard, or summed); buckets are not cumulative.
struct DurationSnapshot {
  std::array<std::uint64_t, kDurationBucketCount> buckets{};  // the last one is above 60 s
  std::uint64_t sum_micros = 0;
  std::uint64_t count = 0;  // the sum of the buckets
};

namespace detail {

inline constexpr std::uint32_t kChunkBits = 6;  // 64 ids per chunk
inline constexpr std::uint32_t kChunkMask = (1u << kChunkBits) - 1;

// Per-id slots that grow by chunks without moving: the registry adds chunks (under its mutex) while
// workers and scrapes read; a chunk pointer is published with release and read with acquire.
template <typename T>
class ChunkedTable {
 public:
  explicit ChunkedTable(std::uint32_t capacity)
      : chunk_count_((capacity + kChunkMask) >> kChunkBits),
        published_(std::make_unique<std::atomic<Chunk*>[]>(chunk_count_)),
        owned_(std::make_unique<std::unique_ptr<Chunk>[]>(chunk_count_)) {}

  // Any thread: the slot of `id`, or nullptr when no chunk holds it yet.
  T* find(std::uint32_t id) const {
    const std::uint32_t chunk = id >> kChunkBits;
    if (chunk >= chunk_count_) [[unlikely]]
      return nullptr;
    Chunk* found = published_[chunk].load(std::memory_order_acquire);
    return found == nullptr ? nullptr : &found->items[id & kChunkMask];
  }

  // Registration only (one thread at a time): makes `id`'s slot exist. False past the capacity.
  bool ensure(std::uint32_t id) {
    const std::uint32_t chunk = id >> kChunkBits;
    if (chunk >= chunk_count_) return false;
    if (owned_[chunk] == nullptr) {
      owned_[chunk] = std::make_unique<Chunk>();
      published_[chunk].store(owned_[chunk].get(), std::memory_order_release);
    }
    return true;
  }

 private:
  struct alignas(64) Chunk {  // aligned: no line shared with another worker's data
    std::array<T, kChunkMask + 1> items{};
  };
  std::uint32_t chunk_count_;
  std::unique_ptr<std::atomic<Chunk*>[]> published_;
  std::unique_ptr<std::unique_ptr<Chunk>[]> owned_;
};

// A fixed-capacity, insert-only hash table of counts keyed by a non-zero 64-bit series key. One
// writer (the owning worker); any thread may read. Linear probing; never more than 3/4 full, so
// every probe ends.
class SeriesTable {
 public:
  explicit SeriesTable(std::uint32_t capacity);

  // Writer only. False when the series is new and the table is full (the count is lost).
  bool add(std::uint64_t key) {
    std::uint64_t index = key * 0x9E3779B97F4A7C15ull >> shift_;  // Fibonacci hashing
    for (;;) {
      Slot& slot = slot_at(index);
      const std::uint64_t found = slot.key.load(std::memory_order_relaxed);  // our own write
      if (found == key) {
        slot.count.add();
        return true;
      }
      if (found == 0) return insert(slot, key);
      index = (index + 1) & mask_;
    }
  }

  // Any thread: the count of `key`, 0 when absent.
  std::uint64_t count(std::uint64_t key) const;

  // Any thread: calls visit(key, count) for every series present.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (std::uint64_t index = 0; index <= mask_; ++index) {
      const Slot& slot = slot_at(index);
      const std::uint64_t key = slot.key.load(std::memory_order_acquire);  // pairs with insert()
      if (key != 0) visit(key, slot.count.value());
    }
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> key{0};  // 0 = empty
    Counter count;
  };
  struct alignas(64) Line {  // four slots per cache line, lines never shared with other memory
    std::array<Slot, 4> slots;
  };

  Slot& slot_at(std::uint64_t index) const { return lines_[index >> 2].slots[index & 3]; }
  bool insert(Slot& slot, std::uint64_t key);

  std::uint64_t mask_;
  unsigned shift_;
  std::uint32_t used_ = 0;  // writer only
  std::uint32_t limit_;
  std::unique_ptr<Line[]> lines_;
};

// The key of one flexgate_http_requests_total series: route + 1 (so never 0), method, status.
inline std::uint64_t series_key(RouteId route, MethodLabel method, std::uint16_t status) {
  const std::uint64_t code = status <= 999 ? status : 0;
  return (std::uint64_t{route} + 1) << 14 | std::uint64_t{static_cast<std::uint8_t>(method)} << 10 | code;
}

// gRPC status codes 0 (OK) to 16 (UNAUTHENTICATED); anything else is counted as 2 (UNKNOWN).
inline constexpr std::size_t kGrpcStatusCount = 17;

// One route's duration and size histograms, rate-limit refusals and gRPC statuses in one shard.
struct RouteDurations {
  std::array<Counter, kDurationBucketCount> buckets;
  Counter sum_micros;
  Counter rate_limited;
  std::array<Counter, kGrpcStatusCount> grpc_statuses;
  std::array<Counter, kSizeBucketCount> request_sizes;
  Counter request_bytes;
  std::array<Counter, kSizeBucketCount> response_sizes;
  Counter response_bytes;
};

// One upstream's counters in one shard.
struct UpstreamCounters {
  std::array<Counter, kUpstreamOutcomeCount> requests;
  Counter connections_opened;
  Counter pool_reuses;
  std::array<Counter, kDurationBucketCount> latency;  // attempt start -> response head
  Counter latency_sum_micros;
};

// One target's attempts in one shard.
struct TargetCounters {
  std::array<Counter, kUpstreamOutcomeCount> requests;
};

// Interned label values: append-only, so ids are stable. Guarded by the registry mutex.
struct LabelTable {
  std::vector<std::string> names;
  std::unordered_map<std::string, std::uint32_t> ids;
};

}  // namespace detail

// One worker's shard. Only its worker thread calls the record functions; scrapes read it from
// any thread. Made by MetricsRegistry.
class alignas(64) WorkerMetrics {
 public:
  explicit WorkerMetrics(const MetricsLimits& limits);
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  // A request head was read: the request counts as in flight until request_finished().
  void request_started() { in_flight_.add(1); }

  // The log phase of a request request_started() counted (exactly once each): leaves in flight,
  // counts it in requests_total and the route's duration histogram. `route` is the matched route's
  // id or kNoRoute; `duration` runs from the request head to the last response byte.
  void request_finished(RouteId route, MethodLabel method, std::uint16_t status,
                        std::chrono::microseconds duration) {
    in_flight_.add(-1);
    detail::RouteDurations* durations = durations_.find(route);
    if (durations == nullptr) [[unlikely]] {
      dropped_.add();  // an id the registry never gave out: a wiring bug, counted, not fatal
      return;
    }
    const std::uint64_t micros = duration.count() > 0 ? static_cast<std::uint64_t>(duration.count()) : 0;
    durations->buckets[duration_bucket(micros)].add();
    durations->sum_micros.add(micros);
    if (!requests_.add(detail::series_key(route, method, status))) dropped_.add();
  }

  // The sizes of a finished request on `route` (call with request_finished()).
  void record_sizes(RouteId route, std::uint64_t bytes_in, std::uint64_t bytes_out) {
    if (detail::RouteDurations* counters = durations_.find(route)) [[likely]] {
      counters->request_sizes[size_bucket(bytes_in)].add();
      counters->request_bytes.add(bytes_in);
      counters->response_sizes[size_bucket(bytes_out)].add();
      counters->response_bytes.add(bytes_out);
    } else {
      dropped_.add();
    }
  }

  // An attempt to `upstream` got its response head `latency` after it started.
  void record_upstream_latency(UpstreamId upstream, std::chrono::microseconds latency) {
    if (detail::UpstreamCounters* counters = upstreams_.find(upstream)) [[likely]] {
      const std::uint64_t micros = latency.count() > 0 ? static_cast<std::uint64_t>(latency.count()) : 0;
      counters->latency[duration_bucket(micros)].add();
      counters->latency_sum_micros.add(micros);
    } else {
      dropped_.add();
    }
  }

  // One attempt to `target` ended.
  void record_target_request(TargetId target, UpstreamOutcome outcome) {
    if (detail::TargetCounters* counters = targets_.find(target)) [[likely]] {
      counters->requests[static_cast<std::size_t>(outcome)].add();
    } else {
      dropped_.add();
    }
  }

  // This worker's idle pooled upstream connections now.
  void set_pool_idle(std::size_t idle) { pool_idle_.set(static_cast<std::int64_t>(idle)); }

  // A policy refused the request (the request is still counted by request_finished()).
  void record_rejection(Rejection rejection) { rejections_[static_cast<std::size_t>(rejection)].add(); }

  // A deadline passed (the reply is 504, or 408 for the client's own slowness).
  void record_timeout(TimeoutKind kind) { timeouts_[static_cast<std::size_t>(kind)].add(); }
  void record_tls_handshake(TlsSide side, TlsResult result) {
    tls_handshakes_[static_cast<std::size_t>(side) * kTlsResultCount + static_cast<std::size_t>(result)].add();
  }

  // A WebSocket tunnel opened (+1) or closed (-1) on this worker.
  void add_websocket_tunnels(std::int64_t delta) { websocket_tunnels_.add(delta); }
  // Bytes a tunnel moved (counted as they go, so a long tunnel shows up before it ends).
  void record_websocket_bytes(TunnelDirection direction, std::uint64_t bytes) {
    websocket_bytes_[static_cast<std::size_t>(direction)].add(bytes);
  }

  // The load shedder refused a request of this priority (0 critical, 1 normal, 2 low).
  void record_load_shed(std::size_t priority) {
    if (priority < load_shed_.size()) load_shed_[priority].add();
  }

  // A rate limit refused a request on `route` (429).
  void record_rate_limit_hit(RouteId route) {
    if (detail::RouteDurations* counters = durations_.find(route)) [[likely]] {
      counters->rate_limited.add();
    } else {
      dropped_.add();
    }
  }
  // A gRPC call on `route` ended with `grpc_status`.
  void record_grpc_status(RouteId route, std::uint32_t grpc_status) {
    if (detail::RouteDurations* counters = durations_.find(route)) [[likely]] {
      counters->grpc_statuses[grpc_status < detail::kGrpcStatusCount ? grpc_status : 2].add();
    } else {
      dropped_.add();
    }
  }
  // A rate-limit decision was made by `store`.
  void record_rate_limit_decision(RateLimitStore store, RateLimitResult result) {
    rate_limit_decisions_[static_cast<std::size_t>(store) * 2 + static_cast<std::size_t>(result)].add();
  }
  // Redis could not answer a decision; `fallback` is the failMode applied.
  void record_rate_limit_fallback(RateLimitFallback fallback) {
    rate_limit_fallbacks_[static_cast<std::size_t>(fallback)].add();
  }
  // This worker's Redis connection started failing (true) or came back (false).
  void set_rate_limit_backend_degraded(bool degraded) {
    if (degraded == (rate_limit_degraded_.value() != 0)) return;
    rate_limit_degraded_.add(degraded ? 1 : -1);
    if (!degraded) rate_limit_recoveries_.add();
  }

  // One attempt to `upstream` ended (each retry is an attempt).
  void record_upstream_request(UpstreamId upstream, UpstreamOutcome outcome) {
    if (detail::UpstreamCounters* counters = upstreams_.find(upstream)) [[likely]] {
      counters->requests[static_cast<std::size_t>(outcome)].add();
    } else {
      dropped_.add();
    }
  }
  // A new connection to `upstream` was established.
  void record_upstream_connection_opened(UpstreamId upstream) {
    if (detail::UpstreamCounters* counters = upstreams_.find(upstream)) [[likely]] {
      counters->connections_opened.add();
    } else {
      dropped_.add();
    }
  }
  // An attempt to `upstream` went out on a pooled connection.
  void record_upstream_pool_reuse(UpstreamId upstream) {
    if (detail::UpstreamCounters* counters = upstreams_.find(upstream)) [[likely]] {
      counters->pool_reuses.add();
    } else {
      dropped_.add();
    }
  }

 private:
  friend class MetricsRegistry;

  Gauge in_flight_;
  Counter dropped_;
  std::array<Counter, 4> rate_limit_decisions_;  // store x result
  std::array<Counter, 3> rate_limit_fallbacks_;  // by RateLimitFallback
  Gauge rate_limit_degraded_;                    // 0 or 1
  std::array<Counter, 3> load_shed_;             // by priority
  std::array<Counter, kTimeoutKindCount> timeouts_;
  std::array<Counter, 2 * kTlsResultCount> tls_handshakes_;  // side x result
  Gauge websocket_tunnels_;
  std::array<Counter, 2> websocket_bytes_;  // by TunnelDirection
  Counter rate_limit_recoveries_;
  std::array<Counter, kRejectionCount> rejections_;
  detail::SeriesTable requests_;
  detail::ChunkedTable<detail::RouteDurations> durations_;
  detail::ChunkedTable<detail::UpstreamCounters> upstreams_;
  detail::ChunkedTable<detail::TargetCounters> targets_;
  Gauge pool_idle_;
};

// The process's metrics: one shard per worker, the route and upstream label tables, and the
// process-wide values (config reloads, build info). Lives as long as the workers that use it.
class MetricsRegistry {
 public:
  // `workers` shards, one per worker thread (proxy.workers, fixed for the process lifetime).
  explicit MetricsRegistry(unsigned workers, MetricsLimits limits = {});
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // The shard of worker `index` (< worker_count()); only that worker's thread may record into it.
  WorkerMetrics& worker(unsigned index) { return *workers_[index]; }

  // Interns a route pattern (when a config snapshot is built) and returns its id: the same pattern
  // gets the same id forever. "" and "none" are kNoRoute. Past max_routes distinct patterns:
  // nullopt, with a message appended to `errors`. Any thread; takes the registry mutex.
  std::optional<RouteId> register_route(std::string_view pattern, std::vector<std::string>& errors);
  // Same for an upstream name (max_upstreams).
  std::optional<UpstreamId> register_upstream(std::string_view name, std::vector<std::string>& errors);
  // Same for a target ("host:port") of an upstream (max_targets).
  std::optional<TargetId> register_target(std::string_view upstream, std::string_view target,
                                          std::vector<std::string>& errors);

  // Why the last reload failed ("" after a successful one): shown by /health/deep and the admin API.
  void set_last_reload_error(std::string error);
  std::string last_reload_error() const;

  // The version label of flexgate_build_info.
  void set_build_version(std::string_view version);
  // The config was loaded at startup: sets the last-success timestamp, counts no reload.
  void record_config_load(std::chrono::system_clock::time_point when = std::chrono::system_clock::now());
  // A reload finished; a success also sets the last-success timestamp.
  void record_config_reload(bool success,
                            std::chrono::system_clock::time_point when = std::chrono::system_clock::now());

  // Values summed across workers, from any thread (tests and admin views).
  std::uint64_t request_count(RouteId route, MethodLabel method, std::uint16_t status) const;
  DurationSnapshot request_durations(RouteId route) const;
  std::int64_t requests_in_flight() const;
  std::uint64_t rejection_count(Rejection rejection) const;
  std::uint64_t upstream_request_count(UpstreamId upstream, UpstreamOutcome outcome) const;
  std::uint64_t upstream_connections_opened(UpstreamId upstream) const;
  std::uint64_t upstream_pool_reuses(UpstreamId upstream) const;
  std::uint64_t dropped_count() const;
  std::uint64_t rate_limit_hits(RouteId route) const;
  std::uint64_t grpc_responses(RouteId route, std::uint32_t grpc_status) const;
  std::uint64_t rate_limit_decisions(RateLimitStore store, RateLimitResult result) const;
  std::uint64_t rate_limit_fallbacks(RateLimitFallback fallback) const;
  // Workers whose Redis connection is failing now: > 0 means the shared limit is degraded.
  std::int64_t rate_limit_degraded_workers() const;
  std::uint64_t rate_limit_recoveries() const;

  // Where the in-memory rate-limit table's eviction count and size are read at scrape time (the
  // table belongs to the config snapshot, which the registry does not know). Any thread.
  void set_rate_limit_table_source(std::function<std::pair<std::uint64_t, std::uint64_t>()> evictions_and_size);

  std::uint64_t load_shed(std::size_t priority) const;
  std::uint64_t timeouts(TimeoutKind kind) const;
  std::uint64_t tls_handshakes(TlsSide side, TlsResult result) const;
  std::int64_t websocket_tunnels() const;
  std::uint64_t websocket_bytes(TunnelDirection direction) const;

  // Samples whose values live with their owners (load shedder, breakers, ejection, retry
  // budgets), appended by `source` when /metrics is scraped, after the families above. `labels`
  // is rendered as given (`upstream="a",state="open"`, label values escaped by the caller), so it
  // must come from the config. Any thread; `source` runs on the scraping thread.
  struct ExternalSample {
    MetricFamily family;
    std::string labels;
    double value = 0;
  };
  void set_external_source(std::function<void(std::vector<ExternalSample>&)> source);

  // The text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4; charset=utf-8).
  // Any thread; never blocks a worker. Histograms of routes with no request yet are left out.
  std::string render_prometheus() const;
  // Same, appended to `out`.
  void render_prometheus(std::string& out) const;

 private:
  std::optional<std::uint32_t> intern(detail::LabelTable& table, std::string_view name,
                                      std::uint32_t capacity, std::string_view kind,
                                      std::vector<std::string>& errors, bool& added);

  MetricsLimits limits_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;

  mutable std::mutex mutex_;  // guards the label tables and the version; never taken by a worker
  detail::LabelTable routes_;
  detail::LabelTable upstreams_;
  detail::LabelTable targets_;  // names are "upstream\x1ftarget"
  std::string version_ = "unknown";
  std::string last_reload_error_;
  std::function<std::pair<std::uint64_t, std::uint64_t>()> rate_limit_table_source_;
  std::function<void(std::vector<ExternalSample>&)> external_source_;

  std::atomic<std::uint64_t> reload_successes_{0};
  std::atomic<std::uint64_t> reload_failures_{0};
  std::atomic<std::int64_t> last_success_unix_millis_{0};
};

}  // namespace flexgate::observe
