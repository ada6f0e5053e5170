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
#include <filesystem>
#include <limits>
#include <new>
#include <sstream>
#include <system_error>
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
constexpr Millis kMinClockSkew = 1s;
constexpr Millis kMaxClockSkew = 1h;
constexpr Millis kMaxDnsTimeout = 60s;
constexpr Millis kMaxDnsTtl = 24h;
constexpr unsigned kDefaultDnsPort = 53;

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

bool has_control_chars(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// "" when `text` is a media type "type/subtype" (two tokens, no parameters), or a media range
// "type/*" or "*/*" (the route validator matches those too).
std::string check_media_type(std::string_view text) {
  if (text.find(';') != std::string_view::npos) {
    return "must be a media type without parameters, like \"application/json\" (got " + quote(text) + ")";
  }
  const std::size_t slash = text.find('/');
  const std::string_view type = text.substr(0, slash);
  const std::string_view subtype = slash == std::string_view::npos ? "" : text.substr(slash + 1);
  if (!is_token(type) || !is_token(subtype)) {
    return quote(text) + " is not a media type like \"application/json\" (type/subtype)";
  }
  const bool range = subtype == "*" && (type == "*" || type.find('*') == std::string_view::npos);
  if (!range && text.find('*') != std::string_view::npos) {
    return "'*' is only allowed as a whole subtype, like \"text/*\", or as \"*/*\" (got " + quote(text) + ")";
  }
  return {};
}

// A DNS server: an IPv4 literal or a bracketed IPv6 literal, optionally with ":port" (1..65535,
// default 53). Sets `out` to "address:port" (IPv6 lower-cased, in brackets); "" when valid.
std::string parse_dns_server(std::string_view text, std::string& out) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return "must not contain spaces, control or non-ASCII characters";
  }
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  bool v6 = false;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "has an unclosed '['";
    host = text.substr(1, close - 1);
    if (host.find('%') != std::string_view::npos) {
      return quote(text.substr(0, close + 1)) +
             " is not a valid IPv6 address: zone IDs like '%eth0' are not allowed";
    }
    if (!parse_ipv6(host)) return quote(text.substr(0, close + 1)) + " is not a valid IPv6 address";
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected text after ']'";
      port_text = after.substr(1);
      has_port = true;
    }
    v6 = true;
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    if (parse_ipv6(text)) return "write IPv6 addresses in brackets, like \"[::1]\" or \"[::1]:53\"";
    return quote(text) + " is not an IP address; write IPv6 addresses in brackets, like \"[::1]:53\"";
  } else {
    const std::size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return "has no address";
    if (!parse_ipv4(host)) {
      if (host.find('/') != std::string_view::npos) return "must be an IP address, not a CIDR";
      if (check_hostname(host).empty()) {
        return quote(host) + " is a host name; name DNS servers by IP address, like 10.0.0.2 or [::1]:53";
      }
      return quote(host) +
             " is not a valid IPv4 address: write 4 decimal parts 0-255 without leading zeros, like 10.0.0.2";
    }
  }
  const bool unspecified = v6 ? parse_ipv6(host) == std::array<std::uint8_t, 16>{}
                              : parse_ipv4(host) == std::array<std::uint8_t, 4>{};
  if (unspecified) return quote(host) + " is the unspecified address; name the server's own address";
  unsigned port = kDefaultDnsPort;
  if (has_port) {
    const bool digits = !port_text.empty() && port_text.size() <= 5 && port_text.front() != '0' &&
                        port_text.find_first_not_of("0123456789") == std::string_view::npos;
    port = 0;
    if (digits) {
      for (char c : port_text) port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return "port must be a number 1..65535 (got " + quote(port_text) + ")";
  }
  out = v6 ? "[" + lower(std::string(host)) + "]" : std::string(host);
  out += ":" + std::to_string(port);
  return {};
}

