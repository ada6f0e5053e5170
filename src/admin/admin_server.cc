#include "admin/admin_server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <regex>

#include "admin/explain.h"
#include "admin/side_listener.h"
#include "core/json.h"
#include "http/parser.h"
#include "observe/metrics.h"
#include "upstream/upstream_controls.h"

namespace flexgate::admin {
namespace {

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

// "%41" -> "A", "+" -> " " (query strings).
std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// The value of `name` in a query string ("" when absent).
std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t end = query.find('&');
    const std::string_view pair = query.substr(0, end);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return {};
}

struct Reply {
  std::uint16_t status = 200;
  std::string body;  // JSON
};

Reply error_reply(std::uint16_t status, std::string_view message) {
  Reply reply{status, "{\"error\":"};
  append_json_string(reply.body, message);
  reply.body += "}\n";
  return reply;
}

void append_routes(const proxy::Runtime& runtime, std::string& out) {
  out += "{\"version\":";
  append_json_uint(out, runtime.version());
  out += ",\"routes\":[";
  const auto& routes = runtime.config().routes;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const config::RouteSpec& route = routes[i];
    if (i > 0) out += ',';
    out += "{\"path\":";
    append_json_string(out, route.path);
    out += ",\"host\":";
    append_json_string(out, route.host);
    out += ",\"methods\":[";
    for (std::size_t m = 0; m < route.methods.size(); ++m) {
      if (m > 0) out += ',';
      append_json_string(out, route.methods[m]);
    }
    out += "],\"upstreams\":[";
    const proxy::RouteBinding& binding = runtime.binding(i);
    for (std::size_t s = 0; s < binding.split.size(); ++s) {
      if (s > 0) out += ',';
      out += "{\"name\":";
      append_json_string(out, binding.split[s].upstream->spec->name);
      out += ",\"weight\":";
      append_json_uint(out, binding.split[s].weight);
      out += '}';
    }
    out += "],\"fallback\":";
    append_json_string(out, route.fallback);
    out += ",\"priority\":";
    append_json_string(out, route.priority == config::RoutePriority::kCritical ? "critical"
                            : route.priority == config::RoutePriority::kLow    ? "low"
                                                                               : "normal");
    out += ",\"auth\":";
    append_json_string(out, !route.auth ? "default"
                            : *route.auth == config::AuthMode::kRequired ? "required"
                            : *route.auth == config::AuthMode::kOptional ? "optional"
                                                                         : "none");
    if (route.rate_limit) {
      out += ",\"rateLimit\":{\"max\":";
      append_json_uint(out, route.rate_limit->max);
      out += ",\"windowMs\":";
      append_json_uint(out, static_cast<std::uint64_t>(route.rate_limit->window.count()));
      out += '}';
    }
    out += '}';
  }
  out += "]}\n";
}

void append_upstreams(const proxy::Runtime& runtime, std::string& out) {
  const auto now = std::chrono::steady_clock::now();
  out += "{\"version\":";
  append_json_uint(out, runtime.version());
  out += ",\"upstreams\":[";
  bool first = true;
  for (const upstream::Upstream& each : runtime.upstreams().upstreams()) {
    if (!first) out += ',';
    first = false;
    const upstream::UpstreamControls& controls = runtime.controls(each.index);
    out += "{\"name\":";
    append_json_string(out, each.spec->name);
    out += ",\"loadBalancer\":";
    append_json_string(out, upstream::to_string(controls.balancer.strategy));
    out += ",\"circuitBreaker\":";
    append_json_string(out, controls.breaker ? upstream::to_string(controls.breaker->state()) : "disabled");
    if (controls.concurrency) {
      out += ",\"maxConcurrent\":{\"limit\":";
      append_json_uint(out, controls.concurrency->limit());
      out += ",\"inFlight\":";
      append_json_uint(out, controls.concurrency->in_flight());
      out += '}';
    }
    out += ",\"targets\":[";
    for (std::size_t t = 0; t < each.targets.size(); ++t) {
      const upstream::Target& target = each.targets[t];
      if (t > 0) out += ',';
      out += "{\"target\":";
      append_json_string(out, target.authority);
      out += ",\"weight\":";
      append_json_uint(out, target.weight);
      out += ",\"addresses\":[";
      for (std::size_t a = 0; a < target.endpoints.size(); ++a) {
        if (a > 0) out += ',';
        append_json_string(out, target.endpoints[a].address().to_string());
      }
      out += "],\"healthy\":";
      out += !controls.health || controls.health->is_healthy(t) ? "true" : "false";
      out += ",\"ejected\":";
      out += controls.outliers && controls.outliers->is_ejected(t, now) ? "true" : "false";
      out += '}';
    }
    out += "]}";
  }
  out += "]}\n";
}

