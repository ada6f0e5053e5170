// Request validation and client filtering through the real binary: route `validate`
// (contentTypes + jsonSchema: 415 / 400 / 422 / 413, exact forwarding of a checked body), broken
// schemas at load, underscore header names, allowFrom / denyFrom, and trustedProxies with
// X-Forwarded-For.
//
// Every refusal must be the gateway's JSON error, be logged with its status and "error", and never
// reach the upstream (a ScriptedUpstream records everything it receives).

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

// A temp directory holding `name` with `content`; returns the file's absolute path.
std::string write_in_temp_dir(const std::string& name, const std::string& content) {
  std::string dir = (std::filesystem::temp_directory_path() / "flexgate-schema-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return {};
  std::ofstream(dir + "/" + name) << content;
  return dir + "/" + name;
}

const std::string kUserSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["name", "age"],
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "age": {"type": "integer", "minimum": 0}
  },
  "additionalProperties": false
})";

// ─── validate: contentTypes + jsonSchema ───────────────────────────────────────────────────

class SecurityValidateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    schema_path_ = new std::string(write_in_temp_dir("user.schema.json", kUserSchema));
    upstream_ = new ScriptedUpstream([](const std::string&) { return kOk; });
    std::string routes =
        "  - path: \"/users/*\"\n    upstream: echo\n    maxBodySize: 1kb\n"
        "    validate:\n      contentTypes: [\"application/json\"]\n      jsonSchema: \"" + *schema_path_ + "\"\n";
    gateway_ = new Gateway(start_gateway(gateway_config(upstream_->port(), routes)));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(*schema_path_).parent_path(), ignored);
    delete schema_path_;
  }
  static Response send(const std::string& method, const std::string& target, const std::string& cid,
                       std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& body = "") {
    headers.emplace_back("X-Correlation-ID", cid);
    return request(gateway_->port, method, target, headers, body);
  }

  static std::string* schema_path_;
  static ScriptedUpstream* upstream_;
  static Gateway* gateway_;
};
std::string* SecurityValidateTest::schema_path_ = nullptr;
ScriptedUpstream* SecurityValidateTest::upstream_ = nullptr;
Gateway* SecurityValidateTest::gateway_ = nullptr;

TEST_F(SecurityValidateTest, WrongOrMissingContentTypeIs415) {
  std::string valid = R"({"name":"ada","age":36})";
  for (const std::string type : {"text/plain", "application/xml", "application/jsonx", ""}) {
    SCOPED_TRACE("Content-Type '" + type + "'");
    std::string cid = next_cid("type");
    std::vector<std::pair<std::string, std::string>> headers;
    if (!type.empty()) headers.emplace_back("Content-Type", type);
    auto response = send("POST", "/users/1", cid, headers, valid);
    expect_refused(*gateway_, *upstream_, response, 415, cid);
    EXPECT_EQ(response.json()["error"], "Unsupported Media Type");
  }
  // Parameters and case do not matter.
  std::string cid = next_cid("type-ok");
  EXPECT_EQ(send("POST", "/users/1", cid, {{"Content-Type", "Application/JSON; charset=utf-8"}}, valid).status, 200);
  EXPECT_TRUE(upstream_request_with(*upstream_, cid).has_value());
}

// config/examples/full.yml documents contentTypes entries as "type/subtype or type/*", and the
// config loader accepts "text/*" and "*/*" ("the route validator matches those too").
TEST(SecurityValidateConfig, ContentTypeRangeTypeStarIsAccepted) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  std::string routes = "  - path: \"/types/*\"\n    upstream: echo\n"
                       "    validate:\n      contentTypes: [\"application/json\", \"text/*\"]\n";
  std::string path = write_temp_file(gateway_config(upstream.port(), routes));
  auto [code, output] = run_flexgate({"validate", path});
  EXPECT_EQ(code, 0) << output;
  auto gateway = start_gateway(gateway_config(upstream.port(), routes));
  ASSERT_NE(gateway.port, 0);
  std::string star = next_cid("type-star");
  EXPECT_EQ(request(gateway.port, "POST", "/types/1", {{"X-Correlation-ID", star}, {"Content-Type", "text/csv"}}, "a,b")
                .status,
            200);
  std::string refused = next_cid("type-star-no");
  expect_refused(gateway, upstream,
                 request(gateway.port, "POST", "/types/1", {{"X-Correlation-ID", refused}, {"Content-Type", "image/png"}}, "x"),
                 415, refused);
}

