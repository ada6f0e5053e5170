// The example files under config/examples/: full.yml is valid and uses every key; broken.yml
// yields exactly the errors the README shows.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "config/loader.h"
#include "config_test_util.h"

namespace flexgate::config {
namespace {

using namespace std::chrono_literals;
using testing::all_errors;

const std::string kExamples = std::string(FLEXGATE_SOURCE_DIR) + "/config/examples/";

TEST(ExampleFiles, FullLoads) {
  const LoadResult result = load_config_file(kExamples + "full.yml");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  EXPECT_EQ(c.source_path, kExamples + "full.yml");
  EXPECT_EQ(c.proxy.port, 3000);
  EXPECT_EQ(c.proxy.workers, 2u);
  EXPECT_EQ(c.proxy.max_head_size, 16u * 1024);
  ASSERT_EQ(c.upstreams.size(), 3u);
  EXPECT_TRUE(c.upstreams[0].circuit_breaker.enabled);
  EXPECT_EQ(c.upstreams[0].connect_timeout, 2s);
  ASSERT_EQ(c.upstreams[1].targets.size(), 3u);
  EXPECT_EQ(c.upstreams[1].targets[0].weight, 3u);
  EXPECT_EQ(c.upstreams[1].targets[2].host, "fc00::12");
  ASSERT_EQ(c.routes.size(), 4u);
  EXPECT_EQ(c.routes[0].auth, AuthMode::kRequired);
  EXPECT_EQ(c.routes[1].methods, (std::vector<std::string>{"GET", "DELETE"}));
  EXPECT_EQ(c.routes[1].rewrite, "/v2/orders/${path.id}");
  EXPECT_EQ(c.routes[2].host, "*.example.com");
  ASSERT_EQ(c.security.auth.keys.size(), 2u);
  EXPECT_EQ(c.security.blocked_ips.size(), 3u);
  EXPECT_EQ(c.rate_limit.backend, "redis");
  ASSERT_EQ(c.rate_limit.per_route.size(), 1u);
  EXPECT_EQ(c.logging.sampling.success_rate, 0.1);
  // Traffic control, operations and observability keys.
  EXPECT_EQ(c.proxy.shutdown_delay, 5s);
  EXPECT_EQ(c.proxy.max_in_flight, 2000u);
  EXPECT_EQ(c.upstreams[1].balancer.strategy, LoadBalancerStrategy::kConsistentHash);
  ASSERT_TRUE(c.upstreams[1].health_check.has_value());
  EXPECT_TRUE(c.upstreams[1].outlier_detection.enabled);
  EXPECT_EQ(c.upstreams[1].retry.attempts, 2u);
  EXPECT_EQ(c.upstreams[1].concurrency, ConcurrencyLimit::kAuto);
  EXPECT_EQ(c.upstreams[1].queue.size, 100u);
  ASSERT_EQ(c.routes[2].upstreams.size(), 2u);
  EXPECT_EQ(c.routes[2].upstreams[1].weight, 5u);
  EXPECT_EQ(c.routes[2].fallback, "primary-api");
  EXPECT_EQ(c.routes[2].priority, RoutePriority::kLow);
  EXPECT_EQ(c.logging.headers, (std::vector<std::string>{"X-Tenant", "User-Agent"}));
  EXPECT_EQ(c.metrics.port, 9100);
  EXPECT_EQ(c.health.deep, "/health/deep");
  EXPECT_EQ(c.tracing.otlp.endpoint, "http://127.0.0.1:4318/v1/traces");
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9901");
  EXPECT_EQ(c.admin.token_sha256.size(), 64u);
  // Keys for the security, validation and DNS features.
  EXPECT_EQ(c.routes[0].allow_from, (std::vector<std::string>{"192.168.0.0/16", "2001:db8::/32"}));
  EXPECT_EQ(c.routes[0].deny_from, (std::vector<std::string>{"192.168.13.0/24"}));
  ASSERT_TRUE(c.routes[0].validate.has_value());
  EXPECT_EQ(c.routes[0].validate->content_types,
            (std::vector<std::string>{"application/json", "application/merge-patch+json"}));
  EXPECT_EQ(c.routes[0].validate->json_schema, "schemas/user.json");
  EXPECT_EQ(c.routes[0].validate->json_schema_path,
            std::filesystem::path(kExamples + "schemas/user.json").lexically_normal().string());
  EXPECT_FALSE(c.routes[0].forward_credentials);
  EXPECT_TRUE(c.routes[1].forward_credentials);
  EXPECT_FALSE(c.routes[0].websocket);
  EXPECT_TRUE(c.routes[1].websocket);
  EXPECT_TRUE(c.security.builtin_deny_list);
  EXPECT_EQ(c.security.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "172.16.0.0/12"}));
  EXPECT_EQ(c.security.underscore_headers, "reject");
  EXPECT_EQ(c.security.auth.timestamp_header, "X-Timestamp");
  EXPECT_EQ(c.security.auth.signature_header, "X-Signature");
  EXPECT_EQ(c.security.auth.max_clock_skew, 5min);
  EXPECT_EQ(c.dns.servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53", "10.0.0.2:53"}));
  EXPECT_EQ(c.dns.timeout, 2s);
  EXPECT_EQ(c.dns.min_ttl, 1s);
  EXPECT_EQ(c.dns.max_ttl, 5min);
}

TEST(ExampleFiles, BrokenYieldsTheDocumentedErrors) {
  const std::string path = kExamples + "broken.yml";
  const LoadResult result = load_config_file(path);
  EXPECT_FALSE(result.ok());
  const char* expected[] = {
      ":5:9: proxy.port: must be between 0 and 65535 (got '70000')",
      ":6:3: proxy.timout: unknown key 'timout' (did you mean 'timeout'?)",
      ":10:10: upstreams[0].url: '0xA9FEA9FE' is not a valid IPv4 address",
      ":11:11: upstreams[1].name: duplicate upstream name 'users' (first defined on line 9)",
      ":12:10: upstreams[1].url: must not have a path ('/v1')",
      ":16:15: routes[0].upstream: upstream 'user' is not defined (defined: users); did you mean 'users'?",
      ":18:11: routes[0].auth: auth: required needs a security.auth section",
      ":19:11: routes[1].path: '*' is only allowed as the whole last segment, like \"/api/*\"",
      ":21:14: routes[1].timeout: must be a duration like 5000, \"5s\" or \"250ms\" (got '5 seconds')",
      ":24:10: logging.level: must be one of debug, info, warn, error (got 'verbose')",
  };
  ASSERT_EQ(result.errors.size(), std::size(expected)) << all_errors(result);
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(result.errors[i].to_string().rfind(path + expected[i], 0), 0u)
        << "want: " << path + expected[i] << "\ngot:  " << result.errors[i].to_string();
  }
}

}  // namespace
}  // namespace flexgate::config
