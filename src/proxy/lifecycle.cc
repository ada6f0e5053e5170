// The request lifecycle: every phase a request goes through, in order, in one file.
// See session.h for the chart. Each phase either lets the request continue or records a local
// reply (fail()) and stops; log_phase() always runs.

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <ctime>
#include <string>

#include "core/json.h"
#include "http/grpc.h"
#include "http/head_writer.h"
#include "http/header_token.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "http/websocket.h"
#include "net/address.h"
#include "net/socket_io.h"
#include "observe/access_log.h"
#include "observe/span_exporter.h"
#include "observe/trace_context.h"
#include "observe/log.h"
#include "policy/cors/cors_policy.h"
#include "policy/headers/header_template.h"
#include "policy/ipfilter/cidr_list.h"
#include "policy/ipfilter/client_address.h"
#include "observe/correlation_id.h"
#include "proxy/body_forwarder.h"
#include "proxy/session.h"
#include "proxy/traffic_metrics.h"
#include "upstream/retry/retry_plan.h"
#include "upstream/retry/retry_policy.h"
#include "proxy/worker.h"

using namespace std::string_view_literals;

namespace flexgate::proxy {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A grpc-status value as the log and the metrics keep it: -1 when malformed, large values capped.
int grpc_status_of(std::string_view value) {
  const auto status = http::parse_grpc_status(value);
  return status ? static_cast<int>(std::min(*status, 1000u)) : -1;
}

// Keeps every Connection field's list (joined) for a message whose Connection nominates fields,
// so its trailers can be filtered after the head is gone; clears `out` otherwise (no allocation).
void copy_connection_options(bool names_fields, const http::HeaderFields& fields, std::string& out) {
  out.clear();
  if (!names_fields) return;
  for (const http::HeaderField& field : fields) {
    if (field.token != http::HeaderToken::kConnection) continue;
    if (!out.empty()) out += ", ";
    out += field.value;
  }
}

// The request's Host without its port (and without IPv6 brackets).
std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// Fields the proxy sets itself or that describe only this hop: never copied from the request.
bool skip_request_field(const http::HeaderField& field, const http::RequestHead& request) {
  using http::HeaderToken;
  switch (field.token) {
    case HeaderToken::kHost:
    case HeaderToken::kContentLength:
    case HeaderToken::kExpect:
    case HeaderToken::kXForwardedFor:
    case HeaderToken::kXForwardedProto:
    case HeaderToken::kXForwardedHost:
    case HeaderToken::kXCorrelationId:
      return true;
    default:
      break;
  }
  return http::is_connection_specific(field, request);
}

bool skip_response_field(const http::HeaderField& field, const http::ResponseHead& response, bool keep_framing) {
  using http::HeaderToken;
  if (field.token == HeaderToken::kContentLength) return !keep_framing;
  if (field.token == HeaderToken::kXCorrelationId) return true;
  if (http::is_hop_by_hop(field.token)) return true;
  return response.connection_names_fields && http::connection_nominates(response.fields, field.name);
}

// True when a response's Transfer-Encoding names any coding but chunked (the parser already
// refused malformed lists and chunked twice).
bool has_other_transfer_coding(const http::ResponseHead& response) {
  for (const http::HeaderField& field : response.fields) {
    if (field.token != http::HeaderToken::kTransferEncoding) continue;
    std::string_view rest = field.value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
      while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
      if (!element.empty() && !http::iequals(element, "chunked")) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// The rejection metric for an auth refusal, from the reason the policy gave.
observe::Rejection auth_rejection(std::string_view reason) {
  if (reason == "missing_key") return observe::Rejection::kAuthMissingKey;
  if (reason == "unknown_key") return observe::Rejection::kAuthUnknownKey;
  if (reason == "missing_signature") return observe::Rejection::kAuthMissingSignature;
  if (reason == "bad_signature") return observe::Rejection::kAuthBadSignature;
  if (reason == "stale_timestamp") return observe::Rejection::kAuthStaleTimestamp;
  if (reason == "replay") return observe::Rejection::kAuthReplay;
  if (reason == "replay_window_full") return observe::Rejection::kAuthReplayWindowFull;
  return observe::Rejection::kAuthMalformed;
}

}  // namespace

// ─── the lifecycle ──────────────────────────────────────────────────────────────────────────

net::Task<bool> Session::handle_request() {
  ctx_.runtime = worker_.runtime();  // this request keeps this snapshot to its end
  const config::Config& cfg = ctx_.runtime->config();
  ctx_.deadline = ctx_.started + cfg.proxy.timeout;
  set_timeout(TimeoutKind::kRequest, ctx_.deadline);
  ctx_.method.assign(request_.method_text);
  ctx_.method_kind = request_.method;
  ctx_.bytes_in = request_head_size_;
  ctx_.body_unread = request_.framing == http::BodyFraming::kChunked ||
                     (request_.framing == http::BodyFraming::kContentLength && request_.content_length > 0);

  ctx_.client_ip = peer_ip_;
  identify_request();
  identify_grpc();
  // Health and metrics are served before routing, so no route can shadow them.
  if (request_.method == http::Method::kGet || request_.method == http::Method::kHead) {
    if (auto endpoint = builtin_endpoint_for(request_.target, cfg); endpoint != BuiltinEndpoint::kNone) {
      bool keep_alive = co_await serve_builtin(endpoint);
      log_phase();
      co_return keep_alive;
    }
  }
  bool proceed = normalize_target_phase() && route_phase();
  if (proceed) cors_phase();
  // The parser flags an Upgrade field: a plain request skips this with one test.
  if (proceed && request_.has_upgrade) proceed = websocket_phase();
  proceed = proceed && admission_phase() && body_limit_phase();
  // The policy chain, in a fixed order: header hygiene ─► ip allow/deny ─► (CORS preflight) ─►
  // content type ─► auth ─► rate limit ─► validate; the first refusal answers. Only what must wait
  // suspends the request: a body the policies read, a Redis decision.
  if (proceed) proceed = client_policies_phase();
  if (proceed && ctx_.preflight) {
    // A CORS preflight never reaches the upstream: the gateway answers it from the route's cors.
    // After load shedding and ip allow/deny (a refused network learns nothing, not even the CORS
    // policy), before auth and rate limits: browsers send preflights without credentials.
    const bool keep_alive = co_await answer_preflight();
    log_phase();
    co_return keep_alive;
  }
  if (proceed) proceed = content_type_phase();
  if (proceed && policies_need_body()) proceed = co_await policy_body_phase();
  if (proceed) proceed = auth_phase();
  if (proceed && rate_limited_route()) {
    proceed = rate_limit_is_remote() ? co_await remote_rate_limit_phase() : local_rate_limit_phase();
  }
  if (proceed) proceed = validate_phase();
  if (proceed) proceed = choose_upstream_phase();
  if (proceed && !(forward_target_phase() && transform_request_phase())) {
    abandon_attempt();  // a target was picked; nothing was sent to it
    proceed = false;
  }
  bool keep_alive = false;
  if (!proceed) {
    consume_request_head();
    keep_alive = co_await send_local_reply();
  } else {
    build_upstream_request_head();
    // The head is copied into head_out_; its bytes can leave the client buffer now.
    consume_request_head();
    keep_alive = false;
    bool stale_retry_used = false;  // the one free retry after a pooled connection went stale
    bool allow_pooled = true;
    for (;;) {
      ++ctx_.attempts;
      bool stale = false;
      bool answered = false;
      const bool pooled = pooled_connection_phase(allow_pooled);
      const bool connected = pooled || co_await connect_phase(allow_pooled);
      if (connected && request_is_full_duplex()) {
        // Its body is being streamed: there is nothing to send again, so no retry follows.
        keep_alive = co_await full_duplex_exchange_phase();
        break;
      }
      if (connected) {
        StreamResult sent;
        bool sent_at_once = false;  // by one write on a pooled connection: nothing waited since the pick
        if (request_streams_body()) {
          sent = co_await stream_request_phase();
        } else {
          // The head (and a buffered body) in one gather write; the reactor only for a full socket.
          const std::array<asio::const_buffer, 2> parts{asio::buffer(head_out_.view()),
                                                        asio::buffer(ctx_.body)};
          net::IoResult written = net::write_now(upstream_->stream, parts);
          sent_at_once = pooled && !written.would_block();
          if (written.would_block()) written = co_await net::write_rest(upstream_->stream, parts, written.bytes);
          if (written.error) sent = StreamResult{StreamOutcome::kSinkError, written.error, 0};
        }
        if (request_sent(sent, stale)) {
          // The response head phase, its usual single read awaited right here: a coroutine of its
          // own would cost a frame and a resumption per request. Anything more takes the rest.
          // Sent at once, the request left when pick_target() read the clock (one syscall ago).
          begin_response_head(sent_at_once ? ctx_.attempt_started : net::Clock::now());
          ResponseHeadStep step = parse_response_head_step();  // (bytes may have come early)
          const bool waits_first = upstream_->stream.plain();
          if (step == ResponseHeadStep::kNeedBytes && waits_first) {
            // A response usually there already (a gateway slower than its upstream) or signalled
            // by the reactor is read at once; else the read waits for the reactor's edge.
            net::tcp::socket& socket = upstream_->stream.socket();
            std::optional<net::IoResult> first =
                net::read_now_if_ahead(socket, first_response_read_space(), upstream_->response_guess);
            if (!first) {
              auto [read_error, read_bytes] = co_await net::read_when_readable(socket, first_response_read_space());
              first = net::IoResult{read_error, read_bytes};
            }
            step = response_head_bytes(*first, stale);
          }
          if (step == ResponseHeadStep::kNeedBytes) {
            answered = co_await read_rest_of_response_head(stale, /*first_read_waits=*/false);
          } else {
            answered = step == ResponseHeadStep::kComplete;
          }
        }
      }
      if (!answered) {
        release_upstream(false);  // after any fault the connection is never reused
        record_upstream_outcome(false);
        // A pooled connection that the upstream had already closed fails before any response
        // byte; an idempotent request with no body is safe to send again on a fresh one, to the
        // same target, without counting against it.
        if (stale && !stale_retry_used) {
          stale_retry_used = true;
          ctx_.has_local_reply = false;
          allow_pooled = false;
          continue;
        }
        const auto failure = attempt_failure(connected);
        if (!failure) {
          abandon_attempt();
          break;
        }
        finish_attempt(failure);
        if (co_await retry_attempt(*failure)) {
          allow_pooled = true;
          continue;
        }
        break;
      }
      const std::optional<upstream::AttemptFailure> failure = report_answered_attempt();
      if (failure && co_await retry_attempt(*failure)) {
        allow_pooled = true;
        continue;
      }
      if (response_.status == 101) {
        // Only a WebSocket handshake gets here (read_response_head_phase checked the 101).
        keep_alive = co_await tunnel_phase();
        break;
      }
      const ResponsePlan plan = prepare_response_phase();
      StreamResult delivered;
      if (plan.whole_body) {
        const std::array<asio::const_buffer, 2> parts = whole_response_parts(plan);
        net::IoResult written = net::write_now(client_, parts);
        if (written.would_block()) written = co_await net::write_rest(client_, parts, written.bytes);
        delivered = whole_response_written(written, plan);
      } else {
        delivered = co_await stream_response_phase(plan);
      }
      keep_alive = response_sent(delivered, plan);
      break;
    }
    if (ctx_.has_local_reply) keep_alive = co_await send_local_reply();
  }
  log_phase();
  co_return keep_alive;
}

void Session::identify_grpc() {
  const http::HeaderField* content_type = request_.fields.find(http::HeaderToken::kContentType);
  if (content_type == nullptr || !http::is_grpc_content_type(content_type->value)) return;
  ctx_.grpc = true;
  // A malformed grpc-timeout is ignored (the route's timeout still bounds the call): refusing the
  // call would fail it for a hint the gateway does not need.
  if (const http::HeaderField* timeout = request_.fields.find("grpc-timeout")) {
    if (const auto parsed = http::parse_grpc_timeout(timeout->value)) {
      ctx_.grpc_timeout = std::chrono::duration_cast<net::Clock::duration>(*parsed);
    }
  }
}

void Session::note_grpc_trailers() {
  std::string_view section = response_decoder_.trailer_section();
  http::HeaderField field;
  while (http::next_trailer_field(section, field)) {
    if (!http::iequals(field.name, "grpc-status")) continue;
    ctx_.grpc_status = grpc_status_of(field.value);
    return;
  }
}

void Session::identify_request() {
  const http::HeaderField* field = request_.fields.find(http::HeaderToken::kXCorrelationId);
  if (field != nullptr && observe::is_sane_correlation_id(field->value)) {
    ctx_.correlation_id.assign(field->value);
  } else {
    observe::generate_correlation_id(ctx_.correlation_id);
  }
  // W3C Trace Context: join the client's trace when it sent exactly one valid traceparent (two
  // are ambiguous), else start one. This hop gets its own span id either way.
  const http::HeaderField* traceparent = nullptr;
  std::size_t traceparents = 0;
  bool tracestate_ok = true;
  bool has_tracestate = false;
  for (const http::HeaderField& each : request_.fields) {
    if (each.token == http::HeaderToken::kTraceparent) {
      traceparent = &each;
      ++traceparents;
    } else if (each.token == http::HeaderToken::kTracestate) {
      has_tracestate = true;
      tracestate_ok = tracestate_ok && observe::valid_tracestate(each.value);
    }
  }
  std::optional<observe::TraceContext> incoming;
  if (traceparents == 1) incoming = observe::parse_traceparent(traceparent->value);
  if (incoming) {
    ctx_.trace_id = incoming->trace_id;
    ctx_.parent_span_id = incoming->parent_id;
    ctx_.has_parent_span = true;
    ctx_.trace_flags = incoming->flags;
    ctx_.span_id = observe::new_span_id();
    ctx_.forward_tracestate = has_tracestate && tracestate_ok;
  } else {
    const observe::TraceContext fresh = observe::new_trace(/*sampled=*/true);
    ctx_.trace_id = fresh.trace_id;
    ctx_.span_id = fresh.parent_id;
    ctx_.trace_flags = fresh.flags;
  }
  // logging.headers: copied now, while the head is in the read buffer (the log phase runs after
  // it has moved on). Values first, views after, so the views never see a reallocation.
  const auto& wanted = ctx_.runtime->config().logging.headers;
  if (!wanted.empty()) {
    std::array<std::pair<std::size_t, std::size_t>, 32> spans{};  // offset, length per wanted name
    std::array<bool, 32> present{};
    for (std::size_t w = 0; w < wanted.size() && w < spans.size(); ++w) {
      spans[w].first = ctx_.logged_header_text.size();
      for (const http::HeaderField& each : request_.fields) {
        if (!http::iequals(each.name, wanted[w])) continue;
        if (present[w]) ctx_.logged_header_text += ", ";
        ctx_.logged_header_text += each.value;
        present[w] = true;
      }
      spans[w].second = ctx_.logged_header_text.size() - spans[w].first;
    }
    for (std::size_t w = 0; w < wanted.size() && w < spans.size(); ++w) {
      if (!present[w]) continue;
      ctx_.logged_headers.emplace_back(wanted[w], std::string_view(ctx_.logged_header_text).substr(spans[w].first, spans[w].second));
    }
  }
}

bool Session::normalize_target_phase() {
  auto error = router::normalize_target(request_.target, ctx_.target);
  if (error != router::NormalizeError::kNone) {
    ctx_.target.path.assign(request_.target);  // for the log: the raw target that was refused
    fail(ErrorKind::kBadRequest, router::to_string(error));
    ctx_.local_reply.close = true;
    return false;
  }
  // An absolute-form target may not name another authority than Host: the destination is
  // chosen by the route, never by the request.
  if (!ctx_.target.authority.empty() && !http::iequals(ctx_.target.authority, request_.host)) {
    fail(ErrorKind::kBadRequest, "absolute-form target authority differs from Host");
    ctx_.local_reply.close = true;
    return false;
  }
  return true;
}

bool Session::route_phase() {
  const std::string_view host = host_without_port(request_.host);
  std::string_view requested_method;
  if (ctx_.runtime->any_cors() && policy::CorsPolicy::is_preflight(request_, requested_method)) {
    // A preflight asks about the request it announces: it is routed with that method (so a
    // route's `methods` need not list OPTIONS) and answered here when that route has CORS.
    router::RouteMatch match = ctx_.runtime->routes().match(host, requested_method, ctx_.target.path);
    if (match.status == router::RouteMatch::Status::kMatched &&
        ctx_.runtime->binding(match.route->index).cors.has_value()) {
      ctx_.match = match;
      ctx_.binding = &ctx_.runtime->binding(ctx_.match.route->index);
      ctx_.preflight = true;
      return true;
    }
  }
  ctx_.runtime->routes().match(host, request_.method_text, ctx_.target.path, ctx_.match);
  switch (ctx_.match.status) {
    case router::RouteMatch::Status::kMatched:
      ctx_.binding = &ctx_.runtime->binding(ctx_.match.route->index);
      ctx_.upstream = ctx_.binding->upstream;
      return true;
    case router::RouteMatch::Status::kMethodNotAllowed:
      fail(ErrorKind::kMethodNotAllowed, "method not allowed on this route");
      ctx_.extra_headers.assign("Allow: ").append(ctx_.match.allow).append("\r\n"sv);
      ctx_.local_reply.extra_headers = ctx_.extra_headers;
      return false;
    case router::RouteMatch::Status::kNotFound:
      break;
  }
  fail(ErrorKind::kNotFound, "no route matches this request");
  return false;
}

void Session::cors_phase() {
  // The CORS lines are made now, while the Origin field is still in the read buffer: the
  // preflight answer, or what the response (proxied or the gateway's own error) will carry.
  const auto& cors = ctx_.binding->cors;
  if (!cors) return;
  const http::HeaderField* origin = request_.fields.find(std::string_view("Origin"));
  const std::string_view value = origin != nullptr ? origin->value : std::string_view();
  if (ctx_.preflight) {
    cors->append_preflight(value, ctx_.cors_headers);
  } else {
    cors->append_response(value, origin != nullptr, ctx_.cors_headers);
  }
}

net::Task<bool> Session::answer_preflight() {
  consume_request_head();
  const bool close = must_close_after_local_answer();
  head_out_.clear();
  {
    http::HeadWriter head(head_out_);
    head.status_line(204);
    head.append(ctx_.cors_headers);
    end_gateway_head(head, ctx_.correlation_id, {}, close, request_.version_minor);
  }
  ctx_.status = 204;
  ctx_.response_started = true;
  auto written = co_await net::write_all(client_, head_out_.view());
  ctx_.bytes_out = written.bytes;
  co_return !close && !written.error;
}

bool Session::websocket_phase() {
  // Only `Upgrade: websocket` is ever honoured, and only on a route that allows it. Any other
  // protocol (h2c, ...) is never switched to: Upgrade, its Connection option and HTTP2-Settings
  // are connection-specific, dropped on forwarding, and the request is served as HTTP/1.1.
  if (!http::asks_for_websocket(request_)) return true;
  // From here the client expects a new protocol: a refusal closes the connection, so bytes it
  // sent early in that protocol are never read as HTTP.
  if (!ctx_.match.route->spec->websocket) {
    reject(observe::Rejection::kWebsocketNotAllowed,
           policy::Verdict::deny(ErrorKind::kForbidden, "WebSocket upgrades are not enabled on this route"));
    ctx_.local_reply.close = true;
    return false;
  }
  const http::WebSocketRequestError error = http::check_websocket_request(request_);
  if (error != http::WebSocketRequestError::kNone) {
    // RFC 6455 4.4: a version the gateway does not speak gets 426 and the one it does.
    const bool version = error == http::WebSocketRequestError::kUnsupportedVersion;
    reject(observe::Rejection::kWebsocketBadHandshake,
           policy::Verdict::deny(version ? ErrorKind::kUpgradeRequired : ErrorKind::kBadRequest,
                                 std::string(http::to_string(error)),
                                 version ? "Sec-WebSocket-Version: 13\r\n" : ""));
    ctx_.local_reply.close = true;
    return false;
  }
  if (closing_ || worker_.draining()) {
    // A tunnel would outlive the drain: refuse it rather than cut it at the drain deadline.
    fail(ErrorKind::kServiceUnavailable, "the gateway is shutting down");
    ctx_.local_reply.close = true;
    return false;
  }
  ctx_.websocket = true;
  ctx_.websocket_accept = http::websocket_accept(http::websocket_key(request_));
  return true;
}

bool Session::client_policies_phase() {
  // Who is asking and how: the client address, header hygiene and ip allow/deny. Each policy sees
  // the request and its own config only.
  const Runtime& runtime = *ctx_.runtime;
  const RouteBinding& binding = *ctx_.binding;
  if (!runtime.trusted_proxies().empty()) {
    ctx_.peer_trusted = runtime.trusted_proxies().contains(policy::unmap_v4(peer_ip_));
    ctx_.client_ip = policy::resolve_client_address(peer_ip_, request_, runtime.trusted_proxies());
    if (!(ctx_.client_ip == peer_ip_)) ctx_.client_ip_text = ctx_.client_ip.to_string();
  }
  policy::RequestView& view = policy_view_;
  view = policy::RequestView{};
  view.head = &request_;
  view.method = request_.method_text;
  view.path = ctx_.target.path;
  view.query = ctx_.target.query;
  view.has_query = ctx_.target.has_query;
  view.peer = peer_ip_;
  view.client = ctx_.client_ip;
  view.body_buffered = request_.framing == http::BodyFraming::kNone;

  // Header hygiene first: a field that would alias in the backend is refused whatever the route.
  // Such a request is an attempt to be read differently by the backend: close after answering.
  if (const policy::HeaderRules& rules = runtime.header_rules(); !rules.clearly_allows(request_)) {
    if (auto verdict = rules.check_headers(request_); !verdict.allowed) {
      reject(observe::Rejection::kValidateHeader, verdict);
      ctx_.local_reply.close = true;
      return false;
    }
  }
  // ip allow/deny
  if (binding.client_filter) {
    if (auto verdict = binding.client_filter->check(ctx_.client_ip); !verdict.allowed) {
      reject(observe::Rejection::kIpfilterDenied, verdict);
      return false;
    }
  }
  return true;
}

bool Session::content_type_phase() {
  // The content type is known from the head: refuse (415) before reading any body.
  const RouteBinding& binding = *ctx_.binding;
  if (binding.validator) {
    const policy::RequestView& view = policy_view_;
    if (auto verdict = binding.validator->check_content_type(view); !verdict.allowed) {
      reject(observe::Rejection::kValidateContentType, verdict);
      return false;
    }
  }
  return true;
}

bool Session::policies_need_body() const {
  // Signatures and schemas read the whole body: it is buffered (bounded by the route's limit) once.
  if (request_.framing == http::BodyFraming::kNone) return false;
  const RouteBinding& binding = *ctx_.binding;
  return ctx_.runtime->auth().needs_body(*ctx_.match.route->spec) ||
         (binding.validator && binding.validator->needs_body()) || body_kept_for_retries();
}

net::Task<bool> Session::policy_body_phase() {
  if (!co_await buffer_request_body()) co_return false;
  // The head was re-parsed from its copy: every view into it must be taken again.
  policy::RequestView& view = policy_view_;
  view.head = &request_;
  view.method = request_.method_text;
  view.body = ctx_.body;
  view.body_buffered = true;
  co_return true;
}

bool Session::auth_phase() {
  const policy::AuthPolicy& auth = ctx_.runtime->auth();
  const config::RouteSpec& route = *ctx_.match.route->spec;
  if (auth.mode_for(route) == config::AuthMode::kNone) {
    ctx_.client_name = tls_client_identity_;  // no verdict to build, no clock to read
    return true;
  }
  const policy::Verdict verdict =
      auth.check(policy_view_, route, ctx_.client_name, static_cast<std::int64_t>(std::time(nullptr)));
  if (verdict.allowed) {
    // An anonymous request on a connection with a verified client certificate is that client.
    if (ctx_.client_name.empty()) ctx_.client_name = tls_client_identity_;
    return true;
  }
  reject(auth_rejection(verdict.reason), verdict);
  return false;
}

bool Session::validate_phase() {
  const RouteBinding& binding = *ctx_.binding;
  if (!binding.validator || !binding.validator->needs_body()) return true;
  std::vector<policy::Violation> violations;
  const policy::Verdict verdict = binding.validator->check(policy_view_, &violations);
  if (verdict.allowed) return true;
  reject(verdict.kind == ErrorKind::kUnprocessableEntity    ? observe::Rejection::kValidateSchema
         : verdict.kind == ErrorKind::kUnsupportedMediaType ? observe::Rejection::kValidateContentType
                                                            : observe::Rejection::kValidateNotJson,
         verdict);
  if (!violations.empty()) {
    policy::append_violations_json(ctx_.violations_json, violations);
    ctx_.local_reply.violations_json = ctx_.violations_json;
  }
  return false;
}

bool Session::rate_limited_route() const { return ctx_.runtime->rate_limit().active_for(ctx_.match.route->index); }

bool Session::rate_limit_is_remote() {
  return ctx_.runtime->rate_limit().backend() == policy::RateLimitBackend::kRedis && worker_.redis_limiter() != nullptr;
}

bool Session::local_rate_limit_phase() {
  const policy::RateLimitPolicy& limits = ctx_.runtime->rate_limit();
  policy::RateLimitScratch& scratch = ctx_.rate_limit_scratch;
  limits.prepare(policy_view_, ctx_.match.route->index, ctx_.client_name, ctx_.client_ip_text, scratch);
  const std::size_t refused = limits.decide_local(scratch, net::Clock::now());
  return conclude_rate_limit(observe::RateLimitStore::kMemory, refused);
}

net::Task<bool> Session::remote_rate_limit_phase() {
  // Redis shares the buckets with every instance. When it cannot answer, rateLimit.failMode
  // decides: local (the memory table, per-instance accuracy), open (allow) or closed (503).
  const policy::RateLimitPolicy& limits = ctx_.runtime->rate_limit();
  policy::RateLimitScratch& scratch = ctx_.rate_limit_scratch;
  limits.prepare(policy_view_, ctx_.match.route->index, ctx_.client_name, ctx_.client_ip_text, scratch);
  const std::shared_ptr<policy::RedisRateLimiter> redis = worker_.redis_limiter();  // see Worker
  const policy::RedisLimitResult result = co_await redis->decide(scratch.requests());
  worker_.note_redis_outcome(result.ok, result.error, limits.fail_mode());
  if (result.ok) {
    std::copy_n(result.levels.begin(), scratch.count, scratch.decisions.begin());
    co_return conclude_rate_limit(observe::RateLimitStore::kRedis, result.refused);
  }
  if (limits.fail_mode() == policy::RateLimitFailMode::kOpen) {
    ctx_.rate_limit_decision = "fallback_open";
    co_return true;  // no decision, so no RateLimit fields either
  }
  if (limits.fail_mode() == policy::RateLimitFailMode::kClosed) {
    ctx_.rate_limit_decision = "backend_unavailable";
    reject(observe::Rejection::kRatelimitBackendUnavailable,
           policy::Verdict::deny(ErrorKind::kServiceUnavailable, "rate limiter unavailable", "Retry-After: 1\r\n")
               .because("backend_unavailable"));
    co_return false;
  }
  ctx_.rate_limit_decision = "fallback_local";
  const std::size_t refused = limits.decide_local(scratch, net::Clock::now());
  co_return conclude_rate_limit(observe::RateLimitStore::kMemory, refused);
}

bool Session::conclude_rate_limit(observe::RateLimitStore store, std::size_t refused) {
  const policy::RateLimitPolicy& limits = ctx_.runtime->rate_limit();
  const policy::Verdict verdict =
      limits.conclude(ctx_.match.route->index, ctx_.rate_limit_scratch, refused, ctx_.rate_limit_headers);
  observe::WorkerMetrics& metrics = worker_.metrics();
  metrics.record_rate_limit_decision(store, verdict.allowed ? observe::RateLimitResult::kAllowed
                                                            : observe::RateLimitResult::kLimited);
  if (ctx_.rate_limit_decision.empty()) ctx_.rate_limit_decision = verdict.allowed ? "allowed" : "limited";
  else if (!verdict.allowed) ctx_.rate_limit_decision = "limited_local";
  if (verdict.allowed) return true;
  metrics.record_rate_limit_hit(ctx_.binding->metrics_route);
  reject(observe::Rejection::kRatelimitLimited, verdict);
  return false;
}

bool Session::body_kept_for_retries() const {
  // A body that was streamed to an upstream can never be sent again, so a small one (known
  // length, at most kRetryBodyLimit) is read first when the route's upstream retries and the
  // request may be retried at all (idempotent, or the route opts in).
  constexpr std::uint64_t kRetryBodyLimit = 64 * 1024;
  if (request_.framing != http::BodyFraming::kContentLength || request_.content_length == 0 ||
      request_.content_length > kRetryBodyLimit) {
    return false;
  }
  const upstream::UpstreamControls& controls = ctx_.runtime->controls(ctx_.binding->upstream->index);
  if (!controls.retry) return false;
  return request_is_idempotent() || ctx_.match.route->spec->retry_non_idempotent;
}

net::Task<bool> Session::buffer_request_body() {
  // Policies that read the body (signatures, schemas) need all of it before anything is sent.
  // The head moves out of the read buffer first (re-parsed from a copy), so reading the body
  // through that buffer cannot invalidate the head's views.
  head_copy_.assign(client_buffer_.readable().substr(0, request_head_size_));
  client_buffer_.consume(request_head_size_);
  head_consumed_ = true;
  auto reparsed = http::parse_request_head(head_copy_, ctx_.runtime->limits(), request_);
  assert(reparsed.status == http::ParseStatus::kComplete);
  (void)reparsed;
  ctx_.body.clear();
  std::uint64_t limit = ctx_.binding->max_body_size;
  if (request_.expect_continue && request_.version_minor == 1 && client_buffer_.empty()) {
    // The client waits for a go-ahead before sending the body the policies need.
    auto written = co_await net::write_all(client_, kContinue);
    if (written.error) {
      ctx_.status = 499;
      closing_ = true;
      co_return false;
    }
  }
  for (;;) {
    if (request_.framing == http::BodyFraming::kContentLength) {
      std::size_t want = static_cast<std::size_t>(request_.content_length - ctx_.body.size());
      std::size_t take = std::min(want, client_buffer_.readable_size());
      ctx_.body.append(client_buffer_.readable().substr(0, take));
      client_buffer_.consume(take);
      if (ctx_.body.size() == request_.content_length) break;
    } else {
      std::string_view input = client_buffer_.readable();
      std::size_t used = 0;
      bool done = false;
      while (used < input.size()) {
        auto step = request_decoder_.next(input.substr(used));
        used += step.consumed;
        if (step.kind == http::ChunkedDecoder::Kind::kData) {
          ctx_.body.append(step.data);
        } else if (step.kind == http::ChunkedDecoder::Kind::kDone) {
          done = true;
          break;
        } else if (step.kind == http::ChunkedDecoder::Kind::kError) {
          bool too_large = step.error == http::ParseError::kBodyTooLarge;
          fail(too_large ? ErrorKind::kPayloadTooLarge : ErrorKind::kBadRequest,
               too_large ? "request body exceeds the size limit" : "malformed chunked request body");
          ctx_.local_reply.close = true;
          co_return false;
        } else {
          break;
        }
      }
      client_buffer_.consume(used);
      if (done) break;
    }
    if (ctx_.body.size() > limit) {
      fail(ErrorKind::kPayloadTooLarge, "request body exceeds the size limit");
      ctx_.local_reply.close = true;
      co_return false;
    }
    auto read = co_await net::read_some(client_, client_buffer_.writable());
    if (read.error || read.bytes == 0) {
      if (deadline_.expired()) {
        fail(ErrorKind::kClientTimeout, "client too slow sending the request body");
      } else {
        ctx_.status = 499;
        closing_ = true;
      }
      ctx_.local_reply.close = true;
      co_return false;
    }
    client_buffer_.commit(read.bytes);
  }
  ctx_.body_buffered = true;
  ctx_.body_unread = false;
  ctx_.bytes_in += ctx_.body.size();
  co_return true;
}

void Session::consume_request_head() {
  if (head_consumed_) return;
  client_buffer_.consume(request_head_size_);
  head_consumed_ = true;
}

bool Session::admission_phase() {
  // Backpressure: past the shedding thresholds low-priority routes are refused first, then
  // normal, critical only at maxInFlight itself. A refusal costs no policy, body or upstream work.
  const config::RouteSpec& route = *ctx_.match.route->spec;
  const auto priority = route.priority == config::RoutePriority::kCritical ? policy::Priority::kCritical
                        : route.priority == config::RoutePriority::kLow    ? policy::Priority::kLow
                                                                            : policy::Priority::kNormal;
  ctx_.admission = worker_.shedder().admit(priority);
  idle_timeout_ = ctx_.binding->timeouts.idle;
  if (ctx_.admission) {
    // The whole-request deadline is the route's now that the route is known, or sooner when a
    // gRPC client said how long it waits (the answer is then DEADLINE_EXCEEDED, not a late reply).
    net::Clock::duration request_timeout = ctx_.binding->timeouts.request;
    if (ctx_.grpc_timeout) request_timeout = std::min(request_timeout, *ctx_.grpc_timeout);
    ctx_.deadline = ctx_.started + request_timeout;
    set_timeout(TimeoutKind::kRequest, ctx_.deadline);
    return true;
  }
  fail(ErrorKind::kServiceUnavailable, "the gateway is overloaded; retry later");
  ctx_.extra_headers.assign("Retry-After: ")
      .append(std::to_string(std::max<std::int64_t>(ctx_.admission.retry_after().count(), 1)))
      .append("\r\n"sv);
  ctx_.local_reply.extra_headers = ctx_.extra_headers;
  worker_.metrics().record_load_shed(static_cast<std::size_t>(priority));
  observe::log_event(config::LogLevel::kDebug, "request_shed",
                     {{"correlationId", ctx_.correlation_id},
                      {"priority", std::string(policy::to_string(priority))},
                      {"reason", std::string(policy::to_string(ctx_.admission.reason()))}});
  return false;
}

bool Session::body_limit_phase() {
  std::uint64_t limit = ctx_.binding->max_body_size;
  if (request_.framing == http::BodyFraming::kContentLength && request_.content_length > limit) {
    // Known length: refuse before anything is forwarded.
    fail(ErrorKind::kPayloadTooLarge, "request body exceeds the size limit");
    ctx_.local_reply.close = true;
    return false;
  }
  if (request_.framing == http::BodyFraming::kChunked) request_decoder_.reset(limit);
  return true;
}

bool Session::choose_upstream_phase() {
  // Traffic split (weighted) ─► breaker ─► usable targets (health, ejection) ─► balancer; the
  // route's fallback upstream when the chosen one refuses.
  const RouteBinding& binding = *ctx_.binding;
  const upstream::Upstream* chosen = binding.split.front().upstream;
  if (binding.split.size() > 1) {
    std::uint64_t draw = worker_.random().below(binding.split_total);
    for (const RouteBinding::Split& entry : binding.split) {
      if (draw < entry.weight) {
        chosen = entry.upstream;
        break;
      }
      draw -= entry.weight;
    }
  }
  bool picked = pick_target(*chosen, /*retry=*/false);
  if (!picked && binding.fallback != nullptr && binding.fallback != chosen) {
    picked = pick_target(*binding.fallback, /*retry=*/false);
  }
  if (!picked) {
    if (ctx_.breaker_retry_after.count() > 0) {
      fail(ErrorKind::kServiceUnavailable, "upstream circuit breaker is open");
      ctx_.extra_headers.assign("Retry-After: ").append(std::to_string(ctx_.breaker_retry_after.count())).append("\r\n"sv);
      ctx_.local_reply.extra_headers = ctx_.extra_headers;
    } else {
      fail(ErrorKind::kNoTargetAvailable, "no upstream target available");
    }
    return false;
  }
  return true;
}

bool Session::forward_target_phase() {
  // stripPrefix / rewrite (with ${path.NAME}) / the RE2 regex rewrite, then the query as sent.
  router::build_forward_path(ctx_.match, ctx_.target.path, ctx_.forward_target);
  if (const auto& rewrite = ctx_.binding->path_rewrite) {
    switch (rewrite->apply(ctx_.forward_target, ctx_.rewrite_scratch)) {
      case policy::RewriteResult::kRewritten: ctx_.forward_target.swap(ctx_.rewrite_scratch); break;
      case policy::RewriteResult::kNoMatch: break;
      case policy::RewriteResult::kInvalid:
        observe::log_event(config::LogLevel::kWarn, "path_rewrite_failed",
                           {{"correlationId", ctx_.correlation_id},
                            {"route", ctx_.match.route->spec->path},
                            {"path", ctx_.target.path}});
        fail(ErrorKind::kInternal, "the route's path rewrite produced an invalid path");
        return false;
    }
  }
  if (ctx_.target.has_query) ctx_.forward_target.append("?"sv).append(ctx_.target.query);
  return true;
}

policy::TemplateContext Session::gateway_template_values() const {
  policy::TemplateContext context;
  context.client_ip = ctx_.client_ip_text.empty() ? std::string_view(client_address_) : ctx_.client_ip_text;
  context.correlation_id = ctx_.correlation_id;
  return context;
}

bool Session::transform_request_phase() {
  // The header plan of (route, chosen upstream). Values that depend on the request are rendered
  // now, the response's included: the request head is gone by the time the response arrives.
  const policy::HeaderPlan& plan = ctx_.binding->header_plan_for(ctx_.upstream->index);
  ctx_.header_plan = &plan;
  if (!plan.needs_render()) return true;
  std::vector<std::string_view>& params = ctx_.transform_scratch.path_params;  // keeps its capacity
  params.clear();
  for (std::size_t i = 0; i < ctx_.match.param_count; ++i) params.push_back(ctx_.match.params[i].value);
  policy::TemplateContext context = gateway_template_values();
  context.route = ctx_.match.route->spec->path;
  context.upstream = ctx_.upstream->spec->name;
  context.auth_client = ctx_.client_name;
  context.request_headers = &request_.fields;
  context.path_params = params;
  std::string_view failed_header;
  if (!plan.render(context, ctx_.transform_scratch, failed_header)) {
    // Never a split header: the request fails instead, and the log says which field.
    observe::log_event(config::LogLevel::kWarn, "header_transform_failed",
                       {{"correlationId", ctx_.correlation_id},
                        {"route", ctx_.match.route->spec->path},
                        {"header", std::string(failed_header)},
                        {"reason", "the value holds CR, LF, NUL or another control byte"}});
    fail(ErrorKind::kInternal, "a header transformation produced an invalid value");
    return false;
  }
  return true;
}

bool Session::pick_target(const upstream::Upstream& chosen, bool retry) {
  const auto now = net::Clock::now();
  const upstream::UpstreamControls& controls = ctx_.runtime->controls(chosen.index);
  if (!retry || ctx_.upstream != &chosen) ctx_.tried.reset(chosen.targets.size(), false);
  // Usable: resolved, healthy (active checks), not ejected (outliers); for a retry, not tried yet
  // when another one is left.
  upstream::TargetMask& usable = usable_scratch_;
  usable.reset(chosen.targets.size(), false);
  for (std::size_t t = 0; t < chosen.targets.size(); ++t) {
    const bool ok = !chosen.targets[t].endpoints.empty() && (!controls.health || controls.health->is_healthy(t)) &&
                    (!controls.outliers || !controls.outliers->is_ejected(t, now));
    usable.set(t, ok);
  }
  if (retry) {
    upstream::TargetMask untried = usable;
    for (std::size_t t = 0; t < chosen.targets.size(); ++t) {
      if (ctx_.tried.test(t)) untried.set(t, false);
    }
    if (untried.any()) usable = untried;
  }
  if (!usable.any()) return false;
  if (!retry && controls.retry_budget) controls.retry_budget->record_request(now);
  if (controls.breaker) {
    auto admission = controls.breaker->try_acquire(now);
    if (admission.transition) note_breaker_transition(chosen, *admission.transition);
    if (!admission.admitted()) {
      ctx_.breaker_retry_after = std::max(ctx_.breaker_retry_after, admission.retry_after);
      return false;
    }
    ctx_.breaker_ticket = admission.ticket;
    ctx_.holds_breaker_ticket = true;
  }
  // The key is taken from the request once: on a retry the head has left the read buffer.
  if (!retry && controls.balancer.strategy == upstream::Strategy::kConsistentHash) {
    ctx_.key_hash = request_hash_key(controls.hash_on);
  }
  const std::uint64_t key_hash = ctx_.key_hash;
  upstream::Balancer& balancer = worker_.balancer(chosen.index);
  const int index = balancer.pick(usable, now, key_hash);
  assert(index >= 0);  // usable.any()
  balancer.on_request_start(index);
  ctx_.balancer_generation = worker_.balancer_generation();
  ctx_.upstream = &chosen;
  ctx_.timeouts = &ctx_.binding->timeouts_for(chosen.index);
  ctx_.target_index = index;
  ctx_.target_choice = &chosen.targets[static_cast<std::size_t>(index)];
  ctx_.tried.set(static_cast<std::size_t>(index));
  ctx_.attempt_started = now;
  if (!retry) ctx_.first_attempt_started = now;
  return true;
}

std::uint64_t Session::request_hash_key(const config::HashOnSpec& hash_on) const {
  switch (hash_on.source) {
    case config::HashSource::kHeader:
      if (const http::HeaderField* field = request_.fields.find(hash_on.name); field != nullptr) {
        return upstream::stable_hash(field->value);
      }
      break;
    case config::HashSource::kCookie:
      if (const http::HeaderField* field = request_.fields.find(std::string_view("Cookie")); field != nullptr) {
        // "a=1; b=2": the named cookie's value.
        std::string_view cookies = field->value;
        while (!cookies.empty()) {
          const std::size_t end = cookies.find(';');
          std::string_view pair = cookies.substr(0, end);
          while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
          if (pair.size() > hash_on.name.size() && pair.starts_with(hash_on.name) && pair[hash_on.name.size()] == '=') {
            return upstream::stable_hash(pair.substr(hash_on.name.size() + 1));
          }
          if (end == std::string_view::npos) break;
          cookies.remove_prefix(end + 1);
        }
      }
      break;
    case config::HashSource::kIp:
    case config::HashSource::kNone:
      break;
  }
  // No key in the request (or hashOn: ip): the client address keeps a client on one target.
  return upstream::stable_hash(ctx_.client_ip.to_string());
}

void Session::finish_attempt(const std::optional<upstream::AttemptFailure>& failure) {
  if (ctx_.upstream == nullptr || ctx_.target_index < 0) return;
  const auto now = net::Clock::now();
  const upstream::UpstreamControls& controls = ctx_.runtime->controls(ctx_.upstream->index);
  if (ctx_.balancer_generation == worker_.balancer_generation()) {
    worker_.balancer(ctx_.upstream->index).on_request_end(ctx_.target_index, now - ctx_.attempt_started, now);
  }
  if (!failure || failure->kind == upstream::FailureKind::kStatus) {  // a response head arrived
    ctx_.upstream_latency = now - ctx_.first_attempt_started;
    worker_.metrics().record_upstream_latency(
        ctx_.runtime->metrics_upstream(ctx_.upstream->index),
        std::chrono::duration_cast<std::chrono::microseconds>(now - ctx_.attempt_started));
  }
  if (controls.concurrency && ctx_.concurrency) {
    // Adaptive limits learn from latency and from timeouts (drops); the slot is kept until the
    // response is over (or the next attempt).
    const bool dropped = failure && failure->kind == upstream::FailureKind::kTimeout;
    controls.concurrency->on_sample(now - ctx_.attempt_started, dropped, now);
  }
  if (ctx_.holds_breaker_ticket) {
    ctx_.holds_breaker_ticket = false;
    const bool counted = failure && upstream::counts_as_failure(controls.breaker_fail_on, *failure);
    const auto outcome = !failure ? upstream::BreakerOutcome::kSuccess
                         : counted ? upstream::BreakerOutcome::kFailure
                                   : upstream::BreakerOutcome::kSuccess;
    if (auto transition = controls.breaker->report(ctx_.breaker_ticket, outcome, now)) {
      note_breaker_transition(*ctx_.upstream, *transition);
    }
  }
  if (controls.outliers) {
    // Ejection counts what says "this target is broken": no connection, no answer, or a 5xx.
    const bool success = !failure || (failure->kind == upstream::FailureKind::kStatus && failure->status < 500);
    if (auto ejection = controls.outliers->record_result(static_cast<std::size_t>(ctx_.target_index), success, now)) {
      observe::log_event(config::LogLevel::kWarn, "target_ejected",
                         {{"upstream", ctx_.upstream->spec->name},
                          {"target", ctx_.target_choice->authority},
                          {"ejectedMs", std::to_string(ejection->duration.count())}});
    }
  }
}

std::optional<upstream::AttemptFailure> Session::report_answered_attempt() {
  std::optional<upstream::AttemptFailure> failure;
  if (response_.status >= 500) failure = upstream::AttemptFailure::status_code(response_.status);
  finish_attempt(failure);
  record_upstream_outcome(true);
  return failure;
}

void Session::abandon_attempt() {
  if (ctx_.upstream == nullptr || ctx_.target_index < 0) return;
  if (ctx_.balancer_generation == worker_.balancer_generation()) {
    worker_.balancer(ctx_.upstream->index).on_request_abandoned(ctx_.target_index);
  }
  if (ctx_.holds_breaker_ticket) {
    ctx_.holds_breaker_ticket = false;
    const upstream::UpstreamControls& controls = ctx_.runtime->controls(ctx_.upstream->index);
    if (auto transition = controls.breaker->report(ctx_.breaker_ticket, upstream::BreakerOutcome::kAbandoned,
                                                   net::Clock::now())) {
      note_breaker_transition(*ctx_.upstream, *transition);
    }
  }
}

void Session::note_breaker_transition(const upstream::Upstream& target, const upstream::BreakerTransition& transition) {
  observe::log_event(transition.to == upstream::BreakerState::kOpen ? config::LogLevel::kWarn : config::LogLevel::kInfo,
                     "circuit_breaker_transition",
                     {{"upstream", target.spec->name},
                      {"from", std::string(upstream::to_string(transition.from))},
                      {"to", std::string(upstream::to_string(transition.to))}});
}

std::optional<upstream::AttemptFailure> Session::attempt_failure(bool connected) const {
  if (!ctx_.has_local_reply) return std::nullopt;  // the client went away: not the upstream's doing
  switch (ctx_.error_kind) {
    case ErrorKind::kUpstreamConnectFailed: return upstream::AttemptFailure::connect_failure();
    case ErrorKind::kUpstreamTimeout:
      return connected ? upstream::AttemptFailure::timeout() : upstream::AttemptFailure::connect_failure();
    case ErrorKind::kRequestTimeout: return upstream::AttemptFailure::timeout();
    case ErrorKind::kUpstreamReset:
    case ErrorKind::kBadUpstreamResponse: return upstream::AttemptFailure::reset();
    default: return std::nullopt;  // egress refusal, body limits, client errors
  }
}

net::Task<bool> Session::retry_attempt(const upstream::AttemptFailure& failure) {
  // Retry only what is safe (retry policy), within the budget, with jittered backoff, before the
  // deadline, on another target when there is one. The failed attempt's answer stands otherwise.
  const upstream::Upstream& chosen = *ctx_.upstream;
  const upstream::UpstreamControls& controls = ctx_.runtime->controls(chosen.index);
  if (!controls.retry || ctx_.response_started || closing_) co_return false;
  const config::RouteSpec& route = *ctx_.match.route->spec;
  const upstream::RetryPolicy& policy = route.retry_non_idempotent ? *controls.retry_unsafe : *controls.retry;
  upstream::AttemptInfo info;
  info.failure = failure;
  info.attempts_made = ctx_.attempts;
  info.method = ctx_.method;
  info.body_replayable = request_.framing == http::BodyFraming::kNone || ctx_.body_buffered;
  upstream::Backoff backoff(controls.backoff, worker_.random().next());
  const auto plan = upstream::plan_retry(policy, info, backoff, *controls.retry_budget, net::Clock::now(), ctx_.deadline);
  if (!plan.retry()) {
    if (plan.reason == upstream::RetryReason::kBudgetExhausted) {
      observe::log_event(config::LogLevel::kDebug, "retry_budget_exhausted",
                         {{"correlationId", ctx_.correlation_id}, {"upstream", chosen.spec->name}});
    }
    co_return false;
  }
  if (upstream_) release_upstream(false);  // a failed attempt's connection is never reused
  if (plan.delay.count() > 0) {
    net::SteadyTimer timer(client_.get_executor(), plan.delay);
    (void)co_await timer.async_wait(net::use_task);
    if (closing_) co_return false;
  }
  const upstream::Target* previous = ctx_.target_choice;
  if (!pick_target(chosen, /*retry=*/true)) co_return false;  // the failed attempt's reply stands
  ctx_.has_local_reply = false;
  if (ctx_.host_value_at != 0 && ctx_.target_choice->host_header != previous->host_header) {
    head_out_.replace(ctx_.host_value_at, previous->host_header.size(), ctx_.target_choice->host_header);
  }
  co_return true;
}

bool Session::try_concurrency_slot() {
  // maxConcurrent: this attempt's slot, now (always, when the upstream sets no limit).
  const upstream::UpstreamControls& controls = ctx_.runtime->controls(ctx_.upstream->index);
  ctx_.concurrency.release();
  if (!controls.concurrency) return true;
  ctx_.concurrency = controls.concurrency->try_acquire();
  return static_cast<bool>(ctx_.concurrency);
}

bool Session::pooled_connection_phase(bool allow_pooled) {
  // The common case on a warm pool: an idle connection to the target, with no suspension. An
  // upstream with maxConcurrent takes connect_phase(), which owns the slot, its queue and counts.
  if (!allow_pooled || ctx_.runtime->controls(ctx_.upstream->index).concurrency) return false;
  ctx_.concurrency.release();
  // pick_target() has just read the clock: nothing waited since.
  const auto now = ctx_.attempt_started;
  while ((upstream_ = worker_.pool().take(ctx_.target_choice->id, now))) {
    if (pooled_connection_usable()) {
      worker_.metrics().record_upstream_pool_reuse(ctx_.runtime->metrics_upstream(ctx_.upstream->index));
      return true;
    }
    worker_.pool().discard(std::move(upstream_));  // closes it
  }
  return false;
}

bool Session::pooled_connection_usable() {
  // An idle connection must be silent: bytes waiting on it (a late or unsolicited response)
  // would be read as the answer to this request, and an EOF means it is already gone. Probing
  // costs a recv(MSG_PEEK). A request that may be sent again (idempotent, with no body or a
  // buffered one) skips it while the reactor saw nothing arrive on the idle connection: if the
  // upstream closed it unseen, the request gets its one free retry on a fresh connection.
  const bool resendable = request_is_idempotent() && (request_.framing == http::BodyFraming::kNone || ctx_.body_buffered);
  net::Stream& stream = upstream_->stream;
  if (resendable && stream.plain() && !net::reactor_saw_readable(stream.socket())) return true;
  return net::idle_stream_is_clean(stream);
}

net::Task<bool> Session::acquire_concurrency_slot() {
  // maxConcurrent: a slot now, or a place in the bounded queue and a wait for a slot until
  // queue.timeout (or the request deadline). Waiters look again at growing intervals (1 to 8 ms):
  // slots are freed by every worker, and a short poll wakes them without cross-thread signalling.
  if (try_concurrency_slot()) co_return true;
  const upstream::UpstreamControls& controls = ctx_.runtime->controls(ctx_.upstream->index);
  if (auto slot = controls.concurrency->try_enter_queue()) {
    const auto give_up = std::min(net::Clock::now() + controls.queue_timeout, ctx_.deadline);
    net::SteadyTimer timer(client_.get_executor());
    auto pause = std::chrono::milliseconds(1);
    while (!closing_ && net::Clock::now() < give_up) {
      timer.expires_after(std::min<net::Clock::duration>(pause, give_up - net::Clock::now()));
      (void)co_await timer.async_wait(net::use_task);
      if (controls.concurrency->in_flight() < controls.concurrency->limit()) {  // looks free: try
        ctx_.concurrency = controls.concurrency->try_acquire();
        if (ctx_.concurrency) co_return true;
      }
      pause = std::min(pause * 2, std::chrono::milliseconds(8));
    }
  }
  fail(ErrorKind::kServiceUnavailable, "upstream is at its concurrency limit");
  ctx_.extra_headers.assign("Retry-After: 1\r\n");
  ctx_.local_reply.extra_headers = ctx_.extra_headers;
  co_return false;
}

net::Task<std::error_code> Session::upstream_tls_handshake(const upstream::Target& target) {
  // Within the connect timeout; the session (SNI, name check, resumption) is the target's.
  net::start_tls(upstream_->stream, target.tls->new_session(target.tls_host, target.port), /*server=*/false);
  std::error_code error = co_await net::tls_handshake(upstream_->stream);
  if (error && deadline_.expired()) co_return error;  // reported as the connect timeout
  const observe::TlsResult result =
      error ? observe::tls_result_from_label(net::handshake_failure_reason(error)) : observe::TlsResult::kOk;
  worker_.metrics().record_tls_handshake(observe::TlsSide::kUpstream, result);
  if (error) {
    observe::log_event(config::LogLevel::kWarn, "tls_handshake_failed",
                       {{"side", "upstream"}, {"correlationId", ctx_.correlation_id},
                        {"upstream", ctx_.upstream->spec->name}, {"target", target.authority},
                        {"reason", net::handshake_failure_reason(error)}, {"error", error.message()}});
    // Tagged so the 502 says it was TLS, not the TCP connect.
    tls_failure_ = true;
  }
  co_return error;
}

net::Task<bool> Session::connect_phase(bool allow_pooled) {
  if (!co_await acquire_concurrency_slot()) co_return false;
  auto now = net::Clock::now();
  const upstream::Target& target = *ctx_.target_choice;
  const config::UpstreamProtocol protocol = ctx_.upstream->spec->protocol;
  std::shared_ptr<Http2UpstreamConnection> opening_http2;
  // However this coroutine ends (a failure below, or destroyed mid-connect with its session), the
  // requests queued on a connection it did not open must not wait for it forever.
  struct FailUnopened {
    std::shared_ptr<Http2UpstreamConnection>& connection;
    ~FailUnopened() {
      if (connection) connection->fail_to_open("upstream connection failed");
    }
  } fail_unopened{opening_http2};
  if (protocol != config::UpstreamProtocol::kHttp1) {
    // HTTP/2: a stream on a connection this worker already has, when one takes another.
    if (auto connection = worker_.http2_upstreams().find(target.id)) {
      worker_.metrics().record_upstream_pool_reuse(ctx_.runtime->metrics_upstream(ctx_.upstream->index));
      attach_http2_stream(connection);
      co_return true;
    }
    allow_pooled = false;  // the HTTP/1.1 pool never holds h2 connections
    // Registered before connecting: requests arriving meanwhile queue their streams on it.
    opening_http2 = std::make_shared<Http2UpstreamConnection>(
        client_.get_executor(), target.id, protocol == config::UpstreamProtocol::kH2 ? "https" : "http",
        ctx_.upstream->spec->pool.idle_timeout);
    worker_.http2_upstreams().add(opening_http2);
  }
  if (allow_pooled) {
    while ((upstream_ = worker_.pool().take(target.id, now))) {
      if (!pooled_connection_usable()) {
        worker_.pool().discard(std::move(upstream_));  // closes it
        continue;
      }
      worker_.metrics().record_upstream_pool_reuse(ctx_.runtime->metrics_upstream(ctx_.upstream->index));
      co_return true;
    }
  }
  upstream_ = worker_.pool().open(client_.get_executor(), target.id);
  auto connect_deadline = std::min(now + ctx_.timeouts->connect, ctx_.attempt_started + ctx_.timeouts->per_try);
  if (connect_deadline < ctx_.deadline) {
    set_timeout(TimeoutKind::kUpstreamConnect, connect_deadline);
  } else {
    set_timeout(TimeoutKind::kRequest, ctx_.deadline);
  }
  std::error_code error;
  std::string blocked_reason;
  bool attempted = false;
  bool h2_not_negotiated = false;  // protocol: h2, and the TLS server did not select it in ALPN
  for (const auto& endpoint : target.endpoints) {
    // The egress guard judges the exact address about to be connected to: no second lookup
    // between check and connect, so a DNS answer cannot change under it.
    auto decision = ctx_.runtime->egress().check(net::to_ip_address(endpoint.address()));
    if (!decision.allowed) {
      blocked_reason = std::move(decision.reason);
      continue;
    }
    attempted = true;
    error = co_await net::connect(upstream_->stream.socket(), endpoint);
    if (!error && target.tls) error = co_await upstream_tls_handshake(target);
    if (!error && protocol == config::UpstreamProtocol::kH2 && net::tls_alpn(upstream_->stream.tls()) != "h2") {
      // The server would answer HTTP/1.1 to what it takes for a connection preface.
      h2_not_negotiated = true;
      error = std::make_error_code(std::errc::protocol_not_supported);
    }
    if (!error) {
      set_timeout(TimeoutKind::kRequest, ctx_.deadline);
      worker_.metrics().record_upstream_connection_opened(ctx_.runtime->metrics_upstream(ctx_.upstream->index));
      if (!opening_http2) co_return true;
      const std::shared_ptr<Http2UpstreamConnection> connection = std::move(opening_http2);
      connection->start(std::move(upstream_->stream));
      attach_http2_stream(connection);
      co_return true;
    }
    if (deadline_.expired()) break;
    upstream_->stream.close();
  }
  if (!attempted && !blocked_reason.empty()) {
    fail(ErrorKind::kForbidden, "upstream address refused by the egress guard: " + blocked_reason);
    worker_.metrics().record_rejection(observe::Rejection::kEgressBlockedAddress);
    observe::log_event(config::LogLevel::kWarn, "egress_blocked",
                       {{"correlationId", ctx_.correlation_id},
                        {"upstream", ctx_.upstream->spec->name},
                        {"reason", blocked_reason}});
  } else if (deadline_.expired()) {
    fail(timeout_kind_ == TimeoutKind::kRequest ? ErrorKind::kRequestTimeout : ErrorKind::kUpstreamTimeout,
         "upstream connect timed out");
  } else if (h2_not_negotiated) {
    fail(ErrorKind::kUpstreamConnectFailed, "upstream did not select HTTP/2 in the TLS handshake (ALPN h2)");
  } else if (tls_failure_) {
    fail(ErrorKind::kUpstreamConnectFailed, "upstream TLS handshake failed: " + error.message());
  } else {
    fail(ErrorKind::kUpstreamConnectFailed, "upstream connection failed: " + error.message());
  }
  tls_failure_ = false;
  worker_.pool().discard(std::move(upstream_));
  co_return false;
}

void Session::attach_http2_stream(const std::shared_ptr<Http2UpstreamConnection>& connection) {
  const upstream::Target& target = *ctx_.target_choice;
  if (!upstream_) {
    upstream_ = worker_.pool().open(client_.get_executor(), target.id);
  }
  auto [session_end, bridge_end] = net::make_pipe(client_.get_executor());
  upstream_->stream = net::Stream(client_.get_executor(), std::move(session_end));
  http2_fate_ = std::make_shared<Http2StreamFate>();
  connection->bridge(net::Stream(client_.get_executor(), std::move(bridge_end)), http2_fate_);
  set_timeout(TimeoutKind::kRequest, ctx_.deadline);
}

bool Session::request_streams_body() const {
  // A body still on the client connection is streamed (and a waiting client told to go ahead);
  // a bodiless or buffered request is one gather write.
  return request_.framing != http::BodyFraming::kNone && !ctx_.body_buffered;
}

net::Task<bool> Session::send_continue_if_awaited() {
  if (request_.expect_continue && request_.version_minor == 1 && client_buffer_.empty()) {
    // The client waits for a go-ahead before sending the body; the route accepted it.
    auto written = co_await net::write_all(client_, kContinue);
    if (written.error) co_return false;
  }
  co_return true;
}

net::Task<StreamResult> Session::stream_request_phase() {
  // Two statements on purpose: g++ 12 miscompiled `if (!co_await f()) co_return Aggregate{...};`
  // here (f ran with a garbage `this`).
  const bool continued = co_await send_continue_if_awaited();
  if (!continued) co_return StreamResult{StreamOutcome::kSourceError, {}, 0};
  if (request_.framing == http::BodyFraming::kContentLength) {
    co_return co_await forward_fixed_body(client_, client_buffer_, upstream_->stream, request_.content_length,
                                          head_out_.view(), &worker_.splice_pipes());
  }
  co_return co_await forward_chunked_body(client_, client_buffer_, upstream_->stream, request_decoder_,
                                          head_out_.view(),
                                          TrailerFilter{request_connection_options_, nullptr});
}

bool Session::request_sent(const StreamResult& result, bool& retryable_failure) {
  ctx_.bytes_in += result.body_bytes;
  if (result.body_bytes > 0 || result.outcome == StreamOutcome::kDone) ctx_.body_unread = false;
  if (result.outcome == StreamOutcome::kDone) return true;
  const bool reused = upstream_->requests_served > 0;
  const bool has_body = request_.framing != http::BodyFraming::kNone;
  ctx_.body_unread = true;  // whatever is left of the body is still on the wire
  switch (result.outcome) {
    case StreamOutcome::kSinkError:
      if (deadline_.expired()) {
        fail(ErrorKind::kRequestTimeout, "request timed out while sending to the upstream");
      } else {
        retryable_failure = reused && (!has_body || ctx_.body_buffered) && request_is_idempotent();
        fail(ErrorKind::kUpstreamReset, "upstream closed the connection while receiving the request");
      }
      break;
    case StreamOutcome::kTooLarge:
      fail(ErrorKind::kPayloadTooLarge, "request body exceeds the size limit");
      break;
    case StreamOutcome::kBadFraming:
      fail(ErrorKind::kBadRequest, "malformed chunked request body");
      break;
    case StreamOutcome::kSourceClosed:
    case StreamOutcome::kSourceError:
      if (deadline_.expired()) {
        fail(ErrorKind::kClientTimeout, "client too slow sending the request body");
      } else {
        // The client went away mid-upload: nobody is left to answer.
        ctx_.status = 499;
        closing_ = true;
      }
      break;
    case StreamOutcome::kDone:
      break;
  }
  ctx_.local_reply.close = true;
  release_upstream(false);
  return false;
}

void Session::arm_response_head_timeout(net::Clock::time_point request_sent) {
  auto response_deadline =
      std::min(request_sent + ctx_.timeouts->first_byte, ctx_.attempt_started + ctx_.timeouts->per_try);
  if (response_deadline < ctx_.deadline) {
    set_timeout(TimeoutKind::kUpstreamResponse, response_deadline);
  } else {
    set_timeout(TimeoutKind::kRequest, ctx_.deadline);
  }
}

void Session::begin_response_head(net::Clock::time_point request_sent) {
  if (duplex_.request_running) {
    // A full-duplex request still streaming: the upstream may rightly wait for all of it before
    // answering, so the first-byte and per-try clocks start when it ends (duplex_request_half).
    set_timeout(TimeoutKind::kRequest, ctx_.deadline);
  } else {
    arm_response_head_timeout(request_sent);
  }
}

Session::ResponseHeadStep Session::parse_response_head_step() {
  ByteBuffer& buffer = upstream_->buffer;
  while (!buffer.empty()) {
    auto outcome = http::parse_response_head(buffer.readable(), http::Limits{}, request_.method, response_);
    if (outcome.status == http::ParseStatus::kError) {
      fail(ErrorKind::kBadUpstreamResponse,
           std::string("malformed upstream response: ") + std::string(http::to_string(outcome.error)));
      return ResponseHeadStep::kFailed;
    }
    if (outcome.status != http::ParseStatus::kComplete) break;
    if (response_.status == 101 && ctx_.websocket) {
      // The answer to a WebSocket handshake: it must complete that handshake (RFC 6455 4.1),
      // else the client would be switched to a protocol nobody agreed on.
      const std::string_view expected(ctx_.websocket_accept.data(), ctx_.websocket_accept.size());
      const http::WebSocketResponseError error = http::check_websocket_response(response_, expected);
      if (error != http::WebSocketResponseError::kNone) {
        fail(ErrorKind::kBadUpstreamResponse, http::to_string(error));
        return ResponseHeadStep::kFailed;
      }
      upstream_head_size_ = outcome.consumed;
      return ResponseHeadStep::kComplete;
    }
    if (response_.status >= 100 && response_.status < 200) {
      // Interim responses end here: the gateway answered Expect itself, and only a WebSocket
      // handshake forwards an Upgrade, so any other 101 is a protocol error.
      if (response_.status == 101) {
        fail(ErrorKind::kBadUpstreamResponse, "unexpected 101 from upstream");
        return ResponseHeadStep::kFailed;
      }
      buffer.consume(outcome.consumed);
      continue;
    }
    if (response_.framing != http::BodyFraming::kNone && has_other_transfer_coding(response_)) {
      // The gateway dechunks and drops Transfer-Encoding (hop-by-hop): a gzip (or any other)
      // coding would reach the client with nothing saying so.
      fail(ErrorKind::kBadUpstreamResponse, "upstream used a transfer coding other than chunked");
      return ResponseHeadStep::kFailed;
    }
    upstream_head_size_ = outcome.consumed;
    set_timeout(TimeoutKind::kRequest, ctx_.deadline);
    return ResponseHeadStep::kComplete;
  }
  return ResponseHeadStep::kNeedBytes;
}

Session::ResponseHeadStep Session::response_head_bytes(const net::IoResult& read, bool& retryable_failure) {
  if (!read.error && read.bytes > 0) {
    upstream_->buffer.commit(read.bytes);
    return parse_response_head_step();
  }
  const ByteBuffer& buffer = upstream_->buffer;
  if (deadline_.expired()) {
    fail(timeout_kind_ == TimeoutKind::kRequest ? ErrorKind::kRequestTimeout : ErrorKind::kUpstreamTimeout,
         "upstream did not answer in time");
  } else if (buffer.empty() && http2_fate_ && http2_fate_->failed) {
    // An HTTP/2 stream that never got a response head: its bridge says why. One the upstream
    // never processed (refused, above a GOAWAY) is safe to send again if the body can be.
    retryable_failure = http2_fate_->retryable && (request_.framing == http::BodyFraming::kNone || ctx_.body_buffered);
    fail(http2_fate_->protocol_error ? ErrorKind::kBadUpstreamResponse : ErrorKind::kUpstreamReset,
         http2_fate_->reason);
  } else if (buffer.empty()) {
    const bool reused = upstream_->requests_served > 0;
    retryable_failure = reused && (request_.framing == http::BodyFraming::kNone || ctx_.body_buffered) &&
                        request_is_idempotent();
    fail(ErrorKind::kUpstreamReset, "upstream closed the connection without a response");
  } else {
    fail(ErrorKind::kBadUpstreamResponse, "upstream closed the connection mid-response head");
  }
  return ResponseHeadStep::kFailed;  // the caller releases the connection (never reused after a fault)
}

std::span<char> Session::first_response_read_space() {
  const std::span<char> space = upstream_->buffer.writable();
  // Between plain sockets a large body's rest goes by splice (forward_fixed_body), so the first
  // read takes only what a head and a small body need: the rest never gets copied in and out.
  if (space.size() > kFirstResponseReadBytes && client_.plain()) return space.first(kFirstResponseReadBytes);
  return space;
}

net::Task<bool> Session::read_response_head_phase(bool& retryable_failure) {
  begin_response_head(net::Clock::now());
  co_return co_await read_rest_of_response_head(retryable_failure, /*first_read_waits=*/true);
}

net::Task<bool> Session::read_rest_of_response_head(bool& retryable_failure, bool first_read_waits) {
  ByteBuffer& buffer = upstream_->buffer;
  ResponseHeadStep step = parse_response_head_step();
  while (step == ResponseHeadStep::kNeedBytes) {
    net::IoResult read;
    if (first_read_waits && upstream_->stream.plain()) {
      // The first read waits for the response instead of trying a recv() that cannot succeed
      // yet: the response can only arrive after the request just sent, so its edge is to come.
      auto [read_error, read_bytes] = co_await net::read_after_wait(upstream_->stream.socket(), buffer.writable());
      read = net::IoResult{read_error, read_bytes};
    } else {
      read = co_await net::read_some(upstream_->stream, buffer.writable());
    }
    first_read_waits = false;
    step = response_head_bytes(read, retryable_failure);
  }
  co_return step == ResponseHeadStep::kComplete;
}

Session::ResponsePlan Session::prepare_response_phase() {
  ResponsePlan plan;
  const http::BodyFraming framing = response_.framing;
  plan.chunked_to_client = framing == http::BodyFraming::kChunked ||
                           (framing == http::BodyFraming::kUntilClose && request_.version_minor == 1);
  plan.close = !client_connection_may_continue() ||
               (framing == http::BodyFraming::kUntilClose && !plan.chunked_to_client);
  build_response_head(plan.chunked_to_client, plan.close);
  copy_connection_options(response_.connection_names_fields, response_.fields, response_connection_options_);
  if (ctx_.grpc) {
    // A "Trailers-Only" answer carries its status in the head; trailers, when they come, win.
    if (const http::HeaderField* field = response_.fields.find("grpc-status")) {
      ctx_.grpc_status = grpc_status_of(field->value);
    }
  }
  ByteBuffer& buffer = upstream_->buffer;
  buffer.consume(upstream_head_size_);
  ctx_.status = response_.status;
  ctx_.response_started = true;
  // No body, or all of it came with the head (small responses): one gather write, no streaming.
  if (framing == http::BodyFraming::kNone) {
    plan.whole_body = true;
  } else if (framing == http::BodyFraming::kContentLength && buffer.readable_size() >= response_.content_length) {
    plan.whole_body = true;
    plan.body_length = static_cast<std::size_t>(response_.content_length);
  }
  return plan;
}

std::array<asio::const_buffer, 2> Session::whole_response_parts(const ResponsePlan& plan) {
  return {asio::buffer(head_out_.view()),
          asio::buffer(upstream_->buffer.readable().data(), plan.body_length)};
}

StreamResult Session::whole_response_written(const net::IoResult& written, const ResponsePlan& plan) {
  if (written.error) return StreamResult{StreamOutcome::kSinkError, written.error, 0};
  upstream_->buffer.consume(plan.body_length);
  return StreamResult{StreamOutcome::kDone, {}, plan.body_length};
}

net::Task<StreamResult> Session::stream_response_phase(const ResponsePlan& plan) {
  ByteBuffer& buffer = upstream_->buffer;
  switch (response_.framing) {
    case http::BodyFraming::kContentLength:
      co_return co_await forward_fixed_body(upstream_->stream, buffer, client_, response_.content_length,
                                            head_out_.view(), &worker_.splice_pipes());
    case http::BodyFraming::kChunked: {
      response_decoder_.reset();
      const StreamResult result = co_await forward_chunked_body(
          upstream_->stream, buffer, client_, response_decoder_, head_out_.view(),
          TrailerFilter{response_connection_options_, ctx_.header_plan});
      if (ctx_.grpc && result.outcome == StreamOutcome::kDone) note_grpc_trailers();
      co_return result;
    }
    case http::BodyFraming::kUntilClose:
      co_return co_await forward_until_close(upstream_->stream, buffer, client_, plan.chunked_to_client,
                                             head_out_.view());
    case http::BodyFraming::kNone:
      break;
  }
  assert(false && "a bodiless response is written whole");
  co_return StreamResult{};
}

bool Session::response_sent(const StreamResult& result, const ResponsePlan& plan) {
  ctx_.bytes_out = head_out_.size() + result.body_bytes;
  if (result.outcome != StreamOutcome::kDone) {
    if (!result.wrote && (result.outcome == StreamOutcome::kBadFraming || result.outcome == StreamOutcome::kTooLarge)) {
      // The fault was found before any byte reached the client (a malformed chunk in the first
      // read): answer it like any other bad upstream response.
      ctx_.response_started = false;
      fail(ErrorKind::kBadUpstreamResponse, "malformed chunked body from the upstream");
      ctx_.local_reply.close = true;
      release_upstream(false);
      return false;
    }
    // A truncated or broken upstream body must reach the client as a truncation (aborted
    // connection), never as a clean end.
    release_upstream(false);
    close_client();
    return false;
  }
  // A connection that carried a WebSocket handshake is never pooled, whatever the answer was; nor
  // one whose request the upstream answered before its end (a full-duplex exchange cut short).
  const bool reusable = response_.keep_alive && response_.framing != http::BodyFraming::kUntilClose &&
                        upstream_->buffer.empty() && !ctx_.websocket && !ctx_.body_unread;
  ctx_.ended = net::Clock::now();
  release_upstream(reusable);
  return !plan.close && !ctx_.body_unread;
}

void Session::count_request() {
  ctx_.metrics_counted = true;
  const observe::RouteId metrics_route = ctx_.binding != nullptr ? ctx_.binding->metrics_route : observe::kNoRoute;
  observe::WorkerMetrics& metrics = worker_.metrics();
  metrics.record_sizes(metrics_route, ctx_.bytes_in, ctx_.bytes_out);
  metrics.request_finished(metrics_route, method_label(ctx_.method_kind), ctx_.status,
                           std::chrono::duration_cast<std::chrono::microseconds>(ctx_.end_time() - ctx_.started));
  metrics.set_pool_idle(worker_.pool().idle_count());
  // A gRPC call whose status never arrived (no grpc-status, a broken stream) counts as UNKNOWN.
  if (ctx_.grpc) {
    metrics.record_grpc_status(metrics_route, ctx_.grpc_status >= 0 ? static_cast<std::uint32_t>(ctx_.grpc_status)
                                                                    : static_cast<std::uint32_t>(http::GrpcStatus::kUnknown));
  }
}

void Session::log_phase() {
  // Counted before the line is written: whoever has seen the line can also see the count. A
  // WebSocket handshake was counted when its 101 went out (the tunnel has metrics of its own).
  if (!ctx_.metrics_counted) count_request();
  export_span();
  if (!observe::access_log_enabled()) return;  // the record below exists only for the line
  // Sampling first: a line left out costs no record. An error as is_error_record() says: 5xx, or
  // refused by a policy.
  if (!observe::access_line_kept(ctx_.correlation_id, ctx_.status >= 500 || ctx_.rejection.has_value())) return;
  observe::AccessRecord record;
  record.correlation_id = ctx_.correlation_id;
  record.method = ctx_.method;
  record.path = ctx_.target.path;
  if (ctx_.match.route != nullptr) record.route = ctx_.match.route->spec->path;
  if (ctx_.upstream != nullptr) record.upstream = ctx_.upstream->spec->name;
  if (ctx_.target_choice != nullptr) record.target = ctx_.target_choice->authority;
  record.client_address = ctx_.client_ip_text.empty() ? std::string_view(client_address_) : ctx_.client_ip_text;
  record.client_name = ctx_.client_name;
  if (ctx_.has_local_reply) record.error = to_string(ctx_.error_kind);
  record.status = ctx_.status;
  record.duration_ms =
      std::chrono::duration<double, std::milli>(ctx_.end_time() - ctx_.started).count();
  record.bytes_in = ctx_.bytes_in;
  record.bytes_out = ctx_.bytes_out;
  const std::array<char, 32> trace_id_hex = observe::trace_id_hex(ctx_.trace_id);
  record.trace_id = std::string_view(trace_id_hex.data(), trace_id_hex.size());
  record.protocol = http2_stream_ ? "HTTP/2" : request_.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  record.attempts = ctx_.attempts;
  if (ctx_.upstream_latency.count() > 0) {
    record.upstream_latency_ms = std::chrono::duration<double, std::milli>(ctx_.upstream_latency).count();
  }
  if (ctx_.upstream != nullptr) {
    if (const auto& breaker = ctx_.runtime->controls(ctx_.upstream->index).breaker) {
      record.breaker = upstream::to_string(breaker->state());
    }
  }
  record.rate_limit = ctx_.rate_limit_decision;
  if (ctx_.rejection) {
    record.rejected_by = observe::policy_of(*ctx_.rejection);
    record.reject_reason = observe::reason_of(*ctx_.rejection);
    record.refused = true;
  }
  record.tunnel_end = ctx_.tunnel_end;
  record.grpc_status = ctx_.grpc_status;
  record.headers = ctx_.logged_headers;
  observe::write_kept_access_log(record, log_scratch_);
}

void Session::export_span() {
  // tracing.otlp: one server span per request of a sampled trace, handed to the exporter's
  // thread (it never blocks: a full queue drops the span and counts it).
  observe::SpanExporter* exporter = observe::process_span_exporter();
  if (exporter == nullptr || (ctx_.trace_flags & observe::kTraceFlagSampled) == 0) return;
  observe::SpanRecord span;
  span.trace_id = ctx_.trace_id;
  span.span_id = ctx_.span_id;
  if (ctx_.has_parent_span) span.parent_span_id = ctx_.parent_span_id;
  const std::string_view route = ctx_.match.route != nullptr ? std::string_view(ctx_.match.route->spec->path) : "";
  span.name.assign(ctx_.method).append(" "sv).append(route.empty() ? std::string_view("(no route)") : route);
  const auto now = ctx_.end_time();
  span.end_time = std::chrono::system_clock::now();
  span.start_time = span.end_time - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - ctx_.started);
  span.method = ctx_.method;
  span.path = ctx_.target.path;
  span.route = route;
  span.status = ctx_.status;
  span.client_address = ctx_.client_ip_text.empty() ? client_address_ : ctx_.client_ip_text;
  if (ctx_.upstream != nullptr) span.upstream = ctx_.upstream->spec->name;
  if (ctx_.target_choice != nullptr) span.target = ctx_.target_choice->authority;
  span.correlation_id = ctx_.correlation_id;
  if (ctx_.has_local_reply && ctx_.status >= 500) {
    span.error = true;
    span.error_message = to_string(ctx_.error_kind);
  }
  exporter->enqueue(std::move(span));
}

// ─── helpers ────────────────────────────────────────────────────────────────────────────────

void Session::fail(ErrorKind kind, std::string_view message) {
  // Every timeout answer is counted here, by the deadline that passed.
  switch (kind) {
    case ErrorKind::kUpstreamTimeout:
      worker_.metrics().record_timeout(timeout_kind_ == TimeoutKind::kUpstreamConnect
                                           ? observe::TimeoutKind::kConnect
                                           : observe::TimeoutKind::kUpstreamResponse);
      break;
    case ErrorKind::kRequestTimeout: worker_.metrics().record_timeout(observe::TimeoutKind::kRequest); break;
    case ErrorKind::kClientTimeout: worker_.metrics().record_timeout(observe::TimeoutKind::kClientBody); break;
    default: break;
  }
  // Every body-limit refusal (known length, or a chunked body cut off) is counted here.
  if (kind == ErrorKind::kPayloadTooLarge) worker_.metrics().record_rejection(observe::Rejection::kLimitsBodyTooLarge);
  ctx_.has_local_reply = true;
  ctx_.error_kind = kind;
  ctx_.local_reply.status = status_for(kind);
  ctx_.extra_headers.clear();
  ctx_.local_reply.extra_headers = {};
  ctx_.local_reply.violations_json = {};
  ctx_.failure_message.assign(message);
  ctx_.local_reply.message = ctx_.failure_message;
}

void Session::reject(observe::Rejection rejection, const policy::Verdict& verdict) {
  ctx_.rejection = rejection;
  if (verdict.kind != ErrorKind::kInternal) worker_.metrics().record_rejection(rejection);
  fail_with(verdict);
}

void Session::record_upstream_outcome(bool success) {
  observe::UpstreamOutcome outcome = observe::UpstreamOutcome::kSuccess;
  if (!success) {
    if (!ctx_.has_local_reply) return;  // the client went away: not the upstream's doing
    switch (ctx_.error_kind) {
      case ErrorKind::kUpstreamConnectFailed: outcome = observe::UpstreamOutcome::kConnectError; break;
      case ErrorKind::kUpstreamTimeout:
      case ErrorKind::kRequestTimeout: outcome = observe::UpstreamOutcome::kTimeout; break;
      case ErrorKind::kUpstreamReset: outcome = observe::UpstreamOutcome::kReset; break;
      case ErrorKind::kBadUpstreamResponse: outcome = observe::UpstreamOutcome::kBadResponse; break;
      default: return;  // refused before any upstream exchange (egress, body)
    }
  }
  observe::WorkerMetrics& metrics = worker_.metrics();
  metrics.record_upstream_request(ctx_.runtime->metrics_upstream(ctx_.upstream->index), outcome);
  if (ctx_.target_index >= 0) {
    metrics.record_target_request(
        ctx_.runtime->metrics_target(ctx_.upstream->index, static_cast<std::size_t>(ctx_.target_index)), outcome);
  }
}

net::Task<bool> Session::serve_builtin(BuiltinEndpoint endpoint) {
  ctx_.target.path.assign(request_.target);  // for the log, before the head's bytes are released
  consume_request_head();
  std::string body;
  std::uint16_t status = 200;
  std::string_view content_type = "application/json";
  HealthFacts facts{worker_.stopping(), worker_.index(), worker_.session_count(), worker_.pool().idle_count()};
  if (ctx_.runtime->redis_endpoint() && worker_.registry().rate_limit_degraded_workers() > 0) {
    facts.rate_limit = "DEGRADED";
  }
  if (endpoint == BuiltinEndpoint::kDeep) facts.last_reload_error = worker_.registry().last_reload_error();
  switch (endpoint) {
    case BuiltinEndpoint::kMetrics:
      worker_.registry().render_prometheus(body);
      content_type = "text/plain; version=0.0.4; charset=utf-8";
      break;
    case BuiltinEndpoint::kLive: status = render_liveness(body); break;
    case BuiltinEndpoint::kReady: status = render_readiness(*ctx_.runtime, facts, body); break;
    case BuiltinEndpoint::kDeep: status = render_deep_health(*ctx_.runtime, facts, body); break;
    case BuiltinEndpoint::kNone: break;
  }
  const bool close = must_close_after_local_answer();
  head_out_.clear();
  {
    http::HeadWriter head(head_out_);
    head.status_line(status);
    head.append("Content-Type: "sv);
    head.append(content_type);
    head.append("\r\nCache-Control: no-store\r\nContent-Length: "sv);
    head.decimal(body.size());
    head.append("\r\n"sv);
    end_gateway_head(head, ctx_.correlation_id, {}, close, request_.version_minor);
  }
  if (request_.method == http::Method::kHead) body.clear();
  std::array<asio::const_buffer, 2> parts{asio::buffer(head_out_.view()), asio::buffer(body)};
  ctx_.status = status;
  ctx_.response_started = true;
  auto written = co_await net::write_all(client_, parts);
  ctx_.bytes_out = written.bytes;
  co_return !close && !written.error;
}

void Session::fail_with(const policy::Verdict& verdict) {
  fail(verdict.kind, verdict.message);
  ctx_.extra_headers = verdict.extra_headers;
  ctx_.local_reply.extra_headers = ctx_.extra_headers;
}

net::Task<bool> Session::send_local_reply() {
  if (!ctx_.has_local_reply || ctx_.response_started || !client_.is_open()) co_return false;
  LocalReply reply = ctx_.local_reply;
  if (ctx_.binding != nullptr && ctx_.match.route != nullptr) {
    // The gateway's own answers on a route carry its CORS fields (a browser can read the error)
    // and its security headers, like proxied responses.
    const policy::HeaderPlan* plan =
        ctx_.header_plan != nullptr ? ctx_.header_plan : &ctx_.binding->header_plan_for(ctx_.binding->upstream->index);
    if (!ctx_.cors_headers.empty() || !plan->security_fields().empty()) {
      // A refused preflight does not tell the CORS policy (methods, headers, max age).
      if (!ctx_.preflight) ctx_.extra_headers.append(ctx_.cors_headers);
      {
        http::HeadWriter extra(ctx_.extra_headers);  // the string holds its bytes once this closes
        plan->append_security_headers(downstream_tls_, [](std::string_view) { return false; }, extra);
      }
      reply.extra_headers = ctx_.extra_headers;
    }
  }
  reply.head_only = request_.method == http::Method::kHead;
  if (ctx_.grpc) {
    // A gRPC client reads only grpc-status: the answer's meaning goes there (the log and the HTTP
    // metrics keep the status it stands for, and the error kind).
    reply.grpc = true;
    reply.grpc_status = grpc_status_for(ctx_.error_kind);
    ctx_.grpc_status = static_cast<int>(reply.grpc_status);
  }
  // The gateway's own answer to a WebSocket handshake closes too: the client may already speak
  // the protocol it asked for, and those bytes must never be read as a request.
  reply.close = reply.close || must_close_after_local_answer() || ctx_.websocket;
  reply.request_version_minor = request_.version_minor;
  serialize_local_reply(reply, ctx_.correlation_id, head_out_);
  ctx_.status = reply.status;
  ctx_.response_started = true;
  net::IoResult written = net::write_now(client_, head_out_.view());
  if (written.would_block()) written = co_await net::write_rest(client_, head_out_.view(), written.bytes);
  ctx_.bytes_out = written.bytes;
  co_return !reply.close && !written.error;
}

void Session::build_upstream_request_head() {
  copy_connection_options(request_.connection_names_fields, request_.fields, request_connection_options_);
  head_out_.clear();
  http::HeadWriter head(head_out_);
  head.append(request_.method_text);
  head.append(" "sv);
  head.append(ctx_.forward_target);
  head.append(" HTTP/1.1\r\n"sv);
  const config::RouteSpec& route = *ctx_.match.route->spec;
  // preserveHost keeps the client's Host; an HTTP/1.0 request may have none, and an HTTP/1.1
  // upstream must get one (found by proxy_replay_fuzz): the target's then.
  if (route.preserve_host && !request_.host.empty()) {
    head.field("Host", request_.host);
    ctx_.host_value_at = 0;
  } else {
    // Remember where the target's Host value is: a retry on another target rewrites it in place.
    ctx_.host_value_at = head.size() + 6;  // after "Host: "
    head.field("Host", ctx_.target_choice->host_header);
  }
  const policy::AuthPolicy& auth = ctx_.runtime->auth();
  const bool strip_credentials = auth.strips_credentials(route);
  // With request operations each forwarded field goes through the plan's edits (kept, renamed or
  // dropped), and the fields they add follow.
  const policy::HeaderPlan* plan = ctx_.header_plan;
  const policy::HeaderEdits* edits = plan != nullptr && plan->has_request_ops() ? &plan->request_edits() : nullptr;
  const auto forward_fields = [&](auto&& write_field) {
    for (const http::HeaderField& field : request_.fields) {
      if (skip_request_field(field, request_)) continue;
      if (strip_credentials && auth.strip_field(field.name, route)) continue;  // they end at the gateway
      // The gateway writes its own traceparent below; tracestate goes on only with a valid trace.
      if (field.token == http::HeaderToken::kTraceparent) continue;
      if (!ctx_.forward_tracestate && field.token == http::HeaderToken::kTracestate) continue;
      if (ctx_.runtime->header_rules().drop_field(field.name)) continue;
      write_field(field);
    }
  };
  if (edits == nullptr) {
    forward_fields([&](const http::HeaderField& field) { head.parsed_field(field); });
  } else {
    forward_fields([&](const http::HeaderField& field) { edits->forward(field, head); });
    edits->append_added(ctx_.transform_scratch, gateway_template_values(), head);
  }
  // The client's own X-Forwarded-* are dropped above: the gateway states what it saw. Only a
  // peer listed in security.trustedProxies has its X-Forwarded-For chain kept (and extended).
  head.append("X-Forwarded-For: "sv);
  if (ctx_.peer_trusted) {
    for (const http::HeaderField& field : request_.fields) {
      if (field.token != http::HeaderToken::kXForwardedFor || field.value.empty()) continue;
      head.append(field.value);
      head.append(", "sv);
    }
  }
  head.append(client_address_);
  head.append(downstream_tls_ ? "\r\nX-Forwarded-Proto: https\r\n"sv : "\r\nX-Forwarded-Proto: http\r\n"sv);
  if (!request_.host.empty()) head.field("X-Forwarded-Host", request_.host);
  head.field("X-Correlation-ID", ctx_.correlation_id);
  head.append("traceparent: "sv);
  observe::write_traceparent(head.claim(observe::kTraceparentLength), ctx_.trace_id, ctx_.span_id, ctx_.trace_flags);
  head.append("\r\n"sv);
  if (ctx_.body_buffered) {
    head.append("Content-Length: "sv);
    head.decimal(ctx_.body.size());
    head.append("\r\n"sv);
  } else if (request_.framing == http::BodyFraming::kContentLength) {
    head.append("Content-Length: "sv);
    head.decimal(request_.content_length);
    head.append("\r\n"sv);
  } else if (request_.framing == http::BodyFraming::kChunked) {
    head.append("Transfer-Encoding: chunked\r\n"sv);
  }
  // The client's Connection and Upgrade were dropped with the other hop-by-hop fields; a WebSocket
  // handshake asks this hop for the upgrade again (its Sec-WebSocket-* fields went through above).
  if (ctx_.websocket) head.append("Connection: Upgrade\r\nUpgrade: websocket\r\n"sv);
  head.append("\r\n"sv);
}

void Session::build_response_head(bool chunked_to_client, bool close, bool upgrade) {
  head_out_.clear();
  http::HeadWriter head(head_out_);
  head.status_line(response_.status);
  // For bodiless responses (HEAD, 304) Content-Length describes the resource: keep it as sent. A
  // 101 has no body and no resource: none.
  bool keep_framing = response_.framing == http::BodyFraming::kNone && !upgrade;
  // Response transformations: fields that leak internals dropped, the upstream's CORS fields
  // dropped when the gateway does CORS, then the plan's operations and the security headers.
  const policy::HeaderPlan* plan = ctx_.header_plan;
  const policy::HeaderEdits* edits = plan != nullptr && plan->has_response_ops() ? &plan->response_edits() : nullptr;
  const bool gateway_cors = !ctx_.cors_headers.empty();
  std::uint32_t security_present = 0;  // with edits: which security fields the edited response has
  const auto forward_fields = [&](auto&& write_field) {
    for (const http::HeaderField& field : response_.fields) {
      if (skip_response_field(field, response_, keep_framing)) continue;
      if (plan != nullptr && plan->hides(field)) continue;
      if (gateway_cors && policy::CorsPolicy::owns_response_field(field.name)) continue;
      write_field(field);
    }
  };
  if (edits == nullptr) {
    forward_fields([&](const http::HeaderField& field) { head.parsed_field(field); });
  } else {
    forward_fields([&](const http::HeaderField& field) { security_present |= edits->forward(field, head); });
    security_present |= edits->append_added(ctx_.transform_scratch, gateway_template_values(), head);
  }
  if (plan != nullptr && !plan->security_fields().empty()) {
    // Only where the response has none of its own; HSTS only on a TLS connection (RFC 6797 7.2).
    plan->append_security_headers(/*tls=*/downstream_tls_,
                                  [&](std::string_view name) {
                                    return edits != nullptr ? plan->security_present(security_present, name)
                                                            : response_.fields.find(name) != nullptr;
                                  },
                                  head);
  }
  head.append(ctx_.cors_headers);
  head.field("X-Correlation-ID", ctx_.correlation_id);
  head.append(ctx_.rate_limit_headers);
  if (response_.framing == http::BodyFraming::kContentLength) {
    head.append("Content-Length: "sv);
    head.decimal(response_.content_length);
    head.append("\r\n"sv);
  } else if (chunked_to_client) {
    head.append("Transfer-Encoding: chunked\r\n"sv);
  }
  if (upgrade) {
    // Hop-by-hop, so dropped above; the switch is this hop's too (RFC 6455 4.2.2).
    head.append("Connection: Upgrade\r\nUpgrade: websocket\r\n"sv);
  } else {
    head.append(http::connection_field(close, request_.version_minor));
  }
  head.append("\r\n"sv);
}

void Session::release_upstream(bool reusable) {
  http2_fate_.reset();
  if (!upstream_) return;
  // An h2/h2c upstream's stream is one request's pipe: never pooled.
  if (ctx_.upstream != nullptr && ctx_.upstream->spec->protocol != config::UpstreamProtocol::kHttp1) reusable = false;
  // Target ids are per snapshot: a connection opened under the snapshot just replaced is pooled
  // under the new snapshot's id for the same target; any other must not be pooled, or another
  // target's request could take it.
  bool current_snapshot = ctx_.runtime == worker_.runtime();
  if (!current_snapshot && worker_.runtime()->replaced(ctx_.runtime.get())) {
    const auto& ids = worker_.runtime()->target_ids_from_previous();
    const std::ptrdiff_t new_id = upstream_->target_id < ids.size() ? ids[upstream_->target_id] : -1;
    if (new_id >= 0) {
      upstream_->target_id = static_cast<std::size_t>(new_id);
      current_snapshot = true;
    }
  }
  if (reusable && current_snapshot && !closing_ && upstream_->stream.is_open()) {
    ++upstream_->requests_served;
    const auto& pool_spec = ctx_.upstream->spec->pool;
    worker_.pool().put(std::move(upstream_), ctx_.end_time(), pool_spec.idle_timeout, pool_spec.max_idle);
  }
  worker_.pool().discard(std::move(upstream_));  // closes one not pooled; its buffer's block stays
}

bool Session::client_connection_may_continue() const {
  return request_.keep_alive && !closing_ && !worker_.draining();
}

bool Session::must_close_after_local_answer() const {
  return !client_connection_may_continue() || ctx_.body_unread;
}

bool Session::request_is_idempotent() const {
  return upstream::is_idempotent_method(ctx_.method);  // RFC 9110 9.2.2, one definition (a copy: the head may be gone)
}

}  // namespace flexgate::proxy
