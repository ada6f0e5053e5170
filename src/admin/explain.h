#pragma once
// "What would the gateway do with this request?" — computed from a config snapshot, sending
// nothing and changing no state (no rate-limit token is taken, no HMAC signature is recorded, no
// breaker or balancer is touched). Served by `flexgate explain` and, later, GET /admin/explain.
//
// The request goes through the same code the lifecycle runs, in the lifecycle's order: the strict
// head parser, normalize_target, RouteTable::match (explained route by route with
// router::explain_routes; a CORS preflight is routed with the method it announces and answered
// there, as route_phase/cors_phase do), the route's CorsPolicy, the header rules, the route's
// client filter, content-type check and AuthPolicy, RateLimitPolicy::prepare (to name the
// buckets), build_forward_path and the route's PathRewrite, the route's HeaderPlan (rendered and
// applied to the request's own fields, as transform_request_phase and the request head do), and
// the egress guard on every resolved address. What it cannot know without traffic (load, bucket
// levels, the body, the upstream's response) is reported as "applies" with what would decide.
//
// JSON (render_json), one object; every field always present unless marked "(matched)", which
// appear only when a route matched and the request is not a CORS preflight the gateway answers
// ("cors" appears whenever a route matched). Durations are milliseconds (fields ending in "Ms").
//   request:   {method, url, host, hostSource, peer, client}   host as sent ("" = none); hostSource
//              "header" | "url" | "none"; peer = the TCP peer assumed; client = the address the
//              policies see (from X-Forwarded-For when the peer is in security.trustedProxies)
//   outcome:   "forwarded" | "refused" (a policy answers, or a path rewrite / header value comes
//              out invalid: 500) | "no-target" (503/403 before sending) | "preflight" (a CORS
//              preflight the gateway answers: 204) | "builtin" (answered before routing:
//              /health/*, /metrics) | "bad-request" (head or target refused) | "not-found" |
//              "method-not-allowed" | "invalid-query"
//   status:    the status the gateway would answer itself; 0 when forwarded
//   verdict:   one sentence saying the above
//   configVersion
//   target:    {ok, error, path, query, hasQuery, authority}   the normalized target
//   routing:   {status: "matched"|"not-found"|"method-not-allowed"|"skipped", host, why, allow,
//               chosen (route index or -1), params: {name: value},
//               routes: [{index, host, path, methods: [..], upstream, outcome, reason}]}
//              outcome: "chosen" | "host-mismatch" | "path-mismatch" | "method-mismatch" | "less-specific"
//   cors (route matched): {source: "route"|"global"|"off"|"none", preflight, requestedMethod,
//               origin, hasOrigin, allowed, summary, headers: [{name, value}]}   headers: the
//               preflight answer's fields, or the CORS fields added to the request's responses
//   forward (matched): {method, target, path, rule, rewrite: ""|"rewritten"|"no-match"|"invalid"
//               (the regex rewrite's result; "" without one), preserveHost, host ("" = each
//               target's own Host), dropped: [{name, why}], added: [name]}
//   headers (matched): one per upstream the route may use:
//              [{upstream,
//                request: {operations: [op], result: [{name, value}], failed},
//                response: {hidden: [{name, why}], operations: [op],
//                           securityHeaders: [{name, value, tlsOnly}]}}]
//              op: {level: "upstream"|"route", op: "remove"|"rename"|"set"|"add", name, to,
//                   template, value, dynamic, effect}   in the order applied; value is rendered
//                   for this request (${client_ip} = request.client, ${env.*} as loaded; a new
//                   ${correlation_id}, known only at run time, stays as its variable); effect says
//                   what it does to this request's fields ("" on the response side when unknown).
//              result: the client's fields as forwarded after the operations, before the
//              gateway's own (forward.added); failed: the field whose value came out invalid (500)
//   upstreams (matched): [{role: "primary"|"split"|"fallback", name, weight, sharePercent, strategy,
//               hashOn, hashKey, hashTarget (-1 = n/a), usable, maxConcurrent, queue,
//               breaker: {enabled, state, failureThresholdPercent, minimumRequests, windowMs,
//                         openDurationMs, failOn},
//               retry: {attempts, on, backoffBaseMs, backoffMaxMs, appliesToThisRequest, note},
//               timeouts: {connectMs, firstByteMs, perTryMs, requestMs, idleMs},
//               targets: [{authority, hostHeader, weight, healthy, ejected,
//                          addresses: [{address, allowed, reason}]}]}]
//   policies (matched): [{name, verdict, status, summary, facts: {key: value}, levels: [..]}] in
//              lifecycle order; verdict "pass" | "refuse" | "skip" | "applies"; status set on refuse.
//              names and fact keys:
//                admission   priority, maxInFlight, shedAt
//                bodyLimit   limit, contentLength
//                headers     underscoreHeaders, dropped
//                ipFilter    client, allowFrom, denyFrom
//                contentType contentTypes, contentType
//                auth        mode, type, header, key, client, signature
//                rateLimit   backend, failMode; levels: [{level, max, windowMs, key, bucket}]
//                schema      jsonSchema
//   timeouts (matched): the primary upstream's {connectMs, ...}; priority, maxBodySize (matched)

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.h"
#include "proxy/runtime.h"

