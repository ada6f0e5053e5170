// Security policies through the real binary: API keys (required / optional / none routes, custom
// header, credential stripping, secrecy of keys in the gateway's output, keep-alive after an
// early refusal) and HMAC request signing, driven by tests/integration/hmac_example.sh (bash,
// openssl, curl) so the documented recipe and the gateway are checked against each other.
//
// Every refusal must be the gateway's JSON error, be logged with its status and "error", and never
// reach the upstream (a ScriptedUpstream records everything it receives).

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

std::size_t upstream_requests_with(ScriptedUpstream& upstream, const std::string& needle) {
  std::size_t count = 0;
  for (const auto& raw : upstream.requests()) count += raw.find(needle) != std::string::npos ? 1 : 0;
  return count;
}

// `flexgate hash-key KEY`: what the config stores.
std::string hash_key(const std::string& key) {
  auto [code, output] = run_flexgate({"hash-key", key});
  EXPECT_EQ(code, 0) << output;
  if (!output.empty() && output.back() == '\n') output.pop_back();
  EXPECT_EQ(output.size(), 64u) << output;
  return output;
}

// Every stdout line and the stderr of the gateway, for secrecy checks.
std::string all_output(Gateway& gateway) {
  std::string text;
  for (const auto& line : gateway.process->lines()) text += line + "\n";
  return text + gateway.process->stderr_text();
}

std::string security_auth_yaml(const std::string& body) { return "security:\n  auth:\n" + body; }

// ─── API keys ───────────────────────────────────────────────────────────────────────────────

const std::string kAlphaKey = "fgk_live_Alpha_7c1d9e52b4";
const std::string kBetaKey = "fgk_live_Beta_0a9f33e1c8";
const std::string kUnknownKey = "fgk_live_Unknown_55d0c1";

class SecurityApiKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new ScriptedUpstream([](const std::string&) { return kOk; });
    std::string routes =
        "  - path: \"/req/*\"\n    upstream: echo\n    auth: required\n"
        "  - path: \"/opt/*\"\n    upstream: echo\n    auth: optional\n"
        "  - path: \"/none/*\"\n    upstream: echo\n    auth: none\n"
        "  - path: \"/fwd/*\"\n    upstream: echo\n    auth: required\n    forwardCredentials: true\n"
        "  - path: \"/default/*\"\n    upstream: echo\n";
    std::string security = security_auth_yaml(
        "    type: apiKey\n    keys:\n"
        "      - key: \"" + hash_key(kAlphaKey) + "\"\n        name: \"alpha-client\"\n"
        "      - key: \"" + hash_key(kBetaKey) + "\"\n        name: \"beta-client\"\n");
    gateway_ = new Gateway(start_gateway(gateway_config(upstream_->port(), routes) + security));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
  }
  static std::uint16_t port() { return gateway_->port; }

  static Response send(const std::string& method, const std::string& target, const std::string& cid,
                       std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& body = "") {
    headers.emplace_back("X-Correlation-ID", cid);
    return request(port(), method, target, headers, body);
  }

  static ScriptedUpstream* upstream_;
  static Gateway* gateway_;
};
ScriptedUpstream* SecurityApiKeyTest::upstream_ = nullptr;
Gateway* SecurityApiKeyTest::gateway_ = nullptr;

TEST_F(SecurityApiKeyTest, RequiredRouteWithoutKeyIs401WithChallenge) {
  std::string cid = next_cid("nokey");
  auto response = send("GET", "/req/a", cid);
  expect_refused(*gateway_, *upstream_, response, 401, cid);
  EXPECT_EQ(response.header("WWW-Authenticate"), "ApiKey header=\"X-API-Key\"");
  EXPECT_EQ(response.json()["error"], "Unauthorized");
}

TEST_F(SecurityApiKeyTest, RouteWithoutAuthKeyDefaultsToRequired) {
  std::string cid = next_cid("default");
  auto response = send("GET", "/default/a", cid);
  expect_refused(*gateway_, *upstream_, response, 401, cid);
  EXPECT_FALSE(response.header("WWW-Authenticate").empty());
}

TEST_F(SecurityApiKeyTest, UnknownOrEmptyKeyIs403) {
  std::string cid = next_cid("unknown");
  auto response = send("GET", "/req/a", cid, {{"X-API-Key", kUnknownKey}});
  expect_refused(*gateway_, *upstream_, response, 403, cid);
  EXPECT_EQ(response.json()["error"], "Forbidden");
  EXPECT_EQ(response.body.find(kUnknownKey), std::string::npos) << "the presented key is echoed";

  std::string empty_cid = next_cid("empty");
  expect_refused(*gateway_, *upstream_, send("GET", "/req/a", empty_cid, {{"X-API-Key", ""}}), 403, empty_cid);
}

