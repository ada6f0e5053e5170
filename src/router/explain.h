#pragma once
// "Why this route?": every route's host, path and method patterns tested on their own against one
// request, each with a sentence an operator can read. The chosen route always comes from
// RouteTable::match, so an explanation can never disagree with real routing; the per-route tests
// only supply the reasons (tests/unit/router/explain_test.cc checks that they agree).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "router/route_table.h"

namespace flexgate::router {

// How a route's host pattern relates to the request's host.
enum class HostMatch : std::uint8_t {
  kExact,     // "api.example.com" equals the host
  kWildcard,  // "*.example.com" covers it
  kAny,       // the route names no host
  kNoMatch,
};

// What one route did with the request.
enum class RouteOutcome : std::uint8_t {
  kChosen,          // RouteTable::match picked it
  kHostMismatch,    // its host pattern does not match
  kPathMismatch,    // the host matches, its path pattern does not
  kMethodMismatch,  // host and path match, its methods do not allow the request method
  kLessSpecific,    // it matches, but the chosen route is more specific
};

// "chosen", "host-mismatch", "path-mismatch", "method-mismatch", "less-specific" (stable: JSON).
std::string_view to_string(RouteOutcome outcome);

// One route's verdict, with the reason in one sentence.
struct RouteVerdict {
  std::size_t index = 0;  // in Config::routes
  const config::RouteSpec* spec = nullptr;
  RouteOutcome outcome = RouteOutcome::kHostMismatch;
  std::string reason;  // "host api.example.com does not match *.internal"
};

// How routing one request is explained.
struct RouteExplanation {
  RouteMatch match;                  // RouteTable::match's answer (views into the table and `path`)
  std::string host;                  // the host as routes compare it: lower case, no port, no trailing dot
  std::string why;                   // kMatched: why the chosen route won; else why nothing was chosen
  std::vector<RouteVerdict> routes;  // every route, in config order
};

// Explains RouteTable::match(host, method, path) for `table`, built from `routes`. `host` is the
// request's Host without its port (as the lifecycle passes it); `path` is normalized and must
// outlive the result (match params view it).
RouteExplanation explain_routes(const std::vector<config::RouteSpec>& routes, const RouteTable& table,
                                std::string_view host, std::string_view method, std::string_view path);

// The pieces, for tests and other views. `host` is already lower case, port-less (route_host()).
std::string route_host(std::string_view host);  // the table's host normalization ("" when unusable)
HostMatch match_host(std::string_view pattern, std::string_view host);
bool match_path(std::string_view pattern, std::string_view path);
bool method_allowed(const std::vector<std::string>& methods, std::string_view method);

// The precedence between two routes that both match a request: negative when `a` wins, positive
// when `b` wins, 0 when they have the same host and pattern (they differ by methods). `rule`
// names what decided, from the winner's side ("segment 2: literal 'users' beats :id").
struct Precedence {
  int order = 0;
  std::string rule;
};
Precedence compare_precedence(const config::RouteSpec& a, const config::RouteSpec& b);

}  // namespace flexgate::router
