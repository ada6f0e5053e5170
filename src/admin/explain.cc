#include "admin/explain.h"

#include "upstream/retry/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/json.h"
#include "http/header_token.h"
#include "http/parser.h"
#include "net/address.h"
#include "observe/correlation_id.h"
#include "policy/ipfilter/cidr_list.h"
#include "policy/ipfilter/client_address.h"
#include "proxy/health.h"
#include "proxy/local_reply.h"
#include "router/explain.h"
#include "router/normalize.h"
#include "upstream/balance/stable_hash.h"
#include "upstream/balance/target_mask.h"

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

ForwardInfo forward_info(const Context& ctx, const router::RouteMatch& match,
                         const router::NormalizedTarget& target, bool peer_trusted) {
  ForwardInfo out;
  out.method.assign(ctx.head.method_text);
  router::build_forward_path(match, target.path, out.target);
  if (target.has_query) out.target.append("?").append(target.query);
  const router::CompiledRoute& compiled = *match.route;
  if (!ctx.route.rewrite.empty()) {
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

  // Session::build_upstream_request_head's filters, in its order.
  const policy::AuthPolicy& auth = ctx.runtime.auth();
  std::string forwarded_for;
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
        if (peer_trusted && !field.value.empty()) forwarded_for.append(field.value).append(", ");
        break;
      default:
        if (http::is_connection_specific(field, ctx.head)) {
          why = "hop-by-hop";
        } else if (auth.strip_field(field.name, ctx.route)) {
          why = "credential (forwardCredentials: false)";
        } else if (ctx.runtime.header_rules().drop_field(field.name)) {
          why = "underscore in the name (security.underscoreHeaders: drop)";
        }
    }
    if (!why.empty()) out.dropped.emplace_back(std::string(field.name), std::move(why));
  }
  out.added.push_back("X-Forwarded-For: " + forwarded_for +
                      ctx.view.peer.to_string());  // the chain + the peer
  out.added.emplace_back("X-Forwarded-Proto: http");
  if (!ctx.head.host.empty()) out.added.push_back("X-Forwarded-Host: " + std::string(ctx.head.host));
  const http::HeaderField* correlation = ctx.head.fields.find(http::HeaderToken::kXCorrelationId);
  out.added.push_back(correlation != nullptr && observe::is_sane_correlation_id(correlation->value)
                          ? "X-Correlation-ID: " + std::string(correlation->value) + " (the client's)"
                          : "X-Correlation-ID: (a new one)");
  if (ctx.head.framing == http::BodyFraming::kContentLength) {
    out.added.push_back("Content-Length: " + std::to_string(ctx.head.content_length));
  } else if (ctx.head.framing == http::BodyFraming::kChunked) {
    out.added.emplace_back("Transfer-Encoding: chunked");
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

  // 4. Routing, route by route.
  const router::RouteExplanation routing = router::explain_routes(
      cfg.routes, runtime.routes(), host_without_port(head.host), head.method_text, target.path);
  RoutingInfo& info = report.routing;
  info.host = routing.host;
  info.why = routing.why;
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
      finish(report, ExplainOutcome::kNotFound, 404, "404: no route matches");
      return report;
    case router::RouteMatch::Status::kMethodNotAllowed:
      info.status = "method-not-allowed";
      info.allow.assign(routing.match.allow);
      finish(report, ExplainOutcome::kMethodNotAllowed, 405,
             "405: the path matches, but not for " + report.method + " (Allow: " + info.allow + ")");
      return report;
    case router::RouteMatch::Status::kMatched:
      break;
  }
  info.status = "matched";
  const std::size_t route_index = routing.match.route->index;
  info.chosen = static_cast<long>(route_index);
  for (std::size_t i = 0; i < routing.match.param_count; ++i) {
    info.params.emplace_back(std::string(routing.match.params[i].name),
                             std::string(routing.match.params[i].value));
  }
  const config::RouteSpec& route = cfg.routes[route_index];
  const proxy::RouteBinding& binding = runtime.binding(route_index);
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
  report.policies.push_back(admission_step(ctx));
  report.policies.push_back(body_limit_step(ctx));
  report.policies.push_back(headers_step(ctx));
  report.policies.push_back(ip_filter_step(ctx, client_source));
  report.policies.push_back(content_type_step(ctx));
  report.policies.push_back(auth_step(ctx));
  report.policies.push_back(rate_limit_step(ctx));
  report.policies.push_back(schema_step(ctx));

  // 7. Where it goes.
  report.forward = forward_info(ctx, routing.match, target, peer_trusted);
  for (const proxy::RouteBinding::Split& entry : binding.split) {
    report.upstreams.push_back(upstream_info(ctx, *entry.upstream,
                                             binding.split.size() > 1 ? "split" : "primary", entry.weight,
                                             binding.split_total));
  }
  if (binding.fallback != nullptr)
    report.upstreams.push_back(upstream_info(ctx, *binding.fallback, "fallback", 0, 0));

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
  const ForwardInfo& forward = report.forward;
  line(out, 0, "Forward", forward.method + " " + forward.target);
  line(out, 2, "path rule", forward.rule, 10);
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

  if (report.matched()) {
    const ForwardInfo& forward = report.forward;
    json.key("forward");
    json.begin_object();
    json.field("method", forward.method);
    json.field("target", forward.target);
    json.field("rule", forward.rule);
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
