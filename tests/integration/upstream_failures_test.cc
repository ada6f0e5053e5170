// What the client gets when the upstream misbehaves: refused, malformed, truncated, stale, slow.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

std::string ok_response(const std::string& body = "ok") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A port with nothing listening on it.
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(UpstreamFailures, RefusedConnectionIs502) {
  auto gateway = start_gateway(gateway_config(closed_port(), kCatchAllRoute));
  auto response = request(gateway.port, "GET", "/x");
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.json()["error"], "Bad Gateway");
  EXPECT_EQ(response.json()["correlationId"], response.header("X-Correlation-ID"));
}

TEST(UpstreamFailures, MalformedResponseIs502AndTheConnectionIsNotReused) {
  ScriptedUpstream upstream([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/a").status, 502);
  EXPECT_EQ(request(gateway.port, "GET", "/b").status, 502);
  EXPECT_EQ(upstream.connections_accepted(), 2u);
}

TEST(UpstreamFailures, ConflictingContentLengthFromUpstreamIs502) {
  ScriptedUpstream upstream([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc");
  });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  EXPECT_EQ(request(gateway.port, "GET", "/a").status, 502);
}

TEST(UpstreamFailures, ExtraBytesAfterAResponseStopReuse) {
  ScriptedUpstream upstream([](const std::string&) { return ok_response() + "HTTP/1.1 200 OK\r\n"; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/a").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/b").status, 200);
  EXPECT_EQ(upstream.connections_accepted(), 2u);
}

TEST(UpstreamFailures, HealthyConnectionsAreReusedFromThePool) {
  ScriptedUpstream upstream([](const std::string&) { return ok_response(); });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  Connection connection(gateway.port);
  for (int i = 0; i < 5; ++i) {
    connection.send("GET /p HTTP/1.1\r\nHost: a\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(upstream.connections_accepted(), 1u);
}

TEST(UpstreamFailures, TruncatedBodyReachesTheClientAsATruncation) {
  ScriptedUpstream upstream([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-some");
  }, /*close_after_response=*/true);
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  Connection connection(gateway.port);
  connection.send("GET /t HTTP/1.1\r\nHost: a\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->complete);
  EXPECT_TRUE(connection.wait_closed());
}

TEST(UpstreamFailures, TruncatedChunkedBodyIsATruncationToo) {
  ScriptedUpstream upstream([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  }, /*close_after_response=*/true);
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  Connection connection(gateway.port);
  connection.send("GET /t HTTP/1.1\r\nHost: a\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->complete);
}

TEST(UpstreamFailures, StalePooledConnectionIsRetriedOnceOnAFreshOne) {
  // Each upstream connection answers once and closes without saying so: the pooled connection
  // is stale when the second request takes it.
  ScriptedUpstream upstream([](const std::string&) { return ok_response(); }, /*close_after_response=*/true);
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/first").status, 200);
  ASSERT_TRUE(upstream.wait_peer_closes(0));
  EXPECT_EQ(request(gateway.port, "GET", "/second").status, 200);
  EXPECT_EQ(upstream.requests().size(), 2u);
}

TEST(UpstreamFailures, PooledConnectionThatDiesUnderAGetIsRetriedOnAFreshOne) {
  // A GET takes a pooled connection without probing it first (no recv(MSG_PEEK) while the reactor
  // saw nothing arrive on it). Here the upstream closes that connection on receiving the second
  // request, without answering: the request is sent again, once, on a fresh connection.
  std::atomic<int> calls{0};
  ScriptedUpstream upstream([&calls](const std::string&) { return ++calls == 2 ? std::string() : ok_response(); });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  Connection connection(gateway.port);
  for (const char* path : {"/first", "/second"}) {
    connection.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: a\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << path;
  }
  const auto requests = upstream.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].rfind("GET /second ", 0), 0u);
  EXPECT_EQ(requests[2].rfind("GET /second ", 0), 0u);
  EXPECT_EQ(upstream.connections_accepted(), 2u);
}

TEST(UpstreamFailures, StalePooledConnectionIsNotRetriedForPost) {
  ScriptedUpstream upstream([](const std::string&) { return ok_response(); }, /*close_after_response=*/true);
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/first").status, 200);
  auto post = request(gateway.port, "POST", "/second", {}, "body");
  // Either the stale connection failed (502, not retried) or the write raced the close; never
  // a duplicate POST.
  std::size_t posts = 0;
  for (const auto& raw : upstream.requests()) posts += raw.rfind("POST", 0) == 0 ? 1 : 0;
  EXPECT_LE(posts, 1u);
  if (post.status != 200) {
    EXPECT_EQ(post.status, 502);
  }
}

TEST(UpstreamFailures, UpstreamThatClosesWithoutAnswerIs502) {
  ScriptedUpstream upstream([](const std::string&) { return std::string(); });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  EXPECT_EQ(request(gateway.port, "GET", "/x").status, 502);
}

TEST(UpstreamFailures, InterimResponsesFromTheUpstreamAreSkipped) {
  ScriptedUpstream upstream([](const std::string&) {
    return std::string("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n") + ok_response("final");
  });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  auto response = request(gateway.port, "GET", "/x");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "final");
}

TEST(UpstreamFailures, ResponseWithoutFramingIsForwardedChunkedToHttp11Clients) {
  ScriptedUpstream upstream([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\n\r\nuntil-close-body"); },
                            /*close_after_response=*/true);
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  Connection connection(gateway.port);
  connection.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->complete);
  EXPECT_EQ(response->body, "until-close-body");
  EXPECT_EQ(response->header("Transfer-Encoding"), "chunked");
}

}  // namespace
}  // namespace flexgate::testing
