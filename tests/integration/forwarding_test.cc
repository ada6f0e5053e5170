// Requests through the real binary to the real echo upstream: routing, headers, bodies, errors.

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

class ForwardingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    echo_ = new EchoServer(start_echo_server());
    gateway_ = new Gateway(start_gateway(gateway_config(echo_->port,
        "  - path: \"/api/*\"\n    upstream: echo\n"
        "  - path: \"/users/:id\"\n    upstream: echo\n    methods: [GET, DELETE]\n"
        "  - path: \"/strip/*\"\n    upstream: echo\n    stripPrefix: true\n"
        "  - path: \"/old/*\"\n    upstream: echo\n    rewrite: \"/new\"\n"
        "  - path: \"/keephost/*\"\n    upstream: echo\n    preserveHost: true\n"
        "  - path: \"/small/*\"\n    upstream: echo\n    maxBodySize: 100\n"
        "  - path: \"/bytes/*\"\n    upstream: echo\n"
        "  - path: \"/chunked/*\"\n    upstream: echo\n"
        "  - path: \"/status/*\"\n    upstream: echo\n")));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete echo_;
  }
  static std::uint16_t port() { return gateway_->port; }

  static EchoServer* echo_;
  static Gateway* gateway_;
};
EchoServer* ForwardingTest::echo_ = nullptr;
Gateway* ForwardingTest::gateway_ = nullptr;

TEST_F(ForwardingTest, ForwardsToTheUpstreamAndReturnsItsAnswer) {
  auto response = request(port(), "GET", "/api/anything?x=1&y=2");
  ASSERT_EQ(response.status, 200);
  auto echoed = response.json();
  EXPECT_EQ(echoed["method"], "GET");
  EXPECT_EQ(echoed["path"], "/api/anything?x=1&y=2");
  EXPECT_EQ(echoed["headers"]["host"], "127.0.0.1:" + std::to_string(echo_->port));
  EXPECT_EQ(echoed["headers"]["x-forwarded-for"], "127.0.0.1");
  EXPECT_EQ(echoed["headers"]["x-forwarded-proto"], "http");
  EXPECT_EQ(echoed["headers"]["x-forwarded-host"], "localhost");
}

TEST_F(ForwardingTest, GeneratesACorrelationIdAndSendsItBothWays) {
  auto response = request(port(), "GET", "/api/cid");
  ASSERT_EQ(response.status, 200);
  std::string id = response.header("X-Correlation-ID");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(response.json()["headers"]["x-correlation-id"], id);
  auto line = gateway_->process->wait_for_line(id);
  ASSERT_TRUE(line.has_value());
  auto log = nlohmann::json::parse(*line);
  EXPECT_EQ(log["status"], 200);
  EXPECT_EQ(log["route"], "/api/*");
  EXPECT_EQ(log["upstream"], "echo");
  EXPECT_EQ(log["method"], "GET");
  EXPECT_EQ(log["path"], "/api/cid");
}

TEST_F(ForwardingTest, KeepsASaneClientCorrelationIdAndReplacesAnInsaneOne) {
  auto kept = request(port(), "GET", "/api/x", {{"X-Correlation-ID", "client-id-123"}});
  EXPECT_EQ(kept.header("X-Correlation-ID"), "client-id-123");
  EXPECT_EQ(kept.json()["headers"]["x-correlation-id"], "client-id-123");
  auto replaced = request(port(), "GET", "/api/x", {{"X-Correlation-ID", std::string(129, 'a')}});
  EXPECT_EQ(replaced.header("X-Correlation-ID").size(), 32u);
  auto spaced = request(port(), "GET", "/api/x", {{"X-Correlation-ID", "has space"}});
  EXPECT_NE(spaced.header("X-Correlation-ID"), "has space");
}

TEST_F(ForwardingTest, UnknownPathIs404WithJsonBody) {
  auto response = request(port(), "GET", "/nothing/here");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = response.json();
  EXPECT_EQ(body["error"], "Not Found");
  EXPECT_EQ(body["correlationId"], response.header("X-Correlation-ID"));
  EXPECT_FALSE(body["message"].get<std::string>().empty());
}

TEST_F(ForwardingTest, AnHttp10KeepAliveClientIsToldEveryAnswerKeepsTheConnection) {
  // An HTTP/1.0 client assumes close unless the response says keep-alive (RFC 9112 9.3); answers
  // the gateway writes itself once left it out while keeping the connection, and ab -k hung.
  Connection connection(port());
  const auto ask = [&](const std::string& target) {
    EXPECT_TRUE(connection.send("GET " + target + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    return connection.read_response();
  };
  const auto not_found = ask("/nothing/here");  // a local reply
  ASSERT_TRUE(not_found);
  EXPECT_EQ(not_found->status, 404);
  EXPECT_EQ(not_found->header("Connection"), "keep-alive");
  const auto live = ask("/health/live");  // a built-in endpoint
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->header("Connection"), "keep-alive");
  const auto proxied = ask("/api/x");  // the upstream's answer
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->status, 200);
  EXPECT_EQ(proxied->header("Connection"), "keep-alive");
  // Without the option, HTTP/1.0 closes after the answer.
  ASSERT_TRUE(connection.send("GET /nothing/here HTTP/1.0\r\n\r\n"));
  const auto last = connection.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("Connection"), "close");
  EXPECT_TRUE(connection.wait_closed());
}

