// TLS through the real binary, with certificates made at test time: termination (SNI, ALPN,
// resumption, client certificates, certificates reloaded without dropping connections, plain
// HTTP on the TLS port, a handshake that never comes), and https:// upstreams (verification and
// why it failed, counted; pooled TLS connections reused; mTLS to a backend that requires it,
// `openssl s_server`, an independent TLS implementation).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <gtest/gtest.h>

#include "integration/harness.h"
#include "support/free_port.h"
#include "support/test_pki.h"

namespace flexgate::testing {
namespace {

// A blocking TLS client (OpenSSL) for one connection: requests and responses with
// Content-Length framing, or read until close.
class TlsClient {
 public:
  struct Options {
    std::string ca;                   // verify the server against it ("" = no verification)
    std::string server_name = "localhost";
    CertPaths client_cert;            // empty = none
    SSL_SESSION* session = nullptr;   // offered for resumption
    std::string alpn;                 // wire format, e.g. "\x08http/1.1"
  };

  TlsClient(std::uint16_t port, const Options& options) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!options.ca.empty()) {
      SSL_CTX_load_verify_file(ctx_, options.ca.c_str());
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    if (!options.client_cert.cert.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, options.client_cert.cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, options.client_cert.key.c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = "connect failed";
      return;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, options.server_name.c_str());
    if (!options.ca.empty()) SSL_set1_host(ssl_, options.server_name.c_str());
    if (options.session != nullptr) SSL_set_session(ssl_, options.session);
    if (!options.alpn.empty()) {
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(options.alpn.data()),
                          static_cast<unsigned>(options.alpn.size()));
    }
    if (SSL_connect(ssl_) != 1) {
      char text[256];
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      error_ = text;
      return;
    }
    connected_ = true;
  }
  ~TlsClient() {
    if (ssl_ != nullptr) {
      if (connected_) SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  bool reused() const { return SSL_session_reused(ssl_) == 1; }
  std::string alpn() const {
    const unsigned char* data = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl_, &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
  }
  // The server certificate's subject CN.
  std::string peer_common_name() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (cert == nullptr) return {};
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    return name;
  }
  // The session to offer next time (the caller frees it).
  SSL_SESSION* session() const { return SSL_get1_session(ssl_); }

  bool send(const std::string& bytes) {
    std::size_t written = 0;
    return connected_ && SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) == 1 && written == bytes.size();
  }

  // One response with Content-Length framing; nullopt when the connection ends first.
  std::optional<Response> read_response() {
    for (;;) {
      const std::size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        Response response;
        const std::string head = buffer_.substr(0, end + 2);
        response.status = std::stoi(head.substr(9, 3));
        std::size_t line_start = head.find("\r\n") + 2;
        std::size_t content_length = 0;
        while (line_start < head.size()) {
          const std::size_t line_end = head.find("\r\n", line_start);
          const std::string line = head.substr(line_start, line_end - line_start);
          const std::size_t colon = line.find(':');
          std::string name = line.substr(0, colon);
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          if (strcasecmp(name.c_str(), "content-length") == 0) content_length = std::stoul(value);
          response.headers.emplace_back(name, value);
          line_start = line_end + 2;
        }
        while (buffer_.size() < end + 4 + content_length) {
          if (!fill()) return std::nullopt;
        }
        response.body = buffer_.substr(end + 4, content_length);
        response.complete = true;
        buffer_.erase(0, end + 4 + content_length);
        return response;
      }
      if (!fill()) return std::nullopt;
    }
  }

  std::optional<Response> get(const std::string& target, const std::string& extra_headers = "") {
    if (!send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "\r\n")) return std::nullopt;
    return read_response();
  }

 private:
  bool fill() {
    char chunk[16384];
    std::size_t read = 0;
    if (!connected_ || SSL_read_ex(ssl_, chunk, sizeof chunk, &read) != 1) return false;
    buffer_.append(chunk, read);
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  std::string buffer_;
};

struct SessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

std::string tls_block(const CertPaths& cert, const std::string& extra = "") {
  return "  tls:\n    cert: " + cert.cert + "\n    key: " + cert.key + "\n" + extra;
}