TEST_F(SecurityValidateTest, WrongContentTypeIsRefusedBeforeTheBodyIsSent) {
  std::string cid = next_cid("type-early");
  Connection connection(gateway_->port);
  connection.send("POST /users/1 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + cid +
                  "\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response.has_value()) << "no answer before the body";
  expect_refused(*gateway_, *upstream_, *response, 415, cid);
  EXPECT_EQ(response->header("Connection"), "close");  // the unread body must not be parsed as a request
  EXPECT_TRUE(connection.wait_closed(10s));
}

TEST_F(SecurityValidateTest, BodyFailingTheSchemaIs422WithViolations) {
  std::string cid = next_cid("schema");
  auto response = send("POST", "/users/1", cid, {{"Content-Type", "application/json"}},
                       R"({"name":"","age":-1,"admin":true})");
  expect_refused(*gateway_, *upstream_, response, 422, cid);
  auto body = response.json();
  EXPECT_EQ(body["error"], "Unprocessable Content");  // RFC 9110 reason phrase
  ASSERT_TRUE(body.contains("violations")) << response.body;
  ASSERT_TRUE(body["violations"].is_array()) << response.body;
  ASSERT_FALSE(body["violations"].empty());
  std::string paths;
  for (const auto& violation : body["violations"]) {
    ASSERT_TRUE(violation.contains("path") && violation["path"].is_string()) << violation.dump();
    ASSERT_TRUE(violation.contains("message") && violation["message"].is_string()) << violation.dump();
    EXPECT_FALSE(violation["message"].get<std::string>().empty());
    paths += violation["path"].get<std::string>() + " ";
  }
  EXPECT_NE(paths.find("/age"), std::string::npos) << response.body;

  std::string missing = next_cid("schema-missing");
  auto missing_response = send("PUT", "/users/1", missing, {{"Content-Type", "application/json"}}, R"({"name":"x"})");
  expect_refused(*gateway_, *upstream_, missing_response, 422, missing);
  EXPECT_TRUE(missing_response.json()["violations"].is_array());
}

TEST_F(SecurityValidateTest, BodyThatIsNotJsonOrRepeatsAKeyIsRefused) {
  std::string broken = next_cid("not-json");
  expect_refused(*gateway_, *upstream_,
                 send("POST", "/users/1", broken, {{"Content-Type", "application/json"}}, R"({"name":"ada",)"), 400,
                 broken);
  std::string duplicate = next_cid("duplicate-key");
  expect_refused(*gateway_, *upstream_,
                 send("POST", "/users/1", duplicate, {{"Content-Type", "application/json"}},
                      R"({"name":"ada","age":1,"age":-5})"),
                 422, duplicate);
  std::string empty = next_cid("empty-post");
  expect_refused(*gateway_, *upstream_, send("POST", "/users/1", empty, {{"Content-Type", "application/json"}}), 400,
                 empty);
  std::string encoded = next_cid("gzip");
  expect_refused(*gateway_, *upstream_,
                 send("POST", "/users/1", encoded, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}},
                      R"({"name":"ada","age":36})"),
                 415, encoded);
}

TEST_F(SecurityValidateTest, ValidBodyIs200AndTheUpstreamGetsTheExactBody) {
  std::string body = R"({"name":"Ada Lovelace","age":36})";
  std::string cid = next_cid("valid");
  auto response = send("POST", "/users/1?q=1", cid, {{"Content-Type", "application/json"}}, body);
  ASSERT_EQ(response.status, 200) << response.body;
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->rfind("POST /users/1?q=1 HTTP/1.1\r\n", 0), 0u) << *seen;
  EXPECT_EQ(raw_body(*seen), body);
  EXPECT_EQ(raw_header(*seen, "Content-Length"), std::to_string(body.size()));
  auto log = wait_for_access_log(*gateway_->process, cid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["status"], 200);

  // A GET without a body is not validated.
  EXPECT_EQ(send("GET", "/users/1", next_cid("get")).status, 200);
}

