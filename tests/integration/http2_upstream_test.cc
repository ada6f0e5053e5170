// HTTP/2 to upstreams (`upstreams[].protocol: h2 | h2c`) through the real binary: nghttpd
// (nghttp2-server) as the origin over h2c and over TLS verified against a test CA, many requests
// multiplexed on one upstream connection (the gateway's own connection metrics), large bodies
// both ways, and failures: a stream the origin resets, an origin that drops the connection, and
// targets that do not speak HTTP/2. The in-process origin for the failures is an
// http2::ServerSession on a blocking socket, scripted by path.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http2/server_session.h"
#include "integration/harness.h"
#include "support/free_port.h"
#include "support/test_pki.h"

namespace flexgate::testing {
namespace {

// Waits until something accepts connections on `port` (a child server starting up).
bool wait_listening(std::uint16_t port) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int fd = connect_loopback(port);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // readiness poll, bounded
  }
  return false;
}

// nghttpd serving `docroot`, echoing POST bodies, with a trailer on every response.
struct Nghttpd {
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;
};

Nghttpd start_nghttpd(const std::string& docroot, const CertPaths* tls) {
  Nghttpd server;
  // Debian installs it in /usr/sbin; ChildProcess does not search PATH.
  const std::string binary = ::access("/usr/sbin/nghttpd", X_OK) == 0 ? "/usr/sbin/nghttpd" : "/usr/bin/nghttpd";
  for (int attempt = 0; attempt < 3 && server.port == 0; ++attempt) {
    const std::uint16_t port = free_udp_and_tcp_port();
    std::vector<std::string> argv{binary, "-d", docroot, "--echo-upload", "--trailer=x-origin-trailer: done"};
    if (tls == nullptr) argv.emplace_back("--no-tls");
    argv.push_back(std::to_string(port));
    if (tls != nullptr) {
      argv.push_back(tls->key);
      argv.push_back(tls->cert);
    }
    auto process = std::make_unique<ChildProcess>(argv);
    if (wait_listening(port)) {
      server.process = std::move(process);
      server.port = port;
    }
  }
  EXPECT_NE(server.port, 0) << "nghttpd did not start (apt-get install nghttp2-server)";
  return server;
}

// A scripted HTTP/2 origin: "/reset" gets RST_STREAM(INTERNAL_ERROR), "/drop" closes the whole
// connection, "/hold" is answered only after release_held(), anything else 200 with "ok <path>".
// `max_concurrent_streams` is its SETTINGS_MAX_CONCURRENT_STREAMS.
class ScriptedH2Origin {
 public:
  explicit ScriptedH2Origin(std::uint32_t max_concurrent_streams = 100) {
    limits_.max_concurrent_streams = max_concurrent_streams;
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "origin could not listen";
      return;
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedH2Origin() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    for (auto& thread : connections_) thread.join();
  }
  std::uint16_t port() const { return port_; }
  std::size_t connections_accepted() const { return accepted_; }
  // Waits until `count` "/hold" requests arrived (on any connections).
  bool wait_held(std::size_t count) {
    std::unique_lock lock(mutex_);
    return held_changed_.wait_for(lock, std::chrono::seconds(10), [&] { return held_ >= count; });
  }
  void release_held() { release_ = true; }

