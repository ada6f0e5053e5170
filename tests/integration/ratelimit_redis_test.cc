// The Redis rate-limit backend through the real binary against a real redis-server: two gateway
// instances share one limit, Redis killed mid-run and restarted (no 5xx, fallback and recovery
// visible in metrics, health and logs), NOSCRIPT after SCRIPT FLUSH, and each failMode.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"
#include "support/free_port.h"
#include "support/redis_server.h"

namespace flexgate::testing {
namespace {

using namespace std::chrono_literals;

// A gateway whose route /limited/* has a Redis-backed limit of `max` per hour (so nothing refills
// during a test). The Redis timeout is generous: a decision that times out falls back to the
// local bucket, which would blur the exact counts these tests check.
std::string redis_config(std::uint16_t upstream_port, const std::string& redis_url, int max,
                         const std::string& fail_mode = "local", const std::string& timeout = "2s") {
  return gateway_config(upstream_port,
                        "  - path: \"/limited/*\"\n    upstream: echo\n"
                        "    rateLimit: { max: " + std::to_string(max) + ", windowMs: 3600000 }\n") +
         "rateLimit:\n  backend: redis\n  failMode: " + fail_mode + "\n  redis:\n    url: \"" + redis_url +
         "\"\n    timeout: " + timeout + "\n";
}

std::unique_ptr<RedisServer> start_redis() {
  std::string error;
  auto redis = RedisServer::start(error);
  EXPECT_NE(redis, nullptr) << error;
  return redis;
}

double redis_decisions(std::uint16_t gateway_port) {
  const std::string metrics = scrape(gateway_port);
  return metric_sample(metrics, "flexgate_rate_limit_decisions_total{backend=\"redis\",result=\"allowed\"}") +
         metric_sample(metrics, "flexgate_rate_limit_decisions_total{backend=\"redis\",result=\"limited\"}");
}

TEST(RateLimitRedis, TwoInstancesShareOneLimit) {
  auto redis = start_redis();
  ASSERT_NE(redis, nullptr);
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  const std::string config = redis_config(upstream.port(), redis->url(), 100);
  auto first = start_gateway(config);
  auto second = start_gateway(config);

  // 1,000 requests from 100 concurrent clients, alternating between the two instances.
  std::atomic<int> allowed{0};
  std::atomic<int> limited{0};
  std::atomic<int> other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 100; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 10; ++i) {
        const std::uint16_t port = (c + i) % 2 == 0 ? first.port : second.port;
        const int status = request(port, "GET", "/limited/x").status;
        (status == 200 ? allowed : status == 429 ? limited : other)++;
      }
    });
  }
  for (auto& client : clients) client.join();

  // One shared budget: 100, not 200. Every decision was Redis's (no fallback), so it is exact.
  EXPECT_EQ(allowed.load(), 100);
  EXPECT_EQ(limited.load(), 900);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(upstream.requests().size(), 100u);
  EXPECT_EQ(redis_decisions(first.port) + redis_decisions(second.port), 1000);
  for (const auto* gateway : {&first, &second}) {
    const std::string metrics = scrape(gateway->port);
    EXPECT_EQ(metric_sample(metrics, "flexgate_rate_limit_backend_fallbacks_total{mode=\"local\"}"), 0);
    EXPECT_GT(metric_sample(metrics, "flexgate_rate_limit_hits_total{route=\"/limited/*\"}"), 0);
  }
  // The buckets carry a TTL, so Redis memory stays bounded.
  auto keys = redis->command({"KEYS", "flexgate:rl:*"});
  ASSERT_TRUE(keys && keys->type == policy::RedisReply::Type::kArray && !keys->elements.empty());
  auto ttl = redis->command({"PTTL", keys->elements[0].text});
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 0);
}

