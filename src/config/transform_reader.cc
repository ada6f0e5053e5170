#include "config/transform_reader.h"

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "config/syntax.h"

namespace flexgate::config {
namespace {

using namespace std::chrono_literals;

constexpr Millis kMaxCorsMaxAge = 24h;         // browsers cap it lower anyway
constexpr Millis kMinHstsMaxAge = 1s;
constexpr Millis kMaxHstsMaxAge = 2 * 365 * 24h;  // preload lists ask for 1 year; more is a typo

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// A byte that may not appear in a header value: controls other than HTAB (CR, LF and NUL first
// of all: they would split or truncate the field).
bool bad_value_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && byte != '\t') || byte == 0x7f;
}

std::string check_value_bytes(std::string_view text, std::string_view what) {
  for (char c : text) {
    if (!bad_value_byte(c)) continue;
    const char* name = c == '\r' ? "CR" : c == '\n' ? "LF" : c == '\0' ? "NUL" : "a control character";
    return std::string(what) + " contains " + name + ", which would break the header field";
  }
  return {};
}

bool env_name_ok(std::string_view name) {
  return !name.empty() && (std::isalpha(static_cast<unsigned char>(name.front())) || name.front() == '_') &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

void append_literal(ValueTemplate& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.parts.empty() && out.parts.back().var == TemplateVar::kLiteral) {
    out.parts.back().text.append(text);
  } else {
    out.parts.push_back(TemplatePart{TemplateVar::kLiteral, std::string(text)});
  }
}

