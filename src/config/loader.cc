// Loads a config file: YAML -> typed Config, checking every value and cross-reference on the way
// and collecting every error (with file:line:col and key path) instead of stopping at the first.

#include "config/loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
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
#include "config/tls_reader.h"
#include "config/transform_reader.h"
#include "core/errno_text.h"

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
constexpr unsigned kMaxConnectionLimit = 1'000'000;
constexpr unsigned kMaxConcurrent = 100'000;
constexpr unsigned kMaxQueueSize = 100'000;
constexpr unsigned kMaxRetries = 10;
constexpr std::uint64_t kMinLogFileSize = 1024;  // smaller rotates every few lines
constexpr std::uint64_t kMaxLogFiles = 100;
constexpr std::uint64_t kMaxLoggedHeaders = 32;  // keeps an access line a line, not a dump
constexpr std::string_view kFailureWords[] = {"connect-failure", "timeout", "reset", "5xx"};

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

// 0.7 -> "0.7" (shortest form that reads back the same).
std::string number_text(double value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

// A health-check probe path: origin-form, sent as written.
std::string check_probe_path(std::string_view text) {
  if (!text.starts_with('/')) return "must start with '/' (got " + quote(text) + ")";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return "must not contain spaces, control or non-ASCII characters";
  }
  if (text.find('#') != std::string_view::npos) return "must not contain a fragment ('#')";
  return {};
}