TEST_F(SecurityApiKeyTest, RepeatedKeyFieldIs400) {
  std::string cid = next_cid("twice");
  auto response = send("GET", "/req/a", cid, {{"X-API-Key", kAlphaKey}, {"x-api-key", kBetaKey}});
  expect_refused(*gateway_, *upstream_, response, 400, cid);
}

TEST_F(SecurityApiKeyTest, ValidKeyPassesAndTheKeyIsNotForwarded) {
  std::string cid = next_cid("valid");
  auto response = send("GET", "/req/resource?x=1", cid, {{"x-api-key", kAlphaKey}, {"X-Other", "kept"}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, "ok");
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->rfind("GET /req/resource?x=1 HTTP/1.1\r\n", 0), 0u) << *seen;
  EXPECT_FALSE(raw_has_header(*seen, "X-API-Key")) << *seen;
  EXPECT_EQ(seen->find(kAlphaKey), std::string::npos) << *seen;
  EXPECT_EQ(raw_header(*seen, "X-Other"), "kept");
  auto log = wait_for_access_log(*gateway_->process, cid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["status"], 200);
  EXPECT_EQ((*log)["clientName"], "alpha-client");
  EXPECT_FALSE(log->contains("error"));
}

TEST_F(SecurityApiKeyTest, ForwardCredentialsKeepsTheKeyHeader) {
  std::string cid = next_cid("fwd");
  auto response = send("GET", "/fwd/x", cid, {{"X-API-Key", kBetaKey}});
  ASSERT_EQ(response.status, 200) << response.body;
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_header(*seen, "X-API-Key"), kBetaKey) << *seen;
  auto log = wait_for_access_log(*gateway_->process, cid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["clientName"], "beta-client");
}

TEST_F(SecurityApiKeyTest, OptionalRoutePassesAnonymousAndKnownKeysButRefusesUnknownOnes) {
  std::string anonymous = next_cid("opt-anon");
  ASSERT_EQ(send("GET", "/opt/x", anonymous).status, 200);
  auto anonymous_log = wait_for_access_log(*gateway_->process, anonymous);
  ASSERT_TRUE(anonymous_log.has_value());
  EXPECT_FALSE(anonymous_log->contains("clientName")) << anonymous_log->dump();
  EXPECT_TRUE(upstream_request_with(*upstream_, anonymous).has_value());

  std::string known = next_cid("opt-known");
  ASSERT_EQ(send("GET", "/opt/x", known, {{"X-API-Key", kAlphaKey}}).status, 200);
  auto known_log = wait_for_access_log(*gateway_->process, known);
  ASSERT_TRUE(known_log.has_value());
  EXPECT_EQ((*known_log)["clientName"], "alpha-client");
  auto seen = upstream_request_with(*upstream_, known);
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(raw_has_header(*seen, "X-API-Key"));

  std::string unknown = next_cid("opt-unknown");
  expect_refused(*gateway_, *upstream_, send("GET", "/opt/x", unknown, {{"X-API-Key", kUnknownKey}}), 403, unknown);
}

TEST_F(SecurityApiKeyTest, NoneRoutePassesEverythingButStillStripsTheKey) {
  std::string anonymous = next_cid("none-anon");
  ASSERT_EQ(send("GET", "/none/x", anonymous).status, 200);
  EXPECT_TRUE(upstream_request_with(*upstream_, anonymous).has_value());

  for (const std::string& key : {kAlphaKey, kUnknownKey}) {
    std::string cid = next_cid("none-key");
    ASSERT_EQ(send("GET", "/none/x", cid, {{"X-API-Key", key}}).status, 200);
    auto seen = upstream_request_with(*upstream_, cid);
    ASSERT_TRUE(seen.has_value());
    EXPECT_FALSE(raw_has_header(*seen, "X-API-Key")) << "an auth: none route leaked the key upstream";
    auto log = wait_for_access_log(*gateway_->process, cid);
    ASSERT_TRUE(log.has_value());
    EXPECT_FALSE(log->contains("clientName")) << "auth: none does not authenticate: " << log->dump();
  }
}

TEST_F(SecurityApiKeyTest, KeysNeverAppearInTheGatewayOutputButTheirNamesDo) {
  std::vector<std::string> cids;
  for (const std::string target : {"/req/s", "/opt/s", "/none/s", "/fwd/s", "/default/s"}) {
    for (const std::string& key : {kAlphaKey, kBetaKey, kUnknownKey}) {
      cids.push_back(next_cid("secret"));
      send("POST", target + "?k=1", cids.back(), {{"X-API-Key", key}}, "payload");
    }
  }
  for (const auto& cid : cids) ASSERT_TRUE(wait_for_access_log(*gateway_->process, cid).has_value()) << cid;
  std::string output = all_output(*gateway_);
  for (const std::string& key : {kAlphaKey, kBetaKey, kUnknownKey}) {
    EXPECT_EQ(output.find(key), std::string::npos) << "key " << key << " printed by the gateway";
  }
  EXPECT_NE(output.find("\"clientName\":\"alpha-client\""), std::string::npos);
  EXPECT_NE(output.find("\"clientName\":\"beta-client\""), std::string::npos);
}

