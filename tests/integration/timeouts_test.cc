// Every timeout, each shown to fire: client header read, keep-alive idle, upstream connect,
// upstream response, whole request, pooled-connection idle.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

TEST(Timeouts, SlowlorisClientIsCutOffAfterTheHeaderTimeout) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  headerTimeout: 300ms\n"));
  Connection connection(gateway.port);
  connection.send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ");
  // The gateway closes the connection on its own; the bound is only there to fail, not to wait.
  EXPECT_TRUE(connection.wait_closed(5s));
  // Other clients are still served.
  EXPECT_EQ(request(gateway.port, "GET", "/x").status, 200);
}

TEST(Timeouts, SilentNewConnectionIsClosedAfterTheHeaderTimeout) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  headerTimeout: 300ms\n"));
  Connection connection(gateway.port);
  EXPECT_TRUE(connection.wait_closed(5s));
}

TEST(Timeouts, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  idleTimeout: 300ms\n"));
  Connection connection(gateway.port);
  connection.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(connection.wait_closed(5s));
}

TEST(Timeouts, SlowUpstreamResponseIs504) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "", "    timeout: 200ms\n"));
  auto response = request(gateway.port, "GET", "/delay/3000");
  EXPECT_EQ(response.status, 504);
  EXPECT_EQ(response.json()["error"], "Gateway Timeout");
  EXPECT_EQ(request(gateway.port, "GET", "/delay/10").status, 200);
}

// A request sent in one write on a pooled connection takes its first-byte deadline from the
// target pick's clock read (no second read of the clock): the deadline must still hold there.
TEST(Timeouts, AFirstByteTimeoutHoldsOnAPooledConnection) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(
      gateway_config(echo.port, kCatchAllRoute, "  workers: 1\n", "    timeouts: { firstByte: 200ms }\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/delay/10").status, 200);  // leaves a connection in the pool
  EXPECT_EQ(request(gateway.port, "GET", "/delay/3000").status, 504);
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_upstream_pool_reuses_total{upstream=\"echo\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_timeouts_total{kind=\"upstream_response\"}"), 1);
}

TEST(Timeouts, RouteTimeoutOverridesTheUpstreamTimeout) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(
      echo.port, "  - path: \"/fast/*\"\n    upstream: echo\n    timeout: 200ms\n    rewrite: \"/delay\"\n" + kCatchAllRoute,
      "", "    timeout: 10s\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/fast/3000").status, 504);
}

TEST(Timeouts, WholeRequestTimeoutIs504) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  timeout: 300ms\n", "    timeout: 10s\n"));
  auto response = request(gateway.port, "GET", "/delay/3000");
  EXPECT_EQ(response.status, 504);
}

TEST(Timeouts, UpstreamConnectTimeoutIs504) {
  // A listener whose accept queue is full: the kernel drops further SYNs, so connect() hangs.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  socklen_t length = sizeof(address);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    // Non-blocking: -1 with EINPROGRESS until the backlog takes it; only the attempt matters.
    [[maybe_unused]] const int started =
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    fillers.push_back(fd);
  }
  auto gateway = start_gateway(gateway_config(ntohs(address.sin_port), kCatchAllRoute, "",
                                              "    connectTimeout: 300ms\n    timeout: 10s\n"));
  auto response = request(gateway.port, "GET", "/x");
  EXPECT_EQ(response.status, 504);
  EXPECT_NE(response.json()["message"].get<std::string>().find("connect"), std::string::npos);
  for (int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST(Timeouts, IdlePooledConnectionIsClosedAfterThePoolIdleTimeout) {
  ScriptedUpstream upstream([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "",
                                              "    pool:\n      idleTimeout: 300ms\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/x").status, 200);
  // The gateway closes the idle upstream connection by itself.
  EXPECT_TRUE(upstream.wait_peer_closes(1, 5s));
}

}  // namespace
}  // namespace flexgate::testing