TEST_F(ForwardingTest, ABuiltInEndpointClosesOnlyWhenTheRequestLeftABodyOnTheWire) {
  // Built-in endpoints never read a body: one left on the wire would be parsed as the next
  // request, so the answer closes. An empty body leaves nothing behind and keeps the connection.
  Connection connection(port());
  ASSERT_TRUE(connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  const auto empty_body = connection.read_response();
  ASSERT_TRUE(empty_body);
  EXPECT_EQ(empty_body->status, 200);
  EXPECT_NE(empty_body->header("Connection"), "close");
  ASSERT_TRUE(connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  const auto with_body = connection.read_response();
  ASSERT_TRUE(with_body);
  EXPECT_EQ(with_body->status, 200);
  EXPECT_EQ(with_body->header("Connection"), "close");
  EXPECT_TRUE(connection.wait_closed());
}

TEST_F(ForwardingTest, WrongMethodIs405WithAllow) {
  auto response = request(port(), "POST", "/users/42", {}, "x");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(response.json()["error"], "Method Not Allowed");
  EXPECT_EQ(request(port(), "GET", "/users/42").status, 200);
  EXPECT_EQ(request(port(), "HEAD", "/users/42").status, 200);
}

TEST_F(ForwardingTest, RemovesHopByHopAndConnectionNominatedHeaders) {
  auto response = request(port(), "GET", "/api/hop",
                          {{"Connection", "keep-alive, X-Secret"}, {"X-Secret", "s"}, {"Keep-Alive", "timeout=5"},
                           {"TE", "trailers"}, {"Proxy-Authorization", "Basic eA=="}, {"X-Kept", "yes"}});
  ASSERT_EQ(response.status, 200);
  auto headers = response.json()["headers"];
  EXPECT_FALSE(headers.contains("x-secret"));
  EXPECT_FALSE(headers.contains("keep-alive"));
  EXPECT_FALSE(headers.contains("te"));
  EXPECT_FALSE(headers.contains("proxy-authorization"));
  EXPECT_FALSE(headers.contains("connection"));
  EXPECT_EQ(headers["x-kept"], "yes");
}

TEST_F(ForwardingTest, ClientXForwardedHeadersAreNotTrusted) {
  auto response = request(port(), "GET", "/api/xff", {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-Proto", "https"}});
  auto headers = response.json()["headers"];
  EXPECT_EQ(headers["x-forwarded-for"], "127.0.0.1");
  EXPECT_EQ(headers["x-forwarded-proto"], "http");
}

TEST_F(ForwardingTest, PreserveHostSendsTheClientsHost) {
  auto response = request(port(), "GET", "/keephost/x");
  EXPECT_EQ(response.json()["headers"]["host"], "localhost");
  // An HTTP/1.0 request may come without Host: the upstream (HTTP/1.1) gets the target's, never an
  // empty one (found by proxy_replay_fuzz).
  Connection connection(port());
  ASSERT_TRUE(connection.send("GET /keephost/y HTTP/1.0\r\n\r\n"));
  auto old = connection.read_response();
  ASSERT_TRUE(old);
  ASSERT_EQ(old->status, 200);
  const std::string host = old->json()["headers"]["host"];
  EXPECT_EQ(host.rfind("127.0.0.1:", 0), 0u) << host;
}

TEST_F(ForwardingTest, StripPrefixAndRewriteChangeTheForwardedPath) {
  EXPECT_EQ(request(port(), "GET", "/strip/users?q=1").json()["path"], "/users?q=1");
  EXPECT_EQ(request(port(), "GET", "/old/users").json()["path"], "/new/users");
}

TEST_F(ForwardingTest, NormalizedTargetIsWhatIsMatchedAndForwarded) {
  EXPECT_EQ(request(port(), "GET", "/api/../admin").status, 404);
  EXPECT_EQ(request(port(), "GET", "/api/%2e%2e/admin").status, 404);
  EXPECT_EQ(request(port(), "GET", "/api//a/./b/../c").json()["path"], "/api/a/c");
  EXPECT_EQ(request(port(), "GET", "/api/%7euser").json()["path"], "/api/~user");
  auto encoded_slash = request(port(), "GET", "/api/a%2Fb");
  EXPECT_EQ(encoded_slash.status, 400);
  EXPECT_EQ(encoded_slash.header("Connection"), "close");
}

TEST_F(ForwardingTest, AbsoluteFormWithAnotherAuthorityIsRejected) {
  Connection connection(port());
  connection.send("GET http://evil.example/api/x HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  Connection same(port());
  same.send("GET http://localhost/api/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  auto ok = same.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->json()["path"], "/api/x");
}

TEST_F(ForwardingTest, ContentLengthAndChunkedBodiesReachTheUpstream) {
  auto posted = request(port(), "POST", "/api/upload", {}, std::string(5000, 'b'));
  EXPECT_EQ(posted.json()["bodySize"], 5000);
  Connection connection(port());
  connection.send("POST /api/chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->json()["bodySize"], 11);
  EXPECT_EQ(response->json()["headers"]["transfer-encoding"], "chunked");
}

TEST_F(ForwardingTest, KnownOversizedBodyIs413BeforeAnythingIsForwarded) {
  auto response = request(port(), "POST", "/small/x", {}, std::string(101, 'z'));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("Connection"), "close");
  EXPECT_EQ(request(port(), "POST", "/small/x", {}, std::string(100, 'z')).status, 200);
}

TEST_F(ForwardingTest, ChunkedBodyOverTheLimitIsCutOff) {
  Connection connection(port());
  std::string chunk(80, 'c');
  connection.send("POST /small/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + chunk +
                  "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(connection.wait_closed());
}

TEST_F(ForwardingTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Connection connection(port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(connection.send("GET /api/ka" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->json()["path"], "/api/ka" + std::to_string(i));
  }
}

// A kept-alive client whose FIN comes with its next request (half-close after sending) gets that
// response and then the gateway's close at once. The FIN brings no readiness edge of its own: the
// gateway's reads know it is there only from the kernel's read queue hint (TCP_INQ), and without
// that this connection would sit until the 60 s idle timeout.
TEST_F(ForwardingTest, AKeptAliveClientsFinThatComesWithItsNextRequestClosesTheConnectionAfterTheAnswer) {
  for (int round = 0; round < 3; ++round) {
    Connection connection(port());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(connection.send("GET /api/ka" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      auto response = connection.read_response();
      ASSERT_TRUE(response);
    }
    ASSERT_TRUE(connection.send("GET /api/last HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    connection.shutdown_write();
    auto last = connection.read_response();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->json()["path"], "/api/last");
    EXPECT_TRUE(connection.wait_closed(std::chrono::seconds(5))) << "round " << round;
  }
}

TEST_F(ForwardingTest, PipelinedRequestsAreAnsweredInOrder) {
  Connection connection(port());
  connection.send("GET /api/one HTTP/1.1\r\nHost: localhost\r\n\r\n"
                  "POST /api/two HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc"
                  "GET /api/three HTTP/1.1\r\nHost: localhost\r\n\r\n");
  for (const char* path : {"/api/one", "/api/two", "/api/three"}) {
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->json()["path"], path);
  }
}

TEST_F(ForwardingTest, ExpectContinueGetsA100ThenTheBodyIsForwarded) {
  Connection connection(port());
  connection.send("POST /api/expect HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  // The interim 100 arrives before any body byte was sent.
  std::string interim;
  char byte;
  while (interim.find("\r\n\r\n") == std::string::npos && ::recv(connection.fd(), &byte, 1, 0) == 1) interim += byte;
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  connection.send("data");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->json()["bodySize"], 4);
}

TEST_F(ForwardingTest, HeadAnd204And304HaveNoBody) {
  Connection connection(port());
  connection.send("HEAD /bytes/1234 HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto head = connection.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "1234");
  EXPECT_TRUE(head->body.empty());
  connection.send("GET /status/204 HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto no_content = connection.read_response();
  ASSERT_TRUE(no_content);
  EXPECT_EQ(no_content->status, 204);
  connection.send("GET /status/304 HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto not_modified = connection.read_response();
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  // The connection is still in sync after all three.
  connection.send("GET /api/after HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto after = connection.read_response();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->json()["path"], "/api/after");
}

TEST_F(ForwardingTest, ChunkedAndLargeResponsesArriveWhole) {
  auto chunked = request(port(), "GET", "/chunked/100000");
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.body.size(), 100000u);
  EXPECT_EQ(chunked.header("Transfer-Encoding"), "chunked");
  auto sized = request(port(), "GET", "/bytes/3000000");
  EXPECT_TRUE(sized.complete);
  EXPECT_EQ(sized.body.size(), 3000000u);
}

TEST_F(ForwardingTest, UpstreamStatusesPassThrough) {
  EXPECT_EQ(request(port(), "GET", "/status/503").status, 503);
  EXPECT_EQ(request(port(), "GET", "/status/418").status, 418);
}

}  // namespace
}  // namespace flexgate::testing
