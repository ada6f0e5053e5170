// Loads a config file: YAML -> typed Config, checking every value and cross-reference on the way
// and collecting every error (with file:line:col and key path) instead of stopping at the first.

#include "config/loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>
#include <unordered_map>

#include "config/reader.h"
#include "config/syntax.h"

namespace flexgate::config {
namespace {

using namespace std::chrono_literals;

constexpr Millis kMinTimeout = 1ms;
constexpr Millis kMaxTimeout = 24h;  // anything longer is a unit mistake ("30000s" for "30000")
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMaxRateLimit = 1'000'000'000;
constexpr std::size_t kMaxFileSize = 16u << 20;  // a config file, not a data file

std::string upper(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return text;
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// "a, b, c" (at most `limit` names, then "...").
std::string join_names(const std::vector<std::string>& names, std::size_t limit = 10) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > limit) out += ", ...";
  return out;
}

std::string line_of(const YAML::Mark& mark) {
  return "line " + std::to_string(to_pos(mark).line);
}

bool valid_upstream_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// What the duplicate-route check remembers of each route with a valid path.
struct SeenRoute {
  std::string path;                  // as written, with the index for messages
  std::vector<std::string> methods;  // empty = every method
  std::size_t index = 0;
  YAML::Mark mark;
};

bool methods_overlap(const std::vector<std::string>& a, const std::vector<std::string>& b,
                     std::string& shared) {
  if (a.empty() || b.empty()) {
    shared = a.empty() && b.empty() ? "every method" : join_names(a.empty() ? b : a);
    return true;
  }
  std::vector<std::string> common;
  for (const auto& method : a) {
    if (std::find(b.begin(), b.end(), method) != b.end()) common.push_back(method);
  }
  shared = join_names(common);
  return !common.empty();
}

// Walks the schema over the document. Sections are read in dependency order (upstreams and
// security before routes, routes before rateLimit.perRoute) so cross-references are checked as
// soon as the referring value is read, at its own position.
class ConfigLoader {
 public:
  explicit ConfigLoader(Reader& reader) : r_(reader) {}

  Config load(const Field& root) {
    Config config;
    MapFields top(r_, root, {"proxy", "upstreams", "routes", "security", "rateLimit", "logging"});
    if (!top.ok()) return config;
    if (const Field* f = top.get("proxy")) read_proxy(*f, config.proxy);
    if (const Field* f = top.get("logging")) read_logging(*f, config.logging);
    if (const Field* f = top.get("upstreams")) read_upstreams(*f, config.upstreams);
    if (const Field* f = top.get("security")) read_security(*f, config.security);
    if (const Field* f = top.get("routes")) read_routes(*f, config.routes);
    if (const Field* f = top.get("rateLimit")) read_rate_limit_settings(*f, config.rate_limit);
    return config;
  }

 private:
  // Sets `out` when the key is present and its value valid.
  template <typename T, typename Convert>
  void read(const MapFields& map, std::string_view key, T& out, Convert convert) {
    if (const Field* field = map.get(key)) {
      if (auto value = convert(*field)) out = static_cast<T>(*value);
    }
  }
  void read_duration(const MapFields& map, std::string_view key, Millis& out) {
    read(map, key, out, [&](const Field& f) { return r_.duration(f, kMinTimeout, kMaxTimeout); });
  }
  template <typename T>
  void read_integer(const MapFields& map, std::string_view key, T& out, std::uint64_t min,
                    std::uint64_t max) {
    read(map, key, out, [&](const Field& f) { return r_.integer(f, min, max); });
  }
  void read_bool(const MapFields& map, std::string_view key, bool& out) {
    read(map, key, out, [&](const Field& f) { return r_.boolean(f); });
  }