TEST_F(SecurityValidateTest, ChunkedBodyIsCheckedAndForwardedWithContentLength) {
  std::string body = R"({"name":"Grace Hopper","age":85})";
  std::string cid = next_cid("chunked");
  Connection connection(gateway_->port);
  connection.send("POST /users/2 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + cid +
                  "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\n" + body.substr(0, 5) + "\r\n" +
                  "10\r\n" + body.substr(5, 16) + "\r\n" +
                  "b\r\n" + body.substr(21) + "\r\n0\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200) << response->body;
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_body(*seen), body);
  EXPECT_EQ(raw_header(*seen, "Content-Length"), std::to_string(body.size())) << head_of(*seen);
  EXPECT_FALSE(raw_has_header(*seen, "Transfer-Encoding")) << head_of(*seen);

  // The same route refuses an invalid chunked body.
  std::string invalid = next_cid("chunked-invalid");
  Connection second(gateway_->port);
  second.send("POST /users/2 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + invalid +
              "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              "c\r\n{\"name\":\"x\"}\r\n0\r\n\r\n");  // 12 bytes, missing "age"
  auto refused = second.read_response();
  ASSERT_TRUE(refused.has_value());
  expect_refused(*gateway_, *upstream_, *refused, 422, invalid);
}

TEST_F(SecurityValidateTest, BodyOverTheRouteMaxBodySizeIs413) {
  std::string big = R"({"name":")" + std::string(2000, 'x') + R"(","age":1})";
  std::string cid = next_cid("too-big");
  expect_refused(*gateway_, *upstream_, send("POST", "/users/1", cid, {{"Content-Type", "application/json"}}, big), 413,
                 cid);

  std::string chunked = next_cid("too-big-chunked");
  Connection connection(gateway_->port);
  std::string request_bytes = "POST /users/1 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + chunked +
                              "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < big.size(); at += 256) {
    std::string piece = big.substr(at, 256);
    request_bytes += to_hex(piece.size()) + "\r\n" + piece + "\r\n";
  }
  request_bytes += "0\r\n\r\n";
  connection.send(request_bytes);
  auto response = connection.read_response();
  ASSERT_TRUE(response.has_value());
  expect_refused(*gateway_, *upstream_, *response, 413, chunked);
  EXPECT_EQ(response->header("Connection"), "close");
}

TEST_F(SecurityValidateTest, RefusalAfterReadingTheBodyKeepsAPipelinedRequestInSync) {
  std::string refused = next_cid("pipe-422");
  std::string passed = next_cid("pipe-200");
  std::string invalid = R"({"name":"x","age":"old"})";
  std::string valid = R"({"name":"y","age":2})";
  Connection connection(gateway_->port);
  connection.send("POST /users/3 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + refused +
                  "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(invalid.size()) +
                  "\r\n\r\n" + invalid + "POST /users/4 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + passed +
                  "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(valid.size()) +
                  "\r\nConnection: close\r\n\r\n" + valid);
  auto first = connection.read_response();
  ASSERT_TRUE(first.has_value());
  expect_refused(*gateway_, *upstream_, *first, 422, refused);
  if (first->header("Connection") != "close") {
    auto second = connection.read_response();
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->status, 200) << second->body;
    auto seen = upstream_request_with(*upstream_, passed);
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(raw_body(*seen), valid);
  } else {
    EXPECT_TRUE(connection.wait_closed(10s));
  }
}

// A client sending Expect: 100-continue waits for "100 Continue" (or a final answer) before its
// body. The gateway must read the body to check it against the schema, so it must ask for it.
TEST_F(SecurityValidateTest, ExpectContinueIsAnsweredBeforeTheBodyIsBufferedForTheSchema) {
  std::string cid = next_cid("expect");
  std::string body = R"({"name":"Expect","age":100})";
  Connection connection(gateway_->port);
  std::string interim;
  auto response = send_expecting_continue(
      connection,
      "POST /users/5 HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + cid +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nExpect: 100-continue\r\n\r\n",
      body, interim);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u)
      << "no 100 Continue on a schema route for Expect: 100-continue; got '" << interim << "'";
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200) << response->body;
  auto seen = upstream_request_with(*upstream_, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_body(*seen), body);
}

TEST_F(SecurityValidateTest, RepeatedContentTypeIs400) {
  std::string cid = next_cid("two-types");
  expect_refused(*gateway_, *upstream_,
                 send("POST", "/users/1", cid, {{"Content-Type", "application/json"}, {"Content-Type", "text/plain"}},
                      R"({"name":"ada","age":36})"),
                 400, cid);
}

// ─── broken schemas are load errors ─────────────────────────────────────────────────────────