// A gateway on port 0 in front of upstream `backend` at `url` with a catch-all route.
std::string config(const std::string& proxy_extra, const std::string& url, const std::string& upstream_extra = "") {
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n" + proxy_extra +
         "upstreams:\n  - name: backend\n    url: \"" + url + "\"\n" + upstream_extra +
         "routes:\n  - path: \"/*\"\n    upstream: backend\nlogging:\n  level: info\n";
}

std::string echo_url(const EchoServer& echo) { return "http://127.0.0.1:" + std::to_string(echo.port); }

// GET /metrics over TLS: the exposition text.
std::string scrape_tls(std::uint16_t port, const TlsClient::Options& options) {
  TlsClient client(port, options);
  auto response = client.get("/metrics");
  return response ? response->body : std::string();
}

double tls_handshakes(const std::string& exposition, const std::string& side, const std::string& result) {
  return metric_sample(exposition, "flexgate_tls_handshakes_total{side=\"" + side + "\",result=\"" + result + "\"}");
}

class TlsIntegration : public ::testing::Test {
 protected:
  TestPki pki_;
  CertPaths server_ = pki_.issue("server", "localhost", {"localhost"}, {"127.0.0.1"});
  EchoServer echo_ = start_echo_server();
  TlsClient::Options verified() const {
    TlsClient::Options options;
    options.ca = pki_.ca();
    return options;
  }
};

TEST_F(TlsIntegration, TerminatesTlsAndTellsTheUpstream) {
  auto gateway = start_gateway(config(tls_block(server_), echo_url(echo_)));
  TlsClient::Options options = verified();
  options.alpn = std::string("\x02h2\x08http/1.1", 12);
  TlsClient client(gateway.port, options);
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.alpn(), "http/1.1");  // h2 is not offered (yet): HTTP/1.1 is chosen
  for (int i = 0; i < 3; ++i) {  // keep-alive on one TLS connection
    auto response = client.get("/hello");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->json()["headers"]["x-forwarded-proto"], "https");
  }
  EXPECT_EQ(tls_handshakes(scrape_tls(gateway.port, verified()), "downstream", "ok"), 2);
}

TEST_F(TlsIntegration, PlainHttpOnTheTlsPortIsToldToUseHttps) {
  auto gateway = start_gateway(config(tls_block(server_), echo_url(echo_)));
  Connection plain(gateway.port);
  ASSERT_TRUE(plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = plain.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find("use https"), std::string::npos);
  EXPECT_TRUE(plain.wait_closed());
  EXPECT_EQ(tls_handshakes(scrape_tls(gateway.port, verified()), "downstream", "plain_http"), 1);
}

TEST_F(TlsIntegration, AClientThatNeverHandshakesIsClosedAtTheHeaderTimeout) {
  auto gateway = start_gateway(config("  headerTimeout: 300ms\n" + tls_block(server_), echo_url(echo_)));
  Connection silent(gateway.port);
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_EQ(tls_handshakes(scrape_tls(gateway.port, verified()), "downstream", "timeout"), 1);
}

