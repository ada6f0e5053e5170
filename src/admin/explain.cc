#include "admin/explain.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <span>

#include "core/json.h"
#include "http/head_writer.h"
#include "http/header_token.h"
#include "http/parser.h"
#include "http/websocket.h"
#include "net/address.h"
#include "observe/correlation_id.h"
#include "observe/trace_context.h"
#include "policy/cors/cors_policy.h"
#include "policy/headers/header_plan.h"
#include "policy/headers/header_template.h"
#include "policy/headers/path_rewrite.h"
#include "policy/ipfilter/cidr_list.h"
#include "policy/ipfilter/client_address.h"
#include "proxy/health.h"
#include "proxy/local_reply.h"
#include "router/explain.h"
#include "router/normalize.h"
#include "upstream/balance/stable_hash.h"
#include "upstream/balance/target_mask.h"
#include "upstream/retry/retry_policy.h"

namespace flexgate::admin {
namespace {

using Millis = std::chrono::milliseconds;

// ─── words ─────────────────────────────────────────────────────────────────────────────────

// "250ms", "5s", "2m", "1h": the config's own spelling.
std::string duration_text(Millis duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// "10mb", "512kb", "100b" (binary multiples, as the config reads them).
std::string size_text(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "gb";
  if (bytes != 0 && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "mb";
  if (bytes != 0 && bytes % (1ull << 10) == 0) return std::to_string(bytes >> 10) + "kb";
  return std::to_string(bytes) + "b";
}

std::string joined(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string conditions_text(const config::FailureConditions& conditions) {
  std::vector<std::string> words;
  if (conditions.connect_failure) words.emplace_back("connect-failure");
  if (conditions.timeout) words.emplace_back("timeout");
  if (conditions.reset) words.emplace_back("reset");
  if (conditions.any_5xx) words.emplace_back("5xx");
  for (const std::uint16_t status : conditions.statuses) words.push_back(std::to_string(status));
  return joined(words);
}

std::string_view strategy_name(config::LoadBalancerStrategy strategy) {
  switch (strategy) {
    case config::LoadBalancerStrategy::kRoundRobin:
      return "round_robin";
    case config::LoadBalancerStrategy::kLeastRequest:
      return "least_request";
    case config::LoadBalancerStrategy::kLatency:
      return "latency";
    case config::LoadBalancerStrategy::kConsistentHash:
      return "consistent_hash";
  }
  return "least_request";
}

std::string_view priority_name(config::RoutePriority priority) {
  switch (priority) {
    case config::RoutePriority::kCritical:
      return "critical";
    case config::RoutePriority::kNormal:
      return "normal";
    case config::RoutePriority::kLow:
      return "low";
  }
  return "normal";
}

std::string_view auth_mode_name(config::AuthMode mode) {
  switch (mode) {
    case config::AuthMode::kNone:
      return "none";
    case config::AuthMode::kOptional:
      return "optional";
    case config::AuthMode::kRequired:
      return "required";
  }
  return "none";
}

// The request's Host without its port and IPv6 brackets, as the lifecycle routes on it.
std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const std::size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// The authority of an absolute-form URL ("http://a.example:8080/x" -> "a.example:8080"), else "".
std::string_view absolute_authority(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || url.starts_with('/')) return {};
  std::string_view rest = url.substr(scheme + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

// LoadShedder's threshold arithmetic (policy/loadshed/load_shedder.cc), for the admission step.
std::uint64_t fraction_of(std::uint64_t limit, double fraction) {
  constexpr std::uint64_t kMillion = 1'000'000;
  const double clamped = fraction >= 0 ? std::min(fraction, 1.0) : 0.0;
  const auto ppm = static_cast<std::uint64_t>(std::llround(clamped * 1e6));
  return limit / kMillion * ppm + limit % kMillion * ppm / kMillion;
}

// "n:alice" at the end of a bucket key -> "client alice" (see RateLimitPolicy: kind:value).
std::string bucket_text(std::string_view key, std::string_view header) {
  const std::size_t separator = key.rfind('\x1f');
  const std::string_view value = separator == std::string_view::npos ? key : key.substr(separator + 1);
  if (value.starts_with("n:")) return "client " + std::string(value.substr(2));
  if (value.starts_with("h:")) return "header " + std::string(header) + "=" + std::string(value.substr(2));
  if (value.starts_with("i:")) return "ip " + std::string(value.substr(2));
  return std::string(value);
}

// Builds the raw request head the explained request stands for. HTTP/1.0 when no Host is known,
// so the strict parser accepts a request without one (routes with a host then do not match).
std::string raw_head(const ExplainQuery& query, std::string_view implied_host,
                     std::string_view skip_field = {}) {
  bool host_given = false;
  for (const auto& [name, value] : query.headers) host_given = host_given || http::iequals(name, "Host");
  const bool has_host = host_given || !implied_host.empty();
  std::string raw = query.method + " " + query.url + (has_host ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  if (!host_given && !implied_host.empty()) raw.append("Host: ").append(implied_host).append("\r\n");
  for (const auto& [name, value] : query.headers) {
    if (!skip_field.empty() && http::iequals(name, skip_field)) continue;
    raw.append(name).append(": ").append(value).append("\r\n");
  }
  raw += "\r\n";
  return raw;
}

// Parses `raw` into `head`; "" when complete, else why the gateway would refuse it (and `status`).
std::string parse_head(const std::string& raw, const http::Limits& limits, http::RequestHead& head,
                       unsigned& status) {
  const http::ParseOutcome parsed = http::parse_request_head(raw, limits, head);
  if (parsed.status == http::ParseStatus::kError) {
    status = http::status_for(parsed.error);
    return std::string(http::to_string(parsed.error));
  }
  if (parsed.status != http::ParseStatus::kComplete || parsed.consumed != raw.size()) {
    status = 400;
    return "a header value contains CR or LF";
  }
  return {};
}

// ─── the steps ─────────────────────────────────────────────────────────────────────────────

// Everything the steps share about the matched request.
struct Context {
  const proxy::Runtime& runtime;
  const ExplainQuery& query;
  const http::RequestHead& head;
  const policy::RequestView& view;
  const config::RouteSpec& route;
  const proxy::RouteBinding& binding;
  std::size_t route_index = 0;
  std::string client_name;  // the authenticated client, for the rate-limit key
};

PolicyStep refuse_step(PolicyStep step, const policy::Verdict& verdict) {
  step.verdict = StepVerdict::kRefuse;
  step.status = proxy::status_for(verdict.kind);
  step.summary = verdict.message;
  return step;
}

// Session::websocket_phase: only for a request with an Upgrade field.
PolicyStep websocket_step(const Context& ctx) {
  PolicyStep step{.name = "websocket"};
  step.facts = {{"websocket", ctx.route.websocket ? "true" : "false"}};
  if (!http::asks_for_websocket(ctx.head)) {
    step.verdict = StepVerdict::kPass;
    step.summary = "Upgrade is not websocket: dropped (hop-by-hop), served as HTTP/1.1";
    return step;
  }
  if (!ctx.route.websocket) {
    return refuse_step(std::move(step), policy::Verdict::deny(ErrorKind::kForbidden,
                                                              "WebSocket upgrades are not enabled on this route"));
  }
  if (const http::WebSocketRequestError error = http::check_websocket_request(ctx.head);
      error != http::WebSocketRequestError::kNone) {
    const ErrorKind kind = error == http::WebSocketRequestError::kUnsupportedVersion ? ErrorKind::kUpgradeRequired
                                                                                      : ErrorKind::kBadRequest;
    return refuse_step(std::move(step), policy::Verdict::deny(kind, std::string(http::to_string(error))));
  }
  step.verdict = StepVerdict::kApplies;
  step.summary = "a WebSocket handshake: forwarded with Connection: Upgrade; a 101 opens a tunnel (idle timeout " +
                 std::to_string(ctx.binding.timeouts.idle.count()) + " ms)";
  return step;
}

PolicyStep admission_step(const Context& ctx) {
  PolicyStep step{.name = "admission"};
  const config::ProxySettings& proxy = ctx.runtime.config().proxy;
  const std::string priority(priority_name(ctx.route.priority));
  step.facts = {{"priority", priority}, {"maxInFlight", std::to_string(proxy.max_in_flight)}};
  if (proxy.max_in_flight == 0) {
    step.verdict = StepVerdict::kPass;
    step.summary = "priority " + priority + "; nothing is shed (proxy.maxInFlight is 0)";
    return step;
  }
  const std::uint64_t hard = proxy.max_in_flight;
  const std::uint64_t normal = fraction_of(hard, proxy.shedding.normal_at);
  const std::uint64_t low = std::min(fraction_of(hard, proxy.shedding.low_at), normal);
  const std::uint64_t at = ctx.route.priority == config::RoutePriority::kCritical ? hard
                           : ctx.route.priority == config::RoutePriority::kLow    ? low
                                                                                  : normal;
  step.facts.emplace_back("shedAt", std::to_string(at));
  step.verdict = StepVerdict::kApplies;
  step.summary = "priority " + priority + ": 503 while " + std::to_string(at) + " of proxy.maxInFlight " +
                 std::to_string(hard) + " requests are in flight";
  return step;
}

PolicyStep body_limit_step(const Context& ctx) {
  PolicyStep step{.name = "bodyLimit"};
  const std::uint64_t limit = ctx.binding.max_body_size;
  step.facts = {{"limit", size_text(limit)}};
  if (ctx.head.framing == http::BodyFraming::kContentLength) {
    step.facts.emplace_back("contentLength", std::to_string(ctx.head.content_length));
    if (ctx.head.content_length > limit) {
      step.verdict = StepVerdict::kRefuse;
      step.status = 413;
      step.summary = "Content-Length " + std::to_string(ctx.head.content_length) + " is over the limit of " +
                     size_text(limit);
      return step;
    }
    step.verdict = StepVerdict::kPass;
    step.summary =
        "Content-Length " + std::to_string(ctx.head.content_length) + " is within " + size_text(limit);
  } else if (ctx.head.framing == http::BodyFraming::kChunked) {
    step.verdict = StepVerdict::kApplies;
    step.summary = "a chunked body is cut off (413) once it passes " + size_text(limit);
  } else {
    step.verdict = StepVerdict::kPass;
    step.summary = "no body; a body may be up to " + size_text(limit);
  }
  return step;
}

PolicyStep headers_step(const Context& ctx) {
  PolicyStep step{.name = "headers"};
  const policy::HeaderRules& rules = ctx.runtime.header_rules();
  const bool drop = rules.underscores() == policy::UnderscorePolicy::kDrop;
  step.facts = {{"underscoreHeaders", drop ? "drop" : "reject"}};
  if (const policy::Verdict verdict = rules.check_headers(ctx.head); !verdict.allowed) {
    return refuse_step(std::move(step), verdict);
  }
  std::vector<std::string> dropped;
  for (const http::HeaderField& field : ctx.head.fields) {
    if (rules.drop_field(field.name)) dropped.emplace_back(field.name);
  }
  step.verdict = StepVerdict::kPass;
  if (dropped.empty()) {
    step.summary = "no field name has an underscore";
  } else {
    step.facts.emplace_back("dropped", joined(dropped));
    step.summary = "fields with '_' are dropped, not refused: " + joined(dropped);
  }
  return step;
}

PolicyStep ip_filter_step(const Context& ctx, const std::string& client_source) {
  PolicyStep step{.name = "ipFilter"};
  const std::string client = ctx.view.client.to_string();
  step.facts = {{"client", client + " (" + client_source + ")"},
                {"allowFrom", ctx.route.allow_from.empty() ? "-" : joined(ctx.route.allow_from)},
                {"denyFrom", ctx.route.deny_from.empty() ? "-" : joined(ctx.route.deny_from)}};
  if (!ctx.binding.client_filter) {
    step.verdict = StepVerdict::kSkip;
    step.summary = "no allowFrom or denyFrom on this route";
    return step;
  }
  if (const policy::Verdict verdict = ctx.binding.client_filter->check(ctx.view.client); !verdict.allowed) {
    return refuse_step(std::move(step), verdict);
  }
  step.verdict = StepVerdict::kPass;
  step.summary = "client " + client + " is allowed";
  return step;
}

// Whether the route's body checks look at this request (RouteValidator's rule).
bool validated(const http::RequestHead& head) {
  return head.method == http::Method::kPost || head.method == http::Method::kPut ||
         head.method == http::Method::kPatch || head.framing != http::BodyFraming::kNone;
}

PolicyStep content_type_step(const Context& ctx) {
  PolicyStep step{.name = "contentType"};
  const bool listed = ctx.route.validate && !ctx.route.validate->content_types.empty();
  if (!ctx.binding.validator || (!listed && !ctx.binding.validator->needs_body())) {
    step.verdict = StepVerdict::kSkip;
    step.summary = "no validate.contentTypes on this route";
    return step;
  }
  step.facts = {{"contentTypes", listed ? joined(ctx.route.validate->content_types) : "any"}};
  const http::HeaderField* given = ctx.head.fields.find(http::HeaderToken::kContentType);
  step.facts.emplace_back("contentType", given != nullptr ? std::string(given->value) : "-");
  if (!validated(ctx.head)) {
    step.verdict = StepVerdict::kSkip;
    step.summary = std::string(ctx.head.method_text) + " without a body is not checked";
    return step;
  }
  if (const policy::Verdict verdict = ctx.binding.validator->check_content_type(ctx.view); !verdict.allowed) {
    return refuse_step(std::move(step), verdict);
  }
  step.verdict = StepVerdict::kPass;
  step.summary = listed ? "Content-Type " + std::string(given != nullptr ? given->value : "") + " is accepted"
                        : "any Content-Type is accepted";
  return step;
}

// "key \"alice\" must sign requests ..." -> "alice" (the name is in the verdict, never the key).
std::string key_name_in(std::string_view message) {
  constexpr std::string_view kPrefix = "key \"";
  if (!message.starts_with(kPrefix)) return {};
  const std::size_t close = message.find('"', kPrefix.size());
  return close == std::string_view::npos
             ? std::string()
             : std::string(message.substr(kPrefix.size(), close - kPrefix.size()));
}

PolicyStep auth_step(Context& ctx) {
  PolicyStep step{.name = "auth"};
  const policy::AuthPolicy& auth = ctx.runtime.auth();
  const config::AuthSpec& spec = ctx.runtime.config().security.auth;
  const config::AuthMode mode = auth.mode_for(ctx.route);
  step.facts = {{"mode", std::string(auth_mode_name(mode))}};
  if (mode == config::AuthMode::kNone) {
    step.verdict = StepVerdict::kSkip;
    step.summary =
        spec.present ? "auth: none on this route" : "no security.auth section: nothing is authenticated";
    return step;
  }
  const bool signing = auth.needs_body(ctx.route);
  step.facts.emplace_back("type", spec.type);
  step.facts.emplace_back("header", spec.header);
  bool key_given = false;
  bool signature_given = false;
  for (const auto& [name, value] : ctx.query.headers) {
    key_given = key_given || http::iequals(name, spec.header);
    signature_given = signature_given || (signing && http::iequals(name, spec.signature_header));
  }
  // A signature that verifies would be remembered against replays, and the real request refused
  // later: explain checks everything but the signature itself, on a head without it.
  std::string raw;
  http::RequestHead unsigned_head;
  policy::RequestView view = ctx.view;
  if (signature_given) {
    raw = raw_head(ctx.query, ctx.head.host, spec.signature_header);
    unsigned status = 0;
    if (parse_head(raw, ctx.runtime.limits(), unsigned_head, status).empty()) {
      view.head = &unsigned_head;
    } else {
      signature_given = false;
    }
  }
  std::string_view client_name;
  const policy::Verdict verdict =
      auth.check(view, ctx.route, client_name, static_cast<std::int64_t>(std::time(nullptr)));
  if (verdict.allowed) {
    ctx.client_name.assign(client_name);
    step.verdict = StepVerdict::kPass;
    if (client_name.empty()) {
      step.facts.emplace_back("key", "-");
      step.summary = "optional: anonymous (no " + spec.header + " field)";
    } else {
      step.facts.emplace_back("key", "known");
      step.facts.emplace_back("client", ctx.client_name);
      step.summary = mode == config::AuthMode::kRequired ? "required: " : "optional: ";
      step.summary += spec.header + " is the key of client \"" + ctx.client_name + "\"";
    }
    return step;
  }
  if (signature_given && verdict.reason == "missing_signature") {
    ctx.client_name = key_name_in(verdict.message);
    step.verdict = StepVerdict::kApplies;
    step.facts.emplace_back("key", "known");
    step.facts.emplace_back("client", ctx.client_name);
    step.facts.emplace_back("signature", "present, not verified");
    step.summary =
        std::string(mode == config::AuthMode::kRequired ? "required" : "optional") + ": " + spec.header +
        " is the key of client \"" + ctx.client_name + "\"; its signature (" + spec.signature_header +
        ") decides, and explain does not verify it (a verified signature is remembered against replays)";
    return step;
  }
  step.facts.emplace_back("key",
                          key_given ? (verdict.reason == "unknown_key" ? "not recognized" : "given") : "-");
  if (signing) step.facts.emplace_back("signature", signature_given ? "present" : "-");
  return refuse_step(std::move(step), verdict);
}

PolicyStep rate_limit_step(const Context& ctx) {
  PolicyStep step{.name = "rateLimit"};
  const policy::RateLimitPolicy& policy = ctx.runtime.rate_limit();
  if (!policy.active_for(ctx.route_index)) {
    step.verdict = StepVerdict::kSkip;
    step.summary = "no rate limit applies to this route";
    return step;
  }
  const config::RateLimitSettings& settings = ctx.runtime.config().rate_limit;
  step.facts = {{"backend", settings.backend}};
  if (settings.backend == "redis") step.facts.emplace_back("failMode", settings.fail_mode);
  // The levels in RateLimitPolicy::build's order; prepare() names this request's buckets.
  std::vector<std::pair<std::string, const config::RateLimitSpec*>> specs;
  if (settings.global) specs.emplace_back("global", &*settings.global);
  for (const config::PerRouteRateLimitSpec& entry : settings.per_route) {
    if (entry.path != ctx.route.path) continue;
    specs.emplace_back("per-route", &entry.limit);
    break;
  }
  if (ctx.route.rate_limit) specs.emplace_back("route", &*ctx.route.rate_limit);
  policy::RateLimitScratch scratch;
  policy.prepare(ctx.view, ctx.route_index, ctx.client_name, {}, scratch);
  for (std::size_t l = 0; l < scratch.count && l < specs.size(); ++l) {
    const config::RateLimitSpec& spec = *specs[l].second;
    RateLimitLevel level;
    level.level = specs[l].first;
    level.max = spec.max;
    level.window = spec.window;
    level.key = spec.key.empty() ? "client" : spec.key;
    const std::string_view header =
        spec.key.starts_with("header:") ? std::string_view(spec.key).substr(7) : "";
    level.bucket = bucket_text(scratch.keys[l], header);
    step.levels.push_back(std::move(level));
  }
  step.verdict = StepVerdict::kApplies;
  step.summary = std::to_string(scratch.count) + (scratch.count == 1 ? " level takes" : " levels take") +
                 " a token (429 when one is empty); explain takes none";
  return step;
}

PolicyStep schema_step(const Context& ctx) {
  PolicyStep step{.name = "schema"};
  if (!ctx.binding.validator || !ctx.binding.validator->needs_body()) {
    step.verdict = StepVerdict::kSkip;
    step.summary = "no validate.jsonSchema on this route";
    return step;
  }
  step.facts = {{"jsonSchema", ctx.route.validate->json_schema}};
  if (!validated(ctx.head)) {
    step.verdict = StepVerdict::kSkip;
    step.summary = std::string(ctx.head.method_text) + " without a body is not checked";
    return step;
  }
  step.verdict = StepVerdict::kApplies;
  step.summary = "the JSON body is checked against " + ctx.route.validate->json_schema +
                 " (400 not JSON, 422 with the violations); explain has no body";
  return step;
}

// ─── forwarding and upstreams ──────────────────────────────────────────────────────────────

// The client's fields as Session::build_upstream_request_head passes them on (in order; views
// into the head), and the ones it drops with why. The plan's request operations work on `kept`.
struct ForwardedFields {
  std::vector<std::pair<std::string_view, std::string_view>> kept;
  std::vector<std::pair<std::string, std::string>> dropped;
  std::string forwarded_for;  // a trusted peer's X-Forwarded-For chain, each ", "-terminated
  bool joins_trace = false;   // one valid traceparent: the gateway continues the client's trace
};

ForwardedFields forwarded_fields(const Context& ctx, bool peer_trusted) {
  ForwardedFields out;
  // Session::identify_request: exactly one valid traceparent joins the client's trace (two are
  // ambiguous); its tracestate goes on only then, and only when every tracestate is valid.
  const http::HeaderField* traceparent = nullptr;
  std::size_t traceparents = 0;
  bool has_tracestate = false;
  bool tracestate_ok = true;
  for (const http::HeaderField& field : ctx.head.fields) {
    if (field.token == http::HeaderToken::kTraceparent) {
      traceparent = &field;
      ++traceparents;
    } else if (field.token == http::HeaderToken::kTracestate) {
      has_tracestate = true;
      tracestate_ok = tracestate_ok && observe::valid_tracestate(field.value);
    }
  }
  out.joins_trace = traceparents == 1 && observe::parse_traceparent(traceparent->value).has_value();
  const bool forward_tracestate = out.joins_trace && has_tracestate && tracestate_ok;

  // Session::build_upstream_request_head's filters, in its order.
  const policy::AuthPolicy& auth = ctx.runtime.auth();
  for (const http::HeaderField& field : ctx.head.fields) {
    using http::HeaderToken;
    std::string why;
    switch (field.token) {
      case HeaderToken::kHost:
        continue;  // shown as the Host
      case HeaderToken::kContentLength:
      case HeaderToken::kExpect:
      case HeaderToken::kXForwardedProto:
      case HeaderToken::kXForwardedHost:
      case HeaderToken::kXCorrelationId:
        why = "set by the gateway";
        break;
      case HeaderToken::kXForwardedFor:
        why = peer_trusted ? "extended by the gateway (trusted peer)"
                           : "replaced by the gateway (peer not trusted)";
        if (peer_trusted && !field.value.empty()) out.forwarded_for.append(field.value).append(", ");
        break;
      default:
        if (http::is_connection_specific(field, ctx.head)) {
          why = "hop-by-hop";
        } else if (auth.strip_field(field.name, ctx.route)) {
          why = "credential (forwardCredentials: false)";
        } else if (field.token == HeaderToken::kTraceparent) {
          why = "replaced by the gateway's (this hop's span)";
        } else if (field.token == HeaderToken::kTracestate && !forward_tracestate) {
          why = "the client's trace is not joined (no single valid traceparent, or a tracestate is invalid)";
        } else if (ctx.runtime.header_rules().drop_field(field.name)) {
          why = "underscore in the name (security.underscoreHeaders: drop)";
        }
    }
    if (why.empty()) {
      out.kept.emplace_back(field.name, field.value);
    } else {
      out.dropped.emplace_back(std::string(field.name), std::move(why));
    }
  }
  return out;
}

ForwardInfo forward_info(const Context& ctx, const router::RouteMatch& match,
                         const router::NormalizedTarget& target, const ForwardedFields& fields) {
  ForwardInfo out;
  out.method.assign(ctx.head.method_text);
  // Session::forward_target_phase: stripPrefix / rewrite, then the regex rewrite, then the query.
  router::build_forward_path(match, target.path, out.path);
  if (const auto& rewrite = ctx.binding.path_rewrite) {
    std::string rewritten;
    switch (rewrite->apply(out.path, rewritten)) {
      case policy::RewriteResult::kRewritten:
        out.path.swap(rewritten);
        out.rewrite = "rewritten";
        break;
      case policy::RewriteResult::kNoMatch:
        out.rewrite = "no-match";
        break;
      case policy::RewriteResult::kInvalid:
        out.path.swap(rewritten);  // shown, never sent
        out.rewrite = "invalid";
        break;
    }
  }
  out.target = out.path;
  if (target.has_query) out.target.append("?").append(target.query);
  const router::CompiledRoute& compiled = *match.route;
  if (ctx.route.rewrite_regex) {
    out.rule = "regex " + ctx.route.rewrite_regex->regex + " -> " + ctx.route.rewrite_regex->replace;
  } else if (!ctx.route.rewrite.empty()) {
    out.rule = "rewrite " +
               (compiled.wildcard ? (compiled.prefix.empty() ? "/" : compiled.prefix) : ctx.route.path) +
               " -> " + ctx.route.rewrite;
  } else if (ctx.route.strip_prefix && compiled.wildcard) {
    out.rule = "stripPrefix " + (compiled.prefix.empty() ? "/" : compiled.prefix);
  } else if (ctx.route.strip_prefix) {
    out.rule = "unchanged (stripPrefix has no effect without /*)";
  } else {
    out.rule = "unchanged";
  }
  out.preserve_host = ctx.route.preserve_host;
  if (out.preserve_host) out.host.assign(ctx.head.host);

  out.dropped = fields.dropped;
  out.added.push_back("X-Forwarded-For: " + fields.forwarded_for +
                      ctx.view.peer.to_string());  // the chain + the peer
  out.added.emplace_back("X-Forwarded-Proto: http");
  if (!ctx.head.host.empty()) out.added.push_back("X-Forwarded-Host: " + std::string(ctx.head.host));
  const http::HeaderField* correlation = ctx.head.fields.find(http::HeaderToken::kXCorrelationId);
  out.added.push_back(correlation != nullptr && observe::is_sane_correlation_id(correlation->value)
                          ? "X-Correlation-ID: " + std::string(correlation->value) + " (the client's)"
                          : "X-Correlation-ID: (a new one)");
  out.added.emplace_back(fields.joins_trace ? "traceparent: (the client's trace, this hop's span)"
                                            : "traceparent: (a new trace)");
  if (ctx.head.framing == http::BodyFraming::kContentLength) {
    out.added.push_back("Content-Length: " + std::to_string(ctx.head.content_length));
  } else if (ctx.head.framing == http::BodyFraming::kChunked) {
    out.added.emplace_back("Transfer-Encoding: chunked");
  }
  if (ctx.route.websocket && ctx.head.has_upgrade && http::asks_for_websocket(ctx.head) &&
      http::check_websocket_request(ctx.head) == http::WebSocketRequestError::kNone) {
    out.added.emplace_back("Connection: Upgrade");
    out.added.emplace_back("Upgrade: websocket");
  }
  return out;
}

// ─── transformations ───────────────────────────────────────────────────────────────────────

// "Name: value\r\n" lines (what the policies append to a head) as pairs.
std::vector<std::pair<std::string, std::string>> field_lines(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const std::size_t end = text.find("\r\n");
    const std::string_view line = text.substr(0, end);
    const std::size_t colon = line.find(": ");
    if (colon != std::string_view::npos) out.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return out;
}

// Where the route's CORS comes from (Runtime::build: the route's `cors`, else the top-level one).
std::string cors_source(const config::RouteSpec& route, const proxy::RouteBinding& binding) {
  if (binding.cors) return route.cors ? "route" : "global";
  return route.cors ? "off" : "none";
}

// Session::cors_phase for an actual request: the fields CorsPolicy::append_response adds.
CorsInfo cors_info(const config::RouteSpec& route, const proxy::RouteBinding& binding,
                   const http::RequestHead& head) {
  CorsInfo out;
  out.source = cors_source(route, binding);
  const http::HeaderField* origin = head.fields.find(std::string_view("Origin"));
  out.has_origin = origin != nullptr;
  if (origin != nullptr) out.origin.assign(origin->value);
  if (!binding.cors) {
    out.summary = out.source == "off" ? "off on this route (cors: false): responses get no CORS field"
                                      : "no CORS on this route: responses get no CORS field";
    return out;
  }
  std::string lines;
  binding.cors->append_response(out.origin, out.has_origin, lines);
  out.headers = field_lines(lines);
  out.allowed = out.has_origin && binding.cors->origin_allowed(out.origin);
  if (!out.has_origin) {
    out.summary = "no Origin field (not a cross-origin request): responses get Vary: Origin only";
  } else if (out.allowed) {
    out.summary = "origin " + out.origin +
                  " allowed: responses (proxied and the gateway's own errors) get the fields below";
  } else {
    out.summary = "origin " + out.origin +
                  " not allowed: no CORS headers (responses get Vary: Origin only; the browser refuses)";
  }
  return out;
}

// Session::answer_preflight: the 204 the gateway sends, from CorsPolicy::append_preflight.
CorsInfo preflight_info(const config::RouteSpec& route, const proxy::RouteBinding& binding,
                        const http::RequestHead& head, std::string_view requested_method) {
  CorsInfo out;
  out.source = cors_source(route, binding);
  out.preflight = true;
  out.requested_method.assign(requested_method);
  const http::HeaderField* origin = head.fields.find(std::string_view("Origin"));
  out.has_origin = origin != nullptr;  // always: is_preflight needs it
  if (origin != nullptr) out.origin.assign(origin->value);
  std::string lines;
  binding.cors->append_preflight(out.origin, lines);
  out.headers = field_lines(lines);
  const http::HeaderField* correlation = head.fields.find(http::HeaderToken::kXCorrelationId);
  out.headers.emplace_back("X-Correlation-ID",
                           correlation != nullptr && observe::is_sane_correlation_id(correlation->value)
                               ? std::string(correlation->value)
                               : "(a new one)");
  out.allowed = binding.cors->origin_allowed(out.origin);
  out.summary =
      "preflight for " + out.requested_method +
      ": the gateway answers 204 once load shedding, header hygiene and ip allow/deny let it through "
      "(auth, rate limits and validation do not run; nothing is proxied); " +
      (out.allowed ? "origin " + out.origin + " allowed"
                   : "origin " + out.origin + " not allowed: no CORS headers (the browser refuses)");
  return out;
}

std::string fields_text(std::size_t count) {
  return std::to_string(count) + (count == 1 ? " field" : " fields");
}

// The set/add/remove/rename entries of one level in HeaderPlan::add_level's order (remove, rename,
// set, add). Values are rendered with the plan's own template code.
void describe_level(const config::HeaderOpsSpec& spec, std::string_view level,
                    std::span<const std::string> params, const policy::TemplateContext& context,
                    std::vector<HeaderOpInfo>& out) {
  for (const std::string& name : spec.remove) {
    out.push_back(HeaderOpInfo{.level = std::string(level), .op = "remove", .name = name});
  }
  for (const config::HeaderRenameSpec& rename : spec.rename) {
    out.push_back(
        HeaderOpInfo{.level = std::string(level), .op = "rename", .name = rename.from, .to = rename.to});
  }
  const auto values = [&](const std::vector<config::HeaderValueSpec>& entries, std::string_view op) {
    for (const config::HeaderValueSpec& entry : entries) {
      HeaderOpInfo info{.level = std::string(level), .op = std::string(op), .name = entry.name};
      info.value_template = entry.value.source;
      policy::CompiledTemplate compiled;
      std::string error;
      if (!policy::CompiledTemplate::compile(entry.value, params, compiled, error)) {
        info.effect = error;  // the snapshot compiled it, so this is a hand-built config
      } else {
        info.dynamic = !compiled.is_constant();
        if (!compiled.expand(context, info.value)) {
          info.effect = "the value holds a control byte: the request fails with 500";
        }
      }
      out.push_back(std::move(info));
    }
  };
  values(spec.set, "set");
  values(spec.add, "add");
}

// What each request operation does to this request's fields, walked one by one over a plain
// ordered list (the proxy applies the same operations compiled per name; the result shown below
// comes from the plan itself).
void describe_request_effects(std::vector<HeaderOpInfo>& ops,
                              const std::vector<std::pair<std::string_view, std::string_view>>& kept) {
  struct FieldList {
    std::vector<std::pair<std::string, std::string>> fields;
    void push(std::string_view name, std::string_view value) { fields.emplace_back(name, value); }
    std::size_t remove(std::string_view name) {
      return std::erase_if(fields, [&](const auto& field) { return http::iequals(field.first, name); });
    }
    void rename(std::string_view from, std::string_view to) {
      for (auto& field : fields) {
        if (http::iequals(field.first, from)) field.first.assign(to);
      }
    }
  } list;
  for (const auto& [name, value] : kept) list.push(name, value);
  const auto count = [&](std::string_view name) {
    std::size_t n = 0;
    for (const auto& field : list.fields) n += http::iequals(field.first, name) ? 1 : 0;
    return n;
  };
  for (HeaderOpInfo& op : ops) {
    if (!op.effect.empty()) continue;  // failed to render
    if (op.op == "remove") {
      const std::size_t removed = list.remove(op.name);
      op.effect = removed == 0 ? "no " + op.name + " field" : "removes " + fields_text(removed);
    } else if (op.op == "rename") {
      const std::size_t renamed = count(op.name);
      list.rename(op.name, op.to);
      op.effect = renamed == 0 ? "no " + op.name + " field" : "renames " + fields_text(renamed);
    } else {
      const std::size_t removed = op.op == "set" ? list.remove(op.name) : 0;
      if (op.value.empty()) {
        op.effect = removed == 0 ? "adds nothing (empty value)"
                                 : "removes " + fields_text(removed) + ", adds nothing (empty value)";
      } else {
        list.push(op.name, op.value);
        op.effect = removed == 0 ? "adds the field" : "replaces " + fields_text(removed);
      }
    }
  }
}

// Session::transform_request_phase and the head builders with upstream `chosen`: the plan of the
// pair, its operations rendered for this request, the request's fields after them, and what
// happens to the response.
HeaderTransformInfo transform_info(const Context& ctx, const router::RouteMatch& match,
                                   const upstream::Upstream& chosen, const ForwardedFields& fields) {
  HeaderTransformInfo out;
  out.upstream = chosen.spec->name;
  const policy::HeaderPlan& plan = ctx.binding.header_plan_for(chosen.index);

  // The template context of the lifecycle; only a new correlation ID is unknown here.
  const std::string client = ctx.view.client.to_string();
  const http::HeaderField* correlation = ctx.head.fields.find(http::HeaderToken::kXCorrelationId);
  const std::string_view correlation_id =
      correlation != nullptr && observe::is_sane_correlation_id(correlation->value)
          ? correlation->value
          : std::string_view("${correlation_id}");
  std::array<std::string_view, router::kMaxRouteParams> params{};
  std::vector<std::string> param_names;
  for (std::size_t i = 0; i < match.param_count; ++i) {
    params[i] = match.params[i].value;
    param_names.emplace_back(match.params[i].name);
  }
  policy::TemplateContext context;
  context.client_ip = client;
  context.correlation_id = correlation_id;
  context.route = ctx.route.path;
  context.upstream = chosen.spec->name;
  context.auth_client = ctx.client_name;
  context.request_headers = &ctx.head.fields;
  context.path_params = std::span<const std::string_view>(params.data(), match.param_count);

  // The operations, as Runtime::build hands them to HeaderPlan::compile: the upstream's level
  // first (no route parameters there), the route's after it.
  const config::UpstreamSpec& spec = *chosen.spec;
  for (const auto& [headers, level] :
       {std::pair{&spec.headers, "upstream"}, std::pair{&ctx.route.headers, "route"}}) {
    if (!*headers) continue;
    const std::span<const std::string> names = headers == &ctx.route.headers
                                                   ? std::span<const std::string>(param_names)
                                                   : std::span<const std::string>();
    describe_level((*headers)->request, level, names, context, out.request_ops);
    describe_level((*headers)->response, level, names, context, out.response_ops);
  }
  describe_request_effects(out.request_ops, fields.kept);
  for (HeaderOpInfo& op : out.response_ops) {
    if (!op.effect.empty()) continue;
    if (op.op == "set") {
      op.effect =
          op.value.empty() ? "removes the upstream's, adds nothing (empty value)" : "replaces the upstream's";
    } else if (op.op == "add" && op.value.empty()) {
      op.effect = "adds nothing (empty value)";
    }
  }

  // The request's fields after the plan: rendered and applied by the plan itself.
  policy::TransformScratch scratch;
  std::string_view failed;
  if (plan.needs_render() && !plan.render(context, scratch, failed)) {
    out.failed_header.assign(failed);
  } else {
    // Session::build_upstream_request_head: each kept field through the plan's edits, then the
    // fields the plan adds.
    std::string lines;
    {
      http::HeadWriter writer(lines);
      const policy::HeaderEdits& edits = plan.request_edits();
      for (const auto& [name, value] : fields.kept) {
        const http::HeaderField field{name, value, http::lookup_header_token(name)};
        (void)edits.forward(field, writer);
      }
      (void)edits.append_added(scratch, context, writer);
    }
    std::string_view rest = lines;
    while (!rest.empty()) {
      const std::size_t end = rest.find("\r\n");
      const std::string_view line = rest.substr(0, end);
      const std::size_t colon = line.find(':');
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.request_result.emplace_back(line.substr(0, colon), value);
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 2);
    }
  }

  // Session::build_response_head: hidden fields, then the operations, then the security headers.
  const http::HeaderField server{"Server", {}, http::HeaderToken::kServer};
  const http::HeaderField powered_by{"X-Powered-By", {}, http::HeaderToken::kOther};
  for (const http::HeaderField* field : {&server, &powered_by}) {
    if (plan.hides(*field)) {
      out.hidden.push_back({std::string(field->name), "leaks internals (headers.response.keep passes it)"});
    }
  }
  if (ctx.binding.cors) out.hidden.push_back({"Access-Control-*", "the gateway's CORS replaces them"});
  for (const policy::SecurityField& field : plan.security_fields()) {
    out.security.push_back({field.name, field.value, field.tls_only});
  }
  return out;
}

// What consistent hashing hashes for this request (Session::request_hash_key).
std::string hash_key(const config::HashOnSpec& hash_on, const Context& ctx) {
  std::string client = ctx.view.client.to_string();
  if (hash_on.source == config::HashSource::kHeader) {
    if (const http::HeaderField* field = ctx.head.fields.find(hash_on.name); field != nullptr) {
      return std::string(field->value);
    }
  } else if (hash_on.source == config::HashSource::kCookie) {
    if (const http::HeaderField* field = ctx.head.fields.find(std::string_view("Cookie")); field != nullptr) {
      std::string_view cookies = field->value;
      while (!cookies.empty()) {
        const std::size_t end = cookies.find(';');
        std::string_view pair = cookies.substr(0, end);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        if (pair.size() > hash_on.name.size() && pair.starts_with(hash_on.name) &&
            pair[hash_on.name.size()] == '=') {
          return std::string(pair.substr(hash_on.name.size() + 1));
        }
        if (end == std::string_view::npos) break;
        cookies.remove_prefix(end + 1);
      }
    }
  }
  return client;  // no key in the request, or hashOn: ip: the client address
}

UpstreamInfo upstream_info(const Context& ctx, const upstream::Upstream& chosen, std::string role,
                           unsigned weight, unsigned total) {
  const config::UpstreamSpec& spec = *chosen.spec;
  const upstream::UpstreamControls& controls = ctx.runtime.controls(chosen.index);
  const auto now = std::chrono::steady_clock::now();
  UpstreamInfo out;
  out.role = std::move(role);
  out.name = spec.name;
  out.weight = weight;
  out.share_percent = total == 0 ? 0 : static_cast<unsigned>((weight * 100 + total / 2) / total);
  out.strategy = strategy_name(spec.balancer.strategy);
  out.timeouts = ctx.binding.timeouts_for(chosen.index);

  upstream::TargetMask usable(chosen.targets.size(), false);
  for (std::size_t t = 0; t < chosen.targets.size(); ++t) {
    const upstream::Target& target = chosen.targets[t];
    TargetInfo info;
    info.authority = target.authority;
    info.host_header = target.host_header;
    info.weight = target.weight;
    info.healthy = !controls.health || controls.health->is_healthy(t);
    info.ejected = controls.outliers && controls.outliers->is_ejected(t, now);
    bool allowed = false;
    for (const auto& endpoint : target.endpoints) {
      const policy::EgressDecision decision =
          ctx.runtime.egress().check(net::to_ip_address(endpoint.address()));
      allowed = allowed || decision.allowed;
      info.addresses.push_back({endpoint.address().to_string(), decision.allowed, decision.reason});
    }
    const bool pickable = !target.endpoints.empty() && info.healthy && !info.ejected;
    usable.set(t, pickable);
    out.usable = out.usable || (pickable && allowed);
    out.targets.push_back(std::move(info));
  }

  if (spec.balancer.strategy == config::LoadBalancerStrategy::kConsistentHash) {
    const config::HashOnSpec& hash_on = spec.balancer.hash_on;
    out.hash_on = hash_on.source == config::HashSource::kHeader   ? "header:" + hash_on.name
                  : hash_on.source == config::HashSource::kCookie ? "cookie:" + hash_on.name
                                                                  : "ip";
    out.hash_key = hash_key(hash_on, ctx);
    if (controls.maglev) out.hash_target = controls.maglev->pick(upstream::stable_hash(out.hash_key), usable);
  }

  out.max_concurrent = spec.concurrency == config::ConcurrencyLimit::kAuto ? "auto"
                       : spec.concurrency == config::ConcurrencyLimit::kFixed
                           ? std::to_string(spec.max_concurrent)
                           : "unlimited";
  out.queue = spec.concurrency == config::ConcurrencyLimit::kUnlimited || spec.queue.size == 0
                  ? "none"
                  : std::to_string(spec.queue.size) + " waiting up to " + duration_text(spec.queue.timeout);

  const config::CircuitBreakerSpec& breaker = spec.circuit_breaker;
  out.breaker.enabled = controls.breaker != nullptr;
  if (controls.breaker) out.breaker.state = std::string(upstream::to_string(controls.breaker->state()));
  out.breaker.failure_threshold_percent = breaker.failure_threshold;
  out.breaker.minimum_requests = breaker.minimum_requests;
  out.breaker.window = breaker.window;
  out.breaker.open_duration = breaker.open_duration;
  out.breaker.fail_on = conditions_text(breaker.fail_on);
  if (out.breaker.state == "open") out.usable = false;

  RetryInfo& retry = out.retry;
  if (controls.retry) {
    retry.attempts = spec.retry.attempts;
    retry.on = conditions_text(spec.retry.on);
    retry.backoff_base = spec.retry.backoff.base;
    retry.backoff_max = spec.retry.backoff.max;
    const std::string method(ctx.head.method_text);
    if (upstream::is_idempotent_method(ctx.head.method_text)) {  // the lifecycle's definition
      retry.applies = true;
      retry.note = method + " is idempotent";
    } else if (ctx.route.retry_non_idempotent) {
      retry.applies = true;
      retry.note = method + " is retried: the route sets retryNonIdempotent";
    } else {
      retry.note = method + " is not idempotent and the route does not set retryNonIdempotent";
    }
    if (retry.applies) retry.note += "; a streamed body over 64kb is never sent twice";
  } else {
    retry.note = "no retries configured";
  }
  return out;
}

// The routing part of the report from router::explain_routes.
void fill_routing(RoutingInfo& info, const router::RouteExplanation& routing) {
  info.host = routing.host;
  info.why = routing.why;
  info.routes.clear();
  for (const router::RouteVerdict& verdict : routing.routes) {
    info.routes.push_back({verdict.index, verdict.spec->host, verdict.spec->path, verdict.spec->methods,
                           verdict.spec->upstreams.size() > 1 ? "split" : verdict.spec->upstream,
                           std::string(router::to_string(verdict.outcome)), verdict.reason});
    if (verdict.spec->upstreams.size() > 1) {
      std::vector<std::string> names;
      for (const config::WeightedUpstream& entry : verdict.spec->upstreams) names.push_back(entry.name);
      info.routes.back().upstream = joined(names, "+");
    }
  }
  switch (routing.match.status) {
    case router::RouteMatch::Status::kNotFound:
      info.status = "not-found";
      return;
    case router::RouteMatch::Status::kMethodNotAllowed:
      info.status = "method-not-allowed";
      info.allow.assign(routing.match.allow);
      return;
    case router::RouteMatch::Status::kMatched:
      break;
  }
  info.status = "matched";
  info.chosen = static_cast<long>(routing.match.route->index);
  for (std::size_t i = 0; i < routing.match.param_count; ++i) {
    info.params.emplace_back(std::string(routing.match.params[i].name),
                             std::string(routing.match.params[i].value));
  }
}

void finish(ExplainReport& report, ExplainOutcome outcome, unsigned status, std::string verdict) {
  report.outcome = outcome;
  report.status = status;
  report.verdict = std::move(verdict);
}

}  // namespace

std::string_view to_string(ExplainOutcome outcome) {
  switch (outcome) {
    case ExplainOutcome::kForwarded:
      return "forwarded";
    case ExplainOutcome::kRefused:
      return "refused";
    case ExplainOutcome::kNoTarget:
      return "no-target";
    case ExplainOutcome::kPreflight:
      return "preflight";
    case ExplainOutcome::kBuiltin:
      return "builtin";
    case ExplainOutcome::kBadRequest:
      return "bad-request";
    case ExplainOutcome::kNotFound:
      return "not-found";
    case ExplainOutcome::kMethodNotAllowed:
      return "method-not-allowed";
    case ExplainOutcome::kInvalidQuery:
      return "invalid-query";
  }
  return "invalid-query";
}

std::string_view to_string(StepVerdict verdict) {
  switch (verdict) {
    case StepVerdict::kPass:
      return "pass";
    case StepVerdict::kRefuse:
      return "refuse";
    case StepVerdict::kSkip:
      return "skip";
    case StepVerdict::kApplies:
      return "applies";
  }
  return "skip";
}

ExplainReport explain_request(const proxy::Runtime& runtime, const ExplainQuery& query) {
  const config::Config& cfg = runtime.config();
  ExplainReport report;
  report.method = query.method;
  report.url = query.url;
  report.peer = query.client_ip;
  report.client = query.client_ip;
  report.config_version = runtime.version();

  const std::optional<net::IpAddress> peer = net::IpAddress::parse(query.client_ip);
  if (!peer) {
    finish(report, ExplainOutcome::kInvalidQuery, 0,
           "the client address '" + query.client_ip + "' is not an IPv4 or IPv6 address");
    return report;
  }
  // Line breaks would let one part of the query forge another in the head text parsed below.
  const auto forged = [](std::string_view text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  bool has_break = forged(query.method) || forged(query.url);
  for (const auto& [name, value] : query.headers) has_break = has_break || forged(name) || forged(value);
  if (has_break) {
    finish(report, ExplainOutcome::kInvalidQuery, 0, "the method, URL or a header contains CR, LF or NUL");
    return report;
  }

  // 1. The head, through the strict parser, as it would arrive.
  const std::string_view implied_host = absolute_authority(query.url);
  const std::string raw = raw_head(query, implied_host);
  http::RequestHead head;
  unsigned status = 0;
  if (std::string error = parse_head(raw, runtime.limits(), head, status); !error.empty()) {
    finish(report, ExplainOutcome::kBadRequest, status,
           "the request head is refused with " + std::to_string(status) + ": " + error);
    report.target_error = std::move(error);
    return report;
  }
  report.host.assign(head.host);
  bool host_header = false;
  for (const auto& [name, value] : query.headers) host_header = host_header || http::iequals(name, "Host");
  report.host_source = host_header ? "header" : !implied_host.empty() ? "url" : "none";

  // 2. Health and metrics are answered before routing.
  if ((head.method == http::Method::kGet || head.method == http::Method::kHead) &&
      proxy::builtin_endpoint_for(head.target, runtime.config()) != proxy::BuiltinEndpoint::kNone) {
    finish(report, ExplainOutcome::kBuiltin, 200,
           "answered by the gateway itself before routing (built-in " + std::string(head.target) +
               "); no route is consulted");
    return report;
  }

  // 3. The target, normalized; what is matched is what is forwarded.
  router::NormalizedTarget target;
  if (const auto error = router::normalize_target(head.target, target);
      error != router::NormalizeError::kNone) {
    report.target_error.assign(router::to_string(error));
    finish(report, ExplainOutcome::kBadRequest, 400,
           "refused with 400 before routing: " + report.target_error);
    return report;
  }
  report.target_ok = true;
  report.path = target.path;
  report.query = target.query;
  report.has_query = target.has_query;
  report.authority = target.authority;
  if (!target.authority.empty() && !http::iequals(target.authority, head.host)) {
    report.target_ok = false;
    report.target_error = "absolute-form target authority differs from Host";
    finish(report, ExplainOutcome::kBadRequest, 400,
           "refused with 400 before routing: " + report.target_error);
    return report;
  }

  // 4. Routing, route by route. A CORS preflight asks about the request it announces: it is routed
  // with that method, and answered by the gateway when that route has CORS (Session::route_phase)
  // once load shedding and the client policies let it through.
  const std::string_view host = host_without_port(head.host);
  std::string_view announced;
  std::string preflight_note;
  std::optional<router::RouteExplanation> preflight_routing;
  if (runtime.any_cors() && policy::CorsPolicy::is_preflight(head, announced)) {
    router::RouteExplanation preflight =
        router::explain_routes(cfg.routes, runtime.routes(), host, announced, target.path);
    const bool matched = preflight.match.status == router::RouteMatch::Status::kMatched;
    if (matched && runtime.binding(preflight.match.route->index).cors) {
      preflight_routing = std::move(preflight);
    } else {
      preflight_note = "an OPTIONS preflight for " + std::string(announced) + ", but " +
                       (matched ? "that route has no CORS" : "no route takes " + std::string(announced)) +
                       ": routed and proxied as a plain OPTIONS request; ";
    }
  }
  const router::RouteExplanation routing =
      preflight_routing ? *preflight_routing
                        : router::explain_routes(cfg.routes, runtime.routes(), host, head.method_text, target.path);
  RoutingInfo& info = report.routing;
  fill_routing(info, routing);
  if (preflight_routing) {
    info.why = "a CORS preflight is routed with the method it announces (" + std::string(announced) + "): " + info.why;
  }
  switch (routing.match.status) {
    case router::RouteMatch::Status::kNotFound:
      finish(report, ExplainOutcome::kNotFound, 404, "404: no route matches");
      return report;
    case router::RouteMatch::Status::kMethodNotAllowed:
      finish(report, ExplainOutcome::kMethodNotAllowed, 405,
             "405: the path matches, but not for " + report.method + " (Allow: " + info.allow + ")");
      return report;
    case router::RouteMatch::Status::kMatched:
      break;
  }
  const std::size_t route_index = routing.match.route->index;
  const config::RouteSpec& route = cfg.routes[route_index];
  const proxy::RouteBinding& binding = runtime.binding(route_index);
  if (preflight_routing) {
    report.cors = preflight_info(route, binding, head, announced);
  } else {
    report.cors = cors_info(route, binding, head);
    report.cors.summary.insert(0, preflight_note);
  }
  report.priority = priority_name(route.priority);
  report.max_body_size = binding.max_body_size;
  report.timeouts = binding.timeouts;

  // 5. Who the client is (trusted proxies' X-Forwarded-For), and the view every policy sees.
  net::IpAddress client = *peer;
  bool peer_trusted = false;
  std::string client_source = "the TCP peer";
  if (!runtime.trusted_proxies().empty()) {
    peer_trusted = runtime.trusted_proxies().contains(policy::unmap_v4(*peer));
    client = policy::resolve_client_address(*peer, head, runtime.trusted_proxies());
    if (!(client == *peer)) client_source = "X-Forwarded-For via trusted proxy " + peer->to_string();
  }
  report.client = client.to_string();
  policy::RequestView view;
  view.head = &head;
  view.method = head.method_text;
  view.path = target.path;
  view.query = target.query;
  view.has_query = target.has_query;
  view.peer = *peer;
  view.client = client;
  view.body_buffered = head.framing == http::BodyFraming::kNone;

  // 6. The policy chain, in the lifecycle's order; the first refusal answers.
  Context ctx{runtime, query, head, view, route, binding, route_index, {}};
  if (head.has_upgrade) report.policies.push_back(websocket_step(ctx));
  report.policies.push_back(admission_step(ctx));
  report.policies.push_back(body_limit_step(ctx));
  report.policies.push_back(headers_step(ctx));
  report.policies.push_back(ip_filter_step(ctx, client_source));
  if (preflight_routing) {
    // Session::handle_request: a preflight is answered here, before content type, auth, rate
    // limits and validation (browsers send preflights without credentials).
    for (const PolicyStep& step : report.policies) {
      if (step.verdict != StepVerdict::kRefuse) continue;
      finish(report, ExplainOutcome::kRefused, step.status,
             "CORS preflight refused with " + std::to_string(step.status) + " by " + step.name + ": " + step.summary);
      return report;
    }
    finish(report, ExplainOutcome::kPreflight, 204,
           "CORS preflight for " + std::string(announced) + " answered by the gateway with 204; " +
               (report.cors.allowed ? "origin " + report.cors.origin + " allowed" : "origin not allowed: no CORS headers"));
    return report;
  }
  report.policies.push_back(content_type_step(ctx));
  report.policies.push_back(auth_step(ctx));
  report.policies.push_back(rate_limit_step(ctx));
  report.policies.push_back(schema_step(ctx));

  // 7. Where it goes, and what the transformations make of it.
  const ForwardedFields fields = forwarded_fields(ctx, peer_trusted);
  report.forward = forward_info(ctx, routing.match, target, fields);
  std::vector<const upstream::Upstream*> used;
  for (const proxy::RouteBinding::Split& entry : binding.split) {
    report.upstreams.push_back(upstream_info(ctx, *entry.upstream,
                                             binding.split.size() > 1 ? "split" : "primary", entry.weight,
                                             binding.split_total));
    used.push_back(entry.upstream);
  }
  if (binding.fallback != nullptr) {
    report.upstreams.push_back(upstream_info(ctx, *binding.fallback, "fallback", 0, 0));
    used.push_back(binding.fallback);
  }
  for (const upstream::Upstream* candidate : used) {
    if (std::none_of(report.transforms.begin(), report.transforms.end(),
                     [&](const HeaderTransformInfo& t) { return t.upstream == candidate->spec->name; })) {
      report.transforms.push_back(transform_info(ctx, routing.match, *candidate, fields));
    }
  }

  for (const PolicyStep& step : report.policies) {
    if (step.verdict != StepVerdict::kRefuse) continue;
    finish(report, ExplainOutcome::kRefused, step.status,
           "refused with " + std::to_string(step.status) + " by " + step.name + ": " + step.summary);
    return report;
  }
  const UpstreamInfo* to = nullptr;
  for (const UpstreamInfo& candidate : report.upstreams) {
    if (candidate.usable) {
      to = &candidate;
      break;
    }
  }
  if (to == nullptr) {
    bool breaker_open = false;
    bool blocked = false;
    for (const UpstreamInfo& candidate : report.upstreams) {
      breaker_open = breaker_open || candidate.breaker.state == "open";
      for (const TargetInfo& target_info : candidate.targets) {
        blocked = blocked || (!target_info.addresses.empty() &&
                              std::none_of(target_info.addresses.begin(), target_info.addresses.end(),
                                           [](const AddressInfo& address) { return address.allowed; }));
      }
    }
    if (breaker_open) {
      finish(report, ExplainOutcome::kNoTarget, 503, "503: the upstream's circuit breaker is open");
    } else if (blocked) {
      finish(report, ExplainOutcome::kNoTarget, 403,
             "403: the egress guard blocks every address of the usable targets");
    } else {
      finish(report, ExplainOutcome::kNoTarget, 503,
             "503: no upstream target is available (unresolved, unhealthy or ejected)");
    }
    return report;
  }
  // Session::forward_target_phase and transform_request_phase, with the upstream picked.
  if (report.forward.rewrite == "invalid") {
    finish(report, ExplainOutcome::kRefused, 500,
           "refused with 500: the regex rewrite turns " + report.path + " into " + report.forward.path +
               ", not a clean path (a path_rewrite_failed event)");
    return report;
  }
  for (const HeaderTransformInfo& transform : report.transforms) {
    if (transform.upstream != to->name || transform.failed_header.empty()) continue;
    finish(report, ExplainOutcome::kRefused, 500,
           "refused with 500: the value of " + transform.failed_header +
               " would hold a control byte (a header_transform_failed event)");
    return report;
  }
  std::string verdict = "forwarded to upstream " + to->name;
  if (to->role == "fallback") verdict += " (the fallback: the route's own upstreams are unusable)";
  if (binding.split.size() > 1) {
    std::vector<std::string> shares;
    for (const UpstreamInfo& candidate : report.upstreams) {
      if (candidate.role == "split")
        shares.push_back(candidate.name + " " + std::to_string(candidate.share_percent) + "%");
    }
    verdict = "forwarded, split " + joined(shares);
  }
  verdict += " as " + report.forward.method + " " + report.forward.target;
  finish(report, ExplainOutcome::kForwarded, 0, std::move(verdict));
  return report;
}

// ─── text ──────────────────────────────────────────────────────────────────────────────────

namespace {

// "label        value": labels padded to one column so the values line up.
void line(std::string& out, std::size_t indent, std::string_view label, std::string_view value,
          std::size_t width = 12) {
  out.append(indent, ' ');
  out.append(label);
  if (!value.empty()) {
    out.append(label.size() < width ? width - label.size() : 1, ' ');
    out.append(value);
  }
  out += '\n';
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string timeouts_text(const config::EffectiveTimeouts& t) {
  return "connect " + duration_text(t.connect) + ", firstByte " + duration_text(t.first_byte) + ", perTry " +
         duration_text(t.per_try) + ", request " + duration_text(t.request) + ", idle " +
         duration_text(t.idle);
}

std::string methods_text(const std::vector<std::string>& methods) {
  return methods.empty() ? "(any method)" : "[" + joined(methods) + "]";
}

void render_routes(const ExplainReport& report, std::string& out) {
  const RoutingInfo& routing = report.routing;
  if (routing.chosen >= 0) {
    const RouteLine& chosen = routing.routes[static_cast<std::size_t>(routing.chosen)];
    line(out, 0, "Route",
         "routes[" + std::to_string(chosen.index) + "] " + chosen.host + chosen.path + " " +
             methods_text(chosen.methods) + " -> upstream " + chosen.upstream);
    line(out, 2, "host", chosen.host.empty() ? "any" : chosen.host, 10);
    line(out, 2, "why", routing.why, 10);
    if (!routing.params.empty()) {
      std::string params;
      for (const auto& [name, value] : routing.params)
        params += (params.empty() ? "" : ", ") + name + "=" + value;
      line(out, 2, "params", params, 10);
    }
  } else {
    line(out, 0, "Route",
         routing.status == "method-not-allowed" ? "none allows the method (405)" : "none (404)");
    line(out, 2, "why", routing.why, 10);
  }
  if (routing.routes.empty()) return;
  line(out, 2, "considered", "");
  std::size_t width = 0;
  for (const RouteLine& route : routing.routes) {
    width =
        std::max(width, ("routes[" + std::to_string(route.index) + "] " + route.host + route.path).size());
  }
  for (const RouteLine& route : routing.routes) {
    const std::string name = "routes[" + std::to_string(route.index) + "] " + route.host + route.path;
    out.append(4, ' ')
        .append(pad(name, width + 2))
        .append(pad(route.outcome, 17))
        .append(route.reason)
        .append("\n");
  }
}

void render_upstreams(const ExplainReport& report, std::string& out) {
  line(out, 0, "Upstreams", "");
  for (const UpstreamInfo& upstream : report.upstreams) {
    std::string head = upstream.name + " (" + upstream.role;
    if (upstream.role == "split")
      head += ", weight " + std::to_string(upstream.weight) + " = " + std::to_string(upstream.share_percent) +
              "%";
    head += ")  " + upstream.strategy + (upstream.usable ? "" : "  UNUSABLE");
    line(out, 2, head, "");
    if (!upstream.hash_on.empty()) {
      std::string hash = "on " + upstream.hash_on + ": '" + upstream.hash_key + "'";
      if (upstream.hash_target >= 0) {
        hash += " -> " + upstream.targets[static_cast<std::size_t>(upstream.hash_target)].authority;
      }
      line(out, 4, "hash", hash, 14);
    }
    for (const TargetInfo& target : upstream.targets) {
      std::string state = "weight " + std::to_string(target.weight);
      state += target.healthy ? "" : ", UNHEALTHY";
      state += target.ejected ? ", EJECTED" : "";
      if (target.addresses.empty()) state += ", no address";
      line(out, 4, "target", target.authority + "  (" + state + ")", 14);
      for (const AddressInfo& address : target.addresses) {
        line(out, 6, address.address,
             address.allowed ? "allowed by the egress guard" : "BLOCKED: " + address.reason, 22);
      }
    }
    const BreakerInfo& breaker = upstream.breaker;
    line(out, 4, "breaker",
         breaker.enabled ? breaker.state + " (opens at " + std::to_string(breaker.failure_threshold_percent) +
                               "% failures of >= " + std::to_string(breaker.minimum_requests) +
                               " requests in " + duration_text(breaker.window) + "; open " +
                               duration_text(breaker.open_duration) + "; failOn " + breaker.fail_on + ")"
                         : "off",
         14);
    const RetryInfo& retry = upstream.retry;
    line(out, 4, "retries",
         retry.attempts == 0
             ? retry.note
             : std::to_string(retry.attempts) + " on " + retry.on + " (backoff " +
                   duration_text(retry.backoff_base) + ".." + duration_text(retry.backoff_max) + "); " +
                   (retry.applies ? "this request may be retried: " : "not for this request: ") + retry.note,
         14);
    line(out, 4, "timeouts", timeouts_text(upstream.timeouts), 14);
    line(out, 4, "maxConcurrent",
         upstream.max_concurrent + (upstream.queue == "none" ? "" : ", queue " + upstream.queue), 14);
  }
}

void render_policies(const ExplainReport& report, std::string& out) {
  line(out, 0, "Policies", "in lifecycle order");
  for (const PolicyStep& step : report.policies) {
    std::string verdict(to_string(step.verdict));
    if (step.verdict == StepVerdict::kRefuse) verdict = std::to_string(step.status);
    out.append(2, ' ').append(pad(step.name, 13)).append(pad(verdict, 9)).append(step.summary).append("\n");
    if (step.verdict == StepVerdict::kSkip) continue;
    for (const RateLimitLevel& level : step.levels) {
      out.append(24, ' ')
          .append(pad(level.level, 10))
          .append(std::to_string(level.max) + " per " + duration_text(level.window) + ", key " + level.key +
                  " -> bucket " + level.bucket)
          .append("\n");
    }
  }
}

// One value per line, the label on the first.
void lines(std::string& out, std::size_t indent, std::string_view label,
           const std::vector<std::string>& values, std::size_t width = 10) {
  for (std::size_t i = 0; i < values.size(); ++i) line(out, indent, i == 0 ? label : "", values[i], width);
}

std::vector<std::string> field_texts(const std::vector<std::pair<std::string, std::string>>& fields,
                                     std::string_view suffix = {}) {
  std::vector<std::string> out;
  out.reserve(fields.size());
  for (const auto& [name, value] : fields) out.push_back(name + ": " + value + std::string(suffix));
  return out;
}

void render_cors(const CorsInfo& cors, std::string& out) {
  line(out, 0, "CORS", cors.summary);
  if (cors.source == "route" || cors.source == "global") {
    line(out, 2, "from", cors.source == "route" ? "the route's cors" : "the top-level cors", 10);
  }
  lines(out, 2, cors.preflight ? "answer" : "adds", field_texts(cors.headers));
}

// "X-User-Id: ${path.id} = 42", "X-Debug", "X-Old -> X-New".
std::string op_text(const HeaderOpInfo& op) {
  if (op.op == "remove") return op.name;
  if (op.op == "rename") return op.name + " -> " + op.to;
  std::string text = op.name + ": " + op.value_template;
  if (op.value != op.value_template) text += " = " + (op.value.empty() ? std::string("\"\"") : op.value);
  return text;
}

void render_ops(const std::vector<HeaderOpInfo>& ops, std::string& out) {
  std::size_t width = 0;
  for (const HeaderOpInfo& op : ops) width = std::max(width, op_text(op).size());
  for (const HeaderOpInfo& op : ops) {
    out.append(2, ' ').append(pad(op.level, 10)).append(pad(op.op, 8));
    if (op.effect.empty()) {
      out.append(op_text(op));
    } else {
      out.append(pad(op_text(op), width + 2)).append(op.effect);
    }
    out += '\n';
  }
}

void render_transforms(const ExplainReport& report, std::string& out) {
  for (const HeaderTransformInfo& transform : report.transforms) {
    if (&transform != &report.transforms.front()) out += '\n';
    if (transform.request_ops.empty()) {
      line(out, 0, "Request headers",
           "no operations (upstream " + transform.upstream +
               "): the client's fields go on as received, "
               "less the dropped ones");
    } else {
      line(out, 0, "Request headers",
           "to upstream " + transform.upstream + ", in the order applied (the upstream's, then the route's)");
      render_ops(transform.request_ops, out);
      if (!transform.failed_header.empty()) {
        line(out, 2, "fails", "500: the value of " + transform.failed_header + " would hold a control byte",
             10);
      } else {
        std::vector<std::string> sent = field_texts(transform.request_result);
        sent.emplace_back("then the gateway's own (added, under Forward)");
        lines(out, 2, "sent", sent);
      }
    }
    out += '\n';
    line(out, 0, "Response headers", "from upstream " + transform.upstream);
    std::vector<std::string> hidden;
    for (const HiddenField& field : transform.hidden) hidden.push_back(field.name + ": " + field.why);
    lines(out, 2, "hidden", hidden);
    render_ops(transform.response_ops, out);
    std::vector<std::string> security;
    for (const SecurityHeaderInfo& field : transform.security) {
      security.push_back(
          field.name + ": " + field.value +
          (field.tls_only ? " (TLS listener only: not sent, none exists yet)" : " (if absent)"));
    }
    lines(out, 2, "security", security);
    if (!transform.security.empty() || !report.cors.headers.empty()) {
      line(out, 2, "errors",
           "the gateway's own answers on this route get the security headers and CORS fields, not the "
           "operations",
           10);
    }
  }
}

}  // namespace

void render_text(const ExplainReport& report, std::string& out) {
  line(out, 0, "Request", report.method + " " + report.url);
  if (report.outcome != ExplainOutcome::kInvalidQuery) {
    line(out, 2, "Host",
         report.host.empty() ? "(none: only routes without a host can match)"
                             : report.host + (report.host_source == "url" ? " (from the URL)" : ""),
         10);
    std::string client = report.client;
    if (report.client != report.peer)
      client += " (X-Forwarded-For; peer " + report.peer + ")";
    else
      client += " (assumed peer; --client IP to change)";
    line(out, 2, "client", client, 10);
  }
  line(out, 0, "Verdict", report.verdict);
  if (report.outcome == ExplainOutcome::kInvalidQuery || report.outcome == ExplainOutcome::kBuiltin) return;
  if (!report.target_ok) {
    line(out, 0, "Target", "refused: " + report.target_error);
    return;
  }
  line(out, 0, "Target", report.path + (report.has_query ? "?" + report.query : "") + "  (normalized)");
  out += '\n';
  render_routes(report, out);
  if (!report.matched()) return;
  out += '\n';
  render_cors(report.cors, out);
  if (!report.proxied()) return;

  out += '\n';
  const ForwardInfo& forward = report.forward;
  line(out, 0, "Forward", forward.method + " " + forward.target);
  std::string rule = forward.rule;
  if (forward.rewrite == "rewritten") rule += " (matches " + report.path + ")";
  if (forward.rewrite == "no-match") rule += " (no match: the path goes unchanged)";
  if (forward.rewrite == "invalid") rule += " (the result is not a clean path: 500)";
  line(out, 2, "path rule", rule, 10);
  if (forward.preserve_host) {
    line(out, 2, "Host", forward.host + " (the client's: preserveHost)", 10);
  } else if (report.upstreams.size() == 1 && report.upstreams.front().targets.size() == 1) {
    line(out, 2, "Host", report.upstreams.front().targets.front().host_header + " (the target's)", 10);
  } else {
    line(out, 2, "Host", "each target's own (see Upstreams)", 10);
  }
  for (const auto& [name, why] : forward.dropped) line(out, 2, "dropped", name + ": " + why, 10);
  line(out, 2, "added", joined(forward.added, "; "), 10);
  out += '\n';
  render_transforms(report, out);
  out += '\n';
  render_upstreams(report, out);
  out += '\n';
  render_policies(report, out);
}

// ─── JSON ──────────────────────────────────────────────────────────────────────────────────

namespace {

// A small writer: commas between members, so each field is one call.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view name) {
    separate();
    append_json_key(out_, name);
    after_key_ = true;
  }
  void string(std::string_view value) {
    separate();
    append_json_string(out_, value);
  }
  void uint(std::uint64_t value) {
    separate();
    append_json_uint(out_, value);
  }
  void integer(long value) {
    separate();
    out_ += std::to_string(value);
  }
  void boolean(bool value) {
    separate();
    out_ += value ? "true" : "false";
  }
  void field(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  void field_bool(std::string_view name, bool value) {
    key(name);
    boolean(value);
  }
  void field_uint(std::string_view name, std::uint64_t value) {
    key(name);
    uint(value);
  }
  void field_int(std::string_view name, long value) {
    key(name);
    integer(value);
  }
  void field_ms(std::string_view name, Millis value) { field_int(name, static_cast<long>(value.count())); }
  void strings(std::string_view name, const std::vector<std::string>& values) {
    key(name);
    begin_array();
    for (const std::string& value : values) string(value);
    end_array();
  }
  void pairs(std::string_view name, const std::vector<std::pair<std::string, std::string>>& values) {
    key(name);
    begin_object();
    for (const auto& [k, v] : values) field(k, v);
    end_object();
  }

 private:
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ += ',';
    first_ = false;
  }
  void open(char c) {
    separate();
    out_ += c;
    first_ = true;
  }
  void close(char c) {
    out_ += c;
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

void write_timeouts(JsonWriter& json, std::string_view name, const config::EffectiveTimeouts& t) {
  json.key(name);
  json.begin_object();
  json.field_ms("connectMs", t.connect);
  json.field_ms("firstByteMs", t.first_byte);
  json.field_ms("perTryMs", t.per_try);
  json.field_ms("requestMs", t.request);
  json.field_ms("idleMs", t.idle);
  json.end_object();
}

void write_fields(JsonWriter& json, std::string_view name,
                  const std::vector<std::pair<std::string, std::string>>& fields) {
  json.key(name);
  json.begin_array();
  for (const auto& [field, value] : fields) {
    json.begin_object();
    json.field("name", field);
    json.field("value", value);
    json.end_object();
  }
  json.end_array();
}

void write_ops(JsonWriter& json, const std::vector<HeaderOpInfo>& ops) {
  json.key("operations");
  json.begin_array();
  for (const HeaderOpInfo& op : ops) {
    json.begin_object();
    json.field("level", op.level);
    json.field("op", op.op);
    json.field("name", op.name);
    json.field("to", op.to);
    json.field("template", op.value_template);
    json.field("value", op.value);
    json.field_bool("dynamic", op.dynamic);
    json.field("effect", op.effect);
    json.end_object();
  }
  json.end_array();
}

void write_transform(JsonWriter& json, const HeaderTransformInfo& transform) {
  json.begin_object();
  json.field("upstream", transform.upstream);
  json.key("request");
  json.begin_object();
  write_ops(json, transform.request_ops);
  write_fields(json, "result", transform.request_result);
  json.field("failed", transform.failed_header);
  json.end_object();
  json.key("response");
  json.begin_object();
  json.key("hidden");
  json.begin_array();
  for (const HiddenField& field : transform.hidden) {
    json.begin_object();
    json.field("name", field.name);
    json.field("why", field.why);
    json.end_object();
  }
  json.end_array();
  write_ops(json, transform.response_ops);
  json.key("securityHeaders");
  json.begin_array();
  for (const SecurityHeaderInfo& field : transform.security) {
    json.begin_object();
    json.field("name", field.name);
    json.field("value", field.value);
    json.field_bool("tlsOnly", field.tls_only);
    json.end_object();
  }
  json.end_array();
  json.end_object();
  json.end_object();
}

void write_cors(JsonWriter& json, const CorsInfo& cors) {
  json.key("cors");
  json.begin_object();
  json.field("source", cors.source);
  json.field_bool("preflight", cors.preflight);
  json.field("requestedMethod", cors.requested_method);
  json.field("origin", cors.origin);
  json.field_bool("hasOrigin", cors.has_origin);
  json.field_bool("allowed", cors.allowed);
  json.field("summary", cors.summary);
  write_fields(json, "headers", cors.headers);
  json.end_object();
}

void write_upstream(JsonWriter& json, const UpstreamInfo& upstream) {
  json.begin_object();
  json.field("role", upstream.role);
  json.field("name", upstream.name);
  json.field_uint("weight", upstream.weight);
  json.field_uint("sharePercent", upstream.share_percent);
  json.field("strategy", upstream.strategy);
  json.field("hashOn", upstream.hash_on);
  json.field("hashKey", upstream.hash_key);
  json.field_int("hashTarget", upstream.hash_target);
  json.field_bool("usable", upstream.usable);
  json.field("maxConcurrent", upstream.max_concurrent);
  json.field("queue", upstream.queue);
  json.key("breaker");
  json.begin_object();
  json.field_bool("enabled", upstream.breaker.enabled);
  json.field("state", upstream.breaker.state);
  json.field_uint("failureThresholdPercent", upstream.breaker.failure_threshold_percent);
  json.field_uint("minimumRequests", upstream.breaker.minimum_requests);
  json.field_ms("windowMs", upstream.breaker.window);
  json.field_ms("openDurationMs", upstream.breaker.open_duration);
  json.field("failOn", upstream.breaker.fail_on);
  json.end_object();
  json.key("retry");
  json.begin_object();
  json.field_uint("attempts", upstream.retry.attempts);
  json.field("on", upstream.retry.on);
  json.field_ms("backoffBaseMs", upstream.retry.backoff_base);
  json.field_ms("backoffMaxMs", upstream.retry.backoff_max);
  json.field_bool("appliesToThisRequest", upstream.retry.applies);
  json.field("note", upstream.retry.note);
  json.end_object();
  write_timeouts(json, "timeouts", upstream.timeouts);
  json.key("targets");
  json.begin_array();
  for (const TargetInfo& target : upstream.targets) {
    json.begin_object();
    json.field("authority", target.authority);
    json.field("hostHeader", target.host_header);
    json.field_uint("weight", target.weight);
    json.field_bool("healthy", target.healthy);
    json.field_bool("ejected", target.ejected);
    json.key("addresses");
    json.begin_array();
    for (const AddressInfo& address : target.addresses) {
      json.begin_object();
      json.field("address", address.address);
      json.field_bool("allowed", address.allowed);
      json.field("reason", address.reason);
      json.end_object();
    }
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

}  // namespace

void render_json(const ExplainReport& report, std::string& out) {
  JsonWriter json(out);
  json.begin_object();
  json.key("request");
  json.begin_object();
  json.field("method", report.method);
  json.field("url", report.url);
  json.field("host", report.host);
  json.field("hostSource", report.host_source);
  json.field("peer", report.peer);
  json.field("client", report.client);
  json.end_object();
  json.field("outcome", to_string(report.outcome));
  json.field_uint("status", report.status);
  json.field("verdict", report.verdict);
  json.field_uint("configVersion", report.config_version);

  json.key("target");
  json.begin_object();
  json.field_bool("ok", report.target_ok);
  json.field("error", report.target_error);
  json.field("path", report.path);
  json.field("query", report.query);
  json.field_bool("hasQuery", report.has_query);
  json.field("authority", report.authority);
  json.end_object();

  const RoutingInfo& routing = report.routing;
  json.key("routing");
  json.begin_object();
  json.field("status", routing.status);
  json.field("host", routing.host);
  json.field("why", routing.why);
  json.field("allow", routing.allow);
  json.field_int("chosen", routing.chosen);
  json.pairs("params", routing.params);
  json.key("routes");
  json.begin_array();
  for (const RouteLine& route : routing.routes) {
    json.begin_object();
    json.field_uint("index", route.index);
    json.field("host", route.host);
    json.field("path", route.path);
    json.strings("methods", route.methods);
    json.field("upstream", route.upstream);
    json.field("outcome", route.outcome);
    json.field("reason", route.reason);
    json.end_object();
  }
  json.end_array();
  json.end_object();

  if (report.matched()) write_cors(json, report.cors);
  if (report.proxied()) {
    const ForwardInfo& forward = report.forward;
    json.key("forward");
    json.begin_object();
    json.field("method", forward.method);
    json.field("target", forward.target);
    json.field("path", forward.path);
    json.field("rule", forward.rule);
    json.field("rewrite", forward.rewrite);
    json.field_bool("preserveHost", forward.preserve_host);
    json.field("host", forward.host);
    json.key("dropped");
    json.begin_array();
    for (const auto& [name, why] : forward.dropped) {
      json.begin_object();
      json.field("name", name);
      json.field("why", why);
      json.end_object();
    }
    json.end_array();
    json.strings("added", forward.added);
    json.end_object();

    json.key("headers");
    json.begin_array();
    for (const HeaderTransformInfo& transform : report.transforms) write_transform(json, transform);
    json.end_array();

    json.key("upstreams");
    json.begin_array();
    for (const UpstreamInfo& upstream : report.upstreams) write_upstream(json, upstream);
    json.end_array();

    json.key("policies");
    json.begin_array();
    for (const PolicyStep& step : report.policies) {
      json.begin_object();
      json.field("name", step.name);
      json.field("verdict", to_string(step.verdict));
      json.field_uint("status", step.status);
      json.field("summary", step.summary);
      json.pairs("facts", step.facts);
      json.key("levels");
      json.begin_array();
      for (const RateLimitLevel& level : step.levels) {
        json.begin_object();
        json.field("level", level.level);
        json.field_uint("max", level.max);
        json.field_ms("windowMs", level.window);
        json.field("key", level.key);
        json.field("bucket", level.bucket);
        json.end_object();
      }
      json.end_array();
      json.end_object();
    }
    json.end_array();
    write_timeouts(json, "timeouts", report.timeouts);
    json.field("priority", report.priority);
    json.field_uint("maxBodySize", report.max_body_size);
  }
  json.end_object();
  out += '\n';
}

}  // namespace flexgate::admin
