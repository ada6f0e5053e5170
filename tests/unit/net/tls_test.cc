// TLS over real loopback sockets: handshakes (SNI, ALPN, client certificates, verification
// failures and why), reads and writes through net/socket_io.h's Stream overloads (partial
// writes, gather writes, truncation vs close_notify), resumption and the idle-connection check.

#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <array>

#include "net/socket_io.h"
#include "support/test_pki.h"
#include "unit/net/loopback_test_util.h"

namespace flexgate::net {
namespace {

namespace nt = net::test;
using flexgate::testing::CertPaths;
using flexgate::testing::TestPki;

struct HandshakeResult {
  std::error_code server;
  std::error_code client;
};

class TlsTest : public ::testing::Test {
 protected:
  std::shared_ptr<const ServerTls> server_tls(const CertPaths& cert, ServerTlsSettings settings = {}) {
    settings.certificate = {cert.cert, cert.key};
    std::string error;
    auto tls = ServerTls::build(settings, error);
    EXPECT_TRUE(tls) << error;
    return tls;
  }
  std::shared_ptr<ClientTls> client_tls(ClientTlsSettings settings = {}) {
    if (settings.ca.empty()) settings.ca = pki_.ca();
    std::string error;
    auto tls = ClientTls::build(settings, error);
    EXPECT_TRUE(tls) << error;
    return tls;
  }

  // A fresh connected pair with TLS attached on both ends, then both handshakes run.
  HandshakeResult connect(const ServerTls& server, const ClientTls& client, const std::string& host = "localhost",
                          std::uint16_t port = 443) {
    auto pair = nt::make_socket_pair(io_);
    server_ = std::make_unique<Stream>(std::move(pair.server));
    client_ = std::make_unique<Stream>(std::move(pair.client));
    start_tls(*server_, server.new_session(), true);
    start_tls(*client_, client.new_session(host, port), false);
    std::optional<std::error_code> server_result;
    std::optional<std::error_code> client_result;
    asio::co_spawn(io_, tls_handshake(*server_), [&](std::exception_ptr, std::error_code ec) {
      server_result = ec;
      if (ec) server_->close();  // a real server closes; the client then sees the alert or EOF
    });
    asio::co_spawn(io_, tls_handshake(*client_), [&](std::exception_ptr, std::error_code ec) {
      client_result = ec;
      if (ec) client_->close();
    });
    EXPECT_TRUE(nt::run_until(io_, [&] { return server_result && client_result; })) << "handshake hung";
    return {server_result.value_or(std::error_code{}), client_result.value_or(std::error_code{})};
  }

  // Writes `bytes` on `from` and reads them all on `to`.
  std::string transfer(Stream& from, Stream& to, const std::string& bytes) {
    std::string received;
    bool written = false;
    asio::co_spawn(io_, write_all(from, bytes), [&](std::exception_ptr, IoResult result) {
      EXPECT_FALSE(result.error) << result.error.message();
      written = true;
    });
    asio::co_spawn(io_, read_exactly(to, bytes.size(), received), asio::detached);
    EXPECT_TRUE(nt::run_until(io_, [&] { return written && received.size() >= bytes.size(); }));
    return received;
  }

  static Task<void> read_exactly(Stream& stream, std::size_t size, std::string& out) {
    std::array<char, 4096> chunk;
    while (out.size() < size) {
      IoResult read = co_await read_some(stream, chunk);
      if (read.error) co_return;
      out.append(chunk.data(), read.bytes);
    }
  }

  IoResult read_one(Stream& stream) {
    std::array<char, 256> chunk;
    return nt::run_task(io_, read_some(stream, chunk));
  }

