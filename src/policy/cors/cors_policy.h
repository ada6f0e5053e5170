#pragma once
// CORS (the Fetch standard's protocol) for one route, compiled once per snapshot: origin
// matching (exact or "*.suffix"), the preflight answer the gateway gives itself, and the fields
// added to actual responses. Sans-I/O: it reads header values and appends header lines.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "http/message.h"

namespace flexgate::policy {

// A route's CORS settings. Immutable; shared by all workers.
class CorsPolicy {
 public:
  // From a validated spec (the loader refuses "*" with credentials); nullopt and `error` when
  // the spec is not usable.
  static std::optional<CorsPolicy> build(const config::CorsSpec& spec, std::string& error);

  // A preflight: OPTIONS with Origin and Access-Control-Request-Method. `requested_method` gets
  // the latter (the method the route is matched with).
  static bool is_preflight(const http::RequestHead& head, std::string_view& requested_method);

  // True when `origin` (the Origin field's value) is allowed.
  bool origin_allowed(std::string_view origin) const;

  // The fields of the gateway's own 204 answer to a preflight, as "Name: value\r\n" lines
  // appended to `out`. A disallowed origin gets only "Vary" (no CORS field: the browser refuses).
  void append_preflight(std::string_view origin, std::string& out) const;
  // The fields added to an actual response (proxied or the gateway's own error): "Vary: Origin"
  // always, the Allow-Origin / Credentials / Expose fields when `origin` is allowed.
  void append_response(std::string_view origin, bool has_origin, std::string& out) const;

  // True for the upstream's own Access-Control-* response fields: the gateway's CORS replaces them.
  static bool owns_response_field(std::string_view name);

 private:
  struct Pattern {
    std::string prefix;  // "https://" for "https://*.example.com", or the whole exact origin
    std::string suffix;  // ".example.com" (with any port); "" for an exact origin
    bool wildcard = false;
  };
  std::vector<Pattern> origins_;
  bool any_origin_ = false;  // "*"
  bool credentials_ = false;
  std::string allow_methods_;   // "GET, HEAD, POST"
  std::string allow_headers_;   // "" = echo nothing; "*" or a list
  std::string expose_headers_;
  std::string max_age_;         // seconds, "" = not sent
};

}  // namespace flexgate::policy
