// /metrics through the real binary: requests and every kind of rejection are counted.

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"
#include "support/free_port.h"

namespace flexgate::testing {
namespace {

TEST(Metrics, RequestsAndRejectionsAreCountedByRouteAndReason) {
  auto echo = start_echo_server();
  std::string digest = run_flexgate({"hash-key", "k-123"}).second.substr(0, 64);
  auto gateway = start_gateway(gateway_config(echo.port,
      "  - path: \"/api/*\"\n    upstream: echo\n    auth: none\n"
      "  - path: \"/secure/*\"\n    upstream: echo\n    auth: required\n"
      "  - path: \"/small/*\"\n    upstream: echo\n    auth: none\n    maxBodySize: 10\n"
      "security:\n  auth:\n    keys:\n      - key: \"" + digest + "\"\n        name: client-a\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/api/x").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/api/y").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/nope").status, 404);
  EXPECT_EQ(request(gateway.port, "GET", "/secure/x").status, 401);
  EXPECT_EQ(request(gateway.port, "GET", "/secure/x", {{"X-API-Key", "wrong"}}).status, 403);
  EXPECT_EQ(request(gateway.port, "GET", "/secure/x", {{"X-API-Key", "k-123"}}).status, 200);
  EXPECT_EQ(request(gateway.port, "POST", "/small/x", {}, std::string(11, 'b')).status, 413);
  EXPECT_EQ(request(gateway.port, "GET", "/api/x", {{"Bad_Name", "1"}, {"X-Correlation-ID", "last-request"}}).status,
            400);
  // A request is counted in its log phase, just after its response is sent: wait for the last
  // one's access line (every earlier one finished before the next was sent).
  ASSERT_TRUE(gateway.process->wait_for_line("\"last-request\""));

  std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_requests_total{method=\"GET\",route=\"/api/*\",status=\"200\"}"), 2);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_requests_total{method=\"GET\",route=\"none\",status=\"404\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_requests_total{method=\"GET\",route=\"/secure/*\",status=\"401\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_policy_rejections_total{policy=\"auth\",reason=\"missing_key\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_policy_rejections_total{policy=\"auth\",reason=\"unknown_key\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_policy_rejections_total{policy=\"limits\",reason=\"body_too_large\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_policy_rejections_total{policy=\"validate\",reason=\"header\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_request_duration_seconds_count{route=\"/api/*\"}"), 3);  // 2 OK + 1 refused
  EXPECT_GE(metric_sample(metrics, "flexgate_upstream_requests_total{upstream=\"echo\",outcome=\"success\"}"), 3);
  EXPECT_GE(metric_sample(metrics, "flexgate_build_info{version=\"0.1.0\"}"), 1);
}

TEST(Metrics, EgressRefusalIsAnsweredLoggedCountedAndSendsNothing) {
  // "localhost" is a name, so the load-time check cannot judge it; the connect-time guard does,
  // on every address the name resolves to.
  ScriptedUpstream upstream([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); });
  auto gateway = start_gateway(
      "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n"
      "upstreams:\n  - name: local\n    url: \"http://localhost:" + std::to_string(upstream.port()) + "\"\n"
      "routes:\n  - path: \"/*\"\n    upstream: local\n"
      "security:\n  blockedIPs: [\"127.0.0.0/8\", \"::1\"]\n");
  auto response = request(gateway.port, "GET", "/x");
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.json()["error"], "Forbidden");
  EXPECT_NE(response.json()["message"].get<std::string>().find("blockedIPs"), std::string::npos);
  auto event = gateway.process->wait_for_line("\"egress_blocked\"");
  ASSERT_TRUE(event.has_value());
  EXPECT_NE(event->find(response.header("X-Correlation-ID")), std::string::npos);
  EXPECT_EQ(upstream.connections_accepted(), 0u);
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_policy_rejections_total{policy=\"egress\",reason=\"blocked_address\"}"), 1);
}

TEST(Metrics, MetricsPathCannotBeShadowedByARoute) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute));
  auto response = request(gateway.port, "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("# TYPE flexgate_http_requests_total counter"), std::string::npos);
}

TEST(Metrics, SizesUpstreamLatencyAndTargetsAreMeasuredFromRealTraffic) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  workers: 1\n"));
  EXPECT_EQ(request(gateway.port, "POST", "/upload", {}, std::string(5000, 'x')).status, 200);  // echoed back
  EXPECT_EQ(request(gateway.port, "GET", "/bytes/200000").status, 200);
  // The log phase counts a request just after its response: the scrape below is the third
  // request, so both are counted once its own head was read.
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_request_size_bytes_count{route=\"/*\"}"), 2);
  // The upload is 5000 body bytes plus its head: in the 10 kB bucket, not the 1 kB one.
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_request_size_bytes_bucket{route=\"/*\",le=\"1000\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_request_size_bytes_bucket{route=\"/*\",le=\"10000\"}"), 2);
  // The 200 kB download lands between 100 kB and 1 MB.
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_response_size_bytes_bucket{route=\"/*\",le=\"100000\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_response_size_bytes_bucket{route=\"/*\",le=\"1e+06\"}"), 2);
  EXPECT_GT(metric_sample(metrics, "flexgate_http_response_size_bytes_sum{route=\"/*\"}"), 200000);
  EXPECT_EQ(metric_sample(metrics, "flexgate_upstream_response_duration_seconds_count{upstream=\"echo\"}"), 2);
  const std::string target = "127.0.0.1:" + std::to_string(echo.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_upstream_target_requests_total{upstream=\"echo\",target=\"" + target +
                                       "\",outcome=\"success\"}"),
            2);
  EXPECT_GE(metric_sample(metrics, "flexgate_upstream_pool_idle_connections"), 1);
}

TEST(Metrics, PathsAreConfigurableAndMetricsCanHaveAListenerOfTheirOwn) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  const std::uint16_t metrics_port = free_udp_and_tcp_port();
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute) + "metrics:\n  path: /prom\n  port: " +
                               std::to_string(metrics_port) +
                               "\nhealth:\n  live: /livez\n  ready: /readyz\n  deep: /debug/health\n");
  ASSERT_TRUE(gateway.process->wait_for_line("\"metrics_listening\""));
  EXPECT_EQ(request(gateway.port, "GET", "/livez").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/readyz").json()["status"], "UP");
  EXPECT_EQ(request(gateway.port, "GET", "/debug/health").json()["config"]["version"], 1);
  // The default paths are ordinary paths now: routed to the upstream.
  EXPECT_EQ(request(gateway.port, "GET", "/health/live").body, "ok");
  EXPECT_EQ(request(gateway.port, "GET", "/metrics").body, "ok");
  EXPECT_EQ(request(gateway.port, "GET", "/prom").body, "ok");  // metrics are not on the main port
  const auto scraped = request(metrics_port, "GET", "/prom");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(scraped.body.find("flexgate_http_requests_total{method=\"GET\",route=\"/*\",status=\"200\"}"),
            std::string::npos);
  EXPECT_EQ(request(metrics_port, "GET", "/other").status, 404);
}

}  // namespace
}  // namespace flexgate::testing
