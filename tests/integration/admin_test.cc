// The admin API through the real binary: its own listener (never the public port), read views,
// explain against the live config, and reload with and without the token.

#include <string>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

constexpr const char* kToken = "s3cret-admin-token";

struct AdminGateway {
  Gateway gateway;
  std::uint16_t admin_port = 0;
};

AdminGateway start_with_admin(std::uint16_t upstream_port, const std::string& extra = "") {
  const std::string digest = run_flexgate({"hash-key", kToken}).second.substr(0, 64);
  AdminGateway result;
  result.gateway = start_gateway(gateway_config(upstream_port, kCatchAllRoute) +
                                 "admin:\n  listen: \"127.0.0.1:0\"\n  tokenSha256: \"" + digest + "\"\n" + extra);
  auto line = result.gateway.process->wait_for_line("\"admin_listening\"");
  EXPECT_TRUE(line.has_value());
  if (line) {
    const auto at = line->find("\"port\":\"");
    result.admin_port = static_cast<std::uint16_t>(std::stoi(line->substr(at + 8)));
  }
  return result;
}

TEST(Admin, ReadViewsAreJsonOnTheirOwnListener) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto admin = start_with_admin(upstream.port(),
                                "security:\n  auth:\n    type: hmac\n    keys:\n      - key: \"" +
                                    std::string(64, 'a') + "\"\n        name: partner\n        hmacSecret: \"hunter2\"\n");
  ASSERT_NE(admin.admin_port, 0);
  ASSERT_NE(admin.admin_port, admin.gateway.port);

  const auto routes = request(admin.admin_port, "GET", "/admin/routes");
  EXPECT_EQ(routes.status, 200);
  EXPECT_EQ(routes.json()["routes"][0]["path"], "/*");
  EXPECT_EQ(routes.json()["routes"][0]["upstreams"][0]["name"], "echo");

  const auto upstreams = request(admin.admin_port, "GET", "/admin/upstreams").json();
  EXPECT_EQ(upstreams["upstreams"][0]["name"], "echo");
  EXPECT_EQ(upstreams["upstreams"][0]["targets"][0]["healthy"], true);
  EXPECT_EQ(upstreams["upstreams"][0]["circuitBreaker"], "disabled");

  const auto config = request(admin.admin_port, "GET", "/admin/config").json();
  EXPECT_EQ(config["version"], 1);
  EXPECT_GT(config["loadedAtUnixMs"].get<std::uint64_t>(), 1'700'000'000'000u);
  const std::string text = config["config"];
  EXPECT_NE(text.find("upstreams:"), std::string::npos);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << "secrets are redacted";
  EXPECT_EQ(text.find(std::string(64, 'a')), std::string::npos);
  EXPECT_NE(text.find("[REDACTED]"), std::string::npos);

  EXPECT_EQ(request(admin.admin_port, "GET", "/admin/ratelimit").json()["backend"], "memory");
  const auto explain = request(admin.admin_port, "GET", "/admin/explain?method=GET&url=%2Fusers%2F42");
  EXPECT_EQ(explain.status, 200);
  EXPECT_NE(explain.body.find("/users/42"), std::string::npos) << explain.body;
  EXPECT_EQ(request(admin.admin_port, "GET", "/admin/nothing").status, 404);
}

TEST(Admin, ReloadNeedsTheTokenAndReportsRefusals) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto admin = start_with_admin(upstream.port());
  ASSERT_NE(admin.admin_port, 0);
  EXPECT_EQ(request(admin.admin_port, "POST", "/admin/config/reload").status, 401);
  EXPECT_EQ(request(admin.admin_port, "POST", "/admin/config/reload", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(request(admin.admin_port, "GET", "/admin/config/reload").status, 405);

  const auto reloaded =
      request(admin.admin_port, "POST", "/admin/config/reload", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(reloaded.status, 200);
  EXPECT_EQ(reloaded.json()["status"], "reloaded");
  EXPECT_EQ(reloaded.json()["version"], 2);

  // A broken file: refused with its positioned errors, the old config keeps serving.
  {
    std::FILE* file = std::fopen(admin.gateway.config_path.c_str(), "a");
    ASSERT_NE(file, nullptr);
    std::fputs("routes: [oops\n", file);
    std::fclose(file);
  }
  const auto refused =
      request(admin.admin_port, "POST", "/admin/config/reload", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(refused.json()["status"], "refused");
  EXPECT_NE(refused.json()["errors"][0].get<std::string>().find(admin.gateway.config_path + ":"), std::string::npos);
  EXPECT_EQ(request(admin.gateway.port, "GET", "/x").status, 200);
}

TEST(Admin, WithoutATokenStateChangesAreOff) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute) + "admin:\n  listen: \"127.0.0.1:0\"\n");
  auto line = gateway.process->wait_for_line("\"admin_listening\"");
  ASSERT_TRUE(line.has_value());
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->find("\"port\":\"") + 8)));
  EXPECT_EQ(request(port, "POST", "/admin/config/reload", {{"Authorization", "Bearer anything"}}).status, 403);
  EXPECT_EQ(request(port, "GET", "/admin/routes").status, 200);
  // The public port knows nothing of the admin API: /admin/... is just a path to route.
  EXPECT_EQ(request(gateway.port, "GET", "/admin/config").status, 200);
  ASSERT_FALSE(upstream.requests().empty());
  EXPECT_NE(upstream.requests().back().find("GET /admin/config "), std::string::npos);
}

}  // namespace
}  // namespace flexgate::testing
