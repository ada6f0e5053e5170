#pragma once
// Per-request state shared by the lifecycle phases (Pingora's CTX). Owned by the session and
// reset for each request; its strings keep their capacity, so a steady connection allocates
// nothing per request.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "http/message.h"
#include "http/websocket.h"
#include "net/deadline.h"
#include "net/ip_address.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "observe/trace_context.h"
#include "policy/headers/header_plan.h"
#include "policy/loadshed/load_shedder.h"
#include "policy/ratelimit/rate_limit_policy.h"
#include "proxy/local_reply.h"
#include "proxy/runtime.h"
#include "router/normalize.h"
#include "router/route_table.h"
#include "upstream/balance/target_mask.h"
#include "upstream/breaker/circuit_breaker.h"
#include "upstream/concurrency/concurrency_limiter.h"

namespace flexgate::proxy {

struct RequestContext {
  std::shared_ptr<const Runtime> runtime;  // the snapshot this request runs on
  net::Clock::time_point started{};
  net::Clock::time_point deadline{};  // whole-request deadline (proxy.timeout)
  // When a proxied response's last byte was written (unset on every other path): what the pool,
  // the metrics, the access line and the next request's idle timeout take for "now", one clock
  // read instead of four.
  net::Clock::time_point ended{};
  // `ended` when it is set, else the clock.
  net::Clock::time_point end_time() const { return ended != net::Clock::time_point{} ? ended : net::Clock::now(); }

  std::string correlation_id;
  // W3C trace context: the trace this request belongs to (the client's, or a new one), this
  // hop's span, the client's span when it sent one, and whether its tracestate is forwarded.
  observe::TraceId trace_id{};
  observe::SpanId span_id{};
  observe::SpanId parent_span_id{};
  bool has_parent_span = false;
  std::uint8_t trace_flags = observe::kTraceFlagSampled;
  bool forward_tracestate = false;

  // For the access line.
  net::Clock::time_point first_attempt_started{};
  net::Clock::duration upstream_latency{};  // first attempt's start to the response head
  std::string_view rate_limit_decision;     // "allowed", "limited", "fallback_local"... ("" = no limit)
  std::optional<observe::Rejection> rejection;  // the policy that refused the request
  std::string logged_header_text;           // values of logging.headers, captured with the head
  std::vector<observe::LogField> logged_headers;  // views into logged_header_text
  std::string method;  // copy: the head's views die when the client buffer moves on
  http::Method method_kind = http::Method::kOther;  // the parser's reading of method
  router::NormalizedTarget target;
  router::RouteMatch match;
  const RouteBinding* binding = nullptr;
  const upstream::Upstream* upstream = nullptr;
  const upstream::Target* target_choice = nullptr;
  int target_index = -1;                   // target_choice's index in ctx.upstream (balancer, ejection)
  const config::EffectiveTimeouts* timeouts = nullptr;  // the route's, for ctx.upstream
  std::uint64_t balancer_generation = 0;   // the worker's balancers this attempt was counted in
  net::Clock::time_point attempt_started{};
  upstream::CircuitBreaker::Ticket breaker_ticket;  // admitted attempt on ctx.upstream's breaker
  bool holds_breaker_ticket = false;
  upstream::TargetMask tried{0};           // targets of ctx.upstream already tried (retries)
  std::chrono::seconds breaker_retry_after{0};  // a breaker refused: its Retry-After
  std::uint64_t key_hash = 0;              // consistent_hash: the request's key, hashed
  std::size_t host_value_at = 0;
  policy::LoadShedder::Ticket admission;   // this request's slot of proxy.maxInFlight
  upstream::ConcurrencyLimiter::Ticket concurrency;  // its slot of ctx.upstream's maxConcurrent           // offset of the Host value in the upstream head; 0 = kept
  std::string forward_target;  // path (+ "?" + query) sent upstream

  net::IpAddress client_ip;      // peer, or the client named by a trusted proxy
  std::string client_ip_text;    // client_ip as text when it differs from the peer; else ""
  bool peer_trusted = false;     // the peer is a trusted proxy (its X-Forwarded-For is extended)
  std::string_view client_name;  // authenticated client (API key name), "" if anonymous
  std::string body;              // the whole request body, when the route needs it buffered
  bool body_buffered = false;

  // The answer when the gateway replies itself.
  bool has_local_reply = false;
  ErrorKind error_kind = ErrorKind::kInternal;
  LocalReply local_reply;
  std::string failure_message;  // owns local_reply.message
  std::string extra_headers;    // owns local_reply.extra_headers
  std::string violations_json;  // owns local_reply.violations_json (422)
  std::string rate_limit_headers;  // RateLimit / RateLimit-Policy lines for the proxied response
  policy::RateLimitScratch rate_limit_scratch;  // overwritten by each decision; keeps its capacity

  // Transformations (issue #11): the (route, upstream) header plan, its rendered values and edit
  // list (capacity kept), the CORS lines for the response, a preflight answered by the gateway.
  const policy::HeaderPlan* header_plan = nullptr;
  policy::TransformScratch transform_scratch;
  std::string cors_headers;
  std::string rewrite_scratch;  // the regex path rewrite's output
  bool preflight = false;

  // WebSocket (routes with `websocket: true`): this request is a valid opening handshake being
  // forwarded, the Sec-WebSocket-Accept its 101 must carry, how the tunnel ended (access line).
  bool websocket = false;
  http::WebSocketAccept websocket_accept{};
  std::string_view tunnel_end;
  bool metrics_counted = false;  // the request's metrics were recorded before the log phase (at a 101)

  // gRPC (content-type application/grpc[+...]): local replies in gRPC form, the call's status for
  // metrics and the log (-1 until known), the client's grpc-timeout bounding the deadline.
  bool grpc = false;
  int grpc_status = -1;
  std::optional<net::Clock::duration> grpc_timeout;

  std::uint16_t status = 0;
  bool response_started = false;  // bytes of the response reached the client
  bool body_unread = false;       // request body bytes still on the wire (forces close on early reply)
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  unsigned attempts = 0;

  void reset() {
    concurrency.release();  // before the snapshot that owns the limiter may go
    ended = {};
    runtime.reset();
    correlation_id.clear();
    has_parent_span = false;
    upstream_latency = {};
    rate_limit_decision = {};
    rejection.reset();
    logged_header_text.clear();
    logged_headers.clear();
    forward_tracestate = false;
    trace_flags = observe::kTraceFlagSampled;
    method.clear();
    method_kind = http::Method::kOther;
    match.clear();
    binding = nullptr;
    upstream = nullptr;
    target_choice = nullptr;
    target_index = -1;
    timeouts = nullptr;
    holds_breaker_ticket = false;
    breaker_retry_after = std::chrono::seconds(0);
    host_value_at = 0;
    key_hash = 0;
    admission.release();
    forward_target.clear();
    client_name = {};
    client_ip_text.clear();
    peer_trusted = false;
    body.clear();
    body_buffered = false;
    has_local_reply = false;
    error_kind = ErrorKind::kInternal;
    local_reply = {};
    failure_message.clear();
    extra_headers.clear();
    violations_json.clear();
    rate_limit_headers.clear();
    header_plan = nullptr;
    cors_headers.clear();
    preflight = false;
    websocket = false;
    tunnel_end = {};
    metrics_counted = false;
    grpc = false;
    grpc_status = -1;
    grpc_timeout.reset();
    status = 0;
    response_started = false;
    body_unread = false;
    bytes_in = bytes_out = 0;
    attempts = 0;
  }
};

}  // namespace flexgate::proxy