  TestPki pki_;
  asio::io_context io_;
  std::unique_ptr<Stream> server_;
  std::unique_ptr<Stream> client_;
};

TEST_F(TlsTest, HandshakeVerifiesTheServerAndNegotiatesHttp11) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  auto result = connect(*server, *client);
  ASSERT_FALSE(result.server) << result.server.message();
  ASSERT_FALSE(result.client) << result.client.message();
  EXPECT_EQ(tls_version(client_->tls()), "TLSv1.3");
  // The client offered no ALPN here: none selected.
  EXPECT_EQ(tls_alpn(server_->tls()), "");
  EXPECT_EQ(transfer(*client_, *server_, "ping"), "ping");
  EXPECT_EQ(transfer(*server_, *client_, "pong"), "pong");
}

TEST_F(TlsTest, AlpnPicksHttp11WhenTheClientOffersIt) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  auto pair = nt::make_socket_pair(io_);
  Stream server_stream(std::move(pair.server));
  Stream client_stream(std::move(pair.client));
  start_tls(server_stream, server->new_session(), true);
  SslPtr session = client->new_session("localhost", 443);
  static constexpr unsigned char kOffer[] = "\x02h2\x08http/1.1";
  SSL_set_alpn_protos(session.get(), kOffer, sizeof kOffer - 1);
  start_tls(client_stream, std::move(session), false);
  int done = 0;
  asio::co_spawn(io_, tls_handshake(server_stream), [&](std::exception_ptr, std::error_code ec) {
    EXPECT_FALSE(ec) << ec.message();
    ++done;
  });
  asio::co_spawn(io_, tls_handshake(client_stream), [&](std::exception_ptr, std::error_code ec) {
    EXPECT_FALSE(ec) << ec.message();
    ++done;
  });
  ASSERT_TRUE(nt::run_until(io_, [&] { return done == 2; }));
  EXPECT_EQ(tls_alpn(server_stream.tls()), "http/1.1");
  EXPECT_EQ(tls_alpn(client_stream.tls()), "http/1.1");
}

TEST_F(TlsTest, LargeAndGatherWritesArriveWhole) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  ASSERT_FALSE(connect(*server, *client).client);
  nt::shrink_send_buffer(server_->socket());  // forces partial writes and "want write" waits
  const std::string big = nt::pattern_bytes(3 * 1024 * 1024, 3);
  EXPECT_TRUE(transfer(*server_, *client_, big) == big);
  // A gather write of a small head and a body: coalesced, in order.
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n";
  const std::string body = nt::pattern_bytes(70000, 5);
  const std::array<asio::const_buffer, 3> parts{asio::buffer(head), asio::buffer(body), asio::buffer(head)};
  bool written = false;
  asio::co_spawn(io_, write_all(*server_, parts), [&](std::exception_ptr, IoResult result) {
    EXPECT_FALSE(result.error);
    EXPECT_EQ(result.bytes, head.size() * 2 + body.size());
    written = true;
  });
  std::string received;
  asio::co_spawn(io_, read_exactly(*client_, head.size() * 2 + body.size(), received), asio::detached);
  ASSERT_TRUE(nt::run_until(io_, [&] { return written && received.size() == head.size() * 2 + body.size(); }));
  EXPECT_TRUE(received == head + body + head);
}