void append_rate_limit(const proxy::Runtime& runtime, const observe::MetricsRegistry* metrics, std::string& out) {
  const auto& settings = runtime.config().rate_limit;
  out += "{\"backend\":";
  append_json_string(out, settings.backend);
  out += ",\"failMode\":";
  append_json_string(out, settings.fail_mode);
  if (settings.backend == "redis") {
    // The URL without its password: that is a secret.
    out += ",\"redis\":{\"host\":";
    append_json_string(out, runtime.redis_endpoint() ? runtime.redis_endpoint()->host : "");
    out += ",\"port\":";
    append_json_uint(out, runtime.redis_endpoint() ? runtime.redis_endpoint()->port : 0);
    out += ",\"status\":";
    const bool degraded = metrics != nullptr && metrics->rate_limit_degraded_workers() > 0;
    append_json_string(out, degraded ? "DEGRADED" : "UP");
    out += '}';
  }
  out += ",\"buckets\":";
  append_json_uint(out, runtime.rate_limit().table()->size());
  out += ",\"evictions\":";
  append_json_uint(out, runtime.rate_limit().table()->evictions());
  if (metrics != nullptr) {
    out += ",\"fallbacks\":{\"local\":";
    append_json_uint(out, metrics->rate_limit_fallbacks(observe::RateLimitFallback::kLocal));
    out += ",\"open\":";
    append_json_uint(out, metrics->rate_limit_fallbacks(observe::RateLimitFallback::kOpen));
    out += ",\"closed\":";
    append_json_uint(out, metrics->rate_limit_fallbacks(observe::RateLimitFallback::kClosed));
    out += '}';
  }
  out += "}\n";
}

}  // namespace

std::string redact_config_text(std::string_view text) {
  // `key: value` for the secret keys, block or flow style, any quoting.
  static const std::regex kSecret(
      R"re(((?:^|[\s{,])(?:hmacSecret|secret|password|token|tokenSha256|key)\s*:\s*)("[^"\n]*"|'[^'\n]*'|[^\s,}#\n]+))re");
  static const std::regex kRedisPassword(R"re((rediss?://[^:@/\s"']*:)[^@/\s"']+@)re");
  std::string out = std::regex_replace(std::string(text), kSecret, "$1\"[REDACTED]\"");
  return std::regex_replace(out, kRedisPassword, "$1[REDACTED]@");
}

struct AdminServer::Impl {
  Impl(std::string token, AdminHooks hooks) : token_sha256(std::move(token)), hooks(std::move(hooks)) {}

  std::string token_sha256;
  AdminHooks hooks;
  std::unique_ptr<SideListener> listener;

  bool authorized(const http::RequestHead& head) const {
    if (token_sha256.empty()) return false;
    const http::HeaderField* field = head.fields.find(std::string_view("Authorization"));
    if (field == nullptr || !field->value.starts_with("Bearer ")) return false;
    const std::string presented = sha256_hex(field->value.substr(7));
    return presented.size() == token_sha256.size() &&
           CRYPTO_memcmp(presented.data(), token_sha256.data(), presented.size()) == 0;
  }