// An early refusal of a request whose body was not read must not let that body be read as the
// next request: either the connection closes after the refusal, or the next request on it is
// answered correctly. The body is made of complete, validly authenticated requests, so a desync
// would show as "smuggled" requests at the upstream. The bytes are sent from another thread, as a
// client that does not wait for the answer would.
// `open_prefix` + "/..." is a path the follow-up (and a smuggled) request may use with
// `credential_lines`.
void expect_early_refusal_keeps_connection_in_sync(Gateway& gateway, ScriptedUpstream& upstream,
                                                   const std::string& refused_target, std::size_t body_size,
                                                   const std::string& open_prefix,
                                                   const std::vector<std::string>& credential_lines,
                                                   int expected_status) {
  std::string smuggled = "GET " + open_prefix + "/smuggled HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& line : credential_lines) smuggled += line + "\r\n";
  smuggled += "\r\n";
  std::string body;
  while (body.size() < body_size) body += smuggled;
  body.resize(body_size);
  std::string first_cid = next_cid("early");
  std::string second_cid = next_cid("after");
  std::string first = "POST " + refused_target + " HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + first_cid +
                      "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                      body;
  std::string second = "GET " + open_prefix + "/after HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + second_cid + "\r\n";
  for (const auto& line : credential_lines) second += line + "\r\n";
  second += "Connection: close\r\n\r\n";

  Connection connection(gateway.port);
  ASSERT_TRUE(connection.connected());
  std::atomic<bool> sent_all{false};
  std::thread sender([&] { sent_all = connection.send(first + second); });
  auto refusal = connection.read_response();
  bool closed_or_answered = false;
  if (refusal) {
    EXPECT_TRUE(IsJsonError(*refusal, expected_status));
    if (lower(refusal->header("Connection")) == "close") {
      closed_or_answered = connection.wait_closed(10s);
      EXPECT_TRUE(closed_or_answered) << "Connection: close announced but the connection stayed open";
    } else {
      auto next = connection.read_response();
      ASSERT_TRUE(next.has_value()) << "the connection was kept alive but the next request got no answer";
      EXPECT_EQ(next->status, 200) << next->body;
      EXPECT_EQ(next->header("X-Correlation-ID"), second_cid);
      auto seen = upstream_request_with(upstream, second_cid);
      ASSERT_TRUE(seen.has_value());
      EXPECT_EQ(seen->rfind("GET " + open_prefix + "/after HTTP/1.1\r\n", 0), 0u);
      closed_or_answered = true;
    }
  }
  ::shutdown(connection.fd(), SHUT_RDWR);  // unblocks the sender if the gateway stopped reading
  sender.join();
  ASSERT_TRUE(refusal.has_value()) << "no " << expected_status << " response for a " << body_size
                                   << "-byte body (connection closed or reset first; sent all: " << sent_all << ")";
  auto log = wait_for_access_log(*gateway.process, first_cid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["status"], expected_status);
  EXPECT_EQ(upstream_requests_with(upstream, "smuggled"), 0u) << "the refused request's body was parsed as requests";
  EXPECT_FALSE(upstream_request_with(upstream, first_cid).has_value());
  EXPECT_TRUE(closed_or_answered);
}

TEST_F(SecurityApiKeyTest, EarlyRefusalWithSmallBodyKeepsTheConnectionInSync) {
  expect_early_refusal_keeps_connection_in_sync(*gateway_, *upstream_, "/req/upload", 300, "/req",
                                                {"X-API-Key: " + kAlphaKey}, 401);
}

TEST_F(SecurityApiKeyTest, EarlyRefusalWithLargeBodyKeepsTheConnectionInSync) {
  expect_early_refusal_keeps_connection_in_sync(*gateway_, *upstream_, "/req/upload", 4 << 20, "/req",
                                                {"X-API-Key: " + kAlphaKey}, 401);
}