TEST(RateLimitRedis, KilledRedisFallsBackLocallyAndRecoversWithoutA5xx) {
  auto redis = start_redis();
  ASSERT_NE(redis, nullptr);
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(redis_config(upstream.port(), redis->url(), 100000, "local", "200ms"));
  int server_errors = 0;
  auto send = [&] {
    const auto response = request(gateway.port, "GET", "/limited/x");
    if (response.status >= 500 || response.status == 0) ++server_errors;
    return response;
  };

  for (int i = 0; i < 20; ++i) EXPECT_EQ(send().status, 200);
  EXPECT_EQ(redis_decisions(gateway.port), 20);

  redis->kill();
  for (int i = 0; i < 50; ++i) {
    const auto response = send();
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.header("RateLimit").empty());  // the local bucket decided
  }
  std::string metrics = scrape(gateway.port);
  EXPECT_GT(metric_sample(metrics, "flexgate_rate_limit_backend_fallbacks_total{mode=\"local\"}"), 0);
  EXPECT_GE(metric_sample(metrics, "flexgate_rate_limit_backend_degraded_workers"), 1);
  EXPECT_GT(metric_sample(metrics, "flexgate_rate_limit_decisions_total{backend=\"memory\",result=\"allowed\"}"), 0);
  ASSERT_TRUE(gateway.process->wait_for_line("\"rate_limit_backend_degraded\""));
  // Degraded, not down: the instance stays ready.
  const auto ready = request(gateway.port, "GET", "/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("\"redis\":\"DEGRADED\""), std::string::npos) << ready.body;

  std::string error;
  ASSERT_TRUE(redis->restart(error)) << error;
  // Each worker reconnects after its backoff (at most 5 s); keep serving until both are back.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < give_up) {
    EXPECT_EQ(send().status, 200);
    metrics = scrape(gateway.port);
    if (metric_sample(metrics, "flexgate_rate_limit_backend_degraded_workers") == 0) break;
  }
  EXPECT_EQ(metric_sample(metrics, "flexgate_rate_limit_backend_degraded_workers"), 0);
  EXPECT_GE(metric_sample(metrics, "flexgate_rate_limit_backend_recoveries_total"), 1);
  ASSERT_TRUE(gateway.process->wait_for_line("\"rate_limit_backend_recovered\""));
  const double before = redis_decisions(gateway.port);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(send().status, 200);
  EXPECT_GE(redis_decisions(gateway.port), before + 1);  // back on Redis by itself
  EXPECT_NE(request(gateway.port, "GET", "/health/ready").body.find("\"redis\":\"UP\""), std::string::npos);
  EXPECT_EQ(server_errors, 0);
}

TEST(RateLimitRedis, ScriptFlushIsRecoveredWithoutAFallback) {
  auto redis = start_redis();
  ASSERT_NE(redis, nullptr);
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(redis_config(upstream.port(), redis->url(), 5));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(gateway.port, "GET", "/limited/x").status, 200);
  auto flushed = redis->command({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed && flushed->text == "OK");
  // Each worker meets NOSCRIPT once, loads the script again and answers from Redis: the budget
  // spent before the flush still counts.
  for (int i = 0; i < 2; ++i) EXPECT_EQ(request(gateway.port, "GET", "/limited/x").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/limited/x").status, 429);
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_rate_limit_backend_fallbacks_total{mode=\"local\"}"), 0);
  EXPECT_EQ(redis_decisions(gateway.port), 6);
}

TEST(RateLimitRedis, FailClosedAnswers503WhenRedisIsDown) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  const std::uint16_t nothing_listens = free_udp_and_tcp_port();
  auto gateway = start_gateway(redis_config(upstream.port(), "redis://127.0.0.1:" + std::to_string(nothing_listens),
                                            100, "closed"));
  const auto response = request(gateway.port, "GET", "/limited/x");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.json()["message"], "rate limiter unavailable");
  EXPECT_EQ(response.header("Retry-After"), "1");
  EXPECT_TRUE(upstream.requests().empty());
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_rate_limit_backend_fallbacks_total{mode=\"closed\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_policy_rejections_total{policy=\"ratelimit\",reason=\"backend_unavailable\"}"),
            1);
}

TEST(RateLimitRedis, FailOpenAllowsWithoutRateLimitFields) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  const std::uint16_t nothing_listens = free_udp_and_tcp_port();
  auto gateway = start_gateway(redis_config(upstream.port(), "redis://127.0.0.1:" + std::to_string(nothing_listens),
                                            1, "open"));
  for (int i = 0; i < 3; ++i) {
    const auto response = request(gateway.port, "GET", "/limited/x");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("RateLimit"), "");
  }
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_rate_limit_backend_fallbacks_total{mode=\"open\"}"), 3);
}

}  // namespace
}  // namespace flexgate::testing