LoadBalancerStrategy to_strategy(std::string_view name) {
  if (name == "round_robin") return LoadBalancerStrategy::kRoundRobin;
  if (name == "latency") return LoadBalancerStrategy::kLatency;
  if (name == "consistent_hash") return LoadBalancerStrategy::kConsistentHash;
  return LoadBalancerStrategy::kLeastRequest;
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
    MapFields top(r_, root, {"proxy", "upstreams", "routes", "security", "rateLimit", "logging", "dns", "admin",
                             "metrics", "health", "tracing", "cors", "securityHeaders"});
    if (!top.ok()) return config;
    if (const Field* f = top.get("proxy")) read_proxy(*f, config.proxy);
    if (const Field* f = top.get("logging")) read_logging(*f, config.logging);
    if (const Field* f = top.get("upstreams")) read_upstreams(*f, config.upstreams);
    for (UpstreamSpec& upstream : config.upstreams) {
      // The upstream-level effective values, for code that reads these fields directly.
      upstream.timeout = upstream.timeouts.first_byte.value_or(
          config.proxy.timeouts.first_byte.value_or(kDefaultFirstByteTimeout));
      upstream.connect_timeout =
          upstream.timeouts.connect.value_or(config.proxy.timeouts.connect.value_or(kDefaultConnectTimeout));
    }
    if (const Field* f = top.get("security")) read_security(*f, config.security);
    if (const Field* f = top.get("routes")) read_routes(*f, config.routes);
    if (const Field* f = top.get("rateLimit")) read_rate_limit_settings(*f, config.rate_limit);
    if (const Field* f = top.get("dns")) read_dns(*f, config.dns);
    if (const Field* f = top.get("admin")) read_admin(*f, config.admin, config.proxy);
    read_builtin_paths(top.get("metrics"), top.get("health"), config);
    if (const Field* f = top.get("tracing")) read_tracing(*f, config.tracing);
    if (const Field* f = top.get("cors")) {
      CorsSpec cors;
      read_cors(r_, *f, /*allow_false=*/false, cors);
      config.cors = std::move(cors);
    }
    if (const Field* f = top.get("securityHeaders")) {
      SecurityHeadersSpec spec;
      read_security_headers(r_, *f, spec);
      config.security_headers = std::move(spec);
    }
    return config;
  }

 private:
  // Sets `out` when the key is present and its value valid. False when present and invalid.
  template <typename T, typename Convert>
  bool read(const MapFields& map, std::string_view key, T& out, Convert convert) {
    const Field* field = map.get(key);
    if (field == nullptr) return true;
    auto value = convert(*field);
    if (!value) return false;
    out = static_cast<T>(*value);
    return true;
  }
  bool read_duration(const MapFields& map, std::string_view key, Millis& out) {
    return read(map, key, out, [&](const Field& f) { return r_.duration(f, kMinTimeout, kMaxTimeout); });
  }
  template <typename T>
  bool read_integer(const MapFields& map, std::string_view key, T& out, std::uint64_t min,
                    std::uint64_t max) {
    return read(map, key, out, [&](const Field& f) { return r_.integer(f, min, max); });
  }
  bool read_bool(const MapFields& map, std::string_view key, bool& out) {
    return read(map, key, out, [&](const Field& f) { return r_.boolean(f); });
  }
  bool read_fraction(const MapFields& map, std::string_view key, double& out) {
    return read(map, key, out, [&](const Field& f) { return r_.number(f, 0.0, 1.0); });
  }

  // `low` (the value of `low_key`) must not exceed `high` (of `high_key`), nor equal it when
  // `strict`. Blames the key written last (the one written, when the other is a default).
  template <typename T, typename Show>
  void check_order(const MapFields& map, std::string_view low_key, T low, std::string_view high_key, T high,
                   bool strict, Show show) {
    if (strict ? low < high : !(high < low)) return;
    const Field* low_field = map.get(low_key);
    const Field* high_field = map.get(high_key);
    if (low_field == nullptr && high_field == nullptr) return;  // the defaults are in order
    const bool blame_high =
        low_field == nullptr || (high_field != nullptr && written_after(*high_field, *low_field));
    const Field& at = blame_high ? *high_field : *low_field;
    const std::string other(blame_high ? low_key : high_key);
    const std::string relation =
        blame_high ? (strict ? "greater than " : "at least ") : (strict ? "less than " : "at most ");
    const bool other_default = (blame_high ? low_field : high_field) == nullptr;
    r_.error(at.mark, at.path,
             "must be " + relation + other + " (got " + show(blame_high ? high : low) + "; " + other +
                 " is " + show(blame_high ? low : high) + (other_default ? " by default)" : ")"));
  }

  // An older key at the same level as `timeouts` that sets one of its fields.
  struct TimeoutAlias {
    const Field* field;     // nullptr when not written
    std::string_view twin;  // its key inside `timeouts`
  };

  // `timeouts: {connect, firstByte, perTry, request, idle}` (`field` may be null) plus the older
  // keys for the same settings; writing a setting both ways is an error.
  void read_timeouts(const Field* field, TimeoutsSpec& spec, std::initializer_list<TimeoutAlias> aliases) {
    std::optional<MapFields> map;
    if (field != nullptr) {
      map.emplace(
          r_, *field,
          std::initializer_list<std::string_view>{"connect", "firstByte", "perTry", "request", "idle"});
      if (!map->ok()) map.reset();
    }
    using Slot = std::optional<Millis> TimeoutsSpec::*;
    const std::pair<std::string_view, Slot> slots[] = {{"connect", &TimeoutsSpec::connect},
                                                       {"firstByte", &TimeoutsSpec::first_byte},
                                                       {"perTry", &TimeoutsSpec::per_try},
                                                       {"request", &TimeoutsSpec::request},
                                                       {"idle", &TimeoutsSpec::idle}};
    for (const auto& [key, slot] : slots) {
      const Field* twin = map ? map->get(key) : nullptr;
      const Field* alias = nullptr;
      for (const TimeoutAlias& a : aliases) {
        if (a.twin == key && a.field != nullptr) alias = a.field;
      }
      if (twin != nullptr && alias != nullptr) {
        const bool alias_later = written_after(*alias, *twin);
        const Field& later = alias_later ? *alias : *twin;
        const Field& other = alias_later ? *twin : *alias;
        r_.error(
            later.key_mark, later.path,
            "sets the same timeout as " + other.path + " (" + line_of(other.key_mark) + "); keep only one");
        continue;
      }
      const Field* value = twin != nullptr ? twin : alias;
      if (value == nullptr) continue;
      if (auto duration = r_.duration(*value, kMinTimeout, kMaxTimeout)) spec.*slot = *duration;
    }
  }

  void read_proxy(const Field& field, ProxySettings& proxy) {
    MapFields map(r_, field,
                  {"port", "host", "timeout", "maxBodySize", "workers", "headerTimeout", "idleTimeout",
                   "drainTimeout", "maxHeadSize", "maxUriSize", "maxHeaderCount", "timeouts",
                   "maxConnections", "maxInFlight", "shedding", "shutdownDelay", "tls", "http2"});
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
    read_timeouts(map.get("timeouts"), proxy.timeouts,
                  {{map.get("timeout"), "request"}, {map.get("idleTimeout"), "idle"}});
    proxy.timeout = proxy.timeouts.request.value_or(kDefaultRequestTimeout);
    proxy.idle_timeout = proxy.timeouts.idle.value_or(kDefaultIdleTimeout);
    read(map, "maxBodySize", proxy.max_body_size, [&](const Field& f) { return r_.size(f, 1, kNoLimit); });
    read_integer(map, "workers", proxy.workers, 0, 256);
    read_duration(map, "headerTimeout", proxy.header_timeout);
    read_duration(map, "drainTimeout", proxy.drain_timeout);
    // 0 allowed: no pause between "not ready" and closing the listeners.
    read(map, "shutdownDelay", proxy.shutdown_delay,
         [&](const Field& f) { return r_.duration(f, Millis(0), std::chrono::minutes(10)); });
    // The head and target are buffered whole, so these bound per-connection memory.
    read(map, "maxHeadSize", proxy.max_head_size, [&](const Field& f) { return r_.size(f, 1, 64u << 20); });
    read(map, "maxUriSize", proxy.max_uri_size, [&](const Field& f) { return r_.size(f, 1, 64u << 20); });
    read_integer(map, "maxHeaderCount", proxy.max_header_count, 1, 10000);
    read_integer(map, "maxConnections", proxy.max_connections, 0, kMaxConnectionLimit);
    const bool in_flight_ok = read_integer(map, "maxInFlight", proxy.max_in_flight, 0, kMaxConnectionLimit);
    if (const Field* f = map.get("shedding")) read_shedding(*f, in_flight_ok, proxy);
    if (const Field* f = map.get("tls")) {
      ServerTlsSpec tls;
      read_server_tls(r_, *f, base_dir_, tls);
      proxy.tls = std::move(tls);
    }
    if (const Field* f = map.get("http2")) {
      MapFields http2(r_, *f, {"enabled", "h2c", "maxConcurrentStreams", "initialWindowSize", "maxResetsPerSecond"});
      if (http2.ok()) {
        read_bool(http2, "enabled", proxy.http2.enabled);
        read_bool(http2, "h2c", proxy.http2.h2c);
        read_integer(http2, "maxConcurrentStreams", proxy.http2.max_concurrent_streams, 1, 10000);
        read(http2, "initialWindowSize", proxy.http2.initial_window_size,
             [&](const Field& w) { return r_.size(w, 65535, (1u << 31) - 1); });
        read_integer(http2, "maxResetsPerSecond", proxy.http2.max_resets_per_second, 1, 100000);
        if (proxy.http2.enabled && map.get("tls") == nullptr) {
          r_.error(f->key_mark, f->path,
                   "enabled offers h2 in TLS ALPN and needs proxy.tls; for plaintext HTTP/2 use h2c: true");
        }
      }
    }
  }

  // `in_flight_ok`: maxInFlight is absent or valid (an invalid one is already reported).
  void read_shedding(const Field& field, bool in_flight_ok, ProxySettings& proxy) {
    MapFields map(r_, field, {"lowAt", "normalAt"});
    if (!map.ok()) return;
    SheddingSpec& shedding = proxy.shedding;
    const bool low_ok = read_fraction(map, "lowAt", shedding.low_at);
    const bool normal_ok = read_fraction(map, "normalAt", shedding.normal_at);
    if (low_ok && normal_ok) {
      check_order(map, "lowAt", shedding.low_at, "normalAt", shedding.normal_at, /*strict=*/false,
                  number_text);
    }
    if (in_flight_ok && proxy.max_in_flight == 0) {
      r_.error(field.key_mark, field.path,
               "needs proxy.maxInFlight: the thresholds are fractions of it, and with 0 (unlimited, the "
               "default) nothing is shed");
    }
  }

  void read_logging(const Field& field, LoggingSpec& logging) {
    MapFields map(r_, field,
                  {"level", "format", "accessLog", "sampling", "output", "rotation", "redactHeaders",
                   "headers"});
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
      if (sampling.ok()) {
        read_fraction(sampling, "successRate", logging.sampling.success_rate);
        read_fraction(sampling, "errorRate", logging.sampling.error_rate);
      }
    }
    const Field* output = map.get("output");
    if (output != nullptr) read_log_output(*output, logging);
    if (const Field* f = map.get("rotation")) {
      MapFields rotation(r_, *f, {"maxSize", "maxFiles"});
      if (rotation.ok()) {
        read(rotation, "maxSize", logging.rotation.max_size,
             [&](const Field& x) { return r_.size(x, kMinLogFileSize, kNoLimit); });
        read_integer(rotation, "maxFiles", logging.rotation.max_files, 1, kMaxLogFiles);
      }
      // Checked against the output as written, valid or not: one error is enough for a bad path.
      const bool to_stdout =
          output == nullptr || (output->node.IsScalar() && output->node.Scalar() == "stdout");
      if (to_stdout) {
        r_.error(f->key_mark, f->path,
                 "applies to a log file only; set logging.output to a file path (output is stdout)");
      }
    }
    if (const Field* f = map.get("redactHeaders")) {
      read_log_header_names(*f, kNoLimit, logging.redact_headers);
    }
    if (const Field* f = map.get("headers")) read_log_header_names(*f, kMaxLoggedHeaders, logging.headers);
  }

  // `stdout`, or a file path resolved like jsonSchema: against the config file's directory. The
  // file may not exist yet (it is created at start), but its directory must.
  void read_log_output(const Field& field, LoggingSpec& logging) {
    const auto text = r_.string(field);
    if (!text) return;
    if (*text == "stdout") {
      logging.output = *text;
      logging.output_path.clear();
      return;
    }
    if (has_control_chars(*text)) {
      r_.error(field.mark, field.path, "must be 'stdout' or a file path without control characters");
      return;
    }
    const std::filesystem::path written(*text);
    const std::filesystem::path resolved =
        (written.is_absolute() ? written : base_dir_ / written).lexically_normal();
    std::error_code ec;
    if (!resolved.has_filename() || std::filesystem::is_directory(resolved, ec)) {
      r_.error(field.mark, field.path, resolved.string() + " is a directory; give a file path (or 'stdout')");
      return;
    }
    const std::filesystem::path directory = resolved.parent_path();
    const std::filesystem::file_status status = std::filesystem::status(directory, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      r_.error(field.mark, field.path, "directory not found: " + directory.string());
      return;
    }
    if (ec) {
      r_.error(field.mark, field.path, "cannot access " + directory.string() + ": " + ec.message());
      return;
    }
    if (!std::filesystem::is_directory(status)) {
      r_.error(field.mark, field.path, directory.string() + " is not a directory");
      return;
    }
    logging.output = *text;
    logging.output_path = resolved.string();
  }

  // A list of header field names (HTTP tokens), each once (names are case-insensitive).
  void read_log_header_names(const Field& field, std::uint64_t limit, std::vector<std::string>& out) {
    const auto items = r_.items(field);
    if (!items) return;
    if (items->size() > limit) {
      r_.error(field.mark, field.path,
               "lists " + std::to_string(items->size()) + " headers; at most " + std::to_string(limit) +
                   " fit in an access line");
      return;
    }
    std::unordered_map<std::string, std::string> seen;  // lower-case name -> path of its first use
    for (const Field& item : *items) {
      const auto name = r_.string(item);
      if (!name) continue;
      if (!is_token(*name)) {
        r_.error(item.mark, item.path,
                 "must be a header name like X-Request-Source (got " + quote(*name) + ")");
        continue;
      }
      const auto [at, inserted] = seen.emplace(lower(*name), item.path);
      if (!inserted) {
        r_.error(item.mark, item.path,
                 "header " + quote(*name) + " is listed twice (also " + at->second + ")");
        continue;
      }
      out.push_back(*name);
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
          if (upstream.protocol != UpstreamProtocol::kHttp1) http2_upstream_names_.push_back(upstream.name);
        }
      }
      upstreams.push_back(std::move(upstream));
    }
  }

  // Returns the `name` field when the upstream has a usable name (for the duplicate check).
  std::optional<Field> read_upstream(const Field& field, UpstreamSpec& upstream) {
    MapFields map(
        r_, field,
        {"name", "url", "targets", "timeout", "connectTimeout", "retries", "retry", "loadBalancer",
         "circuitBreaker", "pool", "timeouts", "healthCheck", "outlierDetection", "maxConcurrent", "queue",
         "headers", "securityHeaders", "tls", "protocol"});
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
    const Field* retries = map.get("retries");
    const Field* retry = map.get("retry");
    std::optional<Field> per_try;  // retry.perTryTimeout: the same setting as timeouts.perTry
    if (retries != nullptr && retry != nullptr) {
      const Field& later = written_after(*retry, *retries) ? *retry : *retries;
      r_.error(
          later.key_mark, later.path,
          "use either 'retries' or 'retry', not both ('retries: N' is short for 'retry: {attempts: N}')");
    } else if (retries != nullptr) {
      upstream.retry.pos = to_pos(retries->mark);
      if (auto attempts = r_.integer(*retries, 0, kMaxRetries)) upstream.retry.attempts = *attempts;
    } else if (retry != nullptr) {
      per_try = read_retry(*retry, upstream.retry);
    }
    upstream.retries = upstream.retry.attempts;
    read_timeouts(map.get("timeouts"), upstream.timeouts,
                  {{map.get("timeout"), "firstByte"},
                   {map.get("connectTimeout"), "connect"},
                   {per_try ? &*per_try : nullptr, "perTry"}});
    if (const Field* f = map.get("loadBalancer")) read_load_balancer(*f, upstream);
    if (const Field* f = map.get("circuitBreaker")) read_circuit_breaker(*f, upstream.circuit_breaker);
    if (const Field* f = map.get("pool")) {
      MapFields pool(r_, *f, {"maxIdle", "idleTimeout"});
      if (pool.ok()) {
        read_integer(pool, "maxIdle", upstream.pool.max_idle, 0, 10000);
        read_duration(pool, "idleTimeout", upstream.pool.idle_timeout);
      }
    }
    if (const Field* f = map.get("healthCheck")) read_health_check(*f, upstream.health_check);
    if (const Field* f = map.get("outlierDetection")) read_outlier_detection(*f, upstream.outlier_detection);
    if (const Field* f = map.get("maxConcurrent")) read_max_concurrent(*f, upstream);
    if (const Field* f = map.get("queue")) {
      MapFields queue(r_, *f, {"size", "timeout"});
      if (queue.ok()) {
        read_integer(queue, "size", upstream.queue.size, 0, kMaxQueueSize);
        read_duration(queue, "timeout", upstream.queue.timeout);
        if (map.get("maxConcurrent") == nullptr) {
          r_.error(f->key_mark, f->path,
                   "needs maxConcurrent: without a concurrency limit no request ever waits");
        }
      }
    }
    if (const Field* f = map.get("headers")) {
      HeadersSpec headers;
      read_headers(r_, *f, TemplateScope{}, headers);
      upstream.headers = std::move(headers);
    }
    if (const Field* f = map.get("securityHeaders")) {
      SecurityHeadersSpec spec;
      read_security_headers(r_, *f, spec);
      upstream.security_headers = std::move(spec);
    }
    if (const Field* f = map.get("tls")) {
      UpstreamTlsSpec tls;
      read_upstream_tls(r_, *f, base_dir_, tls);
      upstream.tls = std::move(tls);
      const bool any_https = std::any_of(upstream.targets.begin(), upstream.targets.end(),
                                         [](const TargetSpec& target) { return target.scheme == "https"; });
      if (!any_https && !upstream.targets.empty()) {
        r_.error(f->key_mark, f->path, "applies to https:// targets, and this upstream has none");
      }
    }
    if (const Field* f = map.get("protocol")) read_upstream_protocol(*f, upstream);
    if (const Field* f = map.get("healthCheck"); f != nullptr && upstream.protocol != UpstreamProtocol::kHttp1) {
      // The probes speak HTTP/1.1: against an HTTP/2-only target every one would fail.
      r_.error(f->key_mark, f->path, "probes speak HTTP/1.1 and cannot check a protocol: h2 or h2c upstream yet");
    }
    if (upstream.name.empty()) return std::nullopt;
    return *name_field;
  }

  // `protocol: http1 | h2 | h2c`: h2 is negotiated in the TLS handshake (ALPN), h2c is spoken
  // from the first byte (prior knowledge), so each needs its own kind of target.
  void read_upstream_protocol(const Field& field, UpstreamSpec& upstream) {
    const auto protocol = r_.one_of(field, {"http1", "h2", "h2c"});
    if (!protocol) return;
    if (*protocol == "http1") return;
    upstream.protocol = *protocol == "h2" ? UpstreamProtocol::kH2 : UpstreamProtocol::kH2c;
    const std::string_view needed = upstream.protocol == UpstreamProtocol::kH2 ? "https" : "http";
    for (const TargetSpec& target : upstream.targets) {
      if (target.scheme == needed) continue;
      r_.error(field.mark, field.path,
               upstream.protocol == UpstreamProtocol::kH2
                   ? "h2 is negotiated over TLS and needs https:// targets; for cleartext HTTP/2 use h2c"
                   : "h2c is cleartext HTTP/2 and needs http:// targets; for HTTP/2 over TLS use h2");
      return;
    }
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
    MapFields map(r_, field,
                  {"enabled", "failureThreshold", "minimumRequests", "windowMs", "openDuration",
                   "halfOpenRequests", "failOn"});
    if (!map.ok()) return;
    read_bool(map, "enabled", breaker.enabled);
    read_integer(map, "failureThreshold", breaker.failure_threshold, 1, 100);
    read_integer(map, "minimumRequests", breaker.minimum_requests, 1, 1'000'000);
    read_duration(map, "windowMs", breaker.window);
    read_duration(map, "openDuration", breaker.open_duration);
    read_integer(map, "halfOpenRequests", breaker.half_open_requests, 1, 1000);
    if (const Field* f = map.get("failOn")) {
      read_failure_conditions(*f, breaker.fail_on, "connect-failure, timeout, 5xx");
    }
  }

  // `circuitBreaker.failOn` / `retry.on`: replaces `out` when the list is valid. `defaults` names
  // what omitting the key gives, for the empty-list message.
  void read_failure_conditions(const Field& field, FailureConditions& out, std::string_view defaults) {
    const auto items = r_.items(field);
    if (!items) return;
    if (items->empty()) {
      r_.error(
          field.mark, field.path,
          "must list at least one condition (omit the key for the default: " + std::string(defaults) + ")");
      return;
    }
    FailureConditions conditions;
    bool ok = true;
    std::vector<std::pair<std::string, std::string>> seen;  // word -> path of the item
    std::vector<const Field*> status_items;                 // by index into conditions.statuses
    const Field* all_5xx = nullptr;
    const std::string expected = "must be connect-failure, timeout, reset, 5xx or a status code 500..599";
    for (const Field& item : *items) {
      if (!item.node.IsScalar()) {
        r_.error(item.mark, item.path, expected + " (got " + describe(item.node) + ")");
        ok = false;
        continue;
      }
      const std::string& word = item.node.Scalar();
      const bool digits = word.size() == 3 && word.find_first_not_of("0123456789") == std::string::npos;
      const bool known =
          std::find(std::begin(kFailureWords), std::end(kFailureWords), word) != std::end(kFailureWords);
      if (digits && (word < "500" || word > "599")) {
        r_.error(item.mark, item.path,
                 "status " + word + " is not a server error; only 500..599 can be listed");
        ok = false;
        continue;
      }
      if (!digits && !known) {
        std::string message = expected + " (got " + quote(word) + ")";
        if (const std::string_view hint = suggest(word, kFailureWords); !hint.empty()) {
          message += "; did you mean '" + std::string(hint) + "'?";
        }
        r_.error(item.mark, item.path, std::move(message));
        ok = false;
        continue;
      }
      const auto earlier =
          std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == word; });
      if (earlier != seen.end()) {
        r_.error(item.mark, item.path, quote(word) + " is listed twice (also " + earlier->second + ")");
        ok = false;
        continue;
      }
      seen.emplace_back(word, item.path);
      if (digits) {
        conditions.statuses.push_back(static_cast<std::uint16_t>(std::stoi(word)));
        status_items.push_back(&item);
      } else if (word == "connect-failure") {
        conditions.connect_failure = true;
      } else if (word == "timeout") {
        conditions.timeout = true;
      } else if (word == "reset") {
        conditions.reset = true;
      } else {
        conditions.any_5xx = true;
        all_5xx = &item;
      }
    }
    if (all_5xx != nullptr) {
      for (const Field* item : status_items) {
        r_.error(item->mark, item->path,
                 quote(item->node.Scalar()) + " is already covered by '5xx' (" + all_5xx->path + ")");
        ok = false;
      }
    }
    if (ok) out = std::move(conditions);
  }

  // `loadBalancer: NAME` or `loadBalancer: {strategy, hashOn, latencyDecay}`.
  void read_load_balancer(const Field& field, UpstreamSpec& upstream) {
    LoadBalancerSpec& balancer = upstream.balancer;
    balancer.pos = to_pos(field.mark);
    const auto read_strategy = [&](const Field& f) {
      return r_.one_of(f, {"round_robin", "least_request", "latency", "consistent_hash"});
    };
    if (!field.node.IsMap()) {
      const auto name = read_strategy(field);
      if (!name) return;
      if (*name == "consistent_hash") {
        r_.error(field.mark, field.path,
                 "consistent_hash needs a key to hash: write {strategy: consistent_hash, hashOn: ip} "
                 "(or header:NAME, cookie:NAME)");
        return;
      }
      upstream.load_balancer = *name;
      balancer.strategy = to_strategy(*name);
      return;
    }
    MapFields map(r_, field, {"strategy", "hashOn", "latencyDecay"});
    if (!map.ok()) return;
    std::optional<std::string> name;
    if (const Field* f = map.require("strategy")) name = read_strategy(*f);
    const Field* hash_field = map.get("hashOn");
    HashOnSpec hash_on;
    if (hash_field != nullptr) read_hash_on(*hash_field, hash_on);
    const Field* decay_field = map.get("latencyDecay");
    std::optional<Millis> decay;
    if (decay_field != nullptr) decay = r_.duration(*decay_field, kMinTimeout, kMaxTimeout);
    if (!name) return;
    if (*name == "consistent_hash") {
      if (hash_field == nullptr) {
        r_.error(field.mark, map.path("hashOn"),
                 "missing required key 'hashOn' (consistent_hash hashes it: ip, header:NAME or cookie:NAME)");
      }
      balancer.hash_on = std::move(hash_on);
    } else if (hash_field != nullptr) {
      r_.error(hash_field->key_mark, hash_field->path,
               "only applies to strategy consistent_hash (strategy is " + *name + ")");
    }
    if (decay_field != nullptr && *name != "latency") {
      r_.error(decay_field->key_mark, decay_field->path,
               "only applies to strategy latency (strategy is " + *name + ")");
    } else if (decay) {
      balancer.latency_decay = *decay;
    }
    upstream.load_balancer = *name;
    balancer.strategy = to_strategy(*name);
  }

  // "ip", "header:NAME" or "cookie:NAME".
  bool read_hash_on(const Field& field, HashOnSpec& out) {
    const auto text = r_.string(field);
    if (!text) return false;
    const std::string_view value = *text;
    if (value == "ip") {
      out = HashOnSpec{HashSource::kIp, ""};
      return true;
    }
    for (const auto& [prefix, source] : {std::pair{std::string_view("header:"), HashSource::kHeader},
                                         std::pair{std::string_view("cookie:"), HashSource::kCookie}}) {
      if (value.starts_with(prefix) && is_token(value.substr(prefix.size()))) {
        out = HashOnSpec{source, std::string(value.substr(prefix.size()))};
        return true;
      }
    }
    r_.error(
        field.mark, field.path,
        "must be 'ip', 'header:NAME' or 'cookie:NAME' like 'header:X-User-Id' (got " + quote(value) + ")");
    return false;
  }

  // Returns the `perTryTimeout` field: it is read with the upstream's timeouts (the same setting).
  std::optional<Field> read_retry(const Field& field, RetrySpec& retry) {
    MapFields map(r_, field, {"attempts", "on", "backoff", "budget", "perTryTimeout"});
    if (!map.ok()) return std::nullopt;
    retry.pos = to_pos(field.mark);
    if (const Field* f = map.require("attempts")) {
      if (auto attempts = r_.integer(*f, 0, kMaxRetries)) retry.attempts = static_cast<unsigned>(*attempts);
    }
    if (const Field* f = map.get("on")) {
      read_failure_conditions(*f, retry.on, "connect-failure, timeout, 502, 503, 504");
    }
    if (const Field* f = map.get("backoff")) {
      MapFields backoff(r_, *f, {"base", "max"});
      if (backoff.ok()) {
        const bool base_ok = read_duration(backoff, "base", retry.backoff.base);
        const bool max_ok = read_duration(backoff, "max", retry.backoff.max);
        if (base_ok && max_ok) {
          check_order(backoff, "base", retry.backoff.base, "max", retry.backoff.max, /*strict=*/false,
                      format_duration);
        }
      }
    }
    if (const Field* f = map.get("budget")) {
      MapFields budget(r_, *f, {"ratio", "minRetries", "window"});
      if (budget.ok()) {
        read_fraction(budget, "ratio", retry.budget.ratio);
        read_integer(budget, "minRetries", retry.budget.min_retries, 0, 1'000'000);
        read_duration(budget, "window", retry.budget.window);
      }
    }
    if (const Field* f = map.get("perTryTimeout")) return *f;
    return std::nullopt;
  }

  void read_health_check(const Field& field, std::optional<HealthCheckSpec>& out) {
    MapFields map(r_, field, {"path", "interval", "timeout", "healthyThreshold", "unhealthyThreshold"});
    if (!map.ok()) return;
    HealthCheckSpec spec;
    spec.pos = to_pos(field.mark);
    if (const Field* f = map.require("path")) {
      if (auto text = r_.string(*f)) {
        if (std::string error = check_probe_path(*text); !error.empty()) {
          r_.error(f->mark, f->path, error);
        } else {
          spec.path = *text;
        }
      }
    }
    const bool interval_ok = read_duration(map, "interval", spec.interval);
    const bool timeout_ok = read_duration(map, "timeout", spec.timeout);
    if (interval_ok && timeout_ok) {
      check_order(map, "timeout", spec.timeout, "interval", spec.interval, /*strict=*/true, format_duration);
    }
    read_integer(map, "healthyThreshold", spec.healthy_threshold, 1, 100);
    read_integer(map, "unhealthyThreshold", spec.unhealthy_threshold, 1, 100);
    out = std::move(spec);
  }

  void read_outlier_detection(const Field& field, OutlierDetectionSpec& spec) {
    MapFields map(
        r_, field,
        {"enabled", "consecutiveFailures", "baseEjectionTime", "maxEjectionTime", "maxEjectionPercent"});
    if (!map.ok()) return;
    spec.enabled = true;  // writing the section turns it on
    spec.pos = to_pos(field.mark);
    read_bool(map, "enabled", spec.enabled);
    read_integer(map, "consecutiveFailures", spec.consecutive_failures, 1, 1000);
    const bool base_ok = read_duration(map, "baseEjectionTime", spec.base_ejection_time);
    const bool max_ok = read_duration(map, "maxEjectionTime", spec.max_ejection_time);
    if (base_ok && max_ok) {
      check_order(map, "baseEjectionTime", spec.base_ejection_time, "maxEjectionTime", spec.max_ejection_time,
                  /*strict=*/false, format_duration);
    }
    read_integer(map, "maxEjectionPercent", spec.max_ejection_percent, 0, 100);
  }

  // A positive integer or `auto`.
  void read_max_concurrent(const Field& field, UpstreamSpec& upstream) {
    const std::string range = "1.." + std::to_string(kMaxConcurrent);
    if (field.node.IsScalar() && field.node.Scalar() == "auto") {
      upstream.concurrency = ConcurrencyLimit::kAuto;
      return;
    }
    const bool numeric = field.node.IsScalar() && !field.node.Scalar().empty() &&
                         (std::isdigit(static_cast<unsigned char>(field.node.Scalar()[0])) != 0 ||
                          field.node.Scalar()[0] == '-');
    if (!numeric) {
      r_.error(field.mark, field.path,
               "must be an integer " + range + " or 'auto' (got " + describe(field.node) + ")");
      return;
    }
    if (auto limit = r_.integer(field, 1, kMaxConcurrent)) {
      upstream.concurrency = ConcurrencyLimit::kFixed;
      upstream.max_concurrent = static_cast<unsigned>(*limit);
    }
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
    MapFields map(r_, field,
                  {"path",
                   "host",
                   "upstream",
                   "upstreams",
                   "fallback",
                   "methods",
                   "auth",
                   "timeout",
                   "timeouts",
                   "maxBodySize",
                   "stripPrefix",
                   "rewrite",
                   "preserveHost",
                   "rateLimit",
                   "allowFrom",
                   "denyFrom",
                   "validate",
                   "forwardCredentials",
                   "retryNonIdempotent",
                   "priority",
                   "headers",
                   "securityHeaders",
                   "cors",
                   "websocket"});
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
    read_route_upstreams(map, route);
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
    read_timeouts(map.get("timeouts"), route.timeouts, {{map.get("timeout"), "firstByte"}});
    route.timeout = route.timeouts.first_byte;
    read_bool(map, "retryNonIdempotent", route.retry_non_idempotent);
    if (const Field* f = map.get("priority")) {
      if (auto priority = r_.one_of(*f, {"critical", "normal", "low"})) {
        route.priority = *priority == "critical" ? RoutePriority::kCritical
                         : *priority == "low"    ? RoutePriority::kLow
                                                 : RoutePriority::kNormal;
      }
    }
    if (const Field* f = map.get("maxBodySize")) route.max_body_size = r_.size(*f, 1, kNoLimit);
    read_bool(map, "stripPrefix", route.strip_prefix);
    read_bool(map, "preserveHost", route.preserve_host);
    const Field* strip = map.get("stripPrefix");
    if (route.strip_prefix && path_ok && !pattern.wildcard) {
      r_.error(
          strip->mark, strip->path,
          "stripPrefix needs a wildcard path like \"/api/*\" (there is no prefix before a '*' to strip)");
    }
    if (const Field* f = map.get("rewrite"); f != nullptr && f->node.IsMap()) {
      // The regex form: {regex, replace}, compiled with RE2 when the snapshot is built.
      if (route.strip_prefix) {
        r_.error(f->key_mark, f->path, "set either stripPrefix or rewrite, not both");
      } else {
        RegexRewriteSpec spec;
        read_regex_rewrite(r_, *f, spec);
        route.rewrite_regex = std::move(spec);
      }
    } else if (f != nullptr) {
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
    if (const Field* f = map.get("headers")) {
      HeadersSpec headers;
      // Without a valid path the parameters are unknown: ${path.NAME} is checked against none.
      read_headers(r_, *f, TemplateScope{&pattern.params}, headers);
      route.headers = std::move(headers);
    }
    if (const Field* f = map.get("securityHeaders")) {
      SecurityHeadersSpec spec;
      read_security_headers(r_, *f, spec);
      route.security_headers = std::move(spec);
    }
    if (const Field* f = map.get("cors")) {
      CorsSpec cors;
      read_cors(r_, *f, /*allow_false=*/true, cors);
      route.cors = std::move(cors);
    }
    read_bool(map, "websocket", route.websocket);
    if (route.websocket && methods_ok && !route.methods.empty() &&
        std::find(route.methods.begin(), route.methods.end(), "GET") == route.methods.end()) {
      // The opening handshake is a GET (RFC 6455 4.1): such a route could never upgrade.
      const Field* f = map.get("websocket");
      r_.error(f->mark, f->path, "websocket: true needs GET among the route's methods (the handshake is a GET)");
    }
    if (route.websocket) check_websocket_upstreams(*map.get("websocket"), route);
    if (path_ok && host_ok && methods_ok) check_duplicate_route(*path, index, pattern.shape, route);
  }

  // `upstream: NAME` or `upstreams: [{name, weight}]` (exactly one), then `fallback`.
  void read_route_upstreams(const MapFields& map, RouteSpec& route) {
    const Field* single = map.get("upstream");
    const Field* split = map.get("upstreams");
    if (single != nullptr && split != nullptr) {
      const Field& later = written_after(*split, *single) ? *split : *single;
      r_.error(later.key_mark, later.path, "use either 'upstream' or 'upstreams', not both");
    } else if (single == nullptr && split == nullptr) {
      r_.error(map.self().mark, map.path("upstream"), "missing required key 'upstream' (or 'upstreams')");
    } else if (single != nullptr) {
      if (auto name = r_.string(*single)) {
        route.upstream = *name;
        route.upstreams.push_back(WeightedUpstream{*name, 1, to_pos(single->mark)});
        check_upstream_defined(*single, *name);
      }
    } else {
      read_split(*split, route);
    }
    const Field* f = map.get("fallback");
    if (f == nullptr) return;
    const auto name = r_.string(*f);
    if (!name) return;
    route.fallback = *name;
    const bool own = std::any_of(route.upstreams.begin(), route.upstreams.end(),
                                 [&](const WeightedUpstream& u) { return u.name == *name; });
    if (own) {
      r_.error(
          f->mark, f->path,
          "upstream " + quote(*name) + " already serves this route; the fallback must be another upstream");
    } else {
      check_upstream_defined(*f, *name);
    }
  }

  void read_split(const Field& field, RouteSpec& route) {
    const auto items = r_.items(field);
    if (!items) return;
    if (items->empty()) {
      r_.error(field.mark, field.path, "must list at least one upstream like {name: api, weight: 100}");
      return;
    }
    std::vector<std::pair<std::string, std::string>> seen;  // name -> path of its entry
    for (const Field& item : *items) {
      MapFields entry(r_, item, {"name", "weight"});
      if (!entry.ok()) continue;
      WeightedUpstream upstream;
      upstream.pos = to_pos(item.mark);
      read_integer(entry, "weight", upstream.weight, 1, 1000);
      const Field* f = entry.require("name");
      if (f == nullptr) continue;
      const auto name = r_.string(*f);
      if (!name) continue;
      const auto earlier =
          std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == *name; });
      if (earlier != seen.end()) {
        r_.error(f->mark, f->path,
                 "upstream " + quote(*name) + " is listed twice (also " + earlier->second +
                     "); raise its weight instead");
        continue;
      }
      seen.emplace_back(*name, item.path);
      check_upstream_defined(*f, *name);
      upstream.name = *name;
      route.upstreams.push_back(std::move(upstream));
    }
    if (!route.upstreams.empty()) route.upstream = route.upstreams.front().name;
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

  // A WebSocket handshake is an HTTP/1.1 Upgrade: an HTTP/2 upstream could not take it (WebSocket
  // over HTTP/2, RFC 8441's extended CONNECT, is not spoken), so such a route could never upgrade.
  void check_websocket_upstreams(const Field& field, const RouteSpec& route) {
    std::vector<std::string_view> names;
    for (const auto& weighted : route.upstreams) names.push_back(weighted.name);
    if (!route.fallback.empty()) names.push_back(route.fallback);
    for (const std::string_view name : names) {
      if (std::find(http2_upstream_names_.begin(), http2_upstream_names_.end(), name) == http2_upstream_names_.end()) {
        continue;
      }
      r_.error(field.mark, field.path,
               "websocket: true cannot go to upstream " + quote(name) +
                   ": it speaks HTTP/2 (protocol: h2 or h2c), and a WebSocket handshake is an HTTP/1.1 Upgrade");
      return;
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
    MapFields map(r_, field, {"backend", "redis", "failMode", "global", "perRoute", "headers"});
    if (!map.ok()) return;
    read_bool(map, "headers", settings.headers);
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

  // `metrics: {path, port}` and `health: {live, ready, deep}`: distinct absolute paths without a
  // query; a metrics port of its own must differ from the public one.
  void read_builtin_paths(const Field* metrics, const Field* health, Config& config) {
    // Where each path was written (copied: the fields die with their MapFields).
    struct Written {
      std::string* value;
      YAML::Mark mark;
      std::string key_path;
    };
    std::vector<Written> paths;
    auto read_path = [&](const MapFields& map, std::string_view key, std::string& out) {
      const Field* f = map.get(key);
      if (f == nullptr) return;
      auto text = r_.string(*f);
      if (!text) return;
      if (!text->starts_with('/') || text->find_first_of("?# \t") != std::string::npos) {
        r_.error(f->mark, f->path, "must be an absolute path without a query, like \"/metrics\"");
        return;
      }
      out = *text;
      paths.push_back(Written{&out, f->mark, f->path});
    };
    if (metrics != nullptr) {
      MapFields map(r_, *metrics, {"path", "port"});
      if (map.ok()) {
        read_path(map, "path", config.metrics.path);
        read_integer(map, "port", config.metrics.port, 0, 65535);
        if (const Field* f = map.get("port"); f != nullptr && config.metrics.port != 0 &&
                                              config.metrics.port == config.proxy.port) {
          r_.error(f->mark, f->path, "is proxy.port: leave it out (or 0) to serve metrics on the main listener");
        }
      }
    }
    if (health != nullptr) {
      MapFields map(r_, *health, {"live", "ready", "deep"});
      if (map.ok()) {
        read_path(map, "live", config.health.live);
        read_path(map, "ready", config.health.ready);
        read_path(map, "deep", config.health.deep);
      }
    }
    const std::string* all[] = {&config.metrics.path, &config.health.live, &config.health.ready, &config.health.deep};
    for (const Written& written : paths) {
      for (const std::string* other : all) {
        if (other != written.value && *other == *written.value) {
          r_.error(written.mark, written.key_path, "is already the path of another built-in endpoint");
          break;
        }
      }
    }
  }

  void read_tracing(const Field& field, TracingSpec& tracing) {
    MapFields map(r_, field, {"otlp"});
    if (!map.ok()) return;
    const Field* otlp = map.get("otlp");
    if (otlp == nullptr) return;
    MapFields fields(r_, *otlp, {"endpoint", "serviceName", "maxQueue"});
    if (!fields.ok()) return;
    if (const Field* f = fields.get("endpoint")) {
      if (auto text = r_.string(*f)) {
        if (!text->starts_with("http://")) {
          r_.error(f->mark, f->path, "must be an http:// URL of the collector, like \"http://127.0.0.1:4318/v1/traces\"");
        } else {
          tracing.otlp.endpoint = *text;
        }
      }
    }
    if (const Field* f = fields.get("serviceName")) {
      if (auto text = r_.string(*f)) tracing.otlp.service_name = *text;
    }
    read_integer(fields, "maxQueue", tracing.otlp.max_queue, 1, 1'000'000);
  }

  void read_admin(const Field& field, AdminSpec& admin, const ProxySettings& proxy) {
    MapFields map(r_, field, {"enabled", "listen", "tokenSha256"});
    if (!map.ok()) return;
    admin.pos = to_pos(field.mark);
    read(map, "enabled", admin.enabled, [&](const Field& f) { return r_.boolean(f); });
    if (const Field* f = map.get("listen")) {
      if (auto text = r_.string(*f)) {
        // host:port, the host an IP literal or localhost; IPv6 in brackets.
        const std::size_t colon = text->rfind(':');
        const std::string host = colon == std::string::npos ? std::string() : text->substr(0, colon);
        const std::string port_text = colon == std::string::npos ? std::string() : text->substr(colon + 1);
        const bool port_ok = !port_text.empty() && port_text.size() <= 5 &&
                             port_text.find_first_not_of("0123456789") == std::string::npos &&
                             std::stoul(port_text) <= 65535;
        const std::string bare = host.size() > 2 && host.front() == '[' && host.back() == ']'
                                     ? host.substr(1, host.size() - 2) : host;
        const bool host_ok = host == "localhost" || parse_ipv4(bare) || (host.front() == '[' && parse_ipv6(bare));
        if (!port_ok || host.empty() || !host_ok) {
          r_.error(f->mark, f->path, "must be host:port with an IP address or localhost, like \"127.0.0.1:9901\"");
        } else if (std::stoul(port_text) != 0 && std::stoul(port_text) == proxy.port) {
          r_.error(f->mark, f->path, "must not be the public port (proxy.port): the admin API has a listener of its own");
        } else {
          admin.listen = *text;
          admin.listen_written = true;
        }
      }
    }
    if (const Field* f = map.get("tokenSha256")) {
      if (auto text = r_.string(*f)) {
        const std::string digest = lower(*text);
        if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
          r_.error(f->mark, f->path, "must be the 64 hex digits of the token's SHA-256 (flexgate hash-key prints it)");
        } else {
          admin.token_sha256 = digest;
        }
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
  std::vector<std::string> http2_upstream_names_;  // those with protocol: h2 or h2c
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
  if (file.fd < 0) return fail(errno_text(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) return fail(errno_text(errno));
  if (S_ISDIR(info.st_mode)) return fail(errno_text(EISDIR));
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_text(errno));
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
