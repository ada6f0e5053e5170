#pragma once
// The route table: compiled once from the config, matched per request. The most specific route
// wins regardless of file order.
//
// Patterns: "/a/b" (exact; case-sensitive; a trailing slash is significant: "/a/" is not "/a"),
// "/users/:id" (a param matches one non-empty segment), "/api/*" (matches "/api", "/api/" and
// everything below "/api/"; a "*" is a wildcard only as the last segment) and "/*" (everything).
// Hosts: "" (any), "api.example.com" (exact), "*.example.com" (one or more labels before
// ".example.com", not "example.com" itself); compared case-insensitively, port and a trailing
// dot ignored.
//
// Precedence (a total order over the routes that match host and path):
//   1. Host: exact host > wildcard host (longer suffix first) > any host.
//   2. Path, compared segment by segment from the left: at the first segment where two patterns
//      differ, a literal beats a ":param", which beats the "*" wildcard. So the pattern with more
//      leading literal segments wins, and at an equal prefix the exact pattern ("/api") beats the
//      wildcard ("/api/*").
//   3. Routes with the same host and pattern differ by methods (the config forbids overlap).
// The first route in that order whose methods allow the request method wins (an empty method
// list allows all; HEAD is allowed wherever GET is), even when a more specific one (say, on the
// exact host) matched host and path but not the method. If routes matched but none allows the
// method, the answer is kMethodNotAllowed and `allow` is the union of the methods of ALL the
// routes that matched host and path, in the order GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS,
// TRACE, CONNECT, then other tokens in config order (HEAD is listed whenever GET is).
// Implemented as one segment trie per host group, walked depth-first (literal, then param, then
// wildcard) so the walk order is the precedence order; no allocation per match.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace flexgate::router {

inline constexpr std::size_t kMaxRouteParams = 8;

// A named path parameter captured by a match; views into the matched path.
struct RouteParam {
  std::string_view name;
  std::string_view value;
};

// One route ready for matching.
struct CompiledRoute {
  std::size_t index = 0;  // position in Config::routes
  const config::RouteSpec* spec = nullptr;
  std::string allow_header;  // "GET, HEAD, POST" for 405 answers ("" when all methods allowed)
  std::string prefix;        // literal part before "*" for wildcard routes (for stripPrefix/rewrite)
  bool wildcard = false;
};

// Result of matching one request.
struct RouteMatch {
  enum class Status : std::uint8_t { kMatched, kNotFound, kMethodNotAllowed };
  Status status = Status::kNotFound;
  const CompiledRoute* route = nullptr;  // set when kMatched
  std::string_view allow;                // set when kMethodNotAllowed: the Allow header value
  std::array<RouteParam, kMaxRouteParams> params{};  // only [0, param_count) is meaningful
  std::size_t param_count = 0;
  // Wildcard routes: index in the path where the literal prefix ends, i.e. the "*" part including
  // its leading '/': "/api/*" on "/api/users" -> 4 ("/users"); on "/api" -> 4 (""). 0 otherwise.
  std::size_t wildcard_offset = 0;

  // Back to "no match" without rewriting the params (a match is reused request after request).
  void clear() {
    status = Status::kNotFound;
    route = nullptr;
    allow = {};
    param_count = 0;
    wildcard_offset = 0;
  }
};

// Immutable after build; safe to share across threads.
class RouteTable {
 public:
  // `routes` must outlive the table (it points into them). Assumes the config was validated.
  explicit RouteTable(const std::vector<config::RouteSpec>& routes);
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;

  // `host` is the request's Host without port (any case); `path` is normalized.
  // HEAD matches a route that allows GET. The returned views point into `path` and the table.
  RouteMatch match(std::string_view host, std::string_view method, std::string_view path) const;
  // The same into `result` (cleared first): no RouteMatch copied, for the request path.
  void match(std::string_view host, std::string_view method, std::string_view path, RouteMatch& result) const;

  const std::vector<CompiledRoute>& routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The path to forward upstream for a match: applies stripPrefix / rewrite (with ${path.NAME}).
// Appends to `out` (cleared first). `path` is the normalized path the match was made on.
//   rewrite on a wildcard route replaces the literal prefix ("/api/*" + "/v2": "/api/x" -> "/v2/x",
//     "/api" -> "/v2"); on any other route it replaces the whole path. It wins over stripPrefix.
//   stripPrefix on a wildcard route drops the literal prefix ("/api/x" -> "/x", "/api" -> "/");
//     on a non-wildcard route it changes nothing.
// The result always starts with '/' and has no "//" at the join. The query is the caller's.
void build_forward_path(const RouteMatch& match, std::string_view path, std::string& out);

// A Host value as routes name hosts, before lower-casing: without IPv6 brackets or a port, without
// a trailing dot. The one normalization the table (and `flexgate explain`) applies.
std::string_view bare_host(std::string_view host);

}  // namespace flexgate::router