  void read_proxy(const Field& field, ProxySettings& proxy) {
    MapFields map(r_, field,
                  {"port", "host", "timeout", "maxBodySize", "workers", "headerTimeout", "idleTimeout",
                   "drainTimeout", "maxHeadSize", "maxUriSize", "maxHeaderCount"});
    if (!map.ok()) return;
    read_integer(map, "port", proxy.port, 0, 65535);
    if (const Field* f = map.get("host")) {
      if (auto host = r_.string(*f)) {
        if (std::string error = check_listen_host(*host); !error.empty()) {
          r_.error(f->mark, f->path, error);
        } else {
          proxy.host = lower(*host);
        }
      }
    }
    read_duration(map, "timeout", proxy.timeout);
    read(map, "maxBodySize", proxy.max_body_size, [&](const Field& f) { return r_.size(f, 1, kNoLimit); });
    read_integer(map, "workers", proxy.workers, 0, 256);
    read_duration(map, "headerTimeout", proxy.header_timeout);
    read_duration(map, "idleTimeout", proxy.idle_timeout);
    read_duration(map, "drainTimeout", proxy.drain_timeout);
    // The head and target are buffered whole, so these bound per-connection memory.
    read(map, "maxHeadSize", proxy.max_head_size, [&](const Field& f) { return r_.size(f, 1, 64u << 20); });
    read(map, "maxUriSize", proxy.max_uri_size, [&](const Field& f) { return r_.size(f, 1, 64u << 20); });
    read_integer(map, "maxHeaderCount", proxy.max_header_count, 1, 10000);
  }

  void read_logging(const Field& field, LoggingSpec& logging) {
    MapFields map(r_, field, {"level", "format", "accessLog", "sampling"});
    if (!map.ok()) return;
    if (const Field* f = map.get("level")) {
      if (auto level = r_.one_of(*f, {"debug", "info", "warn", "error"})) {
        logging.level = *level == "debug"  ? LogLevel::kDebug
                        : *level == "info" ? LogLevel::kInfo
                        : *level == "warn" ? LogLevel::kWarn
                                           : LogLevel::kError;
      }
    }
    if (const Field* f = map.get("format")) {
      if (auto format = r_.one_of(*f, {"json", "text"})) {
        logging.format = *format == "json" ? LogFormat::kJson : LogFormat::kText;
      }
    }
    read_bool(map, "accessLog", logging.access_log);
    if (const Field* f = map.get("sampling")) {
      MapFields sampling(r_, *f, {"successRate", "errorRate"});
      if (!sampling.ok()) return;
      read(sampling, "successRate", logging.sampling.success_rate,
           [&](const Field& x) { return r_.number(x, 0.0, 1.0); });
      read(sampling, "errorRate", logging.sampling.error_rate,
           [&](const Field& x) { return r_.number(x, 0.0, 1.0); });
    }
  }

  void read_upstreams(const Field& field, std::vector<UpstreamSpec>& upstreams) {
    const auto items = r_.items(field);
    if (!items) return;
    std::unordered_map<std::string, YAML::Mark> first_name;
    for (const Field& item : *items) {
      UpstreamSpec upstream;
      const std::optional<Field> name_field = read_upstream(item, upstream);
      if (name_field) {
        const auto [at, inserted] = first_name.emplace(upstream.name, name_field->mark);
        if (!inserted) {
          r_.error(name_field->mark, name_field->path,
                   "duplicate upstream name " + quote(upstream.name) + " (first defined on " +
                       line_of(at->second) + ")");
        } else {
          upstream_names_.push_back(upstream.name);
        }
      }
      upstreams.push_back(std::move(upstream));
    }
  }

