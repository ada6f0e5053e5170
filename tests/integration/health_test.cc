// Liveness, readiness and deep health through the real binary, served before routing.

#include <signal.h>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

TEST(Health, LiveIsUpWithATimestampEvenWithACatchAllRoute) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  auto response = request(gateway.port, "GET", "/health/live");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.json()["status"], "UP");
  EXPECT_FALSE(response.json()["timestamp"].get<std::string>().empty());
  EXPECT_TRUE(upstream.requests().empty()) << "a health probe must never reach the upstream";
}

TEST(Health, ReadyIsUpWhenEveryUpstreamHasATarget) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  auto response = request(gateway.port, "GET", "/health/ready");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.json()["status"], "UP");
  EXPECT_EQ(response.json()["checks"]["upstreams"], "UP");
}

TEST(Health, DeepShowsUpstreamsConfigAndProcess) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  auto deep = request(gateway.port, "GET", "/health/deep").json();
  EXPECT_EQ(deep["status"], "UP");
  EXPECT_EQ(deep["config"]["version"], 1);
  EXPECT_EQ(deep["config"]["path"], gateway.config_path);
  ASSERT_EQ(deep["upstreams"].size(), 1u);
  EXPECT_EQ(deep["upstreams"][0]["name"], "echo");
  EXPECT_EQ(deep["upstreams"][0]["targets"][0]["addresses"][0], "127.0.0.1");
  EXPECT_GT(deep["residentMemoryBytes"].get<std::uint64_t>(), 0u);
  gateway.process->signal(SIGHUP);
  ASSERT_TRUE(gateway.process->wait_for_line("config_reloaded"));
  // Each worker swaps snapshots when it gets to the posted swap; ask until this one has.
  nlohmann::json reloaded;
  for (int attempt = 0; attempt < 100; ++attempt) {
    reloaded = request(gateway.port, "GET", "/health/deep").json();
    if (reloaded["config"]["version"] == 2) break;
  }
  EXPECT_EQ(reloaded["config"]["version"], 2);
}

}  // namespace
}  // namespace flexgate::testing