namespace flexgate::admin {

// One request to explain, as a client would send it.
struct ExplainQuery {
  std::string method = "GET";
  std::string url;  // "/users/42?x=1", or absolute "http://api.example.com/users/42" (gives the Host)
  std::vector<std::pair<std::string, std::string>> headers;  // in order; a "Host" field is the Host
  std::string client_ip = "127.0.0.1";                       // the TCP peer assumed
};

// Where the request ends.
enum class ExplainOutcome : std::uint8_t {
  kForwarded,
  kRefused,
  kNoTarget,
  kPreflight,
  kBuiltin,
  kBadRequest,
  kNotFound,
  kMethodNotAllowed,
  kInvalidQuery,
};
std::string_view to_string(ExplainOutcome outcome);  // the JSON spelling

// A lifecycle step's answer for this request.
enum class StepVerdict : std::uint8_t {
  kPass,     // lets the request through
  kRefuse,   // answers it (status)
  kSkip,     // does not apply to this route or request
  kApplies,  // applies, and decides on what explain cannot see (load, bucket levels, the body)
};
std::string_view to_string(StepVerdict verdict);

// One rate-limit level the request takes a token from.
struct RateLimitLevel {
  std::string level;  // "global", "per-route", "route"
  std::uint64_t max = 0;
  std::chrono::milliseconds window{0};
  std::string key;     // "client" (name, else ip), "ip", "header:NAME"
  std::string bucket;  // this request's bucket: "client alice", "ip 127.0.0.1", "header X-Tenant=acme"
};

// One policy step of the lifecycle.
struct PolicyStep {
  std::string name;
  StepVerdict verdict = StepVerdict::kSkip;
  unsigned status = 0;                                     // kRefuse: what the client gets
  std::string summary;                                     // one sentence
  std::vector<std::pair<std::string, std::string>> facts;  // keys per step: see the top of this file
  std::vector<RateLimitLevel> levels;                      // rateLimit only
};

// One route as routing saw it.
struct RouteLine {
  std::size_t index = 0;
  std::string host;
  std::string path;
  std::vector<std::string> methods;
  std::string upstream;
  std::string outcome;  // router::to_string(RouteOutcome)
  std::string reason;
};

// The routing decision.
struct RoutingInfo {
  std::string status = "skipped";  // "matched", "not-found", "method-not-allowed", "skipped"
  std::string host;                // the host routes compare with
  std::string why;
  std::string allow;  // method-not-allowed: the Allow header
  long chosen = -1;   // route index, -1 when none
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<RouteLine> routes;
};

// What goes upstream.
struct ForwardInfo {
  std::string method;
  std::string target;   // path (stripPrefix / rewrite / regex rewrite applied) and query
  std::string path;     // the same without the query
  std::string rule;     // "unchanged", "stripPrefix /api", "rewrite /api -> /v2", "regex ^/a/(.*)$ -> /b/$1"
  std::string rewrite;  // the regex rewrite's result: "rewritten", "no-match" (path unchanged),
                        // "invalid" (not a clean path: 500); "" without a regex rewrite
  bool preserve_host = false;
  std::string host;  // preserveHost: the client's Host; else "" (each target's own, see TargetInfo)
  std::vector<std::pair<std::string, std::string>> dropped;  // given fields not forwarded, and why
  std::vector<std::string> added;                            // fields the gateway sets
};

// One header operation of a (route, upstream) plan, in the order the lifecycle applies it.
struct HeaderOpInfo {
  std::string level;  // "upstream" (the upstream's `headers`) or "route" (applied after it: it wins)
  std::string op;     // "remove", "rename", "set", "add"
  std::string name;
  std::string to;              // rename: the new name
  std::string value_template;  // set/add: as written, "${path.id}"
  std::string value;           // set/add: rendered for this request ("" adds nothing); what only the
                               // run time knows stays as its variable, "${correlation_id}"
  bool dynamic = false;        // set/add: the template has variables
  std::string effect;          // on this request's fields: "removes 1 field", "no X-Debug field"...
};

// An upstream response field the gateway drops.
struct HiddenField {
  std::string name;  // "Server", "X-Powered-By", "Access-Control-*"
  std::string why;
};

// A securityHeaders field, added to responses that lack it.
struct SecurityHeaderInfo {
  std::string name;
  std::string value;
  bool tls_only = false;  // HSTS: only on a TLS listener (none exists yet: not sent)
};

// The header transformations of the matched route with one upstream it may use (each pair has
// its own compiled plan: the upstream's `headers` run first, the route's after them).
struct HeaderTransformInfo {
  std::string upstream;
  std::vector<HeaderOpInfo> request_ops;
  // The client's fields as forwarded, after the operations and before the gateway's own
  // (ForwardInfo::added); run-time-only values as their variable.
  std::vector<std::pair<std::string, std::string>> request_result;
  std::string failed_header;  // a value came out with a control byte: the request fails with 500
  std::vector<HiddenField> hidden;
  std::vector<HeaderOpInfo> response_ops;
  std::vector<SecurityHeaderInfo> security;
};

// What CORS does with the request.
struct CorsInfo {
  std::string source = "none";   // "route" (its own cors), "global" (the top-level one), "off"
                                 // (`cors: false` on the route), "none"
  bool preflight = false;        // the gateway answers it itself (204), it never reaches the upstream
  std::string requested_method;  // a preflight's Access-Control-Request-Method (the method routed)
  std::string origin;            // the Origin field
  bool has_origin = false;
  bool allowed = false;  // the origin is allowed
  std::string summary;   // one sentence
  // A preflight: every field of the 204 answer; else the CORS fields added to the responses
  // (proxied and the gateway's own errors). Empty without CORS.
  std::vector<std::pair<std::string, std::string>> headers;
};

// One resolved address of a target and the egress guard's verdict on it.
struct AddressInfo {
  std::string address;
  bool allowed = true;
  std::string reason;  // blocked: "169.254.169.254 is cloud metadata (built-in deny list)"
};

// One target of an upstream.
struct TargetInfo {
  std::string authority;
  std::string host_header;
  unsigned weight = 1;
  bool healthy = true;   // active health checks (true without them)
  bool ejected = false;  // outlier detection, now
  std::vector<AddressInfo> addresses;
};

// The circuit breaker of an upstream.
struct BreakerInfo {
  bool enabled = false;
  std::string state = "closed";  // "closed", "open", "half_open" (now, in this snapshot)
  unsigned failure_threshold_percent = 0;
  unsigned minimum_requests = 0;
  std::chrono::milliseconds window{0};
  std::chrono::milliseconds open_duration{0};
  std::string fail_on;  // "connect-failure, timeout, 5xx"
};

// The retry policy of an upstream, and whether it would retry this request.
struct RetryInfo {
  unsigned attempts = 0;  // retries after the first try; 0 = none
  std::string on;
  std::chrono::milliseconds backoff_base{0};
  std::chrono::milliseconds backoff_max{0};
  bool applies = false;  // this method may be retried on this route
  std::string note;      // why or why not
};

// One upstream the route may send to.
struct UpstreamInfo {
  std::string role;  // "primary" (the route's only upstream), "split", "fallback"
  std::string name;
  unsigned weight = 0;         // split weight (0 for the fallback)
  unsigned share_percent = 0;  // of the split's traffic
  std::string strategy;        // "least_request", "round_robin", "latency", "consistent_hash"
  std::string hash_on;         // consistent_hash: "ip", "header:NAME", "cookie:NAME"
  std::string hash_key;        // consistent_hash: what this request hashes
  long hash_target = -1;       // consistent_hash: the target index it lands on now; -1 otherwise
  bool usable = false;         // a healthy, not ejected target with an address the guard allows
  std::string max_concurrent;  // "unlimited", "100", "auto"
  std::string queue;           // "none" or "10 waiting up to 1s"
  BreakerInfo breaker;
  RetryInfo retry;
  config::EffectiveTimeouts timeouts;
  std::vector<TargetInfo> targets;
};

// Everything explain knows about one request.
struct ExplainReport {
  // The request as understood.
  std::string method;
  std::string url;
  std::string host;         // Host as sent ("" = none given)
  std::string host_source;  // "header", "url" (absolute form) or "none"
  std::string peer;
  std::string client;
  std::uint64_t config_version = 0;