  // Returns the `name` field when the upstream has a usable name (for the duplicate check).
  std::optional<Field> read_upstream(const Field& field, UpstreamSpec& upstream) {
    MapFields map(r_, field,
                  {"name", "url", "targets", "timeout", "connectTimeout", "retries", "loadBalancer",
                   "circuitBreaker", "pool"});
    if (!map.ok()) return std::nullopt;
    upstream.pos = to_pos(field.mark);
    const Field* name_field = map.require("name");
    if (name_field != nullptr) {
      if (auto name = r_.string(*name_field)) {
        // Kept even when malformed so routes naming it do not also report "not defined".
        upstream.name = *name;
        if (!valid_upstream_name(*name)) {
          r_.error(name_field->mark, name_field->path,
                   "may only contain letters, digits, '-', '_' and '.' (it names metrics and logs)");
        }
      }
    }
    const Field* url = map.get("url");
    const Field* targets = map.get("targets");
    if (url != nullptr && targets != nullptr) {
      const Field& later = to_pos(url->key_mark).line > to_pos(targets->key_mark).line ? *url : *targets;
      r_.error(later.key_mark, later.path, "use either 'url' or 'targets', not both");
    } else if (url == nullptr && targets == nullptr) {
      r_.error(field.mark, map.path("url"), "missing required key 'url' (or 'targets')");
    } else if (url != nullptr) {
      TargetSpec target;
      if (read_target_url(*url, target)) upstream.targets.push_back(std::move(target));
    } else {
      read_targets(*targets, upstream.targets);
    }
    read_duration(map, "timeout", upstream.timeout);
    read_duration(map, "connectTimeout", upstream.connect_timeout);
    read_integer(map, "retries", upstream.retries, 0, 10);
    if (const Field* f = map.get("loadBalancer")) {
      if (auto lb = r_.one_of(*f, {"round_robin", "least_request", "latency", "consistent_hash"})) {
        upstream.load_balancer = *lb;
      }
    }
    if (const Field* f = map.get("circuitBreaker")) read_circuit_breaker(*f, upstream.circuit_breaker);
    if (const Field* f = map.get("pool")) {
      MapFields pool(r_, *f, {"maxIdle", "idleTimeout"});
      if (pool.ok()) {
        read_integer(pool, "maxIdle", upstream.pool.max_idle, 0, 10000);
        read_duration(pool, "idleTimeout", upstream.pool.idle_timeout);
      }
    }
    if (upstream.name.empty()) return std::nullopt;
    return *name_field;
  }

  bool read_target_url(const Field& field, TargetSpec& target) {
    const auto text = r_.string(field);
    if (!text) return false;
    UpstreamUrl url;
    if (std::string error = parse_upstream_url(*text, url); !error.empty()) {
      r_.error(field.mark, field.path, error);
      return false;
    }
    target.url = *text;
    target.scheme = url.scheme;
    target.host = url.host;
    target.port = url.port;
    target.pos = to_pos(field.mark);
    return true;
  }

  void read_targets(const Field& field, std::vector<TargetSpec>& targets) {
    const auto items = r_.items(field);
    if (!items) return;
    if (items->empty()) {
      r_.error(field.mark, field.path, "must list at least one target like {url: \"http://10.0.0.1:8080\"}");
      return;
    }
    std::vector<std::string> seen;  // "scheme://host:port" of each valid target, by index
    for (const Field& item : *items) {
      MapFields map(r_, item, {"url", "weight"});
      seen.emplace_back();
      if (!map.ok()) continue;
      TargetSpec target;
      const Field* url = map.require("url");
      bool ok = url != nullptr && read_target_url(*url, target);
      read_integer(map, "weight", target.weight, 1, 1000);
      if (!ok) continue;
      target.pos = to_pos(item.mark);
      const std::string key = target.scheme + "://" + target.host + ":" + std::to_string(target.port);
      const auto earlier = std::find(seen.begin(), seen.end(), key);
      if (earlier != seen.end()) {
        r_.error(url->mark, url->path,
                 "duplicate target (same as " + field.path + "[" + std::to_string(earlier - seen.begin()) +
                     "]); raise its weight instead");
        continue;
      }
      seen.back() = key;
      targets.push_back(std::move(target));
    }
  }

  void read_circuit_breaker(const Field& field, CircuitBreakerSpec& breaker) {
    MapFields map(
        r_, field,
        {"enabled", "failureThreshold", "minimumRequests", "windowMs", "openDuration", "halfOpenRequests"});
    if (!map.ok()) return;
    read_bool(map, "enabled", breaker.enabled);
    read_integer(map, "failureThreshold", breaker.failure_threshold, 1, 100);
    read_integer(map, "minimumRequests", breaker.minimum_requests, 1, 1'000'000);
    read_duration(map, "windowMs", breaker.window);
    read_duration(map, "openDuration", breaker.open_duration);
    read_integer(map, "halfOpenRequests", breaker.half_open_requests, 1, 1000);
  }

