// `flexgate explain`: the real binary says what it would do with a request, sends nothing.

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "integration/harness.h"
#include "integration/raw_message.h"

namespace flexgate::testing {
namespace {

// sha256("alice-key"), from `flexgate hash-key` as an operator would get it.
std::string alice_digest() {
  auto [code, output] = run_flexgate({"hash-key", "alice-key"});
  EXPECT_EQ(code, 0);
  return output.substr(0, 64);
}

std::string explain_config() {
  return R"(proxy: { port: 0, workers: 1 }
upstreams:
  - name: users
    url: "http://127.0.0.1:9"
    retries: 1
  - name: legacy
    url: "http://127.0.0.1:10"
routes:
  - path: "/users/*"
    upstream: legacy
    auth: none
  - path: "/users/:id"
    upstream: users
    methods: [GET]
    rewrite: "/v1/users/${path.id}"
    auth: none
  - path: "/internal/*"
    host: "*.internal"
    upstream: legacy
  - path: "/api/*"
    upstream: users
    stripPrefix: true
    rateLimit: { max: 5, windowMs: 1s }
security:
  auth:
    keys: [{ key: ")" +
         alice_digest() + R"(", name: alice }]
)";
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(ExplainCli, TextNamesTheRouteWhyTheOthersLostTheForwardPathAndPolicies) {
  const std::string path = write_temp_file(explain_config());
  auto [code, out] = run_flexgate({"explain", "-c", path, "GET", "http://api.example.com/users/42?x=1"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(has(out, "Request     GET http://api.example.com/users/42?x=1\n")) << out;
  EXPECT_TRUE(has(out, "  Host      api.example.com (from the URL)\n")) << out;
  EXPECT_TRUE(has(out, "Verdict     forwarded to upstream users as GET /v1/users/42?x=1\n")) << out;
  EXPECT_TRUE(has(out, "Target      /users/42?x=1  (normalized)\n")) << out;
  EXPECT_TRUE(has(out, "Route       routes[1] /users/:id [GET] -> upstream users\n")) << out;
  EXPECT_TRUE(has(out, "  why       the most specific of 2 matching routes: segment 2: :id beats *\n"))
      << out;
  EXPECT_TRUE(has(out, "  params    id=42\n")) << out;
  EXPECT_TRUE(has(out,
                  "less-specific    matches, but routes[1] /users/:id is more specific than /users/* "
                  "(segment 2: :id beats *)\n"))
      << out;
  EXPECT_TRUE(has(out, "host-mismatch    host api.example.com does not match *.internal\n")) << out;
  EXPECT_TRUE(
      has(out, "path-mismatch    path /users/42 does not match /api/* (segment 1 is 'users', not 'api')\n"))
      << out;
  EXPECT_TRUE(has(out, "Forward     GET /v1/users/42?x=1\n")) << out;
  EXPECT_TRUE(has(out, "  path rule rewrite /users/:id -> /v1/users/${path.id}\n")) << out;
  EXPECT_TRUE(has(out, "  Host      127.0.0.1:9 (the target's)\n")) << out;
  EXPECT_TRUE(has(out, "      127.0.0.1             allowed by the egress guard\n")) << out;
  EXPECT_TRUE(has(out, "    retries       1 on connect-failure, timeout, 502, 503, 504")) << out;
  EXPECT_TRUE(has(out, "  auth         skip     auth: none on this route\n")) << out;
  EXPECT_TRUE(has(out, "  rateLimit    skip")) << out;
}

TEST(ExplainCli, PoliciesThatApplyAndRefuse) {
  const std::string path = write_temp_file(explain_config());
  // Required auth (the default with security.auth) without a key: refused, but a route matched.
  auto [code, out] = run_flexgate({"explain", "-c", path, "POST", "/api/orders", "--client", "10.1.2.3"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(has(out, "Verdict     refused with 401 by auth: missing API key (X-API-Key header)\n")) << out;
  EXPECT_TRUE(has(out, "  client    10.1.2.3 (assumed peer")) << out;
  EXPECT_TRUE(has(out, "Forward     POST /orders\n")) << out;
  EXPECT_TRUE(has(out, "  path rule stripPrefix /api\n")) << out;
  EXPECT_TRUE(has(out, "  auth         401      missing API key (X-API-Key header)\n")) << out;
  EXPECT_TRUE(has(out, "route     5 per 1s, key client -> bucket ip 10.1.2.3\n")) << out;
  EXPECT_TRUE(has(out, "not for this request: POST is not idempotent")) << out;

  auto [known_code, known] =
      run_flexgate({"explain", "-c", path, "GET", "/api/orders", "-H", "X-API-Key: alice-key"});
  EXPECT_EQ(known_code, 0) << known;
  EXPECT_TRUE(has(known, "  auth         pass     required: X-API-Key is the key of client \"alice\"\n"))
      << known;
  EXPECT_TRUE(has(known, "route     5 per 1s, key client -> bucket client alice\n")) << known;
  EXPECT_TRUE(has(known, "  dropped   X-API-Key: credential (forwardCredentials: false)\n")) << known;
}

TEST(ExplainCli, JsonIsOneObjectWithStableFields) {
  const std::string path = write_temp_file(explain_config());
  auto [code, out] = run_flexgate(
      {"explain", "-c", path, "GET", "/api/orders?page=2", "-H", "X-API-Key: alice-key", "--json"});
  ASSERT_EQ(code, 0) << out;
  const nlohmann::json json = nlohmann::json::parse(out);
  EXPECT_EQ(json["outcome"], "forwarded");
  EXPECT_EQ(json["status"], 0);
  EXPECT_EQ(json["request"]["method"], "GET");
  EXPECT_EQ(json["request"]["hostSource"], "none");
  EXPECT_EQ(json["target"]["path"], "/api/orders");
  EXPECT_EQ(json["target"]["query"], "page=2");
  EXPECT_EQ(json["routing"]["status"], "matched");
  EXPECT_EQ(json["routing"]["chosen"], 3);
  ASSERT_EQ(json["routing"]["routes"].size(), 4u);
  EXPECT_EQ(json["routing"]["routes"][2]["outcome"], "host-mismatch");
  EXPECT_EQ(json["routing"]["routes"][2]["reason"], "no Host was given; this route needs host *.internal");
  EXPECT_EQ(json["forward"]["target"], "/orders?page=2");
  EXPECT_EQ(json["forward"]["rule"], "stripPrefix /api");
  EXPECT_EQ(json["upstreams"][0]["name"], "users");
  EXPECT_EQ(json["upstreams"][0]["targets"][0]["addresses"][0]["address"], "127.0.0.1");
  EXPECT_EQ(json["upstreams"][0]["targets"][0]["addresses"][0]["allowed"], true);
  EXPECT_EQ(json["upstreams"][0]["retry"]["attempts"], 1);
  EXPECT_EQ(json["upstreams"][0]["retry"]["appliesToThisRequest"], true);
  EXPECT_EQ(json["timeouts"]["firstByteMs"], 30000);
  ASSERT_EQ(json["policies"].size(), 8u);
  EXPECT_EQ(json["policies"][5]["name"], "auth");
  EXPECT_EQ(json["policies"][5]["verdict"], "pass");
  EXPECT_EQ(json["policies"][5]["facts"]["client"], "alice");
  EXPECT_EQ(json["policies"][6]["name"], "rateLimit");
  EXPECT_EQ(json["policies"][6]["verdict"], "applies");
  EXPECT_EQ(json["policies"][6]["levels"][0]["bucket"], "client alice");

  auto [missing_code, missing] = run_flexgate({"explain", "-c", path, "GET", "/nowhere", "--json"});
  EXPECT_EQ(missing_code, 2);
  const nlohmann::json not_found = nlohmann::json::parse(missing);
  EXPECT_EQ(not_found["outcome"], "not-found");
  EXPECT_EQ(not_found["status"], 404);
}

TEST(ExplainCli, ExitCodes) {
  const std::string path = write_temp_file(explain_config());
  auto [not_found, not_found_out] = run_flexgate({"explain", "-c", path, "GET", "/nowhere"});
  EXPECT_EQ(not_found, 2);
  EXPECT_TRUE(has(not_found_out, "Verdict     404: no route matches\n")) << not_found_out;
  EXPECT_TRUE(has(not_found_out, "Route       none (404)\n")) << not_found_out;

  auto [not_allowed, not_allowed_out] = run_flexgate({"explain", "-c", path, "DELETE", "/users/7"});
  EXPECT_EQ(not_allowed, 0) << not_allowed_out;  // /users/* takes any method
  auto [refused, refused_out] = run_flexgate({"explain", "-c", path, "GET", "/users/a%2Fb"});
  EXPECT_EQ(refused, 2);
  EXPECT_TRUE(has(refused_out, "Verdict     refused with 400 before routing: encoded slash (%2F) in path\n"))
      << refused_out;
  auto [dots, dots_out] = run_flexgate({"explain", "-c", path, "GET", "/api/../users/7"});
  EXPECT_EQ(dots, 0);
  EXPECT_TRUE(has(dots_out, "Target      /users/7  (normalized)\n")) << dots_out;

  auto [usage, usage_out] = run_flexgate({"explain", "GET", "/x"});
  EXPECT_EQ(usage, 1);
  EXPECT_TRUE(has(usage_out, "-c FILE is required")) << usage_out;
  auto [bad_header, bad_header_out] = run_flexgate({"explain", "-c", path, "GET", "/x", "-H", "no colon"});
  EXPECT_EQ(bad_header, 1);
  auto [bad_client, bad_client_out] = run_flexgate({"explain", "-c", path, "GET", "/x", "--client", "nope"});
  EXPECT_EQ(bad_client, 1);
}

TEST(ExplainCli, MethodNotAllowedIsExitTwoWithTheAllowList) {
  const std::string path = write_temp_file(R"(proxy: { port: 0, workers: 1 }
upstreams: [{ name: a, url: "http://127.0.0.1:9" }]
routes:
  - { path: "/orders", upstream: a, methods: [GET] }
)");
  auto [code, out] = run_flexgate({"explain", "-c", path, "POST", "/orders"});
  EXPECT_EQ(code, 2);
  EXPECT_TRUE(has(out, "Verdict     405: the path matches, but not for POST (Allow: GET, HEAD)\n")) << out;
  EXPECT_TRUE(has(out, "method-mismatch  method POST not in [GET]\n")) << out;
}

TEST(ExplainCli, AConfigTypoIsReportedLikeValidate) {
  const std::string path = write_temp_file(R"(proxy: { port: 0 }
upstreams: [{ name: a, url: "http://127.0.0.1:9" }]
routes:
  - path: "/x"
    upstrem: a
)");
  auto [code, out] = run_flexgate({"explain", "-c", path, "GET", "/x"});
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(has(out, path + ":5:5: routes[0].upstrem:")) << out;
  EXPECT_TRUE(has(out, "the configuration was not loaded")) << out;
  EXPECT_FALSE(has(out, "Verdict")) << out;
}

// ─── transformations: explain against what the running proxy does ──────────────────────────

using Fields = std::vector<std::pair<std::string, std::string>>;

const std::string kTransformConfig = R"(proxy: { host: 127.0.0.1, port: 0, workers: 1 }
securityHeaders: true
upstreams:
  - name: backend
    url: "http://127.0.0.1:UPSTREAM_PORT"
    headers:
      request:
        set: { X-Env: upstream-level, X-Region: "${env.FLEXGATE_EXPLAIN_IT_REGION}" }
routes:
  - path: "/users/:id"
    upstream: backend
    rewrite: "/v2/users/${path.id}"
    headers:
      request:
        set: { X-Env: route-level, X-User-Id: "${path.id}", X-Client-IP: "${client_ip}", X-Cid: "${correlation_id}" }
        add: { X-Via: flexgate, X-Tenant-Copy: "${request.header.X-Tenant}" }
        remove: [X-Debug]
        rename: { X-Old: X-New }
      response:
        set: { Cache-Control: no-store }
        add: { X-Served-By: "${upstream}" }
    cors:
      allowOrigins: ["https://app.example.com"]
      allowMethods: [GET, PUT]
      allowHeaders: [Content-Type]
      allowCredentials: true
      maxAge: 10m
  - path: "/old/*"
    upstream: backend
    rewrite: { regex: "^/old/([a-z]+)/(.*)$", replace: "/new/$2/$1" }
)";

// Every field of a raw head after the request line, in order.
Fields head_fields(const std::string& raw) {
  Fields out;
  const std::string head = head_of(raw);
  std::size_t at = head.find("\r\n") + 2;
  while (at < head.size()) {
    const std::size_t end = head.find("\r\n", at);
    const std::string line = head.substr(at, end - at);
    const std::size_t colon = line.find(':');
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out.emplace_back(line.substr(0, colon), value);
    at = end + 2;
  }
  return out;
}

Fields json_fields(const nlohmann::json& array) {
  Fields out;
  for (const nlohmann::json& field : array) out.emplace_back(field["name"], field["value"]);
  return out;
}

class ExplainTransformCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("FLEXGATE_EXPLAIN_IT_REGION", "eu-explain-1", 1);
    upstream_ = new ScriptedUpstream([](const std::string&) {
      return std::string(
          "HTTP/1.1 200 OK\r\nServer: app/1.0\r\nX-Powered-By: PHP\r\nCache-Control: max-age=60\r\n"
          "Access-Control-Allow-Origin: *\r\nContent-Length: 2\r\n\r\nok");
    });
    yaml_ = kTransformConfig;
    yaml_.replace(yaml_.find("UPSTREAM_PORT"), 13, std::to_string(upstream_->port()));
    gateway_ = new Gateway(start_gateway(yaml_));
    config_path_ = write_temp_file(yaml_);
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
    ::unsetenv("FLEXGATE_EXPLAIN_IT_REGION");
  }

  // `flexgate explain --json` for the request the harness's request() sends (Host: localhost,
  // Connection: close, then `headers`).
  static nlohmann::json explain(const std::string& method, const std::string& target, const Fields& headers) {
    std::vector<std::string> args = {"explain", "-c",     config_path_, method,
                                     target,    "--json", "-H",         "Host: localhost"};
    for (const auto& [name, value] : headers) {
      args.emplace_back("-H");
      args.push_back(name + ": " + value);
    }
    args.emplace_back("-H");
    args.emplace_back("Connection: close");
    auto [code, out] = run_flexgate(args);
    EXPECT_EQ(code, 0) << out;
    return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  }

  // Sends the request through the gateway; the response and the raw request the upstream got.
  static std::pair<Response, std::string> send(const std::string& method, const std::string& target,
                                               const Fields& headers) {
    const std::size_t before = upstream_->requests().size();
    Response response = request(gateway_->port, method, target, headers);
    const auto received = upstream_->requests();
    return {response, received.size() > before ? received.back() : std::string()};
  }

  static ScriptedUpstream* upstream_;
  static Gateway* gateway_;
  static std::string yaml_;
  static std::string config_path_;
};
ScriptedUpstream* ExplainTransformCli::upstream_ = nullptr;
Gateway* ExplainTransformCli::gateway_ = nullptr;
std::string ExplainTransformCli::yaml_;
std::string ExplainTransformCli::config_path_;

TEST_F(ExplainTransformCli, TheRequestHeadersExplainShowsAreTheOnesTheUpstreamGets) {
  const Fields headers = {{"X-Correlation-ID", "explain-it-1"},
                          {"X-Tenant", "acme"},
                          {"X-Debug", "1"},
                          {"X-Old", "renamed"},
                          {"X-Env", "spoofed"},
                          {"Origin", "https://app.example.com"}};
  const nlohmann::json json = explain("GET", "/users/42?full=1", headers);
  ASSERT_EQ(json["outcome"], "forwarded") << json.dump(2);
  auto [response, raw] = send("GET", "/users/42?full=1", headers);
  ASSERT_EQ(response.status, 200) << response.body;

  // The request line, and the client's fields after the operations: everything between Host and
  // the gateway's own X-Forwarded-For, in order.
  EXPECT_EQ(raw.substr(0, raw.find("\r\n")),
            "GET " + json["forward"]["target"].get<std::string>() + " HTTP/1.1");
  Fields forwarded;
  for (const auto& field : head_fields(raw)) {
    if (lower(field.first) == "x-forwarded-for") break;
    if (lower(field.first) != "host") forwarded.push_back(field);
  }
  ASSERT_EQ(json["headers"].size(), 1u);
  EXPECT_EQ(json_fields(json["headers"][0]["request"]["result"]), forwarded) << raw;
  // Every variable was known for this request: no placeholder is left.
  EXPECT_EQ(json["headers"][0]["request"]["result"].dump().find("${"), std::string::npos);

  // The response: hidden fields gone, the operations, the security headers, the CORS fields.
  for (const auto& hidden : json["headers"][0]["response"]["hidden"]) {
    const std::string name = hidden["name"];
    if (name != "Access-Control-*") {
      EXPECT_EQ(response.header(name), "") << name;
    }
  }
  EXPECT_EQ(response.header("Cache-Control"), json["headers"][0]["response"]["operations"][0]["value"]);
  EXPECT_EQ(response.header("X-Served-By"), json["headers"][0]["response"]["operations"][1]["value"]);
  for (const auto& [name, value] : json_fields(json["headers"][0]["response"]["securityHeaders"])) {
    EXPECT_EQ(response.header(name), value) << name;
  }
  ASSERT_EQ(json["cors"]["allowed"], true);
  for (const auto& [name, value] : json_fields(json["cors"]["headers"])) {
    EXPECT_EQ(response.header(name), value) << name;
  }
}

TEST_F(ExplainTransformCli, ThePreflightAnswerExplainShowsIsTheGatewaysAnswer) {
  const Fields headers = {{"X-Correlation-ID", "explain-it-2"},
                          {"Origin", "https://app.example.com"},
                          {"Access-Control-Request-Method", "PUT"}};
  const nlohmann::json json = explain("OPTIONS", "/users/42", headers);
  EXPECT_EQ(json["outcome"], "preflight") << json.dump(2);
  EXPECT_EQ(json["status"], 204);
  auto [response, raw] = send("OPTIONS", "/users/42", headers);
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(raw, "") << "a preflight never reaches the upstream";
  const Fields answer = json_fields(json["cors"]["headers"]);
  ASSERT_GE(answer.size(), 5u);
  for (const auto& [name, value] : answer) EXPECT_EQ(response.header(name), value) << name;

  // Text: the answer, line by line.
  std::vector<std::string> args = {"explain", "-c", config_path_, "OPTIONS", "/users/42"};
  for (const auto& [name, value] : headers) {
    args.emplace_back("-H");
    args.push_back(name + ": " + value);
  }
  auto [code, out] = run_flexgate(args);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(has(out,
                  "Verdict     CORS preflight for PUT answered by the gateway with 204; origin "
                  "https://app.example.com allowed\n"))
      << out;
  EXPECT_TRUE(has(out, "            Access-Control-Allow-Methods: GET, PUT\n")) << out;
}

TEST_F(ExplainTransformCli, TheRegexRewriteExplainShowsIsThePathTheUpstreamGets) {
  for (const std::string& target : std::vector<std::string>{"/old/reports/2024/q1?format=csv", "/old/123"}) {
    const nlohmann::json json = explain("GET", target, {});
    auto [response, raw] = send("GET", target, {});
    ASSERT_EQ(response.status, 200) << target;
    EXPECT_EQ(raw.substr(0, raw.find("\r\n")),
              "GET " + json["forward"]["target"].get<std::string>() + " HTTP/1.1");
  }
  auto [code, out] = run_flexgate({"explain", "-c", config_path_, "GET", "/old/reports/2024/q1"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(has(out, "Forward     GET /new/2024/q1/reports\n")) << out;
  EXPECT_TRUE(
      has(out, "  path rule regex ^/old/([a-z]+)/(.*)$ -> /new/$2/$1 (matches /old/reports/2024/q1)\n"))
      << out;
}

}  // namespace
}  // namespace flexgate::testing