TEST(SecurityApiKeyCustomHeader, TheConfiguredHeaderCarriesTheKeyAndIsStripped) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  std::string security = security_auth_yaml("    header: X-Client-Token\n    keys:\n      - key: \"" +
                                            hash_key(kAlphaKey) + "\"\n        name: \"token-client\"\n");
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute) + security);
  ASSERT_NE(gateway.port, 0);

  std::string missing = next_cid("custom-missing");
  auto refused = request(gateway.port, "GET", "/x", {{"X-Correlation-ID", missing}, {"X-API-Key", kAlphaKey}});
  expect_refused(gateway, upstream, refused, 401, missing);
  EXPECT_EQ(refused.header("WWW-Authenticate"), "ApiKey header=\"X-Client-Token\"");

  std::string unknown = next_cid("custom-unknown");
  expect_refused(gateway, upstream,
                 request(gateway.port, "GET", "/x", {{"X-Correlation-ID", unknown}, {"X-Client-Token", kUnknownKey}}),
                 403, unknown);

  std::string valid = next_cid("custom-valid");
  auto passed = request(gateway.port, "GET", "/x", {{"X-Correlation-ID", valid}, {"x-client-token", kAlphaKey}});
  ASSERT_EQ(passed.status, 200) << passed.body;
  auto seen = upstream_request_with(upstream, valid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(raw_has_header(*seen, "X-Client-Token")) << *seen;
  auto log = wait_for_access_log(*gateway.process, valid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["clientName"], "token-client");
  std::string output = all_output(gateway);
  EXPECT_EQ(output.find(kAlphaKey), std::string::npos);
  EXPECT_EQ(output.find(kUnknownKey), std::string::npos);
}

// ─── HMAC signing through tests/integration/hmac_example.sh ────────────────────────────────

const std::string kSignerKey = "fgk_sign_Gamma_19be77c02d";
const std::string kSignerSecret = "hmac-secret-Gamma-7731";

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs a shell command; returns {exit code, stdout+stderr}.
std::pair<int, std::string> shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// The tools the script needs; a clear failure (not a skip) when one is missing.
::testing::AssertionResult script_tools_present(std::string* curl_path = nullptr) {
  for (const char* tool : {"bash", "openssl", "curl"}) {
    auto [code, path] = shell(std::string("command -v ") + tool);
    if (code != 0 || trimmed(path).empty()) {
      return ::testing::AssertionFailure()
             << tool << " is not installed: tests/integration/hmac_example.sh needs bash, openssl and curl "
             << "(Debian packages bash, openssl, curl: apt-get install openssl curl; scripts/install-deps.sh "
             << "installs curl)";
    }
    if (curl_path != nullptr && std::string(tool) == "curl") *curl_path = trimmed(path);
  }
  return ::testing::AssertionSuccess();
}

// A directory with a `curl` wrapper placed first on PATH: it can tamper with the request in
// transit (TAMPER_FROM replaced by TAMPER_TO in every curl argument: URL, method, headers, body)
// after the script signed it, and keep the response (CAPTURE_DIR/headers and /body) instead of
// discarding it.
std::string make_curl_shim(const std::string& real_curl) {
  std::string dir = (std::filesystem::temp_directory_path() / "flexgate-curl-shim-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return {};
  std::ofstream(dir + "/curl") << "#!/usr/bin/env bash\n"
                                  "args=()\n"
                                  "for a in \"$@\"; do\n"
                                  "  if [[ -n ${TAMPER_FROM:-} ]]; then a=${a//\"$TAMPER_FROM\"/\"$TAMPER_TO\"}; fi\n"
                                  "  if [[ -n ${CAPTURE_DIR:-} && $a == /dev/null ]]; then a=$CAPTURE_DIR/body; fi\n"
                                  "  args+=(\"$a\")\n"
                                  "done\n"
                                  "if [[ -n ${CAPTURE_DIR:-} ]]; then args+=(-D \"$CAPTURE_DIR/headers\"); fi\n"
                                  "exec " + shell_quote(real_curl) + " \"${args[@]}\"\n";
  ::chmod((dir + "/curl").c_str(), 0755);
  return dir;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SecurityHmacTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new ScriptedUpstream([](const std::string&) { return kOk; });
    std::string routes =
        "  - path: \"/api/*\"\n    upstream: echo\n    auth: required\n"
        "  - path: \"/open/*\"\n    upstream: echo\n    auth: none\n";
    std::string security = security_auth_yaml("    type: hmac\n    maxSkew: 5m\n    keys:\n      - key: \"" +
                                              hash_key(kSignerKey) + "\"\n        name: \"signer\"\n" +
                                              "        hmacSecret: \"" + kSignerSecret + "\"\n");
    gateway_ = new Gateway(start_gateway(gateway_config(upstream_->port(), routes) + security));
    std::string curl;
    if (script_tools_present(&curl)) shim_dir_ = new std::string(make_curl_shim(curl));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
    if (shim_dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*shim_dir_, ignored);
    }
    delete shim_dir_;
    shim_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(script_tools_present());
    ASSERT_NE(shim_dir_, nullptr);
    ASSERT_FALSE(shim_dir_->empty());
    ASSERT_NE(gateway_->port, 0);
  }

  // Runs hmac_example.sh PORT KEY SECRET [METHOD] [TARGET] [BODY] through the curl shim; returns
  // the status it printed ("" and a failure when it did not print one).
  static std::string run_script(const std::vector<std::string>& args,
                                const std::vector<std::pair<std::string, std::string>>& env = {}) {
    std::string command = "env PATH=" + shell_quote(*shim_dir_ + ":" + std::getenv("PATH"));
    for (const auto& [name, value] : env) command += " " + name + "=" + shell_quote(value);
    command += " bash " + shell_quote(std::string(FLEXGATE_SOURCE_DIR) + "/tests/integration/hmac_example.sh") + " " +
               std::to_string(gateway_->port);
    for (const auto& arg : args) command += " " + shell_quote(arg);
    auto [code, output] = shell(command);
    EXPECT_EQ(code, 0) << command << "\n" << output;
    return trimmed(output);
  }

  static std::string now_plus(long seconds) { return std::to_string(static_cast<long>(std::time(nullptr)) + seconds); }

  // The access-log lines of requests to `path`, once there are `count` of them.
  static std::vector<nlohmann::json> access_logs_for_path(const std::string& path, std::size_t count) {
    std::vector<nlohmann::json> found;
    gateway_->process->wait_for_line_matching([&](const std::string& line) {
      auto json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_discarded() || !json.is_object() || json.value("type", "") != "access" ||
          json.value("path", "") != path) {
        return false;
      }
      found.push_back(json);
      return found.size() >= count;
    });
    return found;
  }

  // A refusal of the script's request to `path`: logged with `status` and an error, not forwarded.
  static void expect_script_refused(const std::string& path, int status) {
    auto logs = access_logs_for_path(path, 1);
    ASSERT_EQ(logs.size(), 1u) << "no access log line for " << path;
    EXPECT_EQ(logs[0]["status"], status) << logs[0].dump();
    EXPECT_TRUE(logs[0].contains("error")) << logs[0].dump();
    EXPECT_EQ(upstream_requests_with(*upstream_, " " + path), 0u) << path << " reached the upstream";
  }

  static ScriptedUpstream* upstream_;
  static Gateway* gateway_;
  static std::string* shim_dir_;
};
ScriptedUpstream* SecurityHmacTest::upstream_ = nullptr;
Gateway* SecurityHmacTest::gateway_ = nullptr;
std::string* SecurityHmacTest::shim_dir_ = nullptr;