 private:
  // One connection's answers, made inside the session's callbacks.
  class Answers : public http2::Handler {
   public:
    void on_request(std::int32_t stream_id, const http2::Request& request) override {
      if (request.path == "/reset") {
        session->reset(stream_id, 0x2);
        return;
      }
      if (request.path == "/drop") {
        drop = true;
        return;
      }
      if (request.path == "/hold") {
        held.push_back(stream_id);
        std::lock_guard lock(origin->mutex_);
        ++origin->held_;
        origin->held_changed_.notify_all();
        return;
      }
      answer(stream_id, request.path);
    }
    void answer(std::int32_t stream_id, const std::string& path) {
      bodies[stream_id] = "ok " + path;
      session->respond(stream_id, 200, {{"content-length", std::to_string(bodies[stream_id].size())}}, true);
    }
    void on_body(std::int32_t stream_id, std::span<const std::uint8_t> data) override {
      session->consume(stream_id, data.size());
    }
    void on_request_end(std::int32_t) override {}
    void on_stream_closed(std::int32_t stream_id, std::uint32_t) override { bodies.erase(stream_id); }
    std::size_t read_response_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room, bool& end) override {
      std::string& body = bodies[stream_id];
      const std::size_t n = std::min(room, body.size());
      std::copy_n(body.begin(), n, out);
      body.erase(0, n);
      end = body.empty();
      return n;
    }
    http2::ServerSession* session = nullptr;
    ScriptedH2Origin* origin = nullptr;
    std::map<std::int32_t, std::string> bodies;
    std::vector<std::int32_t> held;
    bool drop = false;
  };

  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      ++accepted_;
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    Answers answers;
    http2::ServerSession session(answers, limits_);
    answers.session = &session;
    answers.origin = this;
    char buffer[16384];
    for (;;) {
      if (release_) {
        for (const std::int32_t stream_id : answers.held) answers.answer(stream_id, "/hold");
        answers.held.clear();
      }
      for (auto out = session.output(); !out.empty(); out = session.output()) {
        if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) break;
      }
      if (answers.drop || stopping_) break;
      pollfd wait{fd, POLLIN, 0};
      if (::poll(&wait, 1, 200) == 0) continue;  // a bounded wait, to notice stopping_
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0 || session.receive(std::span<const char>(buffer, static_cast<std::size_t>(n)))) break;
    }
    ::close(fd);
  }

  http2::Limits limits_;
  std::mutex mutex_;
  std::condition_variable held_changed_;
  std::size_t held_ = 0;
  std::atomic<bool> release_{false};
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // joined at the end (tests open a few)
  std::atomic<std::size_t> accepted_{0};
  std::atomic<bool> stopping_{false};
};

class Http2UpstreamIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(docroot_ + "/small.txt") << "hello h2\n";
    std::ofstream big(docroot_ + "/big.bin", std::ios::binary);
    for (std::size_t i = 0; i < kBigSize; ++i) big << static_cast<char>('a' + i % 26);
  }

  // One worker, so every request shares that worker's connections: the count is exact.
  static std::string config(const std::string& url, const std::string& protocol, const std::string& extra = "") {
    return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n"
           "upstreams:\n  - name: origin\n    url: \"" + url + "\"\n    protocol: " + protocol + "\n" + extra +
           "routes:\n  - path: \"/*\"\n    upstream: origin\nlogging:\n  level: info\n";
  }
  static double connections_opened(const Gateway& gateway) {
    return metric_sample(scrape(gateway.port), "flexgate_upstream_connections_opened_total{upstream=\"origin\"}");
  }
  static double streams_on_open_connections(const Gateway& gateway) {
    return metric_sample(scrape(gateway.port), "flexgate_upstream_pool_reuses_total{upstream=\"origin\"}");
  }

  static constexpr std::size_t kBigSize = 3 * 1024 * 1024;
  TestPki pki_;
  CertPaths origin_cert_ = pki_.issue("origin", "localhost", {"localhost"}, {"127.0.0.1"});
  std::string docroot_ = pki_.dir();
};

TEST_F(Http2UpstreamIntegration, H2cCarriesGetAndPostOnOneConnection) {
  Nghttpd origin = start_nghttpd(docroot_, nullptr);
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port), "h2c"));
  Response get = request(gateway.port, "GET", "/small.txt", {{"X-Correlation-ID", "h2c-get-1"}});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "hello h2\n");
  EXPECT_TRUE(get.complete);
  Response post = request(gateway.port, "POST", "/small.txt", {{"Content-Type", "text/plain"}}, "posted over h2c");
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.body, "posted over h2c");  // --echo-upload: the body came through
  auto line = wait_for_access_log(*gateway.process, "h2c-get-1");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["status"], 200);
  EXPECT_EQ(connections_opened(gateway), 1);
  EXPECT_EQ(streams_on_open_connections(gateway), 1);  // the POST rode the GET's connection
}