  void read_security(const Field& field, SecuritySpec& security) {
    MapFields map(r_, field, {"allowedHosts", "blockedIPs", "auth"});
    if (!map.ok()) return;
    if (const Field* f = map.get("allowedHosts")) {
      if (const auto items = r_.items(*f)) {
        for (const Field& item : *items) {
          if (auto host = read_host_pattern(item)) security.allowed_hosts.push_back(std::move(*host));
        }
      }
    }
    if (const Field* f = map.get("blockedIPs")) {
      if (const auto items = r_.items(*f)) {
        for (const Field& item : *items) {
          const auto text = r_.string(item);
          if (!text) continue;
          if (std::string error = check_ip_or_cidr(*text); !error.empty()) {
            r_.error(item.mark, item.path, error);
          } else {
            security.blocked_ips.push_back(lower(*text));
          }
        }
      }
    }
    if (const Field* f = map.get("auth")) {
      security.auth.present = true;
      auth_present_ = true;
      read_auth(*f, security.auth);
    }
  }

  std::optional<std::string> read_host_pattern(const Field& field) {
    const auto text = r_.string(field);
    if (!text) return std::nullopt;
    std::string host = lower(*text);
    if (std::string error = check_host_pattern(host); !error.empty()) {
      r_.error(field.mark, field.path, error);
      return std::nullopt;
    }
    return host;
  }

  void read_auth(const Field& field, AuthSpec& auth) {
    MapFields map(r_, field, {"type", "header", "keys"});
    if (!map.ok()) return;
    if (const Field* f = map.get("type")) {
      if (auto type = r_.one_of(*f, {"apiKey", "hmac"})) auth.type = *type;
    }
    if (const Field* f = map.get("header")) {
      if (auto header = r_.string(*f)) {
        if (!is_token(*header)) {
          r_.error(f->mark, f->path, "must be a header name like X-API-Key (got " + quote(*header) + ")");
        } else {
          auth.header = *header;
        }
      }
    }
    const Field* keys = map.require("keys");
    if (keys == nullptr) return;
    const auto items = r_.items(*keys);
    if (!items) return;
    if (items->empty()) {
      r_.error(keys->mark, keys->path,
               "must list at least one key, or every authenticated request is refused");
      return;
    }
    std::unordered_map<std::string, std::string> names, digests;  // value -> path of its first use
    for (const Field& item : *items) {
      MapFields entry(r_, item, {"key", "name", "hmacSecret"});
      if (!entry.ok()) continue;
      ApiKeySpec key;
      key.pos = to_pos(item.mark);
      if (const Field* f = entry.require("key")) {
        // Never echo the value: it may be a real secret pasted by mistake.
        if (!f->node.IsScalar() || !is_hex(f->node.Scalar(), 64)) {
          r_.error(
              f->mark, f->path,
              f->node.IsScalar()
                  ? "looks like a plaintext key; store its SHA-256 (flexgate hash-key KEY), 64 hex characters"
                  : "must be the key's SHA-256 as 64 hex characters (got " + describe(f->node) + ")");
        } else {
          key.key_sha256 = lower(f->node.Scalar());
          const auto [at, inserted] = digests.emplace(key.key_sha256, item.path);
          if (!inserted)
            r_.error(f->mark, f->path, "the same key digest is listed twice (also " + at->second + ")");
        }
      }
      if (const Field* f = entry.require("name")) {
        if (auto name = r_.string(*f)) {
          key.name = *name;
          const auto [at, inserted] = names.emplace(key.name, item.path);
          if (!inserted)
            r_.error(f->mark, f->path,
                     "duplicate key name " + quote(key.name) + " (also " + at->second + ")");
        }
      }
      if (const Field* f = entry.get("hmacSecret")) {
        if (auto secret = r_.string(*f)) key.hmac_secret = *secret;
      } else if (auth.type == "hmac") {
        r_.error(item.mark, entry.path("hmacSecret"),
                 "missing required key 'hmacSecret' (security.auth.type is hmac)");
      }
      auth.keys.push_back(std::move(key));
    }
  }