TEST_F(TlsIntegration, SniPicksTheCertificate) {
  auto api = pki_.issue("api", "api.test", {"api.test"});
  auto apps = pki_.issue("apps", "apps wildcard", {"*.apps.test"});
  auto gateway = start_gateway(config(
      tls_block(server_, "    certificates:\n      - hosts: [api.test]\n        cert: " + api.cert + "\n        key: " +
                             api.key + "\n      - hosts: [\"*.apps.test\"]\n        cert: " + apps.cert +
                             "\n        key: " + apps.key + "\n"),
      echo_url(echo_)));
  for (const auto& [name, common_name] : std::vector<std::pair<std::string, std::string>>{
           {"api.test", "api.test"}, {"shop.apps.test", "apps wildcard"}, {"localhost", "localhost"}}) {
    TlsClient::Options options = verified();
    options.server_name = name;
    TlsClient client(gateway.port, options);
    ASSERT_TRUE(client.connected()) << name << ": " << client.error();
    EXPECT_EQ(client.peer_common_name(), common_name);
    auto response = client.get("/x");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(TlsIntegration, SessionsResume) {
  auto gateway = start_gateway(config(tls_block(server_), echo_url(echo_)));
  SessionPtr session;
  {
    TlsClient first(gateway.port, verified());
    ASSERT_TRUE(first.get("/a"));  // TLS 1.3 tickets arrive with the first read
    session.reset(first.session());
  }
  TlsClient::Options options = verified();
  options.session = session.get();
  TlsClient second(gateway.port, options);
  ASSERT_TRUE(second.connected()) << second.error();
  EXPECT_TRUE(second.reused());
  EXPECT_EQ(second.get("/b")->status, 200);
}

TEST_F(TlsIntegration, ClientCertificatesAreRequiredAndNameTheClient) {
  auto gateway = start_gateway(config(tls_block(server_, "    clientCA: " + pki_.ca() + "\n    requireClientCert: true\n"),
                                      echo_url(echo_)));
  {
    // TLS 1.3: the client's handshake ends before the server checks; the refusal comes as an
    // alert, and no request is ever answered.
    TlsClient anonymous(gateway.port, verified());
    EXPECT_FALSE(anonymous.connected() && anonymous.get("/x").has_value());
  }
  auto client_cert = pki_.issue("client", "billing", {"billing.clients.internal"});
  TlsClient::Options options = verified();
  options.client_cert = client_cert;
  TlsClient client(gateway.port, options);
  ASSERT_TRUE(client.connected()) << client.error();
  auto response = client.get("/who", "X-Correlation-ID: mtls-client-1\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  auto line = wait_for_access_log(*gateway.process, "mtls-client-1");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["clientName"], "billing.clients.internal");
  const std::string exposition = scrape_tls(gateway.port, options);
  EXPECT_EQ(tls_handshakes(exposition, "downstream", "no_client_certificate"), 1) << exposition;
}

TEST_F(TlsIntegration, ReloadedCertificatesServeNewConnectionsWithoutDroppingOpenOnes) {
  auto gateway = start_gateway(config(tls_block(server_), echo_url(echo_)));
  TlsClient open_connection(gateway.port, verified());
  ASSERT_TRUE(open_connection.get("/before"));
  EXPECT_EQ(open_connection.peer_common_name(), "localhost");
  SessionPtr session(open_connection.session());
  // A renewed certificate under new file names; the config now points at them.
  auto renewed = pki_.issue("renewed", "127.0.0.1", {"localhost"}, {"127.0.0.1"});
  {
    std::ofstream out(gateway.config_path);
    out << config(tls_block(renewed), echo_url(echo_));
  }
  ASSERT_TRUE(gateway.process->wait_for_line("\"config_reloaded\""));
  // The open connection keeps going on its handshake.
  auto during = open_connection.get("/after");
  ASSERT_TRUE(during);
  EXPECT_EQ(during->status, 200);
  // New connections get the new certificate (workers swap as they take the new snapshot).
  bool renewed_seen = false;
  for (int attempt = 0; attempt < 100 && !renewed_seen; ++attempt) {
    TlsClient fresh(gateway.port, verified());
    renewed_seen = fresh.connected() && fresh.peer_common_name() == "127.0.0.1";
  }
  EXPECT_TRUE(renewed_seen);
  // Ticket keys are carried over: a session from before the reload still resumes.
  TlsClient::Options options = verified();
  options.session = session.get();
  TlsClient resumed(gateway.port, options);
  ASSERT_TRUE(resumed.connected()) << resumed.error();
  EXPECT_TRUE(resumed.reused());
}

TEST_F(TlsIntegration, HstsIsSentOnlyOverTls) {
  const std::string security = "securityHeaders: {hsts: {maxAge: 8760h, includeSubDomains: true}}\n";
  auto tls_gateway = start_gateway(config(tls_block(server_), echo_url(echo_)) + security);
  TlsClient client(tls_gateway.port, verified());
  auto response = client.get("/x");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("Strict-Transport-Security"), "max-age=31536000; includeSubDomains");
  EXPECT_EQ(response->header("X-Content-Type-Options"), "nosniff");
  auto plain_gateway = start_gateway(config("", echo_url(echo_)) + security);
  auto plain = request(plain_gateway.port, "GET", "/x");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("Strict-Transport-Security"), "");
  EXPECT_EQ(plain.header("X-Content-Type-Options"), "nosniff");
}

// ─── https:// upstreams ────────────────────────────────────────────────────────────────────────

// A TLS backend: a second gateway terminating TLS with `cert` in front of the echo server.
Gateway start_tls_backend(const CertPaths& cert, const EchoServer& echo, const std::string& tls_extra = "") {
  return start_gateway(config(tls_block(cert, tls_extra), echo_url(echo)));
}

TEST_F(TlsIntegration, HttpsUpstreamIsVerifiedAndItsConnectionsPooled) {
  auto backend = start_tls_backend(server_, echo_);
  auto front = start_gateway(config("", "https://127.0.0.1:" + std::to_string(backend.port),
                                    "    tls:\n      ca: " + pki_.ca() + "\n"));
  Connection client(front.port);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send("GET /over-tls HTTP/1.1\r\nHost: gw\r\n\r\n"));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200) << response->body;
    // The backend saw a TLS client (the front gateway).
    EXPECT_EQ(response->json()["headers"]["x-forwarded-proto"], "https");
  }
  const std::string exposition = scrape(front.port);
  EXPECT_EQ(tls_handshakes(exposition, "upstream", "ok"), 1);
  EXPECT_EQ(metric_sample(exposition, "flexgate_upstream_connections_opened_total{upstream=\"backend\"}"), 1);
  EXPECT_EQ(metric_sample(exposition, "flexgate_upstream_pool_reuses_total{upstream=\"backend\"}"), 2);
}