TEST(SecurityValidateConfig, BrokenSchemaIsAConfigErrorAtLoad) {
  std::string invalid_json = write_in_temp_dir("broken.json", "{\"type\": \"object\",\n  \"properties\": {\n");
  std::string invalid_schema = write_in_temp_dir("wrong.json", R"({"type": 12, "required": "name"})");
  std::string not_an_object = write_in_temp_dir("array.json", "[1, 2]");
  std::string remote_ref = write_in_temp_dir("ref.json", R"({"$ref": "http://example.com/schema.json"})");
  for (const std::string& schema : std::vector<std::string>
       {invalid_json, invalid_schema, not_an_object, remote_ref, std::string("/nonexistent/flexgate/schema.json")}) {
    SCOPED_TRACE(schema);
    std::string routes = "  - path: \"/users/*\"\n    upstream: echo\n"
                         "    validate:\n      jsonSchema: \"" + schema + "\"\n";
    std::string path = write_temp_file(gateway_config(8080, routes));
    auto [code, output] = run_flexgate({"validate", path});
    EXPECT_EQ(code, 1) << output;
    EXPECT_NE(output.find(path + ":"), std::string::npos) << output;
    EXPECT_NE(output.find("validate"), std::string::npos) << output;
    EXPECT_NE(output.find(std::filesystem::path(schema).filename().string()), std::string::npos) << output;
    ChildProcess run({FLEXGATE_BINARY, "run", "-c", path});
    EXPECT_EQ(run.wait_exit(10s), 1);
    EXPECT_FALSE(run.wait_for_line("\"listening\"", 0ms).has_value());
  }
}

// ─── header names with underscores ──────────────────────────────────────────────────────────

TEST(SecurityUnderscoreHeaders, AreRefusedByDefault) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  ASSERT_NE(gateway.port, 0);
  std::string cid = next_cid("underscore");
  Connection connection(gateway.port);
  connection.send("GET /x HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + cid +
                  "\r\nX_User: admin\r\nX-User: alice\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response.has_value());
  expect_refused(gateway, upstream, *response, 400, cid);
  EXPECT_NE(response->json()["message"].get<std::string>().find("X_User"), std::string::npos) << response->body;
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_TRUE(connection.wait_closed(10s));
  EXPECT_TRUE(upstream.requests().empty());
}

TEST(SecurityUnderscoreHeaders, AreDroppedInDropMode) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway =
      start_gateway(gateway_config(upstream.port(), kCatchAllRoute) + "security:\n  underscoreHeaders: drop\n");
  ASSERT_NE(gateway.port, 0);
  std::string cid = next_cid("underscore-drop");
  auto response = request(gateway.port, "GET", "/x",
                          {{"X-Correlation-ID", cid}, {"X_User", "admin"}, {"x_forwarded_for", "6.6.6.6"},
                           {"X-User", "alice"}});
  ASSERT_EQ(response.status, 200) << response.body;
  auto seen = upstream_request_with(upstream, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(raw_has_header(*seen, "X_User")) << *seen;
  EXPECT_FALSE(raw_has_header(*seen, "x_forwarded_for")) << *seen;
  EXPECT_EQ(seen->find("admin"), std::string::npos) << *seen;
  EXPECT_EQ(seen->find("6.6.6.6"), std::string::npos) << *seen;
  EXPECT_EQ(raw_header(*seen, "X-User"), "alice");
}

// ─── allowFrom / denyFrom ───────────────────────────────────────────────────────────────────

TEST(SecurityClientFilter, DeniedOrNotAllowedClientIs403) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  std::string routes =
      "  - path: \"/denied/*\"\n    upstream: echo\n    denyFrom: [\"127.0.0.1\"]\n"
      "  - path: \"/elsewhere/*\"\n    upstream: echo\n    allowFrom: [\"10.0.0.0/8\", \"::1\"]\n"
      "  - path: \"/carved/*\"\n    upstream: echo\n    allowFrom: [\"127.0.0.0/8\"]\n    denyFrom: [\"127.0.0.0/30\"]\n"
      "  - path: \"/local/*\"\n    upstream: echo\n    allowFrom: [\"127.0.0.0/8\"]\n    denyFrom: [\"127.0.0.2\"]\n";
  auto gateway = start_gateway(gateway_config(upstream.port(), routes));
  ASSERT_NE(gateway.port, 0);
  for (const std::string target : {"/denied/x", "/elsewhere/x", "/carved/x"}) {
    SCOPED_TRACE(target);
    std::string cid = next_cid("filter");
    auto response = request(gateway.port, "GET", target, {{"X-Correlation-ID", cid}});
    expect_refused(gateway, upstream, response, 403, cid);
    auto log = wait_for_access_log(*gateway.process, cid);
    ASSERT_TRUE(log.has_value());
    EXPECT_EQ((*log)["client"], "127.0.0.1");
  }
  // A client X-Forwarded-For changes nothing without trustedProxies.
  std::string spoofed = next_cid("filter-spoof");
  expect_refused(gateway, upstream,
                 request(gateway.port, "GET", "/denied/x", {{"X-Correlation-ID", spoofed}, {"X-Forwarded-For", "10.1.2.3"}}),
                 403, spoofed);
  std::string allowed = next_cid("filter-allowed");
  EXPECT_EQ(request(gateway.port, "GET", "/local/x", {{"X-Correlation-ID", allowed}}).status, 200);
  EXPECT_TRUE(upstream_request_with(upstream, allowed).has_value());
}

