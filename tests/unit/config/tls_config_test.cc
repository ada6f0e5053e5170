// `proxy.tls` and `upstreams[].tls`: every file is loaded and checked at load, so a missing file,
// a key that does not match its certificate or a bad setting is an error at its position.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "config/loader.h"
#include "config_test_util.h"
#include "support/test_pki.h"

namespace flexgate::config {
namespace {

using testing::all_errors;
using testing::has_error;
using testing::yaml;

class TlsConfigTest : public ::testing::Test {
 protected:
  std::string proxy_tls(const std::string& tls_body) {
    return "proxy:\n  tls:\n" + tls_body +
           "upstreams:\n  - name: api\n    url: http://127.0.0.1:8080\nroutes:\n  - path: /*\n    upstream: api\n";
  }
  flexgate::testing::TestPki pki_;
  flexgate::testing::CertPaths server_ = pki_.issue("server", "localhost", {"localhost"});
  flexgate::testing::CertPaths other_ = pki_.issue("other", "other", {"other"});
};

TEST_F(TlsConfigTest, AValidServerTlsBlockLoads) {
  auto result = load_config_text(proxy_tls("    cert: " + server_.cert + "\n    key: " + server_.key +
                                           "\n    minVersion: \"1.3\"\n    clientCA: " + pki_.ca() +
                                           "\n    requireClientCert: true\n    certificates:\n      - hosts: "
                                           "[other, \"*.apps.test\"]\n        cert: " +
                                           other_.cert + "\n        key: " + other_.key + "\n"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const ServerTlsSpec& tls = *result.config->proxy.tls;
  EXPECT_EQ(tls.cert, server_.cert);
  EXPECT_EQ(tls.min_version, "1.3");
  EXPECT_TRUE(tls.require_client_cert);
  ASSERT_EQ(tls.certificates.size(), 1u);
  EXPECT_EQ(tls.certificates[0].hosts, (std::vector<std::string>{"other", "*.apps.test"}));
}

TEST_F(TlsConfigTest, MissingFilesAndMismatchedKeysAreErrorsAtTheirPositions) {
  auto missing = load_config_text(proxy_tls("    cert: /nonexistent/server.pem\n    key: " + server_.key + "\n"));
  EXPECT_TRUE(has_error(missing, "proxy.tls.cert", 3, 11, "file not found: /nonexistent/server.pem"));
  auto mismatch = load_config_text(proxy_tls("    cert: " + server_.cert + "\n    key: " + other_.key + "\n"));
  EXPECT_TRUE(has_error(mismatch, "proxy.tls.cert", 3, 11, "does not match the certificate"));
  auto not_pem = load_config_text(proxy_tls("    cert: " + server_.key + "\n    key: " + server_.key + "\n"));
  EXPECT_TRUE(has_error(not_pem, "proxy.tls.cert", 3, 11, "cannot load a PEM certificate chain"));
  auto no_key = load_config_text(proxy_tls("    cert: " + server_.cert + "\n"));
  EXPECT_TRUE(has_error(no_key, "proxy.tls.key", 3, 5, "missing required key 'key'")) << all_errors(no_key);
}

TEST_F(TlsConfigTest, SettingsAreChecked) {
  const std::string pair = "    cert: " + server_.cert + "\n    key: " + server_.key + "\n";
  auto version = load_config_text(proxy_tls(pair + "    minVersion: \"1.1\"\n"));
  EXPECT_TRUE(has_error(version, "proxy.tls.minVersion", 5, 17, "must be one of 1.2, 1.3"));
  auto ciphers = load_config_text(proxy_tls(pair + "    ciphers: NOT-A-CIPHER\n"));
  EXPECT_TRUE(has_error(ciphers, "proxy.tls.ciphers", 5, 14, "no usable TLS 1.2 cipher"));
  auto require = load_config_text(proxy_tls(pair + "    requireClientCert: true\n"));
  EXPECT_TRUE(has_error(require, "proxy.tls.requireClientCert", 5, 5, "needs clientCA"));
  auto bad_ca = load_config_text(proxy_tls(pair + "    clientCA: " + server_.key + "\n"));
  EXPECT_TRUE(has_error(bad_ca, "proxy.tls.clientCA", 5, 15, "cannot load PEM CA certificates"));
  auto bad_host = load_config_text(proxy_tls(pair + "    certificates:\n      - hosts: [\"bad host\"]\n        cert: " +
                                             other_.cert + "\n        key: " + other_.key + "\n"));
  EXPECT_TRUE(has_error(bad_host, "proxy.tls.certificates[0].hosts[0]", 6, 17, "must be a host name"));
  auto unknown = load_config_text(proxy_tls(pair + "    ciphersuites: x\n"));
  EXPECT_FALSE(unknown.ok());
}

TEST_F(TlsConfigTest, RelativePathsResolveAgainstTheConfigFile) {
  const std::string path = pki_.dir() + "/gateway.yml";
  std::ofstream(path) << proxy_tls("    cert: server.pem\n    key: server.key\n");
  auto result = load_config_file(path);
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->proxy.tls->cert, server_.cert);
}

TEST_F(TlsConfigTest, UpstreamTls) {
  auto result = load_config_text(yaml(R"(
upstreams:
  - name: billing
    url: https://billing.internal:8443
    tls:
      ca: )" + pki_.ca() + R"(
      cert: )" + server_.cert + R"(
      key: )" + server_.key + R"(
      serverName: billing.svc
routes:
  - path: /*
    upstream: billing
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const UpstreamSpec& upstream = result.config->upstreams[0];
  ASSERT_TRUE(upstream.tls);
  EXPECT_TRUE(upstream.tls->verify);
  EXPECT_EQ(upstream.tls->server_name, "billing.svc");
  EXPECT_EQ(upstream.targets[0].port, 8443);

  auto plain_only = load_config_text(yaml(R"(
upstreams:
  - name: api
    url: http://127.0.0.1:8080
    tls: {verify: false}
routes:
  - path: /*
    upstream: api
)"));
  EXPECT_TRUE(has_error(plain_only, "upstreams[0].tls", 4, 5, "applies to https:// targets"));

  auto half_pair = load_config_text(yaml(R"(
upstreams:
  - name: api
    url: https://127.0.0.1:8443
    tls: {cert: )" + server_.cert + R"(}
routes:
  - path: /*
    upstream: api
)"));
  EXPECT_TRUE(has_error(half_pair, "upstreams[0].tls.cert", 4, 11, "needs 'key' too")) << all_errors(half_pair);
}

}  // namespace
}  // namespace flexgate::config

namespace flexgate::config {
namespace {

using testing::all_errors;
using testing::has_error;
using testing::yaml;

std::string upstream_with_protocol(const std::string& url, const std::string& protocol) {
  return yaml(R"(
upstreams:
  - name: api
    url: )" + url + R"(
    protocol: )" + protocol + R"(
routes:
  - path: /*
    upstream: api
)");
}

TEST(UpstreamProtocolConfig, DefaultsToHttp1) {
  auto result = load_config_text(yaml(R"(
upstreams:
  - name: api
    url: http://127.0.0.1:8080
routes:
  - path: /*
    upstream: api
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->upstreams[0].protocol, UpstreamProtocol::kHttp1);
}

TEST(UpstreamProtocolConfig, ReadsEachProtocol) {
  auto h2 = load_config_text(upstream_with_protocol("https://api.internal:8443", "h2"));
  ASSERT_TRUE(h2.ok()) << all_errors(h2);
  EXPECT_EQ(h2.config->upstreams[0].protocol, UpstreamProtocol::kH2);
  auto h2c = load_config_text(upstream_with_protocol("http://127.0.0.1:8080", "h2c"));
  ASSERT_TRUE(h2c.ok()) << all_errors(h2c);
  EXPECT_EQ(h2c.config->upstreams[0].protocol, UpstreamProtocol::kH2c);
  auto http1 = load_config_text(upstream_with_protocol("https://api.internal", "http1"));
  ASSERT_TRUE(http1.ok()) << all_errors(http1);
  EXPECT_EQ(http1.config->upstreams[0].protocol, UpstreamProtocol::kHttp1);
}

TEST(UpstreamProtocolConfig, EachProtocolNeedsItsKindOfTarget) {
  EXPECT_TRUE(has_error(load_config_text(upstream_with_protocol("http://127.0.0.1:8080", "h2")),
                        "upstreams[0].protocol", 4, 15, "needs https:// targets"));
  EXPECT_TRUE(has_error(load_config_text(upstream_with_protocol("https://api.internal", "h2c")),
                        "upstreams[0].protocol", 4, 15, "needs http:// targets"));
}

TEST(UpstreamProtocolConfig, HealthChecksAreHttp1Only) {
  auto result = load_config_text(yaml(R"(
upstreams:
  - name: api
    url: http://127.0.0.1:8080
    protocol: h2c
    healthCheck: {path: /health}
routes:
  - path: /*
    upstream: api
)"));
  EXPECT_TRUE(has_error(result, "upstreams[0].healthCheck", 5, 5, "probes speak HTTP/1.1"));
}

TEST(UpstreamProtocolConfig, WebSocketRoutesNeedAnHttp1Upstream) {
  const std::string upstreams = R"(
upstreams:
  - name: api
    url: http://127.0.0.1:8080
    protocol: h2c
  - name: plain
    url: http://127.0.0.1:8081
routes:
)";
  // The primary and the fallback upstream are both checked; the error points at the flag.
  auto primary = load_config_text(yaml(upstreams + "  - path: /ws/*\n    upstream: api\n    websocket: true\n"));
  EXPECT_TRUE(has_error(primary, "routes[0].websocket", 10, 16, "upstream 'api': it speaks HTTP/2"));
  auto fallback = load_config_text(
      yaml(upstreams + "  - path: /ws/*\n    upstream: plain\n    fallback: api\n    websocket: true\n"));
  EXPECT_TRUE(has_error(fallback, "routes[0].websocket", 11, 16, "it speaks HTTP/2"));
  // An HTTP/2 upstream on a route without websocket, and WebSocket to an HTTP/1.1 one, are fine.
  EXPECT_TRUE(load_config_text(yaml(upstreams + "  - path: /ws/*\n    upstream: plain\n    websocket: true\n"
                                                "  - path: /api/*\n    upstream: api\n"))
                  .ok());
}

TEST(UpstreamProtocolConfig, UnknownProtocolIsAnError) {
  EXPECT_TRUE(has_error(load_config_text(upstream_with_protocol("http://127.0.0.1:8080", "http2")),
                        "upstreams[0].protocol", 4, 15, "h2"));
}

}  // namespace
}  // namespace flexgate::config