TEST_F(TlsIntegration, UpstreamCertificateFailuresAre502sThatSayWhy) {
  struct Case {
    std::string name;
    CertPaths cert;
    std::string result;
  };
  const std::vector<Case> cases = {
      {"self-signed", pki_.self_signed("self", "localhost", {"localhost"}, {"127.0.0.1"}), "certificate_untrusted"},
      {"expired", pki_.issue("expired", "localhost", {"localhost"}, {"127.0.0.1"}, -30, -1), "certificate_expired"},
      {"wrong name", pki_.issue("wrong", "elsewhere", {"elsewhere.internal"}), "certificate_hostname_mismatch"},
  };
  for (const Case& c : cases) {
    auto backend = start_tls_backend(c.cert, echo_);
    auto front = start_gateway(config("", "https://127.0.0.1:" + std::to_string(backend.port),
                                      "    tls:\n      ca: " + pki_.ca() + "\n"));
    auto response = request(front.port, "GET", "/x", {{"X-Correlation-ID", "upstream-tls-1"}});
    EXPECT_TRUE(IsJsonError(response, 502)) << c.name;
    EXPECT_NE(response.json()["message"].get<std::string>().find("upstream TLS handshake failed"), std::string::npos)
        << c.name << ": " << response.body;
    EXPECT_EQ(tls_handshakes(scrape(front.port), "upstream", c.result), 1) << c.name;
    EXPECT_TRUE(front.process->wait_for_line("\"reason\":\"" + c.result + "\"")) << c.name;
  }
  // verify: false accepts the self-signed one (an explicit choice).
  auto backend = start_tls_backend(cases[0].cert, echo_);
  auto front = start_gateway(config("", "https://127.0.0.1:" + std::to_string(backend.port), "    tls:\n      verify: false\n"));
  EXPECT_EQ(request(front.port, "GET", "/x").status, 200);
}

TEST_F(TlsIntegration, MutualTlsToABackendThatRequiresIt) {
  // openssl s_server: requires a client certificate from our CA, answers GET with a status page.
  std::uint16_t port = 0;
  std::unique_ptr<ChildProcess> backend;
  for (int attempt = 0; attempt < 5 && !backend; ++attempt) {
    port = free_udp_and_tcp_port();
    auto process = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert", server_.cert, "-key",
        server_.key, "-CAfile", pki_.ca(), "-Verify", "1", "-verify_return_error", "-www", "-naccept", "10"});
    if (process->wait_for_line("ACCEPT")) backend = std::move(process);
  }
  ASSERT_TRUE(backend) << "openssl s_server did not start";
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  {
    auto without_cert = start_gateway(config("", url, "    tls:\n      ca: " + pki_.ca() + "\n"));
    auto response = request(without_cert.port, "GET", "/");
    EXPECT_EQ(response.status, 502) << response.body;
  }
  auto client_cert = pki_.issue("gateway-client", "flexgate", {"flexgate.internal"});
  auto with_cert = start_gateway(config("", url,
                                        "    tls:\n      ca: " + pki_.ca() + "\n      cert: " + client_cert.cert +
                                            "\n      key: " + client_cert.key + "\n"));
  auto response = request(with_cert.port, "GET", "/");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_NE(response.body.find("s_server"), std::string::npos) << response.body;
  backend->signal(SIGTERM);
}

}  // namespace
}  // namespace flexgate::testing
