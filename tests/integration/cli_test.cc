// The command line: validate, fail-fast run, hash-key, graceful shutdown.

#include <signal.h>

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

TEST(Cli, ValidateAcceptsTheDemoConfig) {
  auto [code, output] = run_flexgate({"validate", std::string(FLEXGATE_SOURCE_DIR) + "/config/proxy.yml"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("valid"), std::string::npos);
}

TEST(Cli, ValidateReportsEveryErrorWithFileLineAndColumn) {
  std::string path = write_temp_file(
      "proxy:\n  port: 70000\n  timout: 5s\n"
      "upstreams:\n  - name: a\n    url: \"http://127.0.0.1:1\"\n"
      "routes:\n  - path: \"/x\"\n    upstream: missing\n");
  auto [code, output] = run_flexgate({"validate", path});
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find(path + ":2:9: proxy.port:"), std::string::npos) << output;
  EXPECT_NE(output.find(path + ":3:3: proxy.timout:"), std::string::npos) << output;
  EXPECT_NE(output.find(path + ":9:15: routes[0].upstream:"), std::string::npos) << output;
}

TEST(Cli, RunRefusesAnInvalidConfigBeforeListening) {
  std::string path = write_temp_file("proxy: { port: 0 }\nupstreams: []\nroutes:\n  - path: \"nope\"\n    upstream: x\n");
  ChildProcess process({FLEXGATE_BINARY, "run", "-c", path});
  EXPECT_EQ(process.wait_exit(10s), 1);
  EXPECT_FALSE(process.wait_for_line("listening", 0ms));
  EXPECT_NE(process.stderr_text().find(path + ":"), std::string::npos);
}

TEST(Cli, RunWithAMissingFileFails) {
  auto [code, output] = run_flexgate({"run", "-c", "/nonexistent/flexgate.yml"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("/nonexistent/flexgate.yml"), std::string::npos);
}

TEST(Cli, HashKeyPrintsTheSha256Digest) {
  auto [code, output] = run_flexgate({"hash-key", "secret"});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(output, "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\n");
  auto [stdin_code, stdin_output] = run_flexgate({"hash-key"}, "secret\n");
  EXPECT_EQ(stdin_code, 0);
  EXPECT_EQ(stdin_output, output);
}

TEST(Cli, UnknownCommandIsAUsageError) {
  auto [code, output] = run_flexgate({"frobnicate"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("Usage"), std::string::npos);
}

TEST(Cli, SigtermDrainsInFlightRequestsAndExitsZero) {
  // The upstream holds its answer until the test releases it, so the request is surely in flight
  // when SIGTERM arrives.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ScriptedUpstream upstream([released](const std::string&) {
    released.wait();
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
  });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  drainTimeout: 10s\n"));
  Connection slow(gateway.port);
  slow.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(upstream.wait_requests(1));
  gateway.process->signal(SIGTERM);
  ASSERT_TRUE(gateway.process->wait_for_line("\"draining\""));
  release.set_value();
  auto response = slow.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "slow");
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_EQ(gateway.process->wait_exit(10s), 0);
}

TEST(Cli, SigtermClosesIdleConnectionsAndStopsAccepting) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute));
  Connection idle(gateway.port);
  idle.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(idle.read_response());
  gateway.process->signal(SIGTERM);
  EXPECT_TRUE(idle.wait_closed(10s));
  EXPECT_EQ(gateway.process->wait_exit(10s), 0);
}

TEST(Cli, SigtermTurnsReadinessOffFirstAndKeepsServingForTheShutdownDelay) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  shutdownDelay: 2s\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/health/ready").status, 200);
  gateway.process->signal(SIGTERM);
  ASSERT_TRUE(gateway.process->wait_for_line("\"shutdown_started\""));
  // Not ready any more, but still serving: load balancers get the time to notice.
  const auto ready = request(gateway.port, "GET", "/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("\"draining\":true"), std::string::npos) << ready.body;
  EXPECT_EQ(request(gateway.port, "GET", "/still-served").status, 200);
  ASSERT_TRUE(gateway.process->wait_for_line("\"draining\""));
  EXPECT_EQ(gateway.process->wait_exit(10s), 0);
}

}  // namespace
}  // namespace flexgate::testing