TEST_F(TlsTest, SelfSignedServerIsUntrusted) {
  auto cert = pki_.self_signed("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  auto result = connect(*server, *client);
  ASSERT_TRUE(result.client);
  EXPECT_EQ(result.client.category(), tls_verify_category()) << result.client.category().name() << ": " << result.client.message();
  EXPECT_EQ(handshake_failure_reason(result.client), "certificate_untrusted");
  // The server learns it from the client's alert.
  EXPECT_TRUE(result.server);
}

TEST_F(TlsTest, ExpiredServerCertificateSaysSo) {
  auto cert = pki_.issue("server", "localhost", {"localhost"}, {}, -30, -1);
  auto server = server_tls(cert);
  auto client = client_tls();
  auto result = connect(*server, *client);
  ASSERT_TRUE(result.client);
  EXPECT_EQ(handshake_failure_reason(result.client), "certificate_expired");
  EXPECT_NE(result.client.message().find("expired"), std::string::npos) << result.client.message();
}

TEST_F(TlsTest, WrongNameAndWrongIpAreMismatches) {
  auto cert = pki_.issue("server", "api.internal", {"api.internal"}, {"10.0.0.1"});
  auto server = server_tls(cert);
  auto client = client_tls();
  auto by_name = connect(*server, *client, "other.internal");
  EXPECT_EQ(handshake_failure_reason(by_name.client), "certificate_hostname_mismatch");
  auto by_ip = connect(*server, *client, "127.0.0.1");
  EXPECT_EQ(handshake_failure_reason(by_ip.client), "certificate_hostname_mismatch");
  auto right_ip = connect(*server, *client, "10.0.0.1");
  EXPECT_FALSE(right_ip.client) << right_ip.client.message();
  // serverName overrides the host for SNI and the check.
  ClientTlsSettings settings;
  settings.server_name = "api.internal";
  auto named = client_tls(settings);
  EXPECT_FALSE(connect(*server, *named, "127.0.0.1").client);
}

TEST_F(TlsTest, VerifyOffAcceptsAnyCertificate) {
  auto cert = pki_.self_signed("server", "whatever");
  auto server = server_tls(cert);
  ClientTlsSettings settings;
  settings.verify = false;
  auto client = client_tls(settings);
  auto result = connect(*server, *client, "localhost");
  EXPECT_FALSE(result.client) << result.client.message();
}

TEST_F(TlsTest, SniChoosesTheCertificateForTheName) {
  auto fallback = pki_.issue("default", "default.test", {"default.test"});
  auto api = pki_.issue("api", "api.test", {"api.test"});
  auto wildcard = pki_.issue("wild", "*.apps.test", {"*.apps.test"});
  ServerTlsSettings settings;
  settings.certificates.push_back({{"api.test"}, {api.cert, api.key}});
  settings.certificates.push_back({{"*.apps.test"}, {wildcard.cert, wildcard.key}});
  auto server = server_tls(fallback, settings);
  auto client = client_tls();
  // Each name verifies only against its own certificate, so success proves the selection.
  EXPECT_FALSE(connect(*server, *client, "api.test").client);
  EXPECT_FALSE(connect(*server, *client, "shop.apps.test").client);
  EXPECT_FALSE(connect(*server, *client, "default.test").client);
  // An unknown name gets the default certificate (which does not match it).
  EXPECT_EQ(handshake_failure_reason(connect(*server, *client, "unknown.test").client),
            "certificate_hostname_mismatch");
  // "*.apps.test" covers one label only.
  EXPECT_EQ(handshake_failure_reason(connect(*server, *client, "a.b.apps.test").client),
            "certificate_hostname_mismatch");
}

TEST_F(TlsTest, RequiredClientCertificate) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  ServerTlsSettings settings;
  settings.client_ca = pki_.ca();
  settings.require_client_cert = true;
  auto server = server_tls(cert, settings);
  // Without a certificate: refused, and the server says why.
  auto anonymous = client_tls();
  auto refused = connect(*server, *anonymous);
  ASSERT_TRUE(refused.server);
  EXPECT_EQ(handshake_failure_reason(refused.server), "no_client_certificate") << refused.server.message();
  // With one the CA signed: accepted; its first DNS name is the client's identity.
  auto client_cert = pki_.issue("client", "billing-service", {"billing.clients.internal"});
  ClientTlsSettings with_cert;
  with_cert.client_certificate = {client_cert.cert, client_cert.key};
  auto client = client_tls(with_cert);
  auto accepted = connect(*server, *client);
  ASSERT_FALSE(accepted.server) << accepted.server.message();
  EXPECT_EQ(transfer(*client_, *server_, "hi"), "hi");  // TLS 1.3 finishes client auth here
  EXPECT_EQ(tls_peer_identity(server_->tls()), "billing.clients.internal");
  // Without SANs the subject CN names it.
  auto cn_only = pki_.issue("cn-only", "reporting");
  ClientTlsSettings cn_settings;
  cn_settings.client_certificate = {cn_only.cert, cn_only.key};
  auto cn_client = client_tls(cn_settings);
  ASSERT_FALSE(connect(*server, *cn_client).server);
  EXPECT_EQ(tls_peer_identity(server_->tls()), "reporting");
  // A certificate from another CA is refused.
  auto stranger = pki_.self_signed("stranger", "stranger");
  ClientTlsSettings stranger_settings;
  stranger_settings.client_certificate = {stranger.cert, stranger.key};
  auto stranger_client = client_tls(stranger_settings);
  auto untrusted = connect(*server, *stranger_client);
  ASSERT_TRUE(untrusted.server);
  EXPECT_EQ(handshake_failure_reason(untrusted.server), "certificate_untrusted") << untrusted.server.message();
}

TEST_F(TlsTest, OptionalClientCertificate) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  ServerTlsSettings settings;
  settings.client_ca = pki_.ca();
  auto server = server_tls(cert, settings);
  auto anonymous = client_tls();
  ASSERT_FALSE(connect(*server, *anonymous).server);
  EXPECT_EQ(transfer(*client_, *server_, "x"), "x");
  EXPECT_EQ(tls_peer_identity(server_->tls()), "");
}

