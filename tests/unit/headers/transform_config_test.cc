// The transformation keys in a config file: where each lands, and every error with its
// FILE:LINE:COL and key path (unknown keys and variables, reserved headers, CORS rules).

#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "unit/config/config_test_util.h"

namespace flexgate::config {
namespace {

using testing::all_errors;
using testing::has_error;
using testing::yaml;

const std::string kHead = yaml(R"(
upstreams:
  - name: users
    url: "http://127.0.0.1:9000"
routes:
)");  // the first route starts on line 5

TEST(TransformConfig, EveryKeyLands) {
  const LoadResult result = load_config_text(kHead + yaml(R"(
  - path: /users/:id
    upstream: users
    rewrite: { regex: "^/users/(.*)$", replace: "/v2/users/$1" }
    headers:
      request:
        set: { X-User-Id: "${path.id}", X-Client: "${client_ip}" }
        add: { X-Via: flexgate }
        remove: [X-Debug]
        rename: { X-Old: X-New }
      response:
        set: { X-Route: "${route}" }
        remove: [X-Internal]
        keep: [Server]
    securityHeaders: { frameOptions: SAMEORIGIN, hsts: { maxAge: "365d", includeSubDomains: true } }
    cors:
      allowOrigins: ["https://app.example.com", "https://*.example.org"]
      allowMethods: [get, POST]
      allowHeaders: [Content-Type]
      exposeHeaders: [X-Request-Id]
      allowCredentials: true
      maxAge: 10m
cors: { allowOrigins: ["*"] }
securityHeaders: true
)"));
  // "365d" is not a duration unit: fix that first, the rest must then load.
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(has_error(result, "routes[0].securityHeaders.hsts.maxAge", 18, 66, "duration"));

  const LoadResult fixed = load_config_text(kHead + yaml(R"(
  - path: /users/:id
    upstream: users
    rewrite: { regex: "^/users/(.*)$", replace: "/v2/users/$1" }
    headers:
      request:
        set: { X-User-Id: "${path.id}", X-Client: "${client_ip}" }
        add: { X-Via: flexgate }
        remove: [X-Debug]
        rename: { X-Old: X-New }
      response:
        set: { X-Route: "${route}" }
        remove: [X-Internal]
        keep: [Server]
    securityHeaders: { frameOptions: SAMEORIGIN, hsts: { maxAge: "8760h", includeSubDomains: true } }
    cors:
      allowOrigins: ["https://app.example.com", "https://*.example.org"]
      allowMethods: [get, POST]
      allowHeaders: [Content-Type]
      exposeHeaders: [X-Request-Id]
      allowCredentials: true
      maxAge: 10m
cors: { allowOrigins: ["*"] }
securityHeaders: true
)"));
  ASSERT_TRUE(fixed.ok()) << all_errors(fixed);
  const RouteSpec& route = fixed.config->routes[0];
  ASSERT_TRUE(route.rewrite_regex);
  EXPECT_EQ(route.rewrite_regex->regex, "^/users/(.*)$");
  EXPECT_EQ(route.rewrite_regex->replace, "/v2/users/$1");
  EXPECT_TRUE(route.rewrite.empty());
  ASSERT_TRUE(route.headers);
  ASSERT_EQ(route.headers->request.set.size(), 2u);
  EXPECT_EQ(route.headers->request.set[0].name, "X-User-Id");
  ASSERT_EQ(route.headers->request.set[0].value.parts.size(), 1u);
  EXPECT_EQ(route.headers->request.set[0].value.parts[0].var, TemplateVar::kPathParam);
  EXPECT_EQ(route.headers->request.rename.at(0).to, "X-New");
  EXPECT_EQ(route.headers->response.keep, (std::vector<std::string>{"Server"}));
  ASSERT_TRUE(route.security_headers);
  EXPECT_TRUE(route.security_headers->enabled);
  EXPECT_EQ(route.security_headers->frame_options, "SAMEORIGIN");
  ASSERT_TRUE(route.security_headers->hsts);
  ASSERT_TRUE(route.cors);
  EXPECT_EQ(route.cors->allow_methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_TRUE(route.cors->allow_credentials);
  EXPECT_EQ(route.cors->max_age, std::chrono::minutes(10));
  ASSERT_TRUE(fixed.config->cors);
  EXPECT_EQ(fixed.config->cors->allow_origins, (std::vector<std::string>{"*"}));
  ASSERT_TRUE(fixed.config->security_headers);
  EXPECT_TRUE(fixed.config->security_headers->enabled);
}

TEST(TransformConfig, UnknownKeysAreErrors) {
  const LoadResult result = load_config_text(kHead + yaml(R"(
  - path: /a
    upstream: users
    headers:
      requests: {}
      response: { sett: {} }
    cors: { allowOrigins: ["https://a.example"], allowOrigin: x }
)"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.requests", 8, 7, "unknown key 'requests'"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.response.sett", 9, 19, "unknown key 'sett'"));
  EXPECT_TRUE(has_error(result, "routes[0].cors.allowOrigin", 10, 50, "unknown key 'allowOrigin'"));
}

TEST(TransformConfig, UnknownVariablesAndBadValuesArePositioned) {
  const LoadResult result = load_config_text(kHead + yaml(R"(
  - path: /users/:id
    upstream: users
    headers:
      request:
        set:
          X-A: "${client}"
          X-B: "${path.name}"
          X-C: "line\r\nX-Evil: 1"
          Host: other
        remove: [Content-Length]
)"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.request.set.X-A", 10, 16, "'${client}' is not a known variable"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.request.set.X-B", 11, 16, "names no parameter of the route path"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.request.set.X-C", 12, 16, "contains CR"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.request.set.Host", 13, 11, "use preserveHost"));
  EXPECT_TRUE(has_error(result, "routes[0].headers.request.remove[0]", 14, 18, "managed by the gateway"));
}

TEST(TransformConfig, UpstreamHeadersHaveNoPathParameters) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: users
    url: "http://127.0.0.1:9000"
    headers: { request: { set: { X-Id: "${path.id}" } } }
routes:
  - path: /users/:id
    upstream: users
)"));
  EXPECT_TRUE(has_error(result, "upstreams[0].headers.request.set.X-Id", 4, 40, "only be used in a route"));
}

TEST(TransformConfig, CorsRules) {
  const LoadResult result = load_config_text(kHead + yaml(R"(
  - path: /a
    upstream: users
    cors: { allowOrigins: ["*"], allowCredentials: true }
  - path: /b
    upstream: users
    cors: { allowOrigins: ["https://*.*.example.com", "null", "app.example.com"] }
  - path: /c
    upstream: users
    cors: false
  - path: /d
    upstream: users
    cors: { allowOrigins: ["https://a.example"], allowHeaders: ["*"], allowCredentials: true }
)"));
  EXPECT_TRUE(has_error(result, "routes[0].cors.allowOrigins[0]", 7, 28, "cannot be combined with allowCredentials"));
  EXPECT_TRUE(has_error(result, "routes[1].cors.allowOrigins[0]", 10, 28, "only allowed as the whole first label"));
  EXPECT_TRUE(has_error(result, "routes[1].cors.allowOrigins[1]", 10, 55, "sandboxed"));
  EXPECT_TRUE(has_error(result, "routes[1].cors.allowOrigins[2]", 10, 63, "must be an origin"));
  EXPECT_TRUE(has_error(result, "routes[3].cors.allowHeaders[0]", 16, 65, "cannot be combined"));
  EXPECT_EQ(result.errors.size(), 5u) << all_errors(result);
}

TEST(TransformConfig, RegexRewriteRules) {
  const LoadResult result = load_config_text(kHead + yaml(R"(
  - path: /a/*
    upstream: users
    stripPrefix: true
    rewrite: { regex: "^/a/(.*)$", replace: "/b/$1" }
  - path: /c/*
    upstream: users
    rewrite: { regex: "^/c/(.*)$", replace: "/d/$x" }
  - path: /e/*
    upstream: users
    rewrite: { replace: "/f" }
)"));
  EXPECT_TRUE(has_error(result, "routes[0].rewrite", 8, 5, "either stripPrefix or rewrite"));
  EXPECT_TRUE(has_error(result, "routes[1].rewrite.replace", 11, 45, "group number"));
  EXPECT_TRUE(has_error(result, "routes[2].rewrite.regex", 14, 14, "missing required key 'regex'"));
}

TEST(TransformConfig, SecurityHeadersForms) {
  const LoadResult result = load_config_text(kHead + yaml(R"(
  - path: /a
    upstream: users
    securityHeaders: yes
  - path: /b
    upstream: users
    securityHeaders: { frameOptions: ALLOW, hsts: { preload: true } }
)"));
  EXPECT_TRUE(has_error(result, "routes[0].securityHeaders", 7, 22, "must be true or false"));
  EXPECT_TRUE(has_error(result, "routes[1].securityHeaders.frameOptions", 10, 38, "must be one of"));
  EXPECT_TRUE(has_error(result, "routes[1].securityHeaders.hsts", 10, 51, "preload needs includeSubDomains"));
}

TEST(TransformConfig, FullExampleUsesEveryTransformationKey) {
  const LoadResult result = load_config_file(std::string(FLEXGATE_SOURCE_DIR) + "/config/examples/full.yml");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  ASSERT_TRUE(c.upstreams[0].headers);
  EXPECT_EQ(c.upstreams[0].headers->response.keep, (std::vector<std::string>{"X-Powered-By"}));
  ASSERT_TRUE(c.upstreams[0].security_headers);
  EXPECT_FALSE(c.upstreams[0].security_headers->enabled);
  const RouteSpec& route = c.routes[3];
  ASSERT_TRUE(route.rewrite_regex);
  ASSERT_TRUE(route.headers);
  EXPECT_EQ(route.headers->request.set.size(), 3u);
  EXPECT_EQ(route.headers->request.add.size(), 2u);
  EXPECT_EQ(route.headers->request.rename.size(), 1u);
  EXPECT_EQ(route.headers->response.remove, (std::vector<std::string>{"X-Internal-Node"}));
  ASSERT_TRUE(route.security_headers && route.security_headers->hsts);
  EXPECT_EQ(route.security_headers->referrer_policy, "no-referrer");
  ASSERT_TRUE(route.cors);
  EXPECT_EQ(route.cors->allow_origins.size(), 2u);
  ASSERT_TRUE(c.cors);
  ASSERT_TRUE(c.security_headers);
  EXPECT_TRUE(c.security_headers->enabled);
}

}  // namespace
}  // namespace flexgate::config