  void read_routes(const Field& field, std::vector<RouteSpec>& routes) {
    const auto items = r_.items(field);
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i) {
      RouteSpec route;
      read_route((*items)[i], i, route);
      routes.push_back(std::move(route));
    }
  }

  void read_route(const Field& field, std::size_t index, RouteSpec& route) {
    MapFields map(r_, field,
                  {"path", "host", "upstream", "methods", "auth", "timeout", "maxBodySize", "stripPrefix",
                   "rewrite", "preserveHost", "rateLimit"});
    if (!map.ok()) return;
    route.pos = to_pos(field.mark);

    PathPattern pattern;
    bool path_ok = false;
    const Field* path = map.require("path");
    if (path != nullptr) {
      if (auto text = r_.string(*path)) {
        route.path = *text;
        route_paths_.push_back(*text);
        if (std::string error = parse_path_pattern(*text, pattern); !error.empty()) {
          r_.error(path->mark, path->path, error);
        } else {
          path_ok = true;
          route_shapes_.push_back(pattern.shape);
        }
      }
    }
    bool host_ok = true;
    if (const Field* f = map.get("host")) {
      auto host = read_host_pattern(*f);
      host_ok = host.has_value();
      if (host) route.host = std::move(*host);
    }
    if (const Field* f = map.require("upstream")) {
      if (auto name = r_.string(*f)) {
        route.upstream = *name;
        check_upstream_defined(*f, *name);
      }
    }
    bool methods_ok = true;
    if (const Field* f = map.get("methods")) methods_ok = read_methods(*f, route.methods);
    if (const Field* f = map.get("auth")) {
      if (auto mode = r_.one_of(*f, {"required", "optional", "none"})) {
        route.auth = *mode == "required"   ? AuthMode::kRequired
                     : *mode == "optional" ? AuthMode::kOptional
                                           : AuthMode::kNone;
        if (route.auth == AuthMode::kRequired && !auth_present_) {
          r_.error(f->mark, f->path,
                   "auth: required needs a security.auth section with the API keys to check");
        }
      }
    }
    if (const Field* f = map.get("timeout")) route.timeout = r_.duration(*f, kMinTimeout, kMaxTimeout);
    if (const Field* f = map.get("maxBodySize")) route.max_body_size = r_.size(*f, 1, kNoLimit);
    read_bool(map, "stripPrefix", route.strip_prefix);
    read_bool(map, "preserveHost", route.preserve_host);
    const Field* strip = map.get("stripPrefix");
    if (route.strip_prefix && path_ok && !pattern.wildcard) {
      r_.error(
          strip->mark, strip->path,
          "stripPrefix needs a wildcard path like \"/api/*\" (there is no prefix before a '*' to strip)");
    }
    if (const Field* f = map.get("rewrite")) {
      if (auto text = r_.string(*f)) {
        if (route.strip_prefix) {
          const Field& later = to_pos(f->key_mark).line >= to_pos(strip->key_mark).line ? *f : *strip;
          r_.error(
              later.key_mark, later.path,
              "set either stripPrefix or rewrite, not both (rewrite already replaces the matched prefix)");
        } else if (path_ok) {
          if (std::string error = check_rewrite(*text, pattern); !error.empty()) {
            r_.error(f->mark, f->path, error);
          } else {
            route.rewrite = *text;
          }
        }
      }
    }
    if (const Field* f = map.get("rateLimit")) {
      MapFields limit(r_, *f, {"max", "windowMs", "message", "key"});
      if (limit.ok()) {
        RateLimitSpec spec;
        read_limit(limit, spec);
        route.rate_limit = std::move(spec);
      }
    }
    if (path_ok && host_ok && methods_ok) check_duplicate_route(*path, index, pattern.shape, route);
  }