TEST_F(TlsTest, ClientResumesItsLastSessionToTheTarget) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  ASSERT_FALSE(connect(*server, *client).client);
  EXPECT_FALSE(tls_session_reused(client_->tls()));
  // TLS 1.3 tickets come after the handshake: an exchange lets the client read them.
  EXPECT_EQ(transfer(*client_, *server_, "GET"), "GET");
  EXPECT_EQ(transfer(*server_, *client_, "200"), "200");
  ASSERT_FALSE(connect(*server, *client).client);
  EXPECT_TRUE(tls_session_reused(client_->tls()));
  // Another port is another target: no resumption offered.
  ASSERT_FALSE(connect(*server, *client, "localhost", 8443).client);
  EXPECT_FALSE(tls_session_reused(client_->tls()));
}

TEST_F(TlsTest, TicketKeysSurviveARebuiltServerContext) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto first = server_tls(cert);
  auto client = client_tls();
  ASSERT_FALSE(connect(*first, *client).client);
  EXPECT_EQ(transfer(*client_, *server_, "a"), "a");
  EXPECT_EQ(transfer(*server_, *client_, "b"), "b");
  // A reload builds a new context from the previous one: the ticket still decrypts.
  ServerTlsSettings settings;
  settings.certificate = {cert.cert, cert.key};
  std::string error;
  auto reloaded = ServerTls::build(settings, error, first.get());
  ASSERT_TRUE(reloaded) << error;
  ASSERT_FALSE(connect(*reloaded, *client).client);
  EXPECT_TRUE(tls_session_reused(client_->tls()));
  EXPECT_EQ(transfer(*client_, *server_, "c"), "c");
  EXPECT_EQ(transfer(*server_, *client_, "d"), "d");
  // A context built without the previous one has new keys: a full handshake.
  auto fresh = ServerTls::build(settings, error);
  ASSERT_FALSE(connect(*fresh, *client).client);
  EXPECT_FALSE(tls_session_reused(client_->tls()));
}

TEST_F(TlsTest, CloseNotifyIsEofAndAnAbruptCloseIsTruncation) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  ASSERT_FALSE(connect(*server, *client).client);
  server_->close();  // sends close_notify
  EXPECT_EQ(read_one(*client_).error, asio::error::eof);

  ASSERT_FALSE(connect(*server, *client).client);
  std::error_code ignored;
  server_->socket().close(ignored);  // no close_notify
  const IoResult truncated = read_one(*client_);
  EXPECT_EQ(truncated.error, make_error_code(TlsErrc::kTruncated)) << truncated.error.message();
}

TEST_F(TlsTest, IdleCheckSeesUnsolicitedDataAndCloses) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto client = client_tls();
  ASSERT_FALSE(connect(*server, *client).client);
  EXPECT_EQ(transfer(*client_, *server_, "GET"), "GET");
  EXPECT_EQ(transfer(*server_, *client_, "200"), "200");
  EXPECT_TRUE(idle_stream_is_clean(*client_));  // session tickets processed, nothing else
  // A stray response: not clean.
  ASSERT_FALSE(write_now(*server_, std::string_view("HTTP/1.1 200 OK\r\n\r\n")).error);
  EXPECT_TRUE(nt::run_until(io_, [&] { return !idle_stream_is_clean(*client_); }));
  // Closed by the server: not clean either.
  ASSERT_FALSE(connect(*server, *client).client);
  server_->close();
  EXPECT_TRUE(nt::run_until(io_, [&] { return !idle_stream_is_clean(*client_); }));
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortIsNamed) {
  auto cert = pki_.issue("server", "localhost", {"localhost"});
  auto server = server_tls(cert);
  auto pair = nt::make_socket_pair(io_);
  Stream server_stream(std::move(pair.server));
  start_tls(server_stream, server->new_session(), true);
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  pair.client.write_some(asio::buffer(request));
  auto error = nt::run_task(io_, tls_handshake(server_stream));
  EXPECT_EQ(handshake_failure_reason(error), "plain_http") << error.message();
}

}  // namespace
}  // namespace flexgate::net
