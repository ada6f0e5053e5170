#include "router/route_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace flexgate::router {
namespace {

using Status = RouteMatch::Status;

config::RouteSpec route(std::string path, std::string host = "", std::vector<std::string> methods = {}) {
  config::RouteSpec spec;
  spec.path = std::move(path);
  spec.host = std::move(host);
  spec.methods = std::move(methods);
  spec.upstream = "backend";
  return spec;
}

// "host path [METHODS]" of the winning route, or "404" / "405 <Allow>".
std::string winner(const RouteTable& table, std::string_view host, std::string_view method,
                   std::string_view path) {
  const RouteMatch m = table.match(host, method, path);
  switch (m.status) {
    case Status::kNotFound:
      return "404";
    case Status::kMethodNotAllowed:
      return "405 " + std::string(m.allow);
    case Status::kMatched:
      break;
  }
  std::string out = m.route->spec->host + " " + m.route->spec->path;
  if (!m.route->spec->methods.empty()) {
    out += " [";
    for (const auto& method_name : m.route->spec->methods) out += method_name + ",";
    out.back() = ']';
  }
  return out;
}

std::string get(const RouteTable& table, std::string_view path, std::string_view host = "x.test") {
  return winner(table, host, "GET", path);
}

TEST(RouteTable, ExactPaths) {
  const std::vector<config::RouteSpec> specs = {route("/a/b"), route("/"), route("/health")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/a/b"), " /a/b");
  EXPECT_EQ(get(table, "/"), " /");
  EXPECT_EQ(get(table, "/health"), " /health");
  EXPECT_EQ(get(table, "/a"), "404");
  EXPECT_EQ(get(table, "/a/b/c"), "404");
  EXPECT_EQ(get(table, "/a/b/"), "404");    // a trailing slash is significant for exact patterns
  EXPECT_EQ(get(table, "/Health"), "404");  // paths are case-sensitive
  EXPECT_EQ(get(table, "/healthz"), "404");
  EXPECT_EQ(get(table, ""), "404");
  EXPECT_EQ(get(table, "health"), "404");
}

TEST(RouteTable, EmptyTableFindsNothing) {
  const std::vector<config::RouteSpec> specs;
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/"), "404");
  EXPECT_TRUE(table.routes().empty());
}

TEST(RouteTable, ParamsCaptureOneNonEmptySegment) {
  const std::vector<config::RouteSpec> specs = {route("/users/:id"), route("/orgs/:org/repos/:repo")};
  const RouteTable table(specs);
  const std::string path = "/users/42";
  const RouteMatch m = table.match("h", "GET", path);
  ASSERT_EQ(m.status, Status::kMatched);
  ASSERT_EQ(m.param_count, 1u);
  EXPECT_EQ(m.params[0].name, "id");
  EXPECT_EQ(m.params[0].value, "42");
  EXPECT_EQ(m.params[0].value.data(), path.data() + 7);  // a view into the path
  // The name is a view into the table, not into the spec.
  const std::string& spec_path = specs[0].path;
  EXPECT_FALSE(m.params[0].name.data() >= spec_path.data() &&
               m.params[0].name.data() < spec_path.data() + spec_path.size());

  const std::string two = "/orgs/acme/repos/gate";
  const RouteMatch m2 = table.match("h", "GET", two);
  ASSERT_EQ(m2.status, Status::kMatched);
  ASSERT_EQ(m2.param_count, 2u);
  EXPECT_EQ(m2.params[0].name, "org");
  EXPECT_EQ(m2.params[0].value, "acme");
  EXPECT_EQ(m2.params[1].name, "repo");
  EXPECT_EQ(m2.params[1].value, "gate");

  EXPECT_EQ(get(table, "/users/"), "404");
  EXPECT_EQ(get(table, "/users"), "404");
  EXPECT_EQ(get(table, "/users/42/x"), "404");
  EXPECT_EQ(get(table, "/orgs/acme/repos"), "404");
}

TEST(RouteTable, AMatchReusedInPlaceCarriesNothingFromTheLastRequest) {
  const std::vector<config::RouteSpec> specs = {route("/users/:id"), route("/files/*"),
                                                route("/admin", "", {"POST"}), route("/only", "api.example.com")};
  const RouteTable table(specs);
  RouteMatch reused;
  table.match("h", "GET", "/users/7", reused);
  ASSERT_EQ(reused.status, Status::kMatched);
  ASSERT_EQ(reused.param_count, 1u);
  table.match("h", "GET", "/files/a/b", reused);
  ASSERT_EQ(reused.status, Status::kMatched);
  EXPECT_EQ(reused.param_count, 0u);
  EXPECT_EQ(reused.wildcard_offset, 6u);
  table.match("h", "GET", "/admin", reused);  // a method list: looked up only now
  EXPECT_EQ(reused.status, Status::kMethodNotAllowed);
  EXPECT_EQ(reused.route, nullptr);
  EXPECT_EQ(reused.allow, "POST");
  table.match("API.Example.com.:8080", "GET", "/only", reused);  // host routes: case, port, dot
  ASSERT_EQ(reused.status, Status::kMatched);
  EXPECT_EQ(reused.route->spec->host, "api.example.com");
  EXPECT_TRUE(reused.allow.empty());
  EXPECT_EQ(reused.wildcard_offset, 0u);
  table.match("other", "GET", "/only", reused);
  EXPECT_EQ(reused.status, Status::kNotFound);
  EXPECT_EQ(reused.route, nullptr);
}

TEST(RouteTable, SameSegmentDifferentParamNames) {
  const std::vector<config::RouteSpec> specs = {route("/u/:id"), route("/u/:user/posts/:post")};
  const RouteTable table(specs);
  const RouteMatch a = table.match("", "GET", "/u/7");
  ASSERT_EQ(a.param_count, 1u);
  EXPECT_EQ(a.params[0].name, "id");
  const RouteMatch b = table.match("", "GET", "/u/7/posts/9");
  ASSERT_EQ(b.param_count, 2u);
  EXPECT_EQ(b.params[0].name, "user");
  EXPECT_EQ(b.params[0].value, "7");
  EXPECT_EQ(b.params[1].name, "post");
  EXPECT_EQ(b.params[1].value, "9");
}

TEST(RouteTable, MoreThanMaxParamsMatchButCaptureTheFirstOnes) {
  const std::vector<config::RouteSpec> specs = {route("/:a/:b/:c/:d/:e/:f/:g/:h/:i/:j")};
  const RouteTable table(specs);
  const RouteMatch m = table.match("", "GET", "/1/2/3/4/5/6/7/8/9/10");
  ASSERT_EQ(m.status, Status::kMatched);
  EXPECT_EQ(m.param_count, kMaxRouteParams);
  EXPECT_EQ(m.params[7].name, "h");
  EXPECT_EQ(m.params[7].value, "8");
}

TEST(RouteTable, PrefixWildcard) {
  const std::vector<config::RouteSpec> specs = {route("/api/*")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/api"), " /api/*");
  EXPECT_EQ(get(table, "/api/"), " /api/*");
  EXPECT_EQ(get(table, "/api/users"), " /api/*");
  EXPECT_EQ(get(table, "/api/users/42/deeper"), " /api/*");
  EXPECT_EQ(get(table, "/apix"), "404");
  EXPECT_EQ(get(table, "/ap"), "404");
  EXPECT_EQ(get(table, "/"), "404");
  EXPECT_EQ(get(table, "/other/api"), "404");

  EXPECT_EQ(table.match("", "GET", "/api/users").wildcard_offset, 4u);
  EXPECT_EQ(table.match("", "GET", "/api").wildcard_offset, 4u);
  EXPECT_EQ(table.match("", "GET", "/api/").wildcard_offset, 4u);
  ASSERT_EQ(table.routes().size(), 1u);
  EXPECT_TRUE(table.routes()[0].wildcard);
  EXPECT_EQ(table.routes()[0].prefix, "/api");
}

TEST(RouteTable, GrpcMethodPaths) {
  // gRPC calls are POST /package.Service/Method: a method exactly, or every method of a service.
  const std::vector<config::RouteSpec> specs = {route("/helloworld.Greeter/SayHello", "", {"POST"}),
                                                route("/helloworld.Greeter/*", "", {"POST"}),
                                                route("/grpc.health.v1.Health/Check")};
  const RouteTable table(specs);
  EXPECT_EQ(winner(table, "x.test", "POST", "/helloworld.Greeter/SayHello"), " /helloworld.Greeter/SayHello [POST]");
  EXPECT_EQ(winner(table, "x.test", "POST", "/helloworld.Greeter/SayGoodbye"), " /helloworld.Greeter/* [POST]");
  EXPECT_EQ(winner(table, "x.test", "POST", "/grpc.health.v1.Health/Check"), " /grpc.health.v1.Health/Check");
  EXPECT_EQ(winner(table, "x.test", "POST", "/helloworld.Other/SayHello"), "404");
  EXPECT_EQ(winner(table, "x.test", "POST", "/helloworld.GreeterX/SayHello"), "404");
  EXPECT_EQ(winner(table, "x.test", "GET", "/helloworld.Greeter/SayHello"), "405 POST");
}

TEST(RouteTable, CatchAll) {
  const std::vector<config::RouteSpec> specs = {route("/*")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/"), " /*");
  EXPECT_EQ(get(table, "/anything/at/all"), " /*");
  EXPECT_EQ(table.match("", "GET", "/x").wildcard_offset, 0u);
  EXPECT_EQ(table.routes()[0].prefix, "");
}

TEST(RouteTable, LiteralBeatsParamBeatsWildcard) {
  const std::vector<config::RouteSpec> specs = {route("/*"), route("/users/*"), route("/users/:id"),
                                                route("/users/me"), route("/users")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/users/me"), " /users/me");
  EXPECT_EQ(get(table, "/users/7"), " /users/:id");
  EXPECT_EQ(get(table, "/users/7/x"), " /users/*");
  EXPECT_EQ(get(table, "/users"), " /users");  // exact beats wildcard at an equal prefix
  EXPECT_EQ(get(table, "/users/"), " /users/*");
  EXPECT_EQ(get(table, "/other"), " /*");
}

TEST(RouteTable, ComparesSegmentBySegment) {
  const std::vector<config::RouteSpec> specs = {route("/a/:x/c"), route("/a/b/*"), route("/a/*"),
                                                route("/a/b/c/*")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/a/b/c"), " /a/b/c/*");  // literal "c" beats the wildcard after "/a/b"
  EXPECT_EQ(get(table, "/a/b/d"), " /a/b/*");    // literal "b" beats ":x"
  EXPECT_EQ(get(table, "/a/z/c"), " /a/:x/c");
  EXPECT_EQ(get(table, "/a/z/d"), " /a/*");
  EXPECT_EQ(get(table, "/a"), " /a/*");
}

TEST(RouteTable, BacktracksOutOfDeadEnds) {
  const std::vector<config::RouteSpec> specs = {route("/a/b/c"), route("/a/:x/d"), route("/:y/b/e")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/a/b/c"), " /a/b/c");
  EXPECT_EQ(get(table, "/a/b/d"), " /a/:x/d");
  EXPECT_EQ(get(table, "/a/b/e"), " /:y/b/e");
  EXPECT_EQ(get(table, "/a/b/f"), "404");
  const RouteMatch m = table.match("", "GET", "/a/b/e");
  ASSERT_EQ(m.param_count, 1u);  // captures from the abandoned branch do not leak
  EXPECT_EQ(m.params[0].name, "y");
  EXPECT_EQ(m.params[0].value, "a");
}

TEST(RouteTable, WinnerDoesNotDependOnFileOrder) {
  const std::vector<config::RouteSpec> base = {
      route("/*"),
      route("/api/*"),
      route("/api/users/:id"),
      route("/api/users/me"),
      route("/api/users/:id/*"),
      route("/api/:version/users"),
      route("/api"),
      route("/static/*", "cdn.example.com"),
      route("/api/*", "*.example.com"),
      route("/api/*", "*.eu.example.com"),
      route("/api/users/:id", "api.example.com"),
      route("/items", "", {"GET"}),
      route("/items", "", {"POST", "PUT"}),
      route("/items/:id", "", {"DELETE"}),
      route("/items/*", "", {"PATCH"}),
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> requests = {
      {"x.test", "GET", "/"},
      {"x.test", "GET", "/api"},
      {"x.test", "GET", "/api/"},
      {"x.test", "GET", "/api/users/me"},
      {"x.test", "GET", "/api/users/42"},
      {"x.test", "GET", "/api/users/42/posts"},
      {"x.test", "GET", "/api/v2/users"},
      {"x.test", "GET", "/api/v2/things"},
      {"cdn.example.com", "GET", "/static/a.css"},
      {"cdn.example.com", "GET", "/api/users/1"},
      {"a.eu.example.com", "GET", "/api/users/1"},
      {"api.example.com", "GET", "/api/users/1"},
      {"api.example.com", "GET", "/api/users/me"},
      {"example.com", "GET", "/api/users/me"},
      {"x.test", "GET", "/items"},
      {"x.test", "HEAD", "/items"},
      {"x.test", "PUT", "/items"},
      {"x.test", "DELETE", "/items"},
      {"x.test", "DELETE", "/items/3"},
      {"x.test", "PATCH", "/items/3"},
      {"x.test", "GET", "/items/3"},
  };
  std::vector<std::string> expected;
  {
    const RouteTable table(base);
    for (const auto& [host, method, path] : requests) expected.push_back(winner(table, host, method, path));
  }
  // Spot-check the reference answers, then require every permutation to agree.
  EXPECT_EQ(expected[3], " /api/users/me");
  EXPECT_EQ(expected[10], "*.eu.example.com /api/*");
  EXPECT_EQ(expected[11], "api.example.com /api/users/:id");
  EXPECT_EQ(expected[9], "*.example.com /api/*");             // host beats path
  EXPECT_EQ(expected[12], "api.example.com /api/users/:id");  // even a literal path
  EXPECT_EQ(expected[13], " /api/users/me");                  // example.com is not *.example.com
  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    std::vector<config::RouteSpec> shuffled = base;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const RouteTable table(shuffled);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& [host, method, path] = requests[i];
      EXPECT_EQ(winner(table, host, method, path), expected[i]) << method << " " << host << path;
    }
  }
}

TEST(RouteTable, HostSpecificity) {
  const std::vector<config::RouteSpec> specs = {
      route("/*"),
      route("/*", "*.example.com"),
      route("/*", "*.b.example.com"),
      route("/*", "api.example.com"),
      route("/*", "example.com"),
  };
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/", "api.example.com"), "api.example.com /*");
  EXPECT_EQ(get(table, "/", "API.Example.COM"), "api.example.com /*");
  EXPECT_EQ(get(table, "/", "api.example.com:8443"), "api.example.com /*");
  EXPECT_EQ(get(table, "/", "api.example.com."), "api.example.com /*");
  EXPECT_EQ(get(table, "/", "x.b.example.com"), "*.b.example.com /*");
  EXPECT_EQ(get(table, "/", "y.x.B.example.com"), "*.b.example.com /*");
  EXPECT_EQ(get(table, "/", "b.example.com"), "*.example.com /*");
  EXPECT_EQ(get(table, "/", "www.example.com"), "*.example.com /*");
  EXPECT_EQ(get(table, "/", "example.com"), "example.com /*");
  EXPECT_EQ(get(table, "/", ".example.com"), " /*");
  EXPECT_EQ(get(table, "/", "notexample.com"), " /*");
  EXPECT_EQ(get(table, "/", "example.com.evil"), " /*");
  EXPECT_EQ(get(table, "/", ""), " /*");
  EXPECT_EQ(get(table, "/", std::string(300, 'a')), " /*");
}

TEST(RouteTable, HostWildcardNeedsALabel) {
  const std::vector<config::RouteSpec> specs = {route("/*", "*.example.com")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/", "example.com"), "404");
  EXPECT_EQ(get(table, "/", "a.example.com"), "*.example.com /*");
  EXPECT_EQ(get(table, "/", "a.b.c.example.com"), "*.example.com /*");
}

TEST(RouteTable, HostPortsAndIpv6) {
  const std::vector<config::RouteSpec> specs = {route("/v6", "::1"), route("/v4", "127.0.0.1"),
                                                route("/any")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/v6", "[::1]:8080"), "::1 /v6");
  EXPECT_EQ(get(table, "/v6", "[::1]"), "::1 /v6");
  EXPECT_EQ(get(table, "/v6", "::1"), "::1 /v6");
  EXPECT_EQ(get(table, "/v4", "127.0.0.1:80"), "127.0.0.1 /v4");
  EXPECT_EQ(get(table, "/v4", "127.0.0.2"), "404");
  EXPECT_EQ(get(table, "/any", "[::1]:8080"), " /any");
}

TEST(RouteTable, BracketedIpv6HostInConfig) {
  const std::vector<config::RouteSpec> specs = {route("/v6", "[::1]"), route("/v6", "[FD00::1]")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/v6", "[::1]:8080"), "[::1] /v6");
  EXPECT_EQ(get(table, "/v6", "::1"), "[::1] /v6");
  EXPECT_EQ(get(table, "/v6", "[fd00::1]"), "[FD00::1] /v6");
  EXPECT_EQ(get(table, "/v6", "[::2]"), "404");
}

TEST(RouteTable, HostGroupWithoutThePathFallsBackToLessSpecificHosts) {
  const std::vector<config::RouteSpec> specs = {route("/admin", "api.example.com"), route("/*")};
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/admin", "api.example.com"), "api.example.com /admin");
  EXPECT_EQ(get(table, "/public", "api.example.com"), " /*");
}

TEST(RouteTable, MethodsPickAmongSamePattern) {
  const std::vector<config::RouteSpec> specs = {route("/items", "", {"POST"}), route("/items", "", {"GET"})};
  const RouteTable table(specs);
  EXPECT_EQ(winner(table, "", "GET", "/items"), " /items [GET]");
  EXPECT_EQ(winner(table, "", "HEAD", "/items"), " /items [GET]");
  EXPECT_EQ(winner(table, "", "POST", "/items"), " /items [POST]");
  EXPECT_EQ(winner(table, "", "DELETE", "/items"), "405 GET, HEAD, POST");
  EXPECT_EQ(winner(table, "", "get", "/items"), "405 GET, HEAD, POST");  // methods are case-sensitive
  EXPECT_EQ(winner(table, "", "BREW", "/items"), "405 GET, HEAD, POST");
  EXPECT_EQ(winner(table, "", "GET", "/nothing"), "404");
}

TEST(RouteTable, HeadOnlyRouteDoesNotAllowGet) {
  const std::vector<config::RouteSpec> specs = {route("/h", "", {"HEAD"})};
  const RouteTable table(specs);
  EXPECT_EQ(winner(table, "", "HEAD", "/h"), " /h [HEAD]");
  EXPECT_EQ(winner(table, "", "GET", "/h"), "405 HEAD");
}

TEST(RouteTable, LessSpecificRouteAllowingTheMethodWins) {
  const std::vector<config::RouteSpec> specs = {route("/items/:id", "", {"GET"}),
                                                route("/items/*", "", {"DELETE"}), route("/items/special")};
  const RouteTable table(specs);
  EXPECT_EQ(winner(table, "", "GET", "/items/1"), " /items/:id [GET]");
  EXPECT_EQ(winner(table, "", "DELETE", "/items/1"), " /items/* [DELETE]");
  EXPECT_EQ(winner(table, "", "DELETE", "/items/special"), " /items/special");
  EXPECT_EQ(winner(table, "", "PUT", "/items/1/x"), "405 DELETE");
  // The Allow of a 405 is the union over every route that matched host and path.
  EXPECT_EQ(winner(table, "", "PUT", "/items/1"), "405 GET, HEAD, DELETE");
}

TEST(RouteTable, AllowUnionSpansHostGroups) {
  const std::vector<config::RouteSpec> specs = {route("/x", "a.test", {"GET"}),
                                                route("/x", "*.test", {"OPTIONS"}),
                                                route("/x", "", {"PURGE"}), route("/*", "", {"POST"})};
  const RouteTable table(specs);
  EXPECT_EQ(winner(table, "a.test", "PURGE", "/x"), " /x [PURGE]");
  EXPECT_EQ(winner(table, "a.test", "OPTIONS", "/x"), "*.test /x [OPTIONS]");
  EXPECT_EQ(winner(table, "a.test", "PUT", "/x"), "405 GET, HEAD, POST, OPTIONS, PURGE");
  EXPECT_EQ(winner(table, "b.test", "PUT", "/x"), "405 POST, OPTIONS, PURGE");
  EXPECT_EQ(winner(table, "c.other", "PUT", "/x"), "405 POST, PURGE");
  EXPECT_EQ(winner(table, "c.other", "PUT", "/y"), "405 POST");
}

TEST(RouteTable, CompiledRoutesDescribeTheConfig) {
  const std::vector<config::RouteSpec> specs = {route("/a", "", {"POST", "GET"}), route("/b/*"),
                                                route("/c/:id/*", "", {"DELETE"})};
  const RouteTable table(specs);
  const auto& routes = table.routes();
  ASSERT_EQ(routes.size(), 3u);
  for (std::size_t i = 0; i < routes.size(); ++i) {
    EXPECT_EQ(routes[i].index, i);
    EXPECT_EQ(routes[i].spec, &specs[i]);
  }
  EXPECT_EQ(routes[0].allow_header, "GET, HEAD, POST");
  EXPECT_FALSE(routes[0].wildcard);
  EXPECT_EQ(routes[1].allow_header, "");
  EXPECT_EQ(routes[1].prefix, "/b");
  EXPECT_TRUE(routes[1].wildcard);
  EXPECT_EQ(routes[2].allow_header, "DELETE");
  EXPECT_EQ(routes[2].prefix, "/c/:id");
  const RouteMatch m = table.match("", "DELETE", "/c/9/rest");
  ASSERT_EQ(m.status, Status::kMatched);
  EXPECT_EQ(m.route, &routes[2]);
  EXPECT_EQ(m.wildcard_offset, 4u);
}

TEST(RouteTable, SurvivesMove) {
  const std::vector<config::RouteSpec> specs = {route("/users/:id")};
  RouteTable table(specs);
  RouteTable moved(std::move(table));
  const RouteMatch m = moved.match("", "GET", "/users/1");
  ASSERT_EQ(m.status, Status::kMatched);
  EXPECT_EQ(m.params[0].name, "id");
  RouteTable assigned(std::vector<config::RouteSpec>{});
  assigned = std::move(moved);
  EXPECT_EQ(assigned.match("", "GET", "/users/2").status, Status::kMatched);
}

TEST(RouteTable, ThousandRoutes) {
  std::vector<config::RouteSpec> specs;
  for (int i = 0; i < 250; ++i) {
    const std::string base = "/svc" + std::to_string(i);
    specs.push_back(route(base + "/items/:id", "", {"GET"}));
    specs.push_back(route(base + "/items/:id", "", {"PUT"}));
    specs.push_back(route(base + "/*"));
    specs.push_back(route(base + "/users/:uid/orders/:oid", "h" + std::to_string(i % 10) + ".example.com"));
  }
  const RouteTable table(specs);
  EXPECT_EQ(get(table, "/svc7/items/3"), " /svc7/items/:id [GET]");
  EXPECT_EQ(winner(table, "", "PUT", "/svc249/items/3"), " /svc249/items/:id [PUT]");
  EXPECT_EQ(get(table, "/svc7/items/3/x"), " /svc7/*");
  EXPECT_EQ(get(table, "/svc12/users/1/orders/2", "h2.example.com"),
            "h2.example.com /svc12/users/:uid/orders/:oid");
  EXPECT_EQ(get(table, "/svc12/users/1/orders/2", "h3.example.com"), " /svc12/*");
  EXPECT_EQ(get(table, "/svc250/x"), "404");
}

}  // namespace
}  // namespace flexgate::router
