#include "router/explain.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace flexgate::router {
namespace {

config::RouteSpec route(std::string path, std::string host = "", std::vector<std::string> methods = {}) {
  config::RouteSpec spec;
  spec.path = std::move(path);
  spec.host = std::move(host);
  spec.methods = std::move(methods);
  spec.upstream = "backend";
  return spec;
}

const RouteVerdict& verdict_of(const RouteExplanation& explanation, std::size_t index) {
  return explanation.routes.at(index);
}

TEST(RouteExplain, NamesWhyEachRouteIsRejected) {
  const std::vector<config::RouteSpec> specs = {
      route("/users/:id"),                // 0: chosen
      route("/users/*"),                  // 1: less specific
      route("/api/*"),                    // 2: path
      route("/users/:id", "*.internal"),  // 3: host
      route("/users/:id/", "", {"GET"}),  // 4: path (trailing slash)
      route("/users/me", "", {"POST"}),   // 5: path
  };
  const RouteTable table(specs);
  const RouteExplanation e = explain_routes(specs, table, "API.example.com:8080", "GET", "/users/42");
  ASSERT_EQ(e.match.status, RouteMatch::Status::kMatched);
  EXPECT_EQ(e.match.route->index, 0u);
  EXPECT_EQ(e.host, "api.example.com");
  EXPECT_EQ(verdict_of(e, 0).outcome, RouteOutcome::kChosen);
  EXPECT_EQ(verdict_of(e, 1).outcome, RouteOutcome::kLessSpecific);
  EXPECT_EQ(verdict_of(e, 1).reason,
            "matches, but routes[0] /users/:id is more specific than /users/* (segment 2: :id beats *)");
  EXPECT_EQ(verdict_of(e, 2).outcome, RouteOutcome::kPathMismatch);
  EXPECT_EQ(verdict_of(e, 2).reason,
            "path /users/42 does not match /api/* (segment 1 is 'users', not 'api')");
  EXPECT_EQ(verdict_of(e, 3).outcome, RouteOutcome::kHostMismatch);
  EXPECT_EQ(verdict_of(e, 3).reason, "host api.example.com does not match *.internal");
  EXPECT_EQ(verdict_of(e, 4).outcome, RouteOutcome::kPathMismatch);
  EXPECT_EQ(verdict_of(e, 5).reason, "path /users/42 does not match /users/me (segment 2 is '42', not 'me')");
  EXPECT_EQ(e.why, "the most specific of 2 matching routes: segment 2: :id beats *");
}

TEST(RouteExplain, MethodRejectionsAnd405) {
  const std::vector<config::RouteSpec> specs = {route("/orders", "", {"GET"}), route("/orders", "", {"PUT"}),
                                                route("/*", "", {"GET"})};
  const RouteTable table(specs);
  const RouteExplanation e = explain_routes(specs, table, "", "POST", "/orders");
  EXPECT_EQ(e.match.status, RouteMatch::Status::kMethodNotAllowed);
  EXPECT_EQ(verdict_of(e, 0).reason, "method POST not in [GET]");
  EXPECT_EQ(verdict_of(e, 1).outcome, RouteOutcome::kMethodMismatch);
  EXPECT_EQ(e.why, "3 routes match this host and path, but none allows POST (Allow: GET, HEAD, PUT)");

  // HEAD is allowed where GET is; a more specific route without the method is named in `why`.
  const RouteExplanation head = explain_routes(specs, table, "", "HEAD", "/orders");
  EXPECT_EQ(verdict_of(head, 0).outcome, RouteOutcome::kChosen);
  const RouteExplanation del = explain_routes(specs, table, "", "DELETE", "/orders");
  EXPECT_EQ(del.match.status, RouteMatch::Status::kMethodNotAllowed);
  const std::vector<config::RouteSpec> two = {route("/orders", "", {"GET"}), route("/*")};
  const RouteTable two_table(two);
  const RouteExplanation post = explain_routes(two, two_table, "", "POST", "/orders");
  ASSERT_EQ(post.match.status, RouteMatch::Status::kMatched);
  EXPECT_EQ(post.match.route->index, 1u);
  EXPECT_EQ(post.why,
            "the only route whose host, path and methods all match; routes[0] /orders is more "
            "specific but does not allow POST");
}

TEST(RouteExplain, HostRulesAndReasons) {
  const std::vector<config::RouteSpec> specs = {route("/x", "api.example.com"), route("/x", "*.example.com"),
                                                route("/x", "*.b.example.com"), route("/x")};
  const RouteTable table(specs);
  const RouteExplanation exact = explain_routes(specs, table, "api.example.com", "GET", "/x");
  EXPECT_EQ(exact.match.route->index, 0u);
  EXPECT_EQ(verdict_of(exact, 1).reason,
            "matches, but routes[0] api.example.com/x is more specific than *.example.com/x (exact host "
            "api.example.com beats wildcard host *.example.com)");
  EXPECT_EQ(
      verdict_of(exact, 3).reason,
      "matches, but routes[0] api.example.com/x is more specific than /x (exact host api.example.com beats "
      "any host)");
  EXPECT_EQ(verdict_of(exact, 2).reason, "host api.example.com does not match *.b.example.com");

  const RouteExplanation nested = explain_routes(specs, table, "a.b.example.com", "GET", "/x");
  EXPECT_EQ(nested.match.route->index, 2u);
  EXPECT_EQ(verdict_of(nested, 1).reason,
            "matches, but routes[2] *.b.example.com/x is more specific than *.example.com/x (wildcard host "
            "*.b.example.com beats *.example.com, a shorter suffix)");

  const RouteExplanation bare = explain_routes(specs, table, "example.com", "GET", "/x");
  EXPECT_EQ(verdict_of(bare, 1).reason,
            "host example.com does not match *.example.com (a wildcard needs at least one label before "
            ".example.com)");
  const RouteExplanation none = explain_routes(specs, table, "", "GET", "/x");
  EXPECT_EQ(none.match.route->index, 3u);
  EXPECT_EQ(verdict_of(none, 0).reason, "no Host was given; this route needs host api.example.com");
}

TEST(RouteExplain, ExactBeatsWildcardAtEqualPrefixAnd404) {
  const std::vector<config::RouteSpec> specs = {route("/api/*"), route("/api")};
  const RouteTable table(specs);
  const RouteExplanation e = explain_routes(specs, table, "h", "GET", "/api");
  EXPECT_EQ(e.match.route->index, 1u);
  EXPECT_EQ(
      verdict_of(e, 0).reason,
      "matches, but routes[1] /api is more specific than /api/* (at an equal prefix the exact pattern /api "
      "beats the wildcard /api/*)");
  const RouteExplanation missing = explain_routes(specs, table, "h", "GET", "/other/x");
  EXPECT_EQ(missing.match.status, RouteMatch::Status::kNotFound);
  EXPECT_EQ(missing.why, "no route matches this host and path");
  EXPECT_EQ(verdict_of(missing, 1).reason,
            "path /other/x does not match /api (segment 1 is 'other', not 'api')");
  const RouteExplanation deeper = explain_routes(specs, table, "h", "GET", "/api/v1/x");
  EXPECT_EQ(verdict_of(deeper, 1).reason,
            "path /api/v1/x does not match /api (the path has 3 segments, the pattern 1; only a /* pattern "
            "matches deeper paths)");
}

TEST(RouteExplain, PieceByPiece) {
  EXPECT_EQ(route_host("Api.Example.COM.:443"), "api.example.com");
  EXPECT_EQ(route_host("[::1]:8080"), "::1");
  EXPECT_EQ(route_host(std::string(300, 'a')), "");
  EXPECT_EQ(match_host("", "x"), HostMatch::kAny);
  EXPECT_EQ(match_host("[::1]", "::1"), HostMatch::kExact);
  EXPECT_EQ(match_host("*.a.com", "b.a.com"), HostMatch::kWildcard);
  EXPECT_EQ(match_host("*.a.com", "a.com"), HostMatch::kNoMatch);
  EXPECT_TRUE(match_path("/", "/"));
  EXPECT_TRUE(match_path("/*", "/"));
  EXPECT_TRUE(match_path("/api/*", "/api"));
  EXPECT_TRUE(match_path("/api/*", "/api/"));
  EXPECT_FALSE(match_path("/api/*", "/apix"));
  EXPECT_FALSE(match_path("/users/:id", "/users/"));
  EXPECT_TRUE(match_path("/a/*/b", "/a/*/b"));  // "*" is a wildcard only as the last segment
  EXPECT_FALSE(match_path("/a/*/b", "/a/x/b"));
  EXPECT_TRUE(method_allowed({}, "BREW"));
  EXPECT_TRUE(method_allowed({"GET"}, "HEAD"));
  EXPECT_FALSE(method_allowed({"HEAD"}, "GET"));
}

// The explanation and the table never disagree: over many random configs and requests, the chosen
// route matches host, path and method; every other matching route is less specific by
// compare_precedence; 404 means no route matched host and path, 405 that some did but no method.
TEST(RouteExplain, AgreesWithRouteTableOnGeneratedRequests) {
  std::mt19937 random(20240611);
  const std::vector<std::string> hosts = {"", "", "api.test", "*.test", "*.b.test", "a.b.test"};
  const std::vector<std::string> segments = {"a", "b", ":p", ":q", "users", ""};
  const std::vector<std::vector<std::string>> method_sets = {{}, {"GET"}, {"POST"}, {"PUT", "DELETE"}};
  const std::vector<std::string> request_hosts = {"",       "api.test", "x.test", "a.b.test", "z.b.test:80",
                                                  "b.test", "API.TEST."};
  const std::vector<std::string> path_parts = {"a", "b", "users", "42", ""};
  const std::vector<std::string> methods = {"GET", "HEAD", "POST", "PUT", "DELETE", "BREW"};
  auto pick = [&](const auto& items) -> const auto& {
    return items[random() % items.size()];
  };

  std::size_t matched = 0, not_found = 0, not_allowed = 0, checked = 0;
  for (int config_round = 0; config_round < 300; ++config_round) {
    std::vector<config::RouteSpec> specs;
    const std::size_t count = 1 + random() % 8;
    for (std::size_t i = 0; i < count; ++i) {
      std::string path;
      const std::size_t depth = random() % 4;
      for (std::size_t d = 0; d < depth; ++d) path += "/" + pick(segments);
      if (random() % 3 == 0 || path.empty()) path += random() % 2 ? "/*" : "/";
      // The config forbids two routes with the same host, pattern and overlapping methods.
      config::RouteSpec spec = route(path, pick(hosts), pick(method_sets));
      bool overlaps = false;
      for (const auto& other : specs) {
        if (compare_precedence(other, spec).order != 0 || other.host != spec.host) continue;
        overlaps = other.methods.empty() || spec.methods.empty() || other.methods == spec.methods;
        if (overlaps) break;
      }
      if (!overlaps) specs.push_back(std::move(spec));
    }
    const RouteTable table(specs);
    for (int request_round = 0; request_round < 60; ++request_round) {
      std::string path;
      const std::size_t depth = random() % 4;
      for (std::size_t d = 0; d < depth; ++d) path += "/" + pick(path_parts);
      if (path.empty()) path = "/";
      const std::string& host = pick(request_hosts);
      const std::string& method = pick(methods);
      const RouteExplanation e = explain_routes(specs, table, host, method, path);
      ++checked;
      std::size_t host_and_path = 0;
      const RouteVerdict* chosen = nullptr;
      for (const RouteVerdict& verdict : e.routes) {
        const bool host_ok = match_host(verdict.spec->host, route_host(host)) != HostMatch::kNoMatch;
        const bool path_ok = host_ok && match_path(verdict.spec->path, path);
        if (path_ok) ++host_and_path;
        const bool all_ok = path_ok && method_allowed(verdict.spec->methods, method);
        EXPECT_EQ(all_ok,
                  verdict.outcome == RouteOutcome::kChosen || verdict.outcome == RouteOutcome::kLessSpecific)
            << verdict.reason;
        if (verdict.outcome == RouteOutcome::kChosen) chosen = &verdict;
        EXPECT_EQ(verdict.reason.find("a bug"), std::string::npos)
            << host << " " << method << " " << path << ": " << verdict.reason;
      }
      switch (e.match.status) {
        case RouteMatch::Status::kMatched:
          ++matched;
          ASSERT_NE(chosen, nullptr);
          EXPECT_EQ(chosen->index, e.match.route->index);
          for (const RouteVerdict& verdict : e.routes) {
            if (verdict.outcome != RouteOutcome::kLessSpecific) continue;
            EXPECT_LE(compare_precedence(*chosen->spec, *verdict.spec).order, 0) << verdict.reason;
          }
          break;
        case RouteMatch::Status::kNotFound:
          ++not_found;
          EXPECT_EQ(host_and_path, 0u) << host << " " << method << " " << path;
          break;
        case RouteMatch::Status::kMethodNotAllowed:
          ++not_allowed;
          EXPECT_GT(host_and_path, 0u);
          EXPECT_EQ(chosen, nullptr);
          break;
      }
    }
  }
  // The generator reaches every answer often enough to mean something.
  EXPECT_GT(matched, checked / 10);
  EXPECT_GT(not_found, checked / 20);
  EXPECT_GT(not_allowed, checked / 50);
}

}  // namespace
}  // namespace flexgate::router