  void check_upstream_defined(const Field& field, const std::string& name) {
    if (std::find(upstream_names_.begin(), upstream_names_.end(), name) != upstream_names_.end()) return;
    std::string message = "upstream " + quote(name) + " is not defined";
    message += upstream_names_.empty() ? " (no upstreams are defined)"
                                       : " (defined: " + join_names(upstream_names_) + ")";
    std::vector<std::string_view> names(upstream_names_.begin(), upstream_names_.end());
    if (const std::string_view hint = suggest(name, names); !hint.empty()) {
      message += "; did you mean '" + std::string(hint) + "'?";
    }
    r_.error(field.mark, field.path, std::move(message));
  }

  bool read_methods(const Field& field, std::vector<std::string>& methods) {
    const auto items = r_.items(field);
    if (!items) return false;
    if (items->empty()) {
      r_.error(field.mark, field.path, "must list at least one method (omit the key to allow every method)");
      return false;
    }
    bool ok = true;
    for (const Field& item : *items) {
      const auto text = r_.string(item);
      if (!text) {
        ok = false;
        continue;
      }
      if (!is_token(*text)) {
        r_.error(item.mark, item.path, quote(*text) + " is not a valid HTTP method name");
        ok = false;
        continue;
      }
      std::string method = upper(*text);
      if (std::find(methods.begin(), methods.end(), method) != methods.end()) {
        r_.error(item.mark, item.path, "method " + method + " is listed twice");
        continue;
      }
      methods.push_back(std::move(method));
    }
    return ok;
  }

  // Two routes are the same when their patterns match the same paths (":id" and ":uid" are the
  // same segment), on the same host pattern, for at least one common method.
  void check_duplicate_route(const Field& path, std::size_t index, const std::string& shape,
                             const RouteSpec& route) {
    auto& same = seen_routes_[shape + '\n' + route.host];
    for (const SeenRoute& other : same) {
      std::string shared;
      if (methods_overlap(other.methods, route.methods, shared)) {
        r_.error(path.mark, path.path,
                 "duplicate route: routes[" + std::to_string(other.index) + "] (" + line_of(other.mark) +
                     ") already matches " + quote(other.path) +
                     (route.host.empty() ? std::string(" on any host") : " on host " + quote(route.host)) +
                     " for " + shared);
        return;
      }
    }
    same.push_back(SeenRoute{route.path, route.methods, index, path.mark});
  }

  // `max`, `windowMs`, `message`, `key`: a route's rateLimit, rateLimit.global, perRoute entries.
  void read_limit(MapFields& map, RateLimitSpec& spec) {
    spec.pos = to_pos(map.self().mark);
    if (const Field* f = map.require("max")) {
      if (auto max = r_.integer(*f, 1, kMaxRateLimit)) spec.max = *max;
    }
    read_duration(map, "windowMs", spec.window);
    if (const Field* f = map.get("message")) {
      if (auto message = r_.string(*f, /*allow_empty=*/true)) spec.message = *message;
    }
    if (const Field* f = map.get("key")) {
      if (auto key = r_.string(*f)) {
        const bool header = key->starts_with("header:") && is_token(std::string_view(*key).substr(7));
        if (*key != "ip" && !header) {
          r_.error(f->mark, f->path,
                   "must be 'ip' or 'header:NAME' like 'header:X-API-Key' (got " + quote(*key) + ")");
        } else {
          spec.key = *key;
        }
      }
    }
  }

