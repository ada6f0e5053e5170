// `flexgate explain`: the real binary says what it would do with a request, sends nothing.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "integration/harness.h"

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

}  // namespace
}  // namespace flexgate::testing