// ─── trustedProxies and X-Forwarded-For ─────────────────────────────────────────────────────

const std::string kGeoRoutes =
    "  - path: \"/geo/*\"\n    upstream: echo\n    denyFrom: [\"203.0.113.0/24\"]\n"
    "  - path: \"/open/*\"\n    upstream: echo\n";

TEST(SecurityTrustedProxies, ForwardedForFromATrustedPeerNamesTheClient) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kGeoRoutes) +
                               "security:\n  trustedProxies: [\"127.0.0.1\", \"10.0.0.0/8\"]\n");
  ASSERT_NE(gateway.port, 0);

  std::string denied = next_cid("xff-denied");
  auto response =
      request(gateway.port, "GET", "/geo/x", {{"X-Correlation-ID", denied}, {"X-Forwarded-For", "203.0.113.7"}});
  expect_refused(gateway, upstream, response, 403, denied);
  auto denied_log = wait_for_access_log(*gateway.process, denied);
  ASSERT_TRUE(denied_log.has_value());
  EXPECT_EQ((*denied_log)["client"], "203.0.113.7");

  std::string passed = next_cid("xff-open");
  ASSERT_EQ(request(gateway.port, "GET", "/open/x", {{"X-Correlation-ID", passed}, {"X-Forwarded-For", "203.0.113.7"}})
                .status,
            200);
  auto seen = upstream_request_with(upstream, passed);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_header(*seen, "X-Forwarded-For"), "203.0.113.7, 127.0.0.1") << head_of(*seen);
  auto passed_log = wait_for_access_log(*gateway.process, passed);
  ASSERT_TRUE(passed_log.has_value());
  EXPECT_EQ((*passed_log)["client"], "203.0.113.7");

  // The client is the rightmost untrusted hop; entries left of it are whatever the client said.
  std::string chain = next_cid("xff-chain");
  ASSERT_EQ(request(gateway.port, "GET", "/open/x",
                    {{"X-Correlation-ID", chain}, {"X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.1.1.1"}})
                .status,
            200);
  auto chain_log = wait_for_access_log(*gateway.process, chain);
  ASSERT_TRUE(chain_log.has_value());
  EXPECT_EQ((*chain_log)["client"], "203.0.113.9");
  auto chain_seen = upstream_request_with(upstream, chain);
  ASSERT_TRUE(chain_seen.has_value());
  EXPECT_EQ(raw_header(*chain_seen, "X-Forwarded-For"), "198.51.100.1, 203.0.113.9, 10.1.1.1, 127.0.0.1");

  // Spoofing an allowed address to the left of the real client does not help.
  std::string spoof = next_cid("xff-spoof");
  expect_refused(gateway, upstream,
                 request(gateway.port, "GET", "/geo/x",
                         {{"X-Correlation-ID", spoof}, {"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}}),
                 403, spoof);
}

TEST(SecurityTrustedProxies, ForwardedForFromAnUntrustedPeerIsIgnored) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kGeoRoutes) +
                               "security:\n  trustedProxies: [\"10.0.0.0/8\"]\n");
  ASSERT_NE(gateway.port, 0);
  std::string cid = next_cid("xff-untrusted");
  auto response =
      request(gateway.port, "GET", "/geo/x", {{"X-Correlation-ID", cid}, {"X-Forwarded-For", "203.0.113.7"}});
  ASSERT_EQ(response.status, 200) << response.body;  // the client is the peer, 127.0.0.1: not denied
  auto seen = upstream_request_with(upstream, cid);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(raw_header(*seen, "X-Forwarded-For"), "127.0.0.1") << head_of(*seen);
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["client"], "127.0.0.1");
}

}  // namespace
}  // namespace flexgate::testing