  ExplainOutcome outcome = ExplainOutcome::kInvalidQuery;
  unsigned status = 0;  // the gateway's own answer; 0 when forwarded
  std::string verdict;  // one sentence

  // The normalized target.
  bool target_ok = false;
  std::string target_error;
  std::string path;
  std::string query;
  bool has_query = false;
  std::string authority;  // absolute form only

  RoutingInfo routing;
  // Set when a route matched.
  CorsInfo cors;
  // Set when a route matched and the request is not a preflight the gateway answers.
  ForwardInfo forward;
  std::vector<HeaderTransformInfo> transforms;  // one per upstream the route may use
  std::vector<UpstreamInfo> upstreams;
  std::vector<PolicyStep> policies;
  config::EffectiveTimeouts timeouts;  // with the primary upstream
  std::string priority;                // "critical", "normal", "low"
  std::uint64_t max_body_size = 0;

  bool matched() const { return routing.chosen >= 0; }
  // A route matched and the request goes through the policies toward an upstream (not a preflight).
  bool proxied() const { return matched() && outcome != ExplainOutcome::kPreflight; }
};

// Explains `query` against `runtime`. Pure apart from reading shared state (breaker state, health,
// ejections); never throws on any query. Invalid queries (an unparsable client address) give
// outcome kInvalidQuery with the reason in `verdict`.
ExplainReport explain_request(const proxy::Runtime& runtime, const ExplainQuery& query);

// Readable aligned text for an operator (appended to `out`).
void render_text(const ExplainReport& report, std::string& out);
// One JSON object with the fields documented above (appended to `out`), newline-terminated.
void render_json(const ExplainReport& report, std::string& out);

}  // namespace flexgate::admin