TEST_F(SecurityHmacTest, CorrectlySignedGetIs200AndCredentialsAreNotForwarded) {
  EXPECT_EQ(run_script({kSignerKey, kSignerSecret, "GET", "/api/signed-get?name=flexgate&b=2"}), "200");
  auto seen = upstream_request_with(*upstream_, "GET /api/signed-get?name=flexgate&b=2 HTTP/1.1");
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(raw_has_header(*seen, "X-API-Key")) << *seen;
  EXPECT_FALSE(raw_has_header(*seen, "X-Timestamp")) << *seen;
  EXPECT_FALSE(raw_has_header(*seen, "X-Signature")) << *seen;
  auto logs = access_logs_for_path("/api/signed-get", 1);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0]["status"], 200);
  EXPECT_EQ(logs[0]["clientName"], "signer");
}

TEST_F(SecurityHmacTest, CorrectlySignedPostIs200AndTheUpstreamGetsTheExactBody) {
  std::string body = R"({"item":"book","qty":2})";
  EXPECT_EQ(run_script({kSignerKey, kSignerSecret, "POST", "/api/signed-post?dry=1", body}), "200");
  auto seen = upstream_request_with(*upstream_, "POST /api/signed-post?dry=1 HTTP/1.1");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_body(*seen), body);
  EXPECT_EQ(raw_header(*seen, "Content-Length"), std::to_string(body.size()));
}

TEST_F(SecurityHmacTest, WrongSecretOrUnknownKeyIs403) {
  EXPECT_EQ(run_script({kSignerKey, "not-the-secret", "GET", "/api/wrong-secret"}), "403");
  expect_script_refused("/api/wrong-secret", 403);
  EXPECT_EQ(run_script({"fgk_nobody_000", kSignerSecret, "GET", "/api/unknown-signer"}), "403");
  expect_script_refused("/api/unknown-signer", 403);
}

