// HTTP/2 from clients through the real binary, driven by curl and h2load (nghttp2-client): h2
// over TLS (ALPN) and h2c with prior knowledge, request bodies with and without content-length,
// many concurrent streams, and the same policies as HTTP/1.1 (auth here). Malformed frames and
// floods are unit-tested against the session (tests/unit/http2/).

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "support/test_pki.h"

namespace flexgate::testing {
namespace {

class Http2Integration : public ::testing::Test {
 protected:
  std::string config(const std::string& proxy_extra, const std::string& routes_extra = "") {
    return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 2\n" + proxy_extra +
           "upstreams:\n  - name: echo\n    url: \"http://127.0.0.1:" + std::to_string(echo_.port) +
           "\"\nroutes:\n" + routes_extra + "  - path: \"/*\"\n    upstream: echo\nlogging:\n  level: info\n";
  }
  std::string tls_proxy() const {
    return "  tls:\n    cert: " + server_.cert + "\n    key: " + server_.key + "\n  http2: {enabled: true}\n";
  }

  TestPki pki_;
  CertPaths server_ = pki_.issue("server", "localhost", {"localhost"}, {"127.0.0.1"});
  EchoServer echo_ = start_echo_server();
};

TEST_F(Http2Integration, H2OverTlsIsChosenByAlpnAndProxied) {
  auto gateway = start_gateway(config(tls_proxy()));
  const std::string url = "https://localhost:" + std::to_string(gateway.port) + "/hello";
  const std::string out = run_command("curl -sS --http2 --cacert " + pki_.ca() + " -H 'X-Correlation-ID: h2-tls-1' -w '\\n%{http_version} %{http_code}' " + url);
  ASSERT_NE(out.find("\n2 200"), std::string::npos) << out;
  const auto body = nlohmann::json::parse(out.substr(0, out.rfind('\n')));
  EXPECT_EQ(body["path"], "/hello");
  EXPECT_EQ(body["headers"]["x-forwarded-proto"], "https");
  EXPECT_EQ(body["headers"]["host"].get<std::string>().find("127.0.0.1:"), 0u);  // the upstream's Host
  auto line = wait_for_access_log(*gateway.process, "h2-tls-1");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["protocol"], "HTTP/2");
  EXPECT_EQ((*line)["status"], 200);
  // An HTTP/1.1 client on the same port is still served.
  const std::string h1 = run_command("curl -sS --http1.1 --cacert " + pki_.ca() + " -o /dev/null -w '%{http_version} %{http_code}' " + url);
  EXPECT_EQ(h1, "1.1 200");
}

TEST_F(Http2Integration, H2cWithPriorKnowledgeCarriesBodiesBothWays) {
  auto gateway = start_gateway(config("  http2: {h2c: true}\n"));
  const std::string base = "http://127.0.0.1:" + std::to_string(gateway.port);
  const std::string path = pki_.dir() + "/body.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 300000; ++i) out << static_cast<char>('a' + i % 26);
  }
  // With content-length (curl --data-binary) and without (stdin upload: chunked for HTTP/1.1).
  const std::string sized = run_command("curl -sS --http2-prior-knowledge --data-binary @" + path + " " + base + "/sized");
  EXPECT_EQ(nlohmann::json::parse(sized)["bodySize"], 300000) << sized.substr(0, 300);
  const std::string streamed = run_command("curl -sS --http2-prior-knowledge -T - " + base + "/streamed < " + path);
  const auto streamed_json = nlohmann::json::parse(streamed);
  EXPECT_EQ(streamed_json["bodySize"], 300000);
  EXPECT_EQ(streamed_json["headers"]["transfer-encoding"], "chunked");
  // A large response body through the client's flow-control window.
  const std::string big = run_command("curl -sS --http2-prior-knowledge -o /dev/null -w '%{size_download} %{http_version}' '" +
                              base + "/bytes/2000000'");
  EXPECT_EQ(big, "2000000 2") << big;
  // Without h2c the preface is not HTTP/1.1 and is refused (the conformance suite has the bytes).
  auto plain = start_gateway(config(""));
  const std::string refused = run_command("curl -sS --http2-prior-knowledge -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                                  std::to_string(plain.port) + "/x");
  EXPECT_NE(refused, "200");
}

TEST_F(Http2Integration, AClientWithASmallWindowGetsEveryResponseByteInOrder) {
  // A 16 KiB window (nghttp -w 14 -W 14) on a 2 MB body: the client's window paces the stream, so
  // response bytes wait in the stream's pipe and its Session's writes wait for them to be taken.
  // Both framings the Session writes: a length, and chunks decoded a window's room at a time.
  auto gateway = start_gateway(config("  http2: {h2c: true}\n"));
  for (const std::string path : {"/bytes/2000000", "/chunked/2000000"}) {
    const std::string direct = run_command("curl -sS 'http://127.0.0.1:" + std::to_string(echo_.port) + path + "' | sha256sum");
    const std::string proxied = run_command("nghttp -w 14 -W 14 'http://127.0.0.1:" + std::to_string(gateway.port) + path +
                                            "' | sha256sum");
    ASSERT_EQ(direct.size(), 68u) << direct;  // a digest, two spaces and "-"
    ASSERT_NE(direct.substr(0, 64), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // no bytes
    EXPECT_EQ(proxied, direct) << path;
  }
}

TEST_F(Http2Integration, ManyConcurrentStreamsAllSucceed) {
  auto gateway = start_gateway(config("  http2: {h2c: true, maxConcurrentStreams: 50}\n"));
  const std::string out = run_command("h2load -n 600 -c 3 -m 40 http://127.0.0.1:" + std::to_string(gateway.port) + "/load");
  EXPECT_NE(out.find("600 succeeded, 0 failed, 0 errored"), std::string::npos) << out;
  EXPECT_NE(out.find("status codes: 600 2xx"), std::string::npos) << out;
}

TEST_F(Http2Integration, PoliciesApplyToEveryStream) {
  const std::string routes =
      "  - path: \"/private/*\"\n    upstream: echo\n    auth: required\n";
  auto gateway = start_gateway(config("  http2: {h2c: true}\n", routes) +
                               "security:\n  auth:\n    type: apiKey\n    header: X-API-Key\n    keys:\n"
                               "      - key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
                               "        name: \"Client A\"\n");
  const std::string base = "http://127.0.0.1:" + std::to_string(gateway.port);
  EXPECT_EQ(run_command("curl -sS --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' " + base + "/private/x"),
            "2 401");
  EXPECT_EQ(run_command("curl -sS --http2-prior-knowledge -H 'X-API-Key: test' -o /dev/null -w '%{http_version} %{http_code}' " +
                base + "/private/x"),
            "2 200");
}

TEST_F(Http2Integration, UploadsTheGatewayAnswersWithoutReadingStillEnd) {
  // Each 3 MB upload is refused (401) before its body is read: the rest of the body is discarded
  // and its window reopened, so the client can finish sending and the stream ends. Before, the
  // stream waited for a window that never opened, and nghttp waited with it.
  const std::string routes = "  - path: \"/private/*\"\n    upstream: echo\n    auth: required\n";
  auto gateway = start_gateway(config("  http2: {h2c: true}\n", routes) +
                               "security:\n  auth:\n    type: apiKey\n    header: X-API-Key\n    keys:\n"
                               "      - key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
                               "        name: \"Client A\"\n");
  const std::string path = pki_.dir() + "/upload.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 3000000; ++i) out << static_cast<char>('a' + i % 26);
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(gateway.port);
  // `timeout`: without the fix nghttp never ends; the test then fails instead of hanging.
  const std::string out = run_command("timeout 60 nghttp -s -d " + path + " " + base + "/private/a " + base +
                                      "/private/b " + base + "/private/c");
  int refused = 0;
  for (std::size_t at = out.find(" 401 "); at != std::string::npos; at = out.find(" 401 ", at + 1)) ++refused;
  EXPECT_EQ(refused, 3) << out;
}

TEST_F(Http2Integration, ManyMixedCaseResponseFieldsArriveLowercaseAndIntact) {
  // 40 response fields with mixed-case names (more than the 32 a header list holds inline), on
  // two streams of one connection: each name is lowered into the connection's buffer and each
  // value is sent from the pipe, for the first response and again for the other.
  std::string fields;
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    fields += (fields.empty() ? "" : ", ") + ("X-Field-" + n + "-Of-Many: value-" + n + "-" + std::string(i, 'v'));
  }
  const std::string routes = "  - path: \"/many/*\"\n    upstream: echo\n    headers:\n      response:\n        add: { " +
                             fields + " }\n";
  auto gateway = start_gateway(config("  http2: {h2c: true}\n", routes));
  const std::string base = "http://127.0.0.1:" + std::to_string(gateway.port) + "/many/";
  // nghttp, not curl: curl 7.88 fails a second request on a reused prior-knowledge connection
  // (against nghttpd too).
  const std::string out = run_command("nghttp -nv " + base + "x " + base + "y");
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    const std::string line = ") x-field-" + n + "-of-many: value-" + n + "-" + std::string(i, 'v') + "\n";
    std::size_t seen = 0;
    for (std::size_t at = out.find(line); at != std::string::npos; at = out.find(line, at + 1)) ++seen;
    EXPECT_EQ(seen, 2u) << line << out;
  }
  EXPECT_EQ(out.find("X-Field"), std::string::npos) << out;
}

}  // namespace
}  // namespace flexgate::testing
