#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/route_table.h"

namespace flexgate::router {
namespace {

config::RouteSpec route(std::string path, bool strip_prefix, std::string rewrite) {
  config::RouteSpec spec;
  spec.path = std::move(path);
  spec.upstream = "backend";
  spec.strip_prefix = strip_prefix;
  spec.rewrite = std::move(rewrite);
  return spec;
}

// Builds a one-route table and returns the forward path for `path`.
std::string forward(const config::RouteSpec& spec, std::string_view path) {
  const std::vector<config::RouteSpec> specs = {spec};
  const RouteTable table(specs);
  const RouteMatch m = table.match("", "GET", path);
  EXPECT_EQ(m.status, RouteMatch::Status::kMatched) << spec.path << " " << path;
  std::string out = "stale";
  build_forward_path(m, path, out);
  return out;
}

TEST(ForwardPath, UnchangedWithoutStripOrRewrite) {
  EXPECT_EQ(forward(route("/api/*", false, ""), "/api/users"), "/api/users");
  EXPECT_EQ(forward(route("/users/:id", false, ""), "/users/1"), "/users/1");
  EXPECT_EQ(forward(route("/*", false, ""), "/"), "/");
}

TEST(ForwardPath, StripPrefix) {
  const auto spec = route("/api/*", true, "");
  EXPECT_EQ(forward(spec, "/api/users"), "/users");
  EXPECT_EQ(forward(spec, "/api/users/42/x"), "/users/42/x");
  EXPECT_EQ(forward(spec, "/api"), "/");
  EXPECT_EQ(forward(spec, "/api/"), "/");
  EXPECT_EQ(forward(route("/a/b/*", true, ""), "/a/b/c/"), "/c/");
  EXPECT_EQ(forward(route("/*", true, ""), "/x/y"), "/x/y");
  EXPECT_EQ(forward(route("/t/:tenant/*", true, ""), "/t/acme/x/y"), "/x/y");
  // Not a wildcard route: nothing to strip.
  EXPECT_EQ(forward(route("/exact", true, ""), "/exact"), "/exact");
}

TEST(ForwardPath, RewriteOnWildcardReplacesThePrefix) {
  const auto spec = route("/api/*", false, "/v2");
  EXPECT_EQ(forward(spec, "/api/users"), "/v2/users");
  EXPECT_EQ(forward(spec, "/api"), "/v2");
  EXPECT_EQ(forward(spec, "/api/"), "/v2/");
  EXPECT_EQ(forward(route("/api/*", false, "/v2/"), "/api/users"), "/v2/users");  // no "//"
  EXPECT_EQ(forward(route("/api/*", false, "/v2/"), "/api"), "/v2/");
  EXPECT_EQ(forward(route("/api/*", false, "/"), "/api/users"), "/users");
  EXPECT_EQ(forward(route("/api/*", false, "/"), "/api"), "/");
  EXPECT_EQ(forward(route("/*", false, "/v2"), "/anything/else"), "/v2/anything/else");
  EXPECT_EQ(forward(route("/api/*", false, "v2"), "/api/users"), "/v2/users");  // leading '/' ensured
  // rewrite wins over stripPrefix.
  EXPECT_EQ(forward(route("/api/*", true, "/v3"), "/api/users"), "/v3/users");
}

TEST(ForwardPath, RewriteOnExactReplacesTheWholePath) {
  EXPECT_EQ(forward(route("/old", false, "/new"), "/old"), "/new");
  EXPECT_EQ(forward(route("/old/path", false, "/"), "/old/path"), "/");
}

TEST(ForwardPath, RewriteExpandsParams) {
  EXPECT_EQ(forward(route("/users/:id", false, "/v1/people/${path.id}"), "/users/42"), "/v1/people/42");
  EXPECT_EQ(forward(route("/u/:a/:b", false, "/${path.b}/${path.a}/x"), "/u/1/2"), "/2/1/x");
  EXPECT_EQ(forward(route("/t/:tenant/*", false, "/${path.tenant}/api"), "/t/acme/x/y"), "/acme/api/x/y");
  EXPECT_EQ(forward(route("/t/:tenant/*", false, "/${path.tenant}/api"), "/t/acme"), "/acme/api");
  EXPECT_EQ(forward(route("/u/:id", false, "/x/${path.nope}/y"), "/u/1"), "/x//y");
  EXPECT_EQ(forward(route("/u/:id", false, "/x/${path.id"), "/u/1"), "/x/${path.id");
  EXPECT_EQ(forward(route("/u/:id", false, "/x/$id"), "/u/1"), "/x/$id");
}

TEST(ForwardPath, NoMatchCopiesThePath) {
  RouteMatch none;
  std::string out = "stale";
  build_forward_path(none, "/as/is", out);
  EXPECT_EQ(out, "/as/is");
}

}  // namespace
}  // namespace flexgate::router