TEST_F(SecurityHmacTest, RequestTamperedAfterSigningIs403) {
  struct Tamper {
    std::string name, method, target, body, from, to, refused_path;
  };
  std::string timestamp = now_plus(0);
  const std::vector<Tamper> cases = {
      {"body", "POST", "/api/tamper-body", R"({"item":"book","qty":2})", "\"qty\":2", "\"qty\":200",
       "/api/tamper-body"},
      {"query", "POST", "/api/tamper-query?dry=1", R"({"a":1})", "dry=1", "dry=0", "/api/tamper-query"},
      {"path", "GET", "/api/tamper-path-a", "", "tamper-path-a", "tamper-path-b", "/api/tamper-path-b"},
      {"method", "POST", "/api/tamper-method", R"({"a":1})", "POST", "PUT", "/api/tamper-method"},
      {"timestamp", "GET", "/api/tamper-time", "", "X-Timestamp: " + timestamp,
       "X-Timestamp: " + std::to_string(std::stol(timestamp) - 1), "/api/tamper-time"},
  };
  for (const auto& tamper : cases) {
    SCOPED_TRACE("tampered " + tamper.name);
    std::vector<std::string> args = {kSignerKey, kSignerSecret, tamper.method, tamper.target};
    if (!tamper.body.empty()) args.push_back(tamper.body);
    EXPECT_EQ(run_script(args, {{"TIMESTAMP", timestamp}, {"TAMPER_FROM", tamper.from}, {"TAMPER_TO", tamper.to}}),
              "403");
    expect_script_refused(tamper.refused_path, 403);
  }
}

TEST_F(SecurityHmacTest, ReplayingTheSameSignedRequestIs403) {
  std::string timestamp = now_plus(0);
  std::vector<std::string> args = {kSignerKey, kSignerSecret, "POST", "/api/replay?n=1", R"({"pay":100})"};
  EXPECT_EQ(run_script(args, {{"TIMESTAMP", timestamp}}), "200");
  EXPECT_EQ(run_script(args, {{"TIMESTAMP", timestamp}}), "403");
  auto logs = access_logs_for_path("/api/replay", 2);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0]["status"], 200);
  EXPECT_EQ(logs[1]["status"], 403);
  EXPECT_EQ(logs[1]["error"], "forbidden");
  EXPECT_EQ(upstream_requests_with(*upstream_, "POST /api/replay?n=1 HTTP/1.1"), 1u);
}

TEST_F(SecurityHmacTest, TimestampOutsideMaxSkewIs401WithTheHmacChallenge) {
  for (long offset : {-3600L, 3600L}) {
    SCOPED_TRACE("timestamp offset " + std::to_string(offset));
    std::string capture = (std::filesystem::temp_directory_path() / "flexgate-capture-XXXXXX").string();
    ASSERT_NE(::mkdtemp(capture.data()), nullptr);
    std::string path = "/api/stale" + std::to_string(offset < 0 ? 0 : 1);
    EXPECT_EQ(run_script({kSignerKey, kSignerSecret, "GET", path}, {{"TIMESTAMP", now_plus(offset)}, {"CAPTURE_DIR", capture}}),
              "401");
    expect_script_refused(path, 401);
    std::string headers = read_text(capture + "/headers");
    EXPECT_NE(headers.find("WWW-Authenticate: HMAC-SHA256 header=\"X-API-Key\", timestampHeader=\"X-Timestamp\", "
                           "signatureHeader=\"X-Signature\""),
              std::string::npos)
        << headers;
    EXPECT_NE(lower(headers).find("content-type: application/json"), std::string::npos) << headers;
    auto body = nlohmann::json::parse(read_text(capture + "/body"), nullptr, false);
    ASSERT_FALSE(body.is_discarded());
    EXPECT_EQ(body["error"], "Unauthorized");
    EXPECT_TRUE(body["message"].is_string());
    EXPECT_TRUE(body["correlationId"].is_string());
    std::error_code ignored;
    std::filesystem::remove_all(capture, ignored);
  }
}

TEST_F(SecurityHmacTest, KeyWithoutSignatureIs401AndNoKeyIs401) {
  std::string unsigned_cid = next_cid("unsigned");
  auto response = request(gateway_->port, "GET", "/api/unsigned", {{"X-Correlation-ID", unsigned_cid}, {"X-API-Key", kSignerKey}});
  expect_refused(*gateway_, *upstream_, response, 401, unsigned_cid);
  EXPECT_NE(response.header("WWW-Authenticate").find("HMAC-SHA256"), std::string::npos);
  std::string anonymous_cid = next_cid("hmac-anon");
  expect_refused(*gateway_, *upstream_, request(gateway_->port, "GET", "/api/anon", {{"X-Correlation-ID", anonymous_cid}}),
                 401, anonymous_cid);
}

TEST_F(SecurityHmacTest, KeyAndSecretNeverAppearInTheGatewayOutput) {
  EXPECT_EQ(run_script({kSignerKey, kSignerSecret, "GET", "/api/secrecy"}), "200");
  EXPECT_EQ(run_script({kSignerKey, "bad-secret", "GET", "/api/secrecy-bad"}), "403");
  ASSERT_EQ(access_logs_for_path("/api/secrecy-bad", 1).size(), 1u);
  std::string output = all_output(*gateway_);
  EXPECT_EQ(output.find(kSignerKey), std::string::npos);
  EXPECT_EQ(output.find(kSignerSecret), std::string::npos);
}