// The entries of a mapping whose keys are header names: {name field, value field}. Reports a
// non-mapping, non-scalar keys, and names that are not tokens or repeat (case-insensitively).
std::vector<std::pair<Field, Field>> header_entries(Reader& r, const Field& field) {
  std::vector<std::pair<Field, Field>> out;
  if (!field.node.IsMap()) {
    r.error(field.mark, field.path,
            "must be a mapping of header names to values, like {X-Team: payments} (got " + describe(field.node) + ")");
    return out;
  }
  std::unordered_map<std::string, std::string> seen;  // lower-case name -> path
  for (const auto& entry : field.node) {
    const YAML::Node key = entry.first;
    const YAML::Node value = entry.second;
    YAML::Mark key_mark = key.Mark();
    if (key_mark.line < 0) key_mark = field.mark;
    if (!key.IsScalar()) {
      r.error(key_mark, field.path, "keys must be header names (got " + describe(key) + " as a key)");
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string path = field.path + "." + name;
    if (!is_token(name)) {
      r.error(key_mark, path, quote(name) + " is not a valid header name");
      continue;
    }
    const auto [at, inserted] = seen.emplace(lower(name), path);
    if (!inserted) {
      r.error(key_mark, path, "header " + quote(name) + " is listed twice (also " + at->second + ")");
      continue;
    }
    YAML::Mark value_mark = value.Mark();
    if (value.IsNull() || value_mark.line < 0) value_mark = key_mark;
    out.emplace_back(Field{key, path, key_mark, key_mark}, Field{value, path, value_mark, key_mark});
  }
  return out;
}

// A header name an operation may use here; reports and returns false otherwise.
bool check_op_name(Reader& r, const Field& at, std::string_view name, bool request) {
  if (!is_token(name)) {
    r.error(at.mark, at.path, quote(name) + " is not a valid header name");
    return false;
  }
  if (reserved_header(name, request)) {
    r.error(at.mark, at.path,
            "header " + quote(name) + " is managed by the gateway (framing, hop-by-hop, forwarding or "
            "correlation) and cannot be changed here" +
                (lower(name) == "host" ? std::string("; use preserveHost") : std::string()));
    return false;
  }
  return true;
}

// `set` / `add`: {Name: value template}.
void read_value_ops(Reader& r, const Field& field, TemplateScope scope, bool request,
                    std::vector<HeaderValueSpec>& out) {
  for (const auto& [key, value] : header_entries(r, field)) {
    if (!check_op_name(r, key, key.node.Scalar(), request)) continue;
    if (!value.node.IsScalar() && !value.node.IsNull()) {
      r.error(value.mark, value.path, "must be a string value (got " + describe(value.node) + ")");
      continue;
    }
    HeaderValueSpec spec;
    spec.name = key.node.Scalar();
    // Read raw: `${client_ip}` is a template variable here, not an environment variable.
    const std::string text = value.node.IsNull() ? std::string() : value.node.Scalar();
    spec.value.pos = to_pos(value.mark);
    if (std::string error = parse_value_template(text, scope, spec.value); !error.empty()) {
      r.error(value.mark, value.path, error);
      continue;
    }
    out.push_back(std::move(spec));
  }
}

// A list of header names (`remove`, `keep`).
void read_name_list(Reader& r, const Field& field, bool request, bool reserved_ok,
                    std::vector<std::string>& out) {
  const auto items = r.items(field);
  if (!items) return;
  std::unordered_map<std::string, std::string> seen;
  for (const Field& item : *items) {
    const auto name = r.string(item);
    if (!name) continue;
    if (reserved_ok ? !is_token(*name) : !check_op_name(r, item, *name, request)) {
      if (reserved_ok) r.error(item.mark, item.path, quote(*name) + " is not a valid header name");
      continue;
    }
    const auto [at, inserted] = seen.emplace(lower(*name), item.path);
    if (!inserted) {
      r.error(item.mark, item.path, "header " + quote(*name) + " is listed twice (also " + at->second + ")");
      continue;
    }
    out.push_back(*name);
  }
}

void read_ops(Reader& r, const Field& field, TemplateScope scope, bool request, HeaderOpsSpec& out) {
  MapFields map(r, field,
                request ? std::initializer_list<std::string_view>{"set", "add", "remove", "rename"}
                        : std::initializer_list<std::string_view>{"set", "add", "remove", "keep"});
  if (!map.ok()) return;
  if (const Field* f = map.get("set")) read_value_ops(r, *f, scope, request, out.set);
  if (const Field* f = map.get("add")) read_value_ops(r, *f, scope, request, out.add);
  if (const Field* f = map.get("remove")) read_name_list(r, *f, request, false, out.remove);
  if (const Field* f = map.get("rename")) {
    for (const auto& [key, value] : header_entries(r, *f)) {
      if (!check_op_name(r, key, key.node.Scalar(), request)) continue;
      const auto to = r.string(value);
      if (!to || !check_op_name(r, value, *to, request)) continue;
      if (lower(*to) == lower(key.node.Scalar())) {
        r.error(value.mark, value.path, "renames the header to itself");
        continue;
      }
      out.rename.push_back(HeaderRenameSpec{key.node.Scalar(), *to, to_pos(key.mark)});
    }
  }
  if (const Field* f = map.get("keep")) {
    std::vector<std::string> names;
    read_name_list(r, *f, request, true, names);
    for (const std::string& name : names) {
      const std::string low = lower(name);
      if (low != "server" && low != "x-powered-by") {
        r.error(f->mark, f->path,
                "lists " + quote(name) + ", which is not removed by default (only Server and X-Powered-By are)");
        continue;
      }
      out.keep.push_back(name);
    }
  }
  // A name both set and removed at one level is a contradiction, not an order question.
  for (const HeaderValueSpec& set : out.set) {
    for (const std::string& removed : out.remove) {
      if (lower(set.name) == lower(removed)) {
        r.error(field.mark, field.path, "header " + quote(set.name) + " is both set and removed");
      }
    }
  }
}

// "scheme://host[:port]" with an optional "*." before the host, or "*". "" when valid.
std::string check_origin(std::string_view text) {
  if (text == "*") return {};
  if (text == "null") return "'null' is the origin of sandboxed and file documents; allowing it lets any of them in";
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return "must be an origin like \"https://app.example.com\" (scheme://host[:port]) or \"*\" (got " + quote(text) + ")";
  }
  std::string_view host = text.substr(sep + 3);
  if (host.find('/') != std::string_view::npos) return "an origin has no path (got " + quote(text) + ")";
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos && host.front() != '[') {
    const std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return "has an invalid port (got " + quote(text) + ")";
    }
    host = host.substr(0, colon);
  }
  if (host.find('*') != std::string_view::npos) {
    return "'*' is only allowed as the whole first label, like \"https://*.example.com\" (got " + quote(text) + ")";
  }
  if (std::string error = check_host_pattern(lower(host)); !error.empty()) return error;
  return {};
}

}  // namespace

