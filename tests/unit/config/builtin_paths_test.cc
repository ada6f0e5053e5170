// `metrics: {path, port}`, `health: {live, ready, deep}` and `admin`: values and positioned errors.

#include <gtest/gtest.h>

#include "unit/config/config_test_util.h"

namespace flexgate::config {
namespace {

using testing::has_error;
using testing::yaml;

const std::string kBase = yaml(R"(
upstreams:
  - name: echo
    url: "http://127.0.0.1:8080"
routes:
  - path: /*
    upstream: echo
)");

TEST(BuiltinPaths, DefaultsAndValues) {
  auto defaults = load_config_text(kBase);
  ASSERT_TRUE(defaults.config) << testing::all_errors(defaults);
  EXPECT_EQ(defaults.config->metrics.path, "/metrics");
  EXPECT_EQ(defaults.config->metrics.port, 0);
  EXPECT_EQ(defaults.config->health.ready, "/health/ready");
  EXPECT_TRUE(defaults.config->admin.enabled);
  EXPECT_EQ(defaults.config->admin.listen, "127.0.0.1:9901");
  EXPECT_FALSE(defaults.config->admin.listen_written);

  auto set = load_config_text(kBase + "metrics: {path: /prom, port: 9100}\nhealth: {live: /livez}\n"
                                      "admin: {listen: \"[::1]:0\", tokenSha256: \"" + std::string(64, 'F') + "\"}\n");
  ASSERT_TRUE(set.config) << testing::all_errors(set);
  EXPECT_EQ(set.config->metrics.path, "/prom");
  EXPECT_EQ(set.config->metrics.port, 9100);
  EXPECT_EQ(set.config->health.live, "/livez");
  EXPECT_EQ(set.config->admin.listen, "[::1]:0");
  EXPECT_TRUE(set.config->admin.listen_written);
  EXPECT_EQ(set.config->admin.token_sha256, std::string(64, 'f'));
}

TEST(BuiltinPaths, ErrorsArePositioned) {
  auto result = load_config_text(kBase +
                                 "proxy: {port: 3000}\n"                                 // line 7
                                 "metrics: {path: metrics, port: 3000}\n"                // line 8
                                 "health: {live: /x, ready: /x}\n"                       // line 9
                                 "admin: {listen: \"example.com:1\", tokenSha256: abc}\n");  // line 10
  EXPECT_TRUE(has_error(result, "metrics.path", 8, 17, "absolute path"));
  EXPECT_TRUE(has_error(result, "metrics.port", 8, 32, "is proxy.port"));
  EXPECT_TRUE(has_error(result, "health.ready", 9, 27, "another built-in endpoint"));
  EXPECT_TRUE(has_error(result, "admin.listen", 10, 17, "host:port with an IP address"));
  EXPECT_TRUE(has_error(result, "admin.tokenSha256", 10, 47, "64 hex digits"));
}

TEST(BuiltinPaths, TheAdminListenerIsNeverThePublicPort) {
  auto result = load_config_text(kBase + "proxy: {port: 3000}\nadmin: {listen: \"127.0.0.1:3000\"}\n");
  EXPECT_TRUE(has_error(result, "admin.listen", 8, 17, "must not be the public port"));
}

}  // namespace
}  // namespace flexgate::config