  void read_rate_limit_settings(const Field& field, RateLimitSettings& settings) {
    MapFields map(r_, field, {"backend", "redis", "failMode", "global", "perRoute"});
    if (!map.ok()) return;
    if (const Field* f = map.get("backend")) {
      if (auto backend = r_.one_of(*f, {"memory", "redis"})) settings.backend = *backend;
    }
    if (const Field* f = map.get("redis")) {
      MapFields redis(r_, *f, {"url", "timeout"});
      if (redis.ok()) {
        if (const Field* u = redis.get("url")) {
          if (auto url = r_.string(*u)) {
            const bool scheme_ok = url->starts_with("redis://") || url->starts_with("rediss://");
            if (!scheme_ok ||
                url->size() <=
                    std::string_view(url->starts_with("rediss") ? "rediss://" : "redis://").size()) {
              r_.error(u->mark, u->path,
                       "must be a Redis URL like \"redis://localhost:6379\" (redis:// or rediss://)");
            } else {
              settings.redis.url = *url;
            }
          }
        }
        read_duration(redis, "timeout", settings.redis.timeout);
      }
    }
    if (const Field* f = map.get("failMode")) {
      if (auto mode = r_.one_of(*f, {"open", "local", "closed"})) settings.fail_mode = *mode;
    }
    if (const Field* f = map.get("global")) {
      MapFields global(r_, *f, {"max", "windowMs", "message", "key"});
      if (global.ok()) {
        RateLimitSpec spec;
        read_limit(global, spec);
        settings.global = std::move(spec);
      }
    }
    if (const Field* f = map.get("perRoute")) {
      const auto items = r_.items(*f);
      if (!items) return;
      std::unordered_map<std::string, std::string> first;  // shape -> path of the entry using it
      for (const Field& item : *items) {
        MapFields entry(r_, item, {"path", "max", "windowMs", "message", "key"});
        if (!entry.ok()) continue;
        PerRouteRateLimitSpec spec;
        if (const Field* p = entry.require("path")) {
          if (auto text = r_.string(*p)) {
            spec.path = *text;
            check_per_route_path(*p, item.path, *text, first);
          }
        }
        read_limit(entry, spec.limit);
        settings.per_route.push_back(std::move(spec));
      }
    }
  }

  void check_per_route_path(const Field& field, const std::string& entry_path, const std::string& text,
                            std::unordered_map<std::string, std::string>& first) {
    PathPattern pattern;
    if (std::string error = parse_path_pattern(text, pattern); !error.empty()) {
      // A route with this very (invalid) path has already been reported there.
      if (std::find(route_paths_.begin(), route_paths_.end(), text) == route_paths_.end()) {
        r_.error(field.mark, field.path, error);
      }
      return;
    }
    if (std::find(route_shapes_.begin(), route_shapes_.end(), pattern.shape) == route_shapes_.end()) {
      r_.error(field.mark, field.path,
               "no route has path " + quote(text) +
                   (route_paths_.empty() ? std::string(" (no routes are defined)")
                                         : " (route paths: " + join_names(route_paths_) + ")"));
      return;
    }
    const auto [at, inserted] = first.emplace(pattern.shape, entry_path);
    if (!inserted) r_.error(field.mark, field.path, "this route already has a limit (" + at->second + ")");
  }

  Reader& r_;
  std::vector<std::string> upstream_names_;  // in file order, for "defined: a, b"
  bool auth_present_ = false;
  std::vector<std::string> route_paths_;                                 // as written, valid or not
  std::vector<std::string> route_shapes_;                                // of the valid ones
  std::unordered_map<std::string, std::vector<SeenRoute>> seen_routes_;  // shape + host -> routes
};

LoadResult error_result(std::string_view file, int line, int column, std::string message) {
  LoadResult result;
  result.errors.push_back(ConfigError{std::string(file), line, column, "", std::move(message)});
  return result;
}

// What a first pass over the YAML events says about the documents in the text.
struct DocumentScan {
  int documents_with_content = 0;
  YAML::Mark second_document;  // start of the second document with content
  bool stuck = false;          // the parser stopped consuming input (a stray token)
  YAML::Mark stuck_at;
};

