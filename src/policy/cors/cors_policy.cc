#include "policy/cors/cors_policy.h"

#include <algorithm>

#include "http/header_token.h"

namespace flexgate::policy {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && http::iequals(text.substr(0, prefix.size()), prefix);
}

bool iequals_suffix(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && http::iequals(text.substr(text.size() - suffix.size()), suffix);
}

void append_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::optional<CorsPolicy> CorsPolicy::build(const config::CorsSpec& spec, std::string& error) {
  CorsPolicy policy;
  policy.credentials_ = spec.allow_credentials;
  for (const std::string& origin : spec.allow_origins) {
    if (origin == "*") {
      if (spec.allow_credentials) {
        error = "allowOrigins '*' cannot be combined with allowCredentials: true";
        return std::nullopt;
      }
      policy.any_origin_ = true;
      continue;
    }
    const std::size_t sep = origin.find("://");
    if (sep == std::string::npos) {
      error = "allowOrigins: '" + origin + "' is not an origin";
      return std::nullopt;
    }
    if (origin.compare(sep + 3, 2, "*.") == 0) {
      // "https://*.example.com" -> prefix "https://", suffix ".example.com": one or more labels
      // before the suffix, never the bare domain.
      policy.origins_.push_back(Pattern{origin.substr(0, sep + 3), origin.substr(sep + 4), true});
    } else {
      policy.origins_.push_back(Pattern{origin, {}, false});
    }
  }
  policy.allow_methods_ = spec.allow_methods.empty() ? "GET, HEAD, POST" : join(spec.allow_methods);
  policy.allow_headers_ = join(spec.allow_headers);
  policy.expose_headers_ = join(spec.expose_headers);
  if (spec.max_age) policy.max_age_ = std::to_string(spec.max_age->count() / 1000);
  return policy;
}

bool CorsPolicy::is_preflight(const http::RequestHead& head, std::string_view& requested_method) {
  if (head.method != http::Method::kOptions) return false;
  const http::HeaderField* origin = head.fields.find("Origin");
  const http::HeaderField* method = head.fields.find("Access-Control-Request-Method");
  if (origin == nullptr || method == nullptr || method->value.empty()) return false;
  requested_method = method->value;
  return true;
}

bool CorsPolicy::origin_allowed(std::string_view origin) const {
  if (origin.empty()) return false;
  if (any_origin_) return true;
  for (const Pattern& pattern : origins_) {
    if (!pattern.wildcard) {
      if (http::iequals(origin, pattern.prefix)) return true;
      continue;
    }
    if (!iequals_prefix(origin, pattern.prefix) || !iequals_suffix(origin, pattern.suffix)) continue;
    if (origin.size() <= pattern.prefix.size() + pattern.suffix.size()) continue;
    // The labels before the suffix: no path, port or userinfo can hide there.
    const std::string_view labels =
        origin.substr(pattern.prefix.size(), origin.size() - pattern.prefix.size() - pattern.suffix.size());
    const bool clean = std::all_of(labels.begin(), labels.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    });
    if (clean && labels.front() != '.' && labels.back() != '.') return true;
  }
  return false;
}

void CorsPolicy::append_preflight(std::string_view origin, std::string& out) const {
  append_line(out, "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  if (!origin_allowed(origin)) return;
  append_line(out, "Access-Control-Allow-Origin", any_origin_ && !credentials_ ? std::string_view("*") : origin);
  if (credentials_) append_line(out, "Access-Control-Allow-Credentials", "true");
  append_line(out, "Access-Control-Allow-Methods", allow_methods_);
  // The configured list only, never an echo of Access-Control-Request-Headers: a field beyond
  // it makes the browser refuse, which is the point.
  if (!allow_headers_.empty()) append_line(out, "Access-Control-Allow-Headers", allow_headers_);
  if (!max_age_.empty()) append_line(out, "Access-Control-Max-Age", max_age_);
}

void CorsPolicy::append_response(std::string_view origin, bool has_origin, std::string& out) const {
  append_line(out, "Vary", "Origin");
  if (!has_origin || !origin_allowed(origin)) return;
  append_line(out, "Access-Control-Allow-Origin", any_origin_ && !credentials_ ? std::string_view("*") : origin);
  if (credentials_) append_line(out, "Access-Control-Allow-Credentials", "true");
  if (!expose_headers_.empty()) append_line(out, "Access-Control-Expose-Headers", expose_headers_);
}

bool CorsPolicy::owns_response_field(std::string_view name) {
  return iequals_prefix(name, "Access-Control-");
}

}  // namespace flexgate::policy
