// Full-duplex exchanges through the real binary (src/proxy/full_duplex.cc): a chunked request's
// response is forwarded while the request is still being sent. The upstream here is driven by
// the test step by step, so each step shows which bytes crossed the gateway before which.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

using namespace std::chrono_literals;

// A listener on 127.0.0.1 whose connections the test accepts and answers by hand.
class ManualUpstream {
 public:
  ManualUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~ManualUpstream() {
    if (fd_ >= 0) ::close(fd_);
  }
  ManualUpstream(const ManualUpstream&) = delete;
  ManualUpstream& operator=(const ManualUpstream&) = delete;

  std::uint16_t port() const { return port_; }
  // The next connection from the gateway, or -1 if none came within `timeout`.
  int accept_one(std::chrono::milliseconds timeout = 10s) const {
    pollfd wait{fd_, POLLIN, 0};
    if (::poll(&wait, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// An fd closed at the end of the test.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// How reading ended: `needle` arrived, the peer closed (EOF or reset), or the time ran out.
enum class ReadEnd { kFound, kClosed, kTimedOut };

// Appends what `fd` receives to `buffer` until it holds `needle` (never, when `needle` is
// nullopt: until the peer closes).
ReadEnd read_into(int fd, std::string& buffer, std::optional<std::string_view> needle,
                  std::chrono::milliseconds timeout = 10s) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!needle || buffer.find(*needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
    pollfd wait{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&wait, 1, static_cast<int>(left.count())) <= 0) return ReadEnd::kTimedOut;
    char bytes[4096];
    const ssize_t n = ::recv(fd, bytes, sizeof bytes, 0);
    if (n <= 0) return ReadEnd::kClosed;
    buffer.append(bytes, static_cast<std::size_t>(n));
  }
  return ReadEnd::kFound;
}

bool read_until(int fd, std::string& buffer, std::string_view needle) {
  return read_into(fd, buffer, needle) == ReadEnd::kFound;
}

// True when the peer closed within the timeout; whatever arrives first is appended.
bool closed_by_peer(int fd, std::string& buffer) { return read_into(fd, buffer, std::nullopt) == ReadEnd::kClosed; }

constexpr std::string_view kRequestHead =
    "POST /talk HTTP/1.1\r\nHost: gateway\r\nX-Correlation-ID: duplex-1\r\nTransfer-Encoding: chunked\r\n\r\n";

struct DuplexBed {
  ManualUpstream upstream;
  Gateway gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n"));
  Fd client{connect_loopback(gateway.port)};
  Fd upstream_connection;
  std::string at_upstream;  // what the upstream received so far
  std::string at_client;    // what the client received so far

  // The client sends the head and `first_chunk`; the upstream accepts and receives them.
  ::testing::AssertionResult open_exchange(const std::string& first_chunk) {
    if (client.fd < 0) return ::testing::AssertionFailure() << "no connection to the gateway";
    if (!send_all(client.fd, std::string(kRequestHead) + first_chunk)) return ::testing::AssertionFailure() << "send";
    upstream_connection.fd = upstream.accept_one();
    if (upstream_connection.fd < 0) return ::testing::AssertionFailure() << "the gateway never connected";
    if (!read_until(upstream_connection.fd, at_upstream, first_chunk)) {
      return ::testing::AssertionFailure() << "the upstream got: " << at_upstream;
    }
    return ::testing::AssertionSuccess();
  }
};

TEST(FullDuplex, ResponseChunksCrossWhileTheRequestIsStillOpen) {
  DuplexBed bed;
  ASSERT_TRUE(bed.open_exchange("4\r\nping\r\n"));
  const int upstream = bed.upstream_connection.fd;

  // The upstream answers the first message; the request has not ended.
  ASSERT_TRUE(send_all(upstream, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npong\r\n"));
  ASSERT_TRUE(read_until(bed.client.fd, bed.at_client, "4\r\npong\r\n"))
      << "the response did not cross before the request's end: " << bed.at_client;
  EXPECT_EQ(bed.at_client.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << bed.at_client;

  // Second round, then both ends.
  ASSERT_TRUE(send_all(bed.client.fd, "5\r\nping2\r\n0\r\n\r\n"));
  ASSERT_TRUE(read_until(upstream, bed.at_upstream, "5\r\nping2\r\n0\r\n\r\n")) << bed.at_upstream;
  ASSERT_TRUE(send_all(upstream, "5\r\npong2\r\n0\r\n\r\n"));
  ASSERT_TRUE(read_until(bed.client.fd, bed.at_client, "5\r\npong2\r\n0\r\n\r\n")) << bed.at_client;

  // A whole exchange: the client's connection stays open for another request.
  ASSERT_TRUE(send_all(bed.client.fd, "GET /next HTTP/1.1\r\nHost: gateway\r\n\r\n"));
  ASSERT_TRUE(read_until(upstream, bed.at_upstream, "GET /next")) << "the upstream connection was not reused";
  const auto record = wait_for_access_log(*bed.gateway.process, "duplex-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["status"], 200);
}

TEST(FullDuplex, AnAnswerBeforeTheRequestsEndClosesBothConnections) {
  DuplexBed bed;
  ASSERT_TRUE(bed.open_exchange("5\r\nfirst\r\n"));
  const int upstream = bed.upstream_connection.fd;
  // A complete answer while the client is still sending (RFC 9112 9.3 allows it).
  ASSERT_TRUE(send_all(upstream, "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope"));
  ASSERT_TRUE(read_until(bed.client.fd, bed.at_client, "nope")) << bed.at_client;
  EXPECT_EQ(bed.at_client.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << bed.at_client;
  // The rest of the body is never read: neither connection can carry another message.
  EXPECT_TRUE(closed_by_peer(upstream, bed.at_upstream));
  EXPECT_TRUE(closed_by_peer(bed.client.fd, bed.at_client));
  const auto record = wait_for_access_log(*bed.gateway.process, "duplex-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["status"], 403);
}

TEST(FullDuplex, AClientGoneMidRequestEndsTheUpstreamExchange) {
  DuplexBed bed;
  ASSERT_TRUE(bed.open_exchange("5\r\nfirst\r\n"));
  const int upstream = bed.upstream_connection.fd;
  ::close(bed.client.fd);
  bed.client.fd = -1;
  // The upstream, still waiting for the request's end, sees the gateway give up at once.
  EXPECT_TRUE(closed_by_peer(upstream, bed.at_upstream));
  const auto record = wait_for_access_log(*bed.gateway.process, "duplex-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["status"], 499);
}

TEST(FullDuplex, AMalformedChunkMidRequestIsABadRequest) {
  DuplexBed bed;
  ASSERT_TRUE(bed.open_exchange("5\r\nfirst\r\n"));
  const int upstream = bed.upstream_connection.fd;
  ASSERT_TRUE(send_all(bed.client.fd, "zz\r\n"));
  ASSERT_TRUE(closed_by_peer(bed.client.fd, bed.at_client));
  EXPECT_EQ(bed.at_client.rfind("HTTP/1.1 400 ", 0), 0u) << bed.at_client;
  // The upstream never sees a malformed request complete: its connection is closed.
  EXPECT_TRUE(closed_by_peer(upstream, bed.at_upstream));
  EXPECT_EQ(bed.at_upstream.find("zz"), std::string::npos) << bed.at_upstream;
}

}  // namespace
}  // namespace flexgate::testing