// True when `a`'s key comes after `b`'s in the file.
bool written_after(const Field& a, const Field& b) {
  const SourcePos pa = to_pos(a.key_mark), pb = to_pos(b.key_mark);
  return pa.line != pb.line ? pa.line > pb.line : pa.column > pb.column;
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
  // `base_dir` resolves relative file paths in the config (the config file's directory).
  ConfigLoader(Reader& reader, std::filesystem::path base_dir) : r_(reader), base_dir_(std::move(base_dir)) {}

  Config load(const Field& root) {
    Config config;
    MapFields top(r_, root, {"proxy", "upstreams", "routes", "security", "rateLimit", "logging", "dns"});
    if (!top.ok()) return config;
    if (const Field* f = top.get("proxy")) read_proxy(*f, config.proxy);
    if (const Field* f = top.get("logging")) read_logging(*f, config.logging);
    if (const Field* f = top.get("upstreams")) read_upstreams(*f, config.upstreams);
    if (const Field* f = top.get("security")) read_security(*f, config.security);
    if (const Field* f = top.get("routes")) read_routes(*f, config.routes);
    if (const Field* f = top.get("rateLimit")) read_rate_limit_settings(*f, config.rate_limit);
    if (const Field* f = top.get("dns")) read_dns(*f, config.dns);
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
    MapFields map(
        r_, field,
        {"allowedHosts", "blockedIPs", "builtinDenyList", "trustedProxies", "underscoreHeaders", "auth"});
    if (!map.ok()) return;
    if (const Field* f = map.get("allowedHosts")) {
      if (const auto items = r_.items(*f)) {
        for (const Field& item : *items) {
          if (auto host = read_host_pattern(item)) security.allowed_hosts.push_back(std::move(*host));
        }
      }
    }
    if (const Field* f = map.get("blockedIPs")) read_cidr_list(*f, security.blocked_ips);
    read_bool(map, "builtinDenyList", security.builtin_deny_list);
    if (const Field* f = map.get("trustedProxies")) read_cidr_list(*f, security.trusted_proxies);
    if (const Field* f = map.get("underscoreHeaders")) {
      if (auto mode = r_.one_of(*f, {"reject", "drop"})) security.underscore_headers = *mode;
    }
    if (const Field* f = map.get("auth")) {
      security.auth.present = true;
      auth_present_ = true;
      read_auth(*f, security.auth);
    }
  }

  // A list of IP addresses and CIDRs (strict forms, host bits zero), lower-cased into `out`.
  // Returns the number of items, or nullopt when `field` is not a list.
  std::optional<std::size_t> read_cidr_list(const Field& field, std::vector<std::string>& out) {
    const auto items = r_.items(field);
    if (!items) return std::nullopt;
    for (const Field& item : *items) {
      const auto text = r_.string(item);
      if (!text) continue;
      if (std::string error = check_ip_or_cidr(*text); !error.empty()) {
        r_.error(item.mark, item.path, error);
      } else {
        out.push_back(lower(*text));
      }
    }
    return items->size();
  }

  // A header field name (an HTTP token); `example` shows one in the message.
  void read_header_name(const MapFields& map, std::string_view key, std::string_view example,
                        std::string& out) {
    const Field* f = map.get(key);
    if (f == nullptr) return;
    if (auto header = r_.string(*f)) {
      if (!is_token(*header)) {
        r_.error(f->mark, f->path,
                 "must be a header name like " + std::string(example) + " (got " + quote(*header) + ")");
      } else {
        out = *header;
      }
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
    MapFields map(r_, field, {"type", "header", "keys", "timestampHeader", "signatureHeader", "maxSkew"});
    if (!map.ok()) return;
    if (const Field* f = map.get("type")) {
      if (auto type = r_.one_of(*f, {"apiKey", "hmac"})) auth.type = *type;
    }
    read_header_name(map, "header", "X-API-Key", auth.header);
    read_header_name(map, "timestampHeader", "X-Timestamp", auth.timestamp_header);
    read_header_name(map, "signatureHeader", "X-Signature", auth.signature_header);
    read(map, "maxSkew", auth.max_clock_skew,
         [&](const Field& f) { return r_.duration(f, kMinClockSkew, kMaxClockSkew); });
    if (auth.type == "hmac") check_hmac_headers_differ(map, auth);
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

  // HMAC reads the key name, the timestamp and the signature from three headers: one header
  // cannot carry two of them. Reported at the later of the two keys that were written.
  void check_hmac_headers_differ(const MapFields& map, const AuthSpec& auth) {
    struct Header {
      std::string_view key;
      const std::string& value;
    };
    const Header headers[] = {{"header", auth.header},
                              {"timestampHeader", auth.timestamp_header},
                              {"signatureHeader", auth.signature_header}};
    for (std::size_t i = 0; i < std::size(headers); ++i) {
      for (std::size_t j = i + 1; j < std::size(headers); ++j) {
        if (lower(headers[i].value) != lower(headers[j].value)) continue;
        const Field* a = map.get(headers[i].key);
        const Field* b = map.get(headers[j].key);
        if (a == nullptr && b == nullptr) continue;  // two defaults never collide
        const bool b_later = a == nullptr || (b != nullptr && written_after(*b, *a));
        const Field* at = b_later ? b : a;
        const std::string_view other = b_later ? headers[i].key : headers[j].key;
        r_.error(at->mark, at->path,
                 "is the same header as security.auth." + std::string(other) + " (" +
                     quote(headers[i].value) +
                     "); HMAC reads the key, the timestamp and the signature from three different headers");
        return;
      }
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
    MapFields map(
        r_, field,
        {"path", "host", "upstream", "methods", "auth", "timeout", "maxBodySize", "stripPrefix", "rewrite",
         "preserveHost", "rateLimit", "allowFrom", "denyFrom", "validate", "forwardCredentials"});
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
    if (const Field* f = map.get("allowFrom")) {
      if (read_cidr_list(*f, route.allow_from) == 0u) {
        r_.error(f->mark, f->path,
                 "must list at least one address or CIDR (omit the key to allow every client)");
      }
    }
    if (const Field* f = map.get("denyFrom")) read_cidr_list(*f, route.deny_from);
    if (const Field* f = map.get("validate")) read_validate(*f, route);
    read_bool(map, "forwardCredentials", route.forward_credentials);
    if (path_ok && host_ok && methods_ok) check_duplicate_route(*path, index, pattern.shape, route);
  }

  // `validate: { contentTypes: [...], jsonSchema: "path" }`: at least one of the two.
  void read_validate(const Field& field, RouteSpec& route) {
    MapFields map(r_, field, {"contentTypes", "jsonSchema"});
    if (!map.ok()) return;
    ValidateSpec spec;
    spec.pos = to_pos(field.mark);
    const Field* types = map.get("contentTypes");
    const Field* schema = map.get("jsonSchema");
    if (types == nullptr && schema == nullptr) {
      r_.error(field.mark, map.path("contentTypes"), "missing required key 'contentTypes' (or 'jsonSchema')");
      return;
    }
    if (types != nullptr) read_content_types(*types, spec.content_types);
    if (schema != nullptr) read_json_schema(*schema, spec);
    route.validate = std::move(spec);
  }

  void read_content_types(const Field& field, std::vector<std::string>& types) {
    const auto items = r_.items(field);
    if (!items) return;
    if (items->empty()) {
      r_.error(field.mark, field.path,
               "must list at least one media type (omit the key to accept any content type)");
      return;
    }
    for (const Field& item : *items) {
      const auto text = r_.string(item);
      if (!text) continue;
      if (std::string error = check_media_type(*text); !error.empty()) {
        r_.error(item.mark, item.path, error);
        continue;
      }
      std::string type = lower(*text);
      if (std::find(types.begin(), types.end(), type) != types.end()) {
        r_.error(item.mark, item.path, "media type " + type + " is listed twice");
        continue;
      }
      types.push_back(std::move(type));
    }
  }

  // Keeps the path as written and resolves it against the config file's directory. Whether the
  // file is a valid schema is checked when the runtime compiles it; a missing file is reported now.
  void read_json_schema(const Field& field, ValidateSpec& spec) {
    const auto text = r_.string(field);
    if (!text) return;
    if (has_control_chars(*text)) {
      r_.error(field.mark, field.path, "must be a file path without control characters");
      return;
    }
    const std::filesystem::path written(*text);
    const std::filesystem::path resolved =
        (written.is_absolute() ? written : base_dir_ / written).lexically_normal();
    spec.json_schema = *text;
    spec.json_schema_path = resolved.string();
    std::error_code ec;
    const std::filesystem::file_status status = std::filesystem::status(resolved, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      r_.error(field.mark, field.path, "file not found: " + resolved.string());
    } else if (ec) {
      r_.error(field.mark, field.path, "cannot access " + resolved.string() + ": " + ec.message());
    } else if (std::filesystem::is_directory(status)) {
      r_.error(field.mark, field.path, resolved.string() + " is a directory, not a JSON schema file");
    }
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

  void read_dns(const Field& field, DnsSpec& dns) {
    MapFields map(r_, field, {"servers", "timeout", "minTtl", "maxTtl"});
    if (!map.ok()) return;
    if (const Field* f = map.get("servers")) {
      if (const auto items = r_.items(*f)) {
        std::vector<std::string> paths;  // of each accepted server, for the duplicate message
        for (const Field& item : *items) {
          const auto text = r_.string(item);
          if (!text) continue;
          std::string server;
          if (std::string error = parse_dns_server(*text, server); !error.empty()) {
            r_.error(item.mark, item.path, error);
            continue;
          }
          const auto earlier = std::find(dns.servers.begin(), dns.servers.end(), server);
          if (earlier != dns.servers.end()) {
            r_.error(
                item.mark, item.path,
                "server " + server + " is listed twice (also " + paths[earlier - dns.servers.begin()] + ")");
            continue;
          }
          dns.servers.push_back(std::move(server));
          paths.push_back(item.path);
        }
      }
    }
    read(map, "timeout", dns.timeout,
         [&](const Field& f) { return r_.duration(f, kMinTimeout, kMaxDnsTimeout); });
    // A minimum TTL of 0 keeps answers for exactly their own TTL; the maximum must allow caching.
    const Field* min_field = map.get("minTtl");
    const Field* max_field = map.get("maxTtl");
    std::optional<Millis> min_ttl, max_ttl;
    if (min_field != nullptr) min_ttl = r_.duration(*min_field, 0ms, kMaxDnsTtl);
    if (max_field != nullptr) max_ttl = r_.duration(*max_field, kMinTimeout, kMaxDnsTtl);
    if ((min_field != nullptr && !min_ttl) || (max_field != nullptr && !max_ttl)) return;
    if (min_ttl) dns.min_ttl = *min_ttl;
    if (max_ttl) dns.max_ttl = *max_ttl;
    if (dns.min_ttl <= dns.max_ttl || (min_field == nullptr && max_field == nullptr)) return;
    // Blame the key written last (the one set, when only one is).
    const bool blame_max =
        min_field == nullptr || (max_field != nullptr && written_after(*max_field, *min_field));
    if (blame_max) {
      r_.error(max_field->mark, max_field->path,
               "must not be less than minTtl (got " + format_duration(dns.max_ttl) + "; minTtl is " +
                   format_duration(dns.min_ttl) + (min_field == nullptr ? " by default)" : ")"));
    } else {
      r_.error(min_field->mark, min_field->path,
               "must not be greater than maxTtl (got " + format_duration(dns.min_ttl) + "; maxTtl is " +
                   format_duration(dns.max_ttl) + (max_field == nullptr ? " by default)" : ")"));
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
  std::filesystem::path base_dir_;
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

LoadResult load_document(std::string_view yaml_text, std::string_view file_name,
                         const std::filesystem::path& base_dir) {
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
  ConfigLoader loader(reader, base_dir);
  Config config = loader.load(Field{root, "", root.Mark(), root.Mark()});
  if (reader.has_errors()) return LoadResult{std::nullopt, reader.take_errors()};
  return LoadResult{std::move(config), {}};
}

// Loads `yaml_text`; relative file paths in it are resolved against `base_dir`.
LoadResult load_text(std::string_view yaml_text, std::string_view file_name,
                     const std::filesystem::path& base_dir) {
  // yaml-cpp reports problems by throwing; none of that may leave the loader.
  try {
    return load_document(yaml_text, file_name, base_dir);
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
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);  // "" if it is gone
  return load_text(yaml_text, file_name, cwd);
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
  // Relative paths inside the file (jsonSchema) are relative to the file's own directory.
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  LoadResult result = load_text(text, path, ec ? std::filesystem::path() : absolute.parent_path());
  if (result.config) result.config->source_path = path;
  return result;
}

}  // namespace flexgate::config
