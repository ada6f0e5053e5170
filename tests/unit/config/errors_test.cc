// Error collection as a whole: several errors at once in file order, no cascades, no secrets in
// messages, and hostile input that must neither crash nor throw.

#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_test_util.h"

namespace flexgate::config {
namespace {

using testing::all_errors;
using testing::has_error;
using testing::yaml;

TEST(ConfigErrors, ReportsEveryErrorInFileOrder) {
  const LoadResult result = load_config_text(yaml(R"(
proxy:
  port: 65536
  workers: lots
upstreams:
  - name: api
    url: "http://10.0.0.1:8080/v1"
    retires: 2
routes:
  - path: /api/*
    upstream: apii
  - path: /api/*
    upstream: api
logging:
  level: loud
)"),
                                             "gw.yml");
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 7u) << all_errors(result);
  const char* expected[] = {
      "gw.yml:2:9: proxy.port: must be between 0 and 65535 (got '65536')",
      "gw.yml:3:12: proxy.workers: must be an integer 0..256 (got 'lots')",
      "gw.yml:6:10: upstreams[0].url: must not have a path ('/v1'); use a route's rewrite to add a path "
      "prefix",
      "gw.yml:7:5: upstreams[0].retires: unknown key 'retires' (did you mean 'retries'?)",
      "gw.yml:10:15: routes[0].upstream: upstream 'apii' is not defined (defined: api); did you mean 'api'?",
      "gw.yml:11:11: routes[1].path: duplicate route: routes[0] (line 9) already matches '/api/*' on any "
      "host for "
      "every method",
      "gw.yml:14:10: logging.level: must be one of debug, info, warn, error (got 'loud')",
  };
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    EXPECT_EQ(result.errors[i].to_string(), expected[i]);
  }
}

TEST(ConfigErrors, BrokenUpstreamDoesNotCascadeIntoRoutes) {
  // The upstream has errors, but it is defined: the route naming it must not add "not defined".
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: api
    url: "ftp://example.com"
  - name: "bad name"
    url: "http://h:1"
routes:
  - { path: /a, upstream: api }
  - { path: /b, upstream: "bad name" }
  - { path: "bad", upstream: api }
rateLimit:
  perRoute: [{ path: "bad", max: 1 }]
)"));
  ASSERT_EQ(result.errors.size(), 3u) << all_errors(result);
  EXPECT_TRUE(has_error(result, "upstreams[0].url", 3, 10, "scheme must be http or https"));
  EXPECT_TRUE(has_error(result, "upstreams[1].name", 4, 11, "may only contain"));
  EXPECT_TRUE(has_error(result, "routes[2].path", 9, 13, "must start with '/'"));
}

TEST(ConfigErrors, ApiKeyValueIsNeverEchoed) {
  const LoadResult result = load_config_text(yaml(R"(
security:
  auth:
    keys: [{ key: "sk_live_supersecret", name: a }]
)"));
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].to_string().find("supersecret"), std::string::npos);
  EXPECT_NE(result.errors[0].message.find("flexgate hash-key KEY"), std::string::npos);
}

TEST(ConfigErrors, NonOverlappingMethodsAndHostsAreNotDuplicates) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams: [{ name: a, url: "http://h:1" }]
routes:
  - { path: "/u/:id", upstream: a, methods: [GET, HEAD] }
  - { path: "/u/:name", upstream: a, methods: [PUT, DELETE] }
  - { path: "/u/:id", upstream: a, host: a.example.com }
  - { path: "/u/:id", upstream: a, host: "*.example.com" }
  - { path: "/u/:id/*", upstream: a }
  - { path: "/u/me", upstream: a }
rateLimit:
  perRoute: [{ path: "/u/:user", max: 5 }]
)"));
  EXPECT_TRUE(result.ok()) << all_errors(result);
}

TEST(ConfigErrors, StopsListingAfterAHundred) {
  std::string text = "upstreams: [{ name: a, url: \"http://h:1\" }]\nroutes:\n";
  for (int i = 0; i < 300; ++i) text += "  - { path: /x" + std::to_string(i) + ", upstream: nope }\n";
  const LoadResult result = load_config_text(text);
  ASSERT_EQ(result.errors.size(), 101u);
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_EQ(result.errors.back().message, "too many errors; showing the first 100");
}

TEST(ConfigErrors, SyntaxErrorIsOneErrorWithPosition) {
  const LoadResult result = load_config_text("proxy:\n  port: 1\n  host: [a, b\n", "x.yml");
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].file, "x.yml");
  EXPECT_GT(result.errors[0].line, 0);
  EXPECT_EQ(result.errors[0].message.rfind("YAML syntax error: ", 0), 0u) << result.errors[0].message;
}

TEST(ConfigErrors, UndefinedAliasIsAnError) {
  const LoadResult result = load_config_text("proxy: *nope\n");
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].line, 1);
}

TEST(HostileInput, SelfReferencingAliasesDoNotRecurse) {
  // yaml-cpp builds a cyclic graph for these; the loader only walks the schema's depth.
  for (const char* text : {"routes: &a [*a]\n", "upstreams: &a [{ name: x, targets: *a }]\n",
                           "proxy: &a { port: *a }\n", "&a { proxy: *a, logging: *a }\n"}) {
    const LoadResult result = load_config_text(text);
    EXPECT_FALSE(result.ok()) << text;
    EXPECT_FALSE(result.errors.empty()) << text;
  }
}

TEST(HostileInput, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = "proxy: " + std::string(100000, '[') + "\n";
  const LoadResult result = load_config_text(deep);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.size(), 1u);
}

TEST(HostileInput, BinaryAndOddBytes) {
  const std::string inputs[] = {
      std::string("proxy: {port: 1}\0garbage", 24),
      std::string("\xff\xfe\x00\x01", 4),
      "proxy:\n\tport: 1\n",
      "? ? ? [\n",
      "!!binary x: 1\n",
      "proxy: !!int {port: 1}\n",
      "routes: [{ path: \"/a\\u0000b\", upstream: a }]\n",
      "%YAML 1.2\n---\nproxy: {}\n",
      "%TAG ! tag:x\n",
      "{",
      "- - - -",
      "&a &b x",
  };
  for (const std::string& text : inputs) {
    const LoadResult result = load_config_text(text);
    EXPECT_NE(result.ok(), !result.errors.empty());
  }
}

TEST(HostileInput, EmptyTrailingDocumentsAreFine) {
  for (const char* text : {"proxy: { port: 1 }\n---\n", "proxy: { port: 1 }\n...\n",
                           "---\nproxy: { port: 1 }\n", "proxy: { port: 1 }\n---\n# nothing\n---\n"}) {
    EXPECT_TRUE(load_config_text(text).ok()) << text;
  }
}

TEST(HostileInput, StrayTokensDoNotHang) {
  // yaml-cpp 0.7's LoadAll never returns on these; the loader must answer with one error.
  for (const char* text : {",", "[1]\n,\n", "{a: 1},", "proxy: {}\n...\n,", ",,,,,,,,"}) {
    const LoadResult result = load_config_text(text);
    ASSERT_EQ(result.errors.size(), 1u) << text << all_errors(result);
  }
}

TEST(HostileInput, ByteOrderMarkAndCrlfAreFine) {
  const LoadResult result = load_config_text("\xEF\xBB\xBFproxy:\r\n  port: 8080\r\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->proxy.port, 8080);
}

}  // namespace
}  // namespace flexgate::config