bool reserved_header(std::string_view name, bool request) {
  static constexpr std::string_view kBoth[] = {"content-length", "transfer-encoding", "connection", "keep-alive",
                                               "proxy-connection", "te", "trailer", "upgrade", "x-correlation-id"};
  static constexpr std::string_view kRequest[] = {"host", "expect", "x-forwarded-for", "x-forwarded-proto",
                                                  "x-forwarded-host", "traceparent"};
  const std::string low = lower(name);
  if (std::find(std::begin(kBoth), std::end(kBoth), low) != std::end(kBoth)) return true;
  return request && std::find(std::begin(kRequest), std::end(kRequest), low) != std::end(kRequest);
}

std::string parse_value_template(std::string_view text, TemplateScope scope, ValueTemplate& out) {
  out.parts.clear();
  out.source.assign(text);
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {
      append_literal(out, "${");
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      const std::size_t next = text.find('$', i + 1);
      const std::size_t end = next == std::string_view::npos ? text.size() : next;
      if (std::string error = check_value_bytes(text.substr(i, end - i), "the value"); !error.empty()) return error;
      append_literal(out, text.substr(i, end - i));
      i = end;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) return "has an unclosed '${' (write $${ for a literal '${')";
    const std::string_view whole = text.substr(i, close - i + 1);
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    i = close + 1;
    if (inner == "client_ip") {
      out.parts.push_back({TemplateVar::kClientIp, {}});
    } else if (inner == "correlation_id") {
      out.parts.push_back({TemplateVar::kCorrelationId, {}});
    } else if (inner == "route") {
      out.parts.push_back({TemplateVar::kRoute, {}});
    } else if (inner == "upstream") {
      out.parts.push_back({TemplateVar::kUpstream, {}});
    } else if (inner == "auth.client") {
      out.parts.push_back({TemplateVar::kAuthClient, {}});
    } else if (inner.starts_with("request.header.")) {
      const std::string_view name = inner.substr(15);
      if (!is_token(name)) return quote(whole) + " does not name a header (like ${request.header.X-Tenant})";
      out.parts.push_back({TemplateVar::kRequestHeader, std::string(name)});
    } else if (inner.starts_with("path.")) {
      const std::string_view name = inner.substr(5);
      if (scope.route_params == nullptr) {
        return quote(whole) + " can only be used in a route's headers (an upstream serves many routes)";
      }
      const auto& params = *scope.route_params;
      if (std::find(params.begin(), params.end(), name) == params.end()) {
        if (params.empty()) return "uses " + quote(whole) + " but the route path has no ':name' parameters";
        std::string names;
        for (const auto& param : params) names += (names.empty() ? "" : ", ") + param;
        return quote(whole) + " names no parameter of the route path (parameters: " + names + ")";
      }
      out.parts.push_back({TemplateVar::kPathParam, std::string(name)});
    } else if (inner.starts_with("env.")) {
      std::string_view name = inner.substr(4);
      std::string_view fallback;
      bool has_fallback = false;
      if (const std::size_t dash = name.find(":-"); dash != std::string_view::npos) {
        fallback = name.substr(dash + 2);
        name = name.substr(0, dash);
        has_fallback = true;
      }
      if (!env_name_ok(name)) return quote(whole) + " is not an environment variable name";
      const char* value = std::getenv(std::string(name).c_str());
      std::string_view resolved;
      if (value != nullptr && *value != '\0') {
        resolved = value;
      } else if (has_fallback) {
        resolved = fallback;
      } else {
        return "environment variable " + std::string(name) + " is not set (use ${env." + std::string(name) +
               ":-default} for a default)";
      }
      if (std::string error = check_value_bytes(resolved, "environment variable " + std::string(name));
          !error.empty()) {
        return error;
      }
      append_literal(out, resolved);
    } else {
      return quote(whole) +
             " is not a known variable (known: ${client_ip}, ${correlation_id}, ${route}, ${upstream}, "
             "${auth.client}, ${request.header.NAME}, ${path.NAME}, ${env.NAME})";
    }
  }
  return {};
}