TEST_F(Http2UpstreamIntegration, H2OverTlsVerifiedAgainstTheTestCa) {
  Nghttpd origin = start_nghttpd(docroot_, &origin_cert_);
  const std::string tls = "    tls:\n      ca: " + pki_.ca() + "\n";
  auto gateway = start_gateway(config("https://localhost:" + std::to_string(origin.port), "h2", tls));
  Response get = request(gateway.port, "GET", "/small.txt");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "hello h2\n");
  Response post = request(gateway.port, "PUT", "/small.txt", {}, "put over h2");
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.body, "put over h2");
  EXPECT_EQ(connections_opened(gateway), 1);

  // A certificate the CA did not sign fails verification: a 502, never an unverified h2 stream.
  TestPki other_pki;
  const std::string wrong_ca = "    tls:\n      ca: " + other_pki.ca() + "\n";
  auto unverified = start_gateway(config("https://localhost:" + std::to_string(origin.port), "h2", wrong_ca));
  EXPECT_EQ(request(unverified.port, "GET", "/small.txt").status, 502);
}

TEST_F(Http2UpstreamIntegration, ConcurrentRequestsAreMultiplexedOnOneConnection) {
  Nghttpd origin = start_nghttpd(docroot_, nullptr);
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port), "h2c"));
  // 40 HTTP/1.1 clients at once, 400 requests: nghttpd allows 100 streams per connection.
  const std::string out = run_command("h2load --h1 -n 400 -c 40 -m 1 http://127.0.0.1:" +
                                      std::to_string(gateway.port) + "/small.txt");
  EXPECT_NE(out.find("400 succeeded, 0 failed, 0 errored"), std::string::npos) << out;
  EXPECT_NE(out.find("status codes: 400 2xx"), std::string::npos) << out;
  EXPECT_EQ(connections_opened(gateway), 1);
  EXPECT_EQ(streams_on_open_connections(gateway), 399);
}

TEST_F(Http2UpstreamIntegration, LargeBodiesFlowBothWays) {
  Nghttpd origin = start_nghttpd(docroot_, nullptr);
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port), "h2c"));
  const std::string base = "http://127.0.0.1:" + std::to_string(gateway.port);
  // Down: 3 MiB through both windows (the origin's stream and the gateway's pair).
  EXPECT_EQ(run_command("curl -sS -o /dev/null -w '%{http_code} %{size_download}' " + base + "/big.bin"),
            "200 " + std::to_string(kBigSize));
  // Up and back: with a length, and chunked from stdin.
  const std::string file = docroot_ + "/big.bin";
  EXPECT_EQ(run_command("curl -sS -o /dev/null -w '%{http_code} %{size_download}' --data-binary @" + file + " " +
                        base + "/small.txt"),
            "200 " + std::to_string(kBigSize));
  EXPECT_EQ(run_command("curl -sS -o /dev/null -w '%{http_code} %{size_download}' -T - " + base + "/small.txt < " + file),
            "200 " + std::to_string(kBigSize));
  EXPECT_EQ(connections_opened(gateway), 1);
}

TEST_F(Http2UpstreamIntegration, PeerStreamLimitOpensASecondConnection) {
  ScriptedH2Origin origin(/*max_concurrent_streams=*/1);
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port()), "h2c"));
  // First the origin's SETTINGS are known: one stream at a time.
  EXPECT_EQ(request(gateway.port, "GET", "/warm").body, "ok /warm");
  // Two requests the origin holds: the second cannot share the first one's connection.
  Response first;
  Response second;
  std::thread one([&] { first = request(gateway.port, "GET", "/hold"); });
  ASSERT_TRUE(origin.wait_held(1));
  std::thread two([&] { second = request(gateway.port, "GET", "/hold"); });
  const bool both_held = origin.wait_held(2);
  origin.release_held();
  one.join();
  two.join();
  ASSERT_TRUE(both_held);
  EXPECT_EQ(first.body, "ok /hold");
  EXPECT_EQ(second.body, "ok /hold");
  EXPECT_EQ(origin.connections_accepted(), 2u);
  EXPECT_EQ(connections_opened(gateway), 2);
}