// Counts documents without building nodes. yaml-cpp 0.7's LoadAll loops forever (allocating a
// null document each time) on a stray token such as "," at document level, so documents are
// pulled one at a time here and a document that starts where the previous one started ends it.
class DocumentCounter : public YAML::EventHandler {
 public:
  DocumentScan scan(const std::string& text) {
    std::istringstream input(text);
    YAML::Parser parser(input);
    std::optional<std::size_t> previous_start;
    while (parser.HandleNextDocument(*this)) {
      if (previous_start && *previous_start == static_cast<std::size_t>(start_.pos)) {
        result_.stuck = true;
        result_.stuck_at = start_;
        break;
      }
      previous_start = static_cast<std::size_t>(start_.pos);
      if (content_ && ++result_.documents_with_content == 2) {
        result_.second_document = start_;
        break;
      }
    }
    return result_;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    start_ = mark;
    content_ = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { content_ = true; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
    content_ = true;
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    content_ = true;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content_ = true;
  }
  void OnMapEnd() override {}

 private:
  DocumentScan result_;
  YAML::Mark start_;
  bool content_ = false;
};

LoadResult load_document(std::string_view yaml_text, std::string_view file_name) {
  const std::string text(yaml_text);
  YAML::Node root;
  try {
    const DocumentScan scan = DocumentCounter().scan(text);
    if (scan.stuck) {
      const SourcePos pos = to_pos(scan.stuck_at);
      const auto at = static_cast<std::size_t>(scan.stuck_at.pos);
      return error_result(
          file_name, pos.line, pos.column,
          "YAML syntax error: unexpected " +
              (at < text.size() ? quote(std::string_view(text).substr(at, 1)) : "end of input"));
    }
    if (scan.documents_with_content == 0) {
      return error_result(file_name, 0, 0, "the config is empty; it needs at least 'upstreams' and 'routes'");
    }
    if (scan.documents_with_content > 1) {
      const SourcePos pos = to_pos(scan.second_document);
      return error_result(
          file_name, pos.line, pos.column,
          "the file holds more than one YAML document ('---'); a config is a single document");
    }
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    const SourcePos pos = to_pos(e.mark);
    return error_result(file_name, pos.line, pos.column, "YAML syntax error: " + e.msg);
  }
  Reader reader{std::string(file_name)};
  if (!root.IsMap()) {
    reader.error(root.Mark(), "",
                 "the top level must be a mapping with keys like proxy, upstreams and routes (got " +
                     describe(root) + ")");
    return LoadResult{std::nullopt, reader.take_errors()};
  }
  ConfigLoader loader(reader);
  Config config = loader.load(Field{root, "", root.Mark(), root.Mark()});
  if (reader.has_errors()) return LoadResult{std::nullopt, reader.take_errors()};
  return LoadResult{std::move(config), {}};
}

// Closes a file descriptor on scope exit.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line) + ':' + std::to_string(column);
  }
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

LoadResult load_config_text(std::string_view yaml_text, std::string_view file_name) {
  // yaml-cpp reports problems by throwing; none of that may leave the loader.
  try {
    return load_document(yaml_text, file_name);
  } catch (const YAML::Exception& e) {
    const SourcePos pos = to_pos(e.mark);
    return error_result(file_name, pos.line, pos.column, "YAML error: " + e.msg);
  } catch (const std::bad_alloc&) {
    return error_result(file_name, 0, 0, "out of memory while reading the config");
  } catch (const std::exception& e) {
    return error_result(file_name, 0, 0, std::string("internal error while reading the config: ") + e.what());
  } catch (...) {
    return error_result(file_name, 0, 0, "internal error while reading the config");
  }
}

LoadResult load_config_file(const std::string& path) {
  const auto fail = [&](const std::string& what) {
    return error_result(path, 0, 0, "cannot read config file: " + what);
  };
  FdCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return fail(std::strerror(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) return fail(std::strerror(errno));
  if (S_ISDIR(info.st_mode)) return fail(std::strerror(EISDIR));
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileSize) return fail("larger than " + format_size(kMaxFileSize));
  }
  LoadResult result = load_config_text(text, path);
  if (result.config) result.config->source_path = path;
  return result;
}

}  // namespace flexgate::config
