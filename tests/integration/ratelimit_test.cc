// Rate limiting through the real binary (memory backend): token buckets at three levels, 429 with
// Retry-After and RateLimit fields, keys, and no over-admission across workers.

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

TEST(RateLimit, RouteLimitAnswers429WithRetryAfterAndRateLimitFields) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(),
      "  - path: \"/limited/*\"\n    upstream: echo\n"
      "    rateLimit: { max: 3, windowMs: 60000, message: \"slow down, please\" }\n"));
  for (int i = 0; i < 3; ++i) {
    auto ok = request(gateway.port, "GET", "/limited/x");
    ASSERT_EQ(ok.status, 200);
    EXPECT_NE(ok.header("RateLimit").find("r=" + std::to_string(2 - i)), std::string::npos) << ok.header("RateLimit");
    EXPECT_NE(ok.header("RateLimit-Policy").find("q=3"), std::string::npos);
  }
  std::string cid = next_cid("limited");
  auto refused = request(gateway.port, "GET", "/limited/x", {{"X-Correlation-ID", cid}});
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.json()["error"], "Too Many Requests");
  EXPECT_EQ(refused.json()["message"], "slow down, please");
  EXPECT_GE(std::stoi(refused.header("Retry-After")), 1);
  EXPECT_NE(refused.header("RateLimit").find("r=0"), std::string::npos);
  EXPECT_EQ(upstream.requests().size(), 3u);
  ASSERT_TRUE(gateway.process->wait_for_line(cid));
  auto metrics = request(gateway.port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("flexgate_policy_rejections_total{policy=\"ratelimit\",reason=\"limited\"} 1"),
            std::string::npos);
}

TEST(RateLimit, GlobalLimitAppliesAcrossRoutes) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(),
      "  - path: \"/a/*\"\n    upstream: echo\n  - path: \"/b/*\"\n    upstream: echo\n") +
      "rateLimit:\n  global: { max: 2, windowMs: 60000 }\n");
  EXPECT_EQ(request(gateway.port, "GET", "/a/1").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/b/1").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/a/2").status, 429);
  EXPECT_EQ(request(gateway.port, "GET", "/b/2").status, 429);
}

TEST(RateLimit, HeaderKeyGivesEachTenantItsOwnBucket) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(),
      "  - path: \"/t/*\"\n    upstream: echo\n    rateLimit: { max: 1, windowMs: 60000, key: \"header:X-Tenant\" }\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/t/x", {{"X-Tenant", "alpha"}}).status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/t/x", {{"X-Tenant", "alpha"}}).status, 429);
  EXPECT_EQ(request(gateway.port, "GET", "/t/x", {{"X-Tenant", "beta"}}).status, 200);
}

TEST(RateLimit, WorkersShareOneBucketWithoutOverAdmission) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(),
      "  - path: \"/*\"\n    upstream: echo\n    rateLimit: { max: 10, windowMs: 3600000 }\n", "  workers: 2\n"));
  std::atomic<int> allowed{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 8; ++i) {
        int status = request(gateway.port, "GET", "/race").status;
        (status == 200 ? allowed : refused)++;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(allowed.load(), 10);
  EXPECT_EQ(refused.load(), 54);
  EXPECT_EQ(upstream.requests().size(), 10u);
}

}  // namespace
}  // namespace flexgate::testing