// With signing in use the body is read before the refusal, so the connection may stay usable.
TEST_F(SecurityHmacTest, EarlyRefusalWithSmallBodyKeepsTheConnectionInSync) {
  expect_early_refusal_keeps_connection_in_sync(*gateway_, *upstream_, "/api/upload", 300, "/open", {}, 401);
}

TEST_F(SecurityHmacTest, EarlyRefusalWithLargeBodyKeepsTheConnectionInSync) {
  expect_early_refusal_keeps_connection_in_sync(*gateway_, *upstream_, "/api/upload", 4 << 20, "/open", {}, 401);
}

// HMAC-SHA256 hex of the canonical string, with the openssl CLI (as docs/auth.md does).
std::string sign(const std::string& secret, const std::string& method, const std::string& path,
                 const std::string& query, const std::string& timestamp, const std::string& body) {
  std::string body_file = write_temp_file(body, ".body");  // a large body would not fit in argv
  auto [body_code, body_digest] = shell("openssl dgst -sha256 -r < " + shell_quote(body_file) + " | cut -d' ' -f1");
  ::unlink(body_file.c_str());
  EXPECT_EQ(body_code, 0) << body_digest;
  std::string canonical = method + "\n" + path + "\n" + query + "\n" + timestamp + "\n" + trimmed(body_digest);
  auto [code, signature] = shell("printf '%s' " + shell_quote(canonical) + " | openssl dgst -sha256 -hmac " +
                                 shell_quote(secret) + " -r | cut -d' ' -f1");
  EXPECT_EQ(code, 0) << signature;
  return trimmed(signature);
}

std::string signed_request(const std::string& method, const std::string& path, const std::string& query,
                           const std::string& body, const std::string& timestamp, const std::string& cid,
                           bool chunked = false) {
  std::string raw = method + " " + path + (query.empty() ? "" : "?" + query) + " HTTP/1.1\r\nHost: localhost\r\n" +
                    "X-Correlation-ID: " + cid + "\r\nX-API-Key: " + kSignerKey + "\r\nX-Timestamp: " + timestamp +
                    "\r\nX-Signature: " + sign(kSignerSecret, method, path, query, timestamp, body) + "\r\n";
  if (chunked) {
    return raw + "Transfer-Encoding: chunked\r\n\r\n" + to_hex(body.size() / 2) + "\r\n" + body.substr(0, body.size() / 2) +
           "\r\n" + to_hex(body.size() - body.size() / 2) + "\r\n" + body.substr(body.size() / 2) + "\r\n0\r\n\r\n";
  }
  if (!body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return raw + "\r\n" + body;
}

TEST_F(SecurityHmacTest, PipelinedSignedRequestsOnOneConnectionAreEachCheckedAndForwarded) {
  std::string timestamp = now_plus(0);
  std::string first_cid = next_cid("pipe-1");
  std::string second_cid = next_cid("pipe-2");
  std::string third_cid = next_cid("pipe-3");
  std::string first_body = R"({"n":1})";
  Connection connection(gateway_->port);
  // All three in one write: the second head is already buffered while the first body is read.
  connection.send(signed_request("POST", "/api/pipe", "a=1", first_body, timestamp, first_cid) +
                  signed_request("GET", "/api/pipe", "a=2", "", timestamp, second_cid) +
                  signed_request("PUT", "/api/pipe", "a=3", R"({"n":3})", timestamp, third_cid, /*chunked=*/true));
  for (const auto& cid : {first_cid, second_cid, third_cid}) {
    auto response = connection.read_response();
    ASSERT_TRUE(response.has_value()) << cid;
    EXPECT_EQ(response->status, 200) << response->body;
    EXPECT_EQ(response->header("X-Correlation-ID"), cid);
  }
  auto first = upstream_request_with(*upstream_, first_cid);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->rfind("POST /api/pipe?a=1 HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(raw_body(*first), first_body);
  auto second = upstream_request_with(*upstream_, second_cid);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->rfind("GET /api/pipe?a=2 HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(raw_body(*second), "");
  auto third = upstream_request_with(*upstream_, third_cid);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(raw_body(*third), R"({"n":3})");
  EXPECT_EQ(raw_header(*third, "Content-Length"), "7");
  EXPECT_FALSE(raw_has_header(*third, "Transfer-Encoding"));
  for (const auto* seen : {&*first, &*second, &*third}) {
    EXPECT_FALSE(raw_has_header(*seen, "X-Signature"));
    EXPECT_FALSE(raw_has_header(*seen, "X-Timestamp"));
    EXPECT_FALSE(raw_has_header(*seen, "X-API-Key"));
  }
}

// A body larger than the gateway's 64 KiB read buffer always arrives in several reads after the
// head, so buffering it for the signature check reuses the buffer the head was read into.
TEST_F(SecurityHmacTest, SignedRequestWithABodyLargerThanTheReadBufferIs200) {
  std::string timestamp = now_plus(0);
  std::string cid = next_cid("large-signed");
  std::string body = R"({"data":")" + std::string(200 * 1024, 'd') + R"("})";
  Connection connection(gateway_->port);
  connection.send(signed_request("POST", "/api/large", "v=1", body, timestamp, cid));
  auto response = connection.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200) << response->body;
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value()) << "a correctly signed request with a large body was refused";
  EXPECT_EQ(raw_body(*seen), body);
}

// A client sending Expect: 100-continue waits for "100 Continue" (or a final answer) before its
// body. The gateway must read the body to check the signature, so it must ask for it.
TEST_F(SecurityHmacTest, ExpectContinueIsAnsweredBeforeTheBodyIsBufferedForTheSignature) {
  std::string timestamp = now_plus(0);
  std::string cid = next_cid("expect");
  std::string body = R"({"expect":"continue"})";
  std::string head = signed_request("POST", "/api/expect", "", body, timestamp, cid);
  head = head.substr(0, head.size() - body.size() - 2) + "Expect: 100-continue\r\n\r\n";
  Connection connection(gateway_->port);
  std::string interim;
  auto response = send_expecting_continue(connection, head, body, interim);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u)
      << "no 100 Continue for a signed request with Expect: 100-continue; got '" << interim << "'";
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200) << response->body;
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_body(*seen), body);
}