TEST_F(Http2UpstreamIntegration, ResetStreamIsA502ForThatRequestOnly) {
  ScriptedH2Origin origin;
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port()), "h2c"));
  EXPECT_EQ(request(gateway.port, "GET", "/before").body, "ok /before");
  Response reset = request(gateway.port, "GET", "/reset", {{"X-Correlation-ID", "h2-reset-1"}});
  EXPECT_TRUE(IsJsonError(reset, 502));
  EXPECT_NE(reset.json()["message"].get<std::string>().find("reset the HTTP/2 stream"), std::string::npos)
      << reset.body;
  auto line = wait_for_access_log(*gateway.process, "h2-reset-1");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["error"], "upstream_reset");
  // The connection lives on for the others.
  EXPECT_EQ(request(gateway.port, "GET", "/after").body, "ok /after");
  EXPECT_EQ(connections_opened(gateway), 1);
  EXPECT_EQ(origin.connections_accepted(), 1u);
}

TEST_F(Http2UpstreamIntegration, DroppedConnectionIs502ThenANewConnection) {
  ScriptedH2Origin origin;
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port()), "h2c"));
  EXPECT_EQ(request(gateway.port, "GET", "/first").body, "ok /first");
  EXPECT_TRUE(IsJsonError(request(gateway.port, "GET", "/drop"), 502));
  EXPECT_EQ(request(gateway.port, "GET", "/again").body, "ok /again");
  EXPECT_EQ(connections_opened(gateway), 2);
  EXPECT_EQ(origin.connections_accepted(), 2u);
}

TEST_F(Http2UpstreamIntegration, DroppedConnectionIsRetriedWhenRetriesAllowIt) {
  ScriptedH2Origin origin;
  auto gateway = start_gateway(config("http://127.0.0.1:" + std::to_string(origin.port()), "h2c",
                                      "    retry: {attempts: 1, on: [reset]}\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/first").body, "ok /first");
  Response dropped = request(gateway.port, "GET", "/drop", {{"X-Correlation-ID", "h2-drop-retry"}});
  auto line = wait_for_access_log(*gateway.process, "h2-drop-retry");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["attempts"], 2) << line->dump();
  EXPECT_EQ(dropped.status, 502);  // the second attempt was dropped too: "/drop" always is
}

TEST_F(Http2UpstreamIntegration, UpstreamThatDoesNotSpeakHttp2IsAClear502) {
  // h2c to an HTTP/1.1 server: its answer to the preface is no HTTP/2.
  EchoServer echo = start_echo_server();
  auto cleartext = start_gateway(config("http://127.0.0.1:" + std::to_string(echo.port), "h2c"));
  Response plain = request(cleartext.port, "GET", "/x", {{"X-Correlation-ID", "h2c-not-h2"}});
  EXPECT_TRUE(IsJsonError(plain, 502));
  EXPECT_NE(plain.json()["message"].get<std::string>().find("HTTP/2"), std::string::npos) << plain.body;
  auto line = wait_for_access_log(*cleartext.process, "h2c-not-h2");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["error"], "bad_upstream_response");

  // h2 to a TLS server that only offers HTTP/1.1 in ALPN.
  auto origin = start_gateway("proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n  tls:\n    cert: " +
                              origin_cert_.cert + "\n    key: " + origin_cert_.key +
                              "\nupstreams:\n  - name: echo\n    url: \"http://127.0.0.1:" + std::to_string(echo.port) +
                              "\"\nroutes:\n  - path: \"/*\"\n    upstream: echo\n");
  const std::string tls = "    tls:\n      ca: " + pki_.ca() + "\n";
  auto gateway = start_gateway(config("https://localhost:" + std::to_string(origin.port), "h2", tls));
  Response refused = request(gateway.port, "GET", "/x", {{"X-Correlation-ID", "h2-no-alpn"}});
  EXPECT_TRUE(IsJsonError(refused, 502));
  EXPECT_NE(refused.json()["message"].get<std::string>().find("HTTP/2"), std::string::npos) << refused.body;
  line = wait_for_access_log(*gateway.process, "h2-no-alpn");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["error"], "upstream_connect_failed");
}

}  // namespace
}  // namespace flexgate::testing
