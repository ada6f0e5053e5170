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
#include "support/tls_client.h"
#include "support/test_pki.h"

namespace flexgate::testing {
namespace {

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