// A reload keeps the replay cache (a captured request stays refused) and revokes removed keys.
TEST(SecurityAuthReload, ReplayCacheSurvivesReloadAndRemovedKeysAreRevoked) {
  ASSERT_TRUE(script_tools_present());
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  std::string keys = "    type: apiKey\n    keys:\n"
                     "      - key: \"" + hash_key(kSignerKey) + "\"\n        name: \"signer\"\n" +
                     "        hmacSecret: \"" + kSignerSecret + "\"\n";
  std::string with_alpha = keys + "      - key: \"" + hash_key(kAlphaKey) + "\"\n        name: \"alpha-client\"\n";
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute) + security_auth_yaml(with_alpha));
  ASSERT_NE(gateway.port, 0);

  std::string timestamp = std::to_string(static_cast<long>(std::time(nullptr)));
  std::string captured = signed_request("GET", "/replay-after-reload", "", "", timestamp, next_cid("captured"));
  Connection first(gateway.port);
  first.send(captured);
  auto accepted = first.read_response();
  ASSERT_TRUE(accepted.has_value());
  ASSERT_EQ(accepted->status, 200) << accepted->body;
  std::string alpha_before = next_cid("alpha-before");
  ASSERT_EQ(request(gateway.port, "GET", "/a", {{"X-Correlation-ID", alpha_before}, {"X-API-Key", kAlphaKey}}).status,
            200);

  // Reload without alpha's key (same file, rewritten), and with a wider maxSkew.
  std::ofstream(gateway.config_path, std::ios::trunc)
      << gateway_config(upstream.port(), kCatchAllRoute) + security_auth_yaml("    maxSkew: 10m\n" + keys);
  gateway.process->signal(SIGHUP);
  ASSERT_TRUE(gateway.process->wait_for_line("\"config_reloaded\"")) << gateway.process->stderr_text();

  std::string replay_cid = next_cid("replayed");
  Connection second(gateway.port);
  std::string replay = captured;
  replay.replace(replay.find("X-Correlation-ID: ") + 18, replay.find("\r\n", replay.find("X-Correlation-ID: ")) -
                                                            replay.find("X-Correlation-ID: ") - 18,
                 replay_cid);
  second.send(replay);
  auto replayed = second.read_response();
  ASSERT_TRUE(replayed.has_value());
  expect_refused(gateway, upstream, *replayed, 403, replay_cid);

  std::string alpha_after = next_cid("alpha-after");
  expect_refused(gateway, upstream,
                 request(gateway.port, "GET", "/a", {{"X-Correlation-ID", alpha_after}, {"X-API-Key", kAlphaKey}}), 403,
                 alpha_after);
  EXPECT_EQ(all_output(gateway).find(kAlphaKey), std::string::npos);
}

TEST(SecurityAuthConfig, ARawKeyPastedInsteadOfItsDigestIsRefusedWithoutEchoingIt) {
  std::string yaml = gateway_config(8080, kCatchAllRoute) +
                     security_auth_yaml("    keys:\n      - key: \"" + kAlphaKey + "\"\n        name: \"pasted\"\n");
  std::string path = write_temp_file(yaml);
  auto [code, output] = run_flexgate({"validate", path});
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find(path + ":"), std::string::npos) << output;
  EXPECT_EQ(output.find(kAlphaKey), std::string::npos) << output;
}

}  // namespace
}  // namespace flexgate::testing