void read_headers(Reader& r, const Field& field, TemplateScope scope, HeadersSpec& out) {
  MapFields map(r, field, {"request", "response"});
  if (!map.ok()) return;
  out.pos = to_pos(field.mark);
  if (const Field* f = map.get("request")) read_ops(r, *f, scope, /*request=*/true, out.request);
  if (const Field* f = map.get("response")) read_ops(r, *f, scope, /*request=*/false, out.response);
}

void read_security_headers(Reader& r, const Field& field, SecurityHeadersSpec& out) {
  out.pos = to_pos(field.mark);
  if (!field.node.IsMap()) {
    if (auto on = r.boolean(field)) out.enabled = *on;
    return;
  }
  MapFields map(r, field, {"enabled", "frameOptions", "referrerPolicy", "hsts"});
  if (!map.ok()) return;
  out.enabled = true;  // writing the mapping turns them on
  if (const Field* f = map.get("enabled")) {
    if (auto on = r.boolean(*f)) out.enabled = *on;
  }
  if (const Field* f = map.get("frameOptions")) {
    if (auto value = r.one_of(*f, {"DENY", "SAMEORIGIN"})) out.frame_options = *value;
  }
  if (const Field* f = map.get("referrerPolicy")) {
    if (auto value = r.one_of(*f, {"no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin",
                                   "same-origin", "strict-origin", "strict-origin-when-cross-origin",
                                   "unsafe-url"})) {
      out.referrer_policy = *value;
    }
  }
  if (const Field* f = map.get("hsts")) {
    HstsSpec hsts;
    if (!f->node.IsMap()) {
      if (auto on = r.boolean(*f); on && *on) out.hsts = hsts;
      return;
    }
    MapFields fields(r, *f, {"maxAge", "includeSubDomains", "preload"});
    if (!fields.ok()) return;
    if (const Field* m = fields.get("maxAge")) {
      if (auto age = r.duration(*m, kMinHstsMaxAge, kMaxHstsMaxAge)) hsts.max_age = *age;
    }
    if (const Field* b = fields.get("includeSubDomains")) {
      if (auto on = r.boolean(*b)) hsts.include_subdomains = *on;
    }
    if (const Field* b = fields.get("preload")) {
      if (auto on = r.boolean(*b)) hsts.preload = *on;
    }
    // The preload list only accepts a year or more with includeSubDomains.
    if (hsts.preload && (!hsts.include_subdomains || hsts.max_age < Millis(31'536'000'000))) {
      r.error(f->mark, f->path, "preload needs includeSubDomains: true and a maxAge of at least 1 year");
      return;
    }
    out.hsts = hsts;
  }
}

void read_cors(Reader& r, const Field& field, bool allow_false, CorsSpec& out) {
  out.pos = to_pos(field.mark);
  if (!field.node.IsMap()) {
    if (allow_false && field.node.IsScalar() && field.node.Scalar() == "false") {
      out.enabled = false;
      return;
    }
    r.error(field.mark, field.path,
            std::string("must be a mapping like {allowOrigins: [\"https://app.example.com\"]}") +
                (allow_false ? " or false (got " : " (got ") + describe(field.node) + ")");
    return;
  }
  MapFields map(r, field,
                {"allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "allowCredentials", "maxAge"});
  if (!map.ok()) return;
  if (const Field* f = map.get("allowCredentials")) {
    if (auto on = r.boolean(*f)) out.allow_credentials = *on;
  }
  const Field* origins = map.require("allowOrigins");
  if (origins != nullptr) {
    if (const auto items = r.items(*origins)) {
      if (items->empty()) r.error(origins->mark, origins->path, "must list at least one origin");
      for (const Field& item : *items) {
        const auto text = r.string(item);
        if (!text) continue;
        if (std::string error = check_origin(*text); !error.empty()) {
          r.error(item.mark, item.path, error);
          continue;
        }
        // The Fetch standard refuses credentials with "Access-Control-Allow-Origin: *".
        if (*text == "*" && out.allow_credentials) {
          r.error(item.mark, item.path,
                  "'*' cannot be combined with allowCredentials: true (browsers refuse it); list the origins");
          continue;
        }
        std::string origin = lower(*text);
        if (std::find(out.allow_origins.begin(), out.allow_origins.end(), origin) != out.allow_origins.end()) {
          r.error(item.mark, item.path, "origin " + quote(*text) + " is listed twice");
          continue;
        }
        out.allow_origins.push_back(std::move(origin));
      }
    }
  }
  if (const Field* f = map.get("allowMethods")) {
    if (const auto items = r.items(*f)) {
      for (const Field& item : *items) {
        const auto text = r.string(item);
        if (!text) continue;
        if (!is_token(*text)) {
          r.error(item.mark, item.path, quote(*text) + " is not a valid HTTP method name");
          continue;
        }
        std::string method = upper(*text);
        if (std::find(out.allow_methods.begin(), out.allow_methods.end(), method) == out.allow_methods.end()) {
          out.allow_methods.push_back(std::move(method));
        }
      }
    }
  }
  for (const auto& [key, list] : {std::pair{std::string_view("allowHeaders"), &out.allow_headers},
                                  std::pair{std::string_view("exposeHeaders"), &out.expose_headers}}) {
    const Field* f = map.get(key);
    if (f == nullptr) continue;
    const auto items = r.items(*f);
    if (!items) continue;
    for (const Field& item : *items) {
      const auto text = r.string(item);
      if (!text) continue;
      if (*text == "*") {
        if (out.allow_credentials) {
          r.error(item.mark, item.path, "'*' cannot be combined with allowCredentials: true; list the headers");
          continue;
        }
      } else if (!is_token(*text)) {
        r.error(item.mark, item.path, quote(*text) + " is not a valid header name");
        continue;
      }
      list->push_back(*text);
    }
  }
  if (const Field* f = map.get("maxAge")) {
    if (auto age = r.duration(*f, Millis(0), kMaxCorsMaxAge)) out.max_age = *age;
  }
}

void read_regex_rewrite(Reader& r, const Field& field, RegexRewriteSpec& out) {
  MapFields map(r, field, {"regex", "replace"});
  if (!map.ok()) return;
  out.pos = to_pos(field.mark);
  if (const Field* f = map.require("regex")) {
    // Raw: "$" and "{" belong to the regex, not to environment expansion.
    if (!f->node.IsScalar() || f->node.Scalar().empty()) {
      r.error(f->mark, f->path, "must be a non-empty RE2 regular expression (got " + describe(f->node) + ")");
    } else {
      out.regex = f->node.Scalar();
      out.regex_pos = to_pos(f->mark);
    }
  }
  if (const Field* f = map.require("replace")) {
    if (!f->node.IsScalar()) {
      r.error(f->mark, f->path, "must be a string like \"/new/$1\" (got " + describe(f->node) + ")");
      return;
    }
    const std::string& text = f->node.Scalar();
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte <= 0x20 || byte >= 0x7f || text[i] == '?' || text[i] == '#') {
        r.error(f->mark, f->path, "must be a path without spaces, control bytes, '?' or '#' (the query is kept as sent)");
        return;
      }
      if (text[i] != '$') continue;
      if (i + 1 < text.size() && (text[i + 1] == '$' || (text[i + 1] >= '0' && text[i + 1] <= '9'))) {
        ++i;
        continue;
      }
      r.error(f->mark, f->path, "'$' must be followed by a group number 0-9 (or write $$ for a '$')");
      return;
    }
    out.replace = text;
  }
}

}  // namespace flexgate::config