  Reply handle(const http::RequestHead& head) {
    std::string_view target = head.target;
    std::string_view query;
    if (const std::size_t mark = target.find('?'); mark != std::string_view::npos) {
      query = target.substr(mark + 1);
      target = target.substr(0, mark);
    }
    const bool get = head.method == http::Method::kGet || head.method == http::Method::kHead;
    auto runtime = hooks.current();
    if (target == "/admin/config/reload") {
      if (head.method != http::Method::kPost) return error_reply(405, "use POST");
      if (token_sha256.empty()) return error_reply(403, "admin.tokenSha256 is not configured: state changes are off");
      if (!authorized(head)) return error_reply(401, "a valid Authorization: Bearer token is required");
      const ReloadOutcome outcome = hooks.reload();
      Reply reply{outcome.ok ? std::uint16_t{200} : std::uint16_t{422}, "{\"status\":"};
      append_json_string(reply.body, outcome.ok ? "reloaded" : "refused");
      reply.body += ",\"version\":";
      append_json_uint(reply.body, outcome.version);
      reply.body += ",\"errors\":[";
      for (std::size_t i = 0; i < outcome.errors.size(); ++i) {
        if (i > 0) reply.body += ',';
        append_json_string(reply.body, outcome.errors[i]);
      }
      reply.body += "]}\n";
      return reply;
    }
    if (!get) return error_reply(405, "read-only endpoint: use GET");
    Reply reply;
    if (target == "/admin/config") {
      reply.body = "{\"path\":";
      append_json_string(reply.body, runtime->config().source_path);
      reply.body += ",\"version\":";
      append_json_uint(reply.body, runtime->version());
      reply.body += ",\"loadedAtUnixMs\":";
      append_json_uint(reply.body, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                  runtime->loaded_at().time_since_epoch())
                                                                  .count()));
      reply.body += ",\"lastReloadError\":";
      append_json_string(reply.body, hooks.metrics != nullptr ? hooks.metrics->last_reload_error() : "");
      reply.body += ",\"config\":";
      append_json_string(reply.body, redact_config_text(hooks.config_text()));
      reply.body += "}\n";
    } else if (target == "/admin/routes") {
      append_routes(*runtime, reply.body);
    } else if (target == "/admin/upstreams") {
      append_upstreams(*runtime, reply.body);
    } else if (target == "/admin/ratelimit") {
      append_rate_limit(*runtime, hooks.metrics, reply.body);
    } else if (target == "/admin/explain") {
      ExplainQuery explain;
      explain.method = query_value(query, "method");
      explain.url = query_value(query, "url");
      if (explain.method.empty() || explain.url.empty()) return error_reply(400, "method and url are required");
      if (std::string client = query_value(query, "client"); !client.empty()) explain.client_ip = client;
      render_json(explain_request(*runtime, explain), reply.body);
    } else {
      return error_reply(404, "no such admin endpoint");
    }
    return reply;
  }

};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() { stop(); }

std::unique_ptr<AdminServer> AdminServer::start(const std::string& listen, std::string token_sha256,
                                                AdminHooks hooks, std::string& error) {
  auto impl = std::make_unique<Impl>(std::move(token_sha256), std::move(hooks));
  Impl* raw = impl.get();
  impl->listener = SideListener::start(
      listen,
      [raw](const http::RequestHead& head) {
        Reply reply = raw->handle(head);
        return SideReply{reply.status, "application/json", std::move(reply.body)};
      },
      error);
  if (!impl->listener) {
    error = "admin.listen " + error;
    return nullptr;
  }
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

std::uint16_t AdminServer::port() const { return impl_->listener->port(); }

void AdminServer::stop() {
  if (impl_ && impl_->listener) impl_->listener->stop();
}

}  // namespace flexgate::admin
