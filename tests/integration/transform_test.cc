// Transformations through the real binary (issue #11): header operations with every variable,
// route over upstream, path rewrites (template and RE2), hidden upstream fields, security
// headers, CORS preflights answered by the gateway and CORS fields on actual responses.
//
// A ScriptedUpstream records the exact bytes it receives and answers with fields that leak
// internals; each test checks what the upstream received and what the client got.

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"

namespace flexgate::testing {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// The upstream's answer: internals (Server, X-Powered-By, X-Internal) and its own CORS field.
const std::string kLeakyOk =
    "HTTP/1.1 200 OK\r\nServer: internal-app/1.2\r\nX-Powered-By: PHP/8.2\r\nX-Internal: node-7\r\n"
    "Access-Control-Allow-Origin: *\r\nX-Frame-Options: SAMEORIGIN\r\nContent-Length: 2\r\n\r\nok";

// Every field of a raw message head, in order (names as sent).
Fields raw_fields(const std::string& raw) {
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

// Every value of `name` (case-insensitive) in `fields`.
std::vector<std::string> values_of(const Fields& fields, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : fields) {
    if (lower(n) == lower(name)) out.push_back(v);
  }
  return out;
}

std::string request_line(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

const std::string kConfig = R"(proxy:
  host: 127.0.0.1
  port: 0
  workers: 2
upstreams:
  - name: backend
    url: "http://127.0.0.1:UPSTREAM_PORT"
    headers:
      request:
        set: { X-Env: upstream-level, X-From-Upstream: "u" }
routes:
  - path: "/users/:id"
    upstream: backend
    rewrite: "/v2/users/${path.id}"
    headers:
      request:
        set:
          X-Env: route-level
          X-User-Id: "${path.id}"
          X-Client-IP: "${client_ip}"
          X-Cid: "${correlation_id}"
          X-Route: "${route}"
          X-Upstream: "${upstream}"
          X-Tenant-Copy: "${request.header.X-Tenant}"
          X-Region: "${env.FLEXGATE_TRANSFORM_TEST_REGION}"
          X-Auth-Client: "${auth.client}"
        add: { X-Via: flexgate }
        remove: [X-Debug]
        rename: { X-Old: X-New }
      response:
        set: { X-Served-Route: "${route}", X-Tenant-Echo: "${request.header.X-Tenant}" }
        remove: [X-Internal]
    securityHeaders: true
  - path: "/old/*"
    upstream: backend
    rewrite: { regex: "^/old/([a-z]+)/(.*)$", replace: "/new/$2/$1" }
  - path: "/keep/*"
    upstream: backend
    headers: { response: { keep: [Server, X-Powered-By] } }
  - path: "/dots/*"
    upstream: backend
    rewrite: { regex: "^/dots/(.*)$", replace: "/x/../$1" }
  - path: "/api/*"
    upstream: backend
    methods: [GET, PUT]
    maxBodySize: 16b
    cors:
      allowOrigins: ["https://app.example.com", "https://*.example.org"]
      allowMethods: [GET, PUT]
      allowHeaders: [Content-Type, X-Api-Key]
      exposeHeaders: [X-Request-Id]
      allowCredentials: true
      maxAge: 10m
  - path: "/public/*"
    upstream: backend
  - path: "/nocors/*"
    upstream: backend
    cors: false
cors: { allowOrigins: ["*"] }
logging:
  level: info
)";

class TransformTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("FLEXGATE_TRANSFORM_TEST_REGION", "eu-test-1", 1);
    upstream_ = new ScriptedUpstream([](const std::string&) { return kLeakyOk; });
    std::string yaml = kConfig;
    yaml.replace(yaml.find("UPSTREAM_PORT"), 13, std::to_string(upstream_->port()));
    gateway_ = new Gateway(start_gateway(yaml));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
    ::unsetenv("FLEXGATE_TRANSFORM_TEST_REGION");
  }
  // Sends one request; returns the client's response and the raw request the upstream received
  // for it ("" when nothing reached the upstream).
  static std::pair<Response, std::string> send(const std::string& method, const std::string& target,
                                               Fields headers = {}, const std::string& body = "") {
    const std::size_t before = upstream_->requests().size();
    Response response = request(gateway_->port, method, target, headers, body);
    const auto received = upstream_->requests();
    return {response, received.size() > before ? received.back() : std::string()};
  }

  static ScriptedUpstream* upstream_;
  static Gateway* gateway_;
};
ScriptedUpstream* TransformTest::upstream_ = nullptr;
Gateway* TransformTest::gateway_ = nullptr;

TEST_F(TransformTest, RequestHeadersAreTransformedWithEveryVariable) {
  auto [response, raw] = send("GET", "/users/42?full=1",
                              {{"X-Correlation-ID", "xform-cid-1"},
                               {"X-Tenant", "acme"},
                               {"X-Debug", "1"},
                               {"X-Old", "renamed-value"},
                               {"X-Env", "spoofed"},
                               {"X-Auth-Client", "spoofed-admin"},
                               {"X-Via", "client-proxy"}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(request_line(raw), "GET /v2/users/42?full=1 HTTP/1.1");
  const Fields got = raw_fields(raw);
  EXPECT_EQ(values_of(got, "X-Env"), std::vector<std::string>{"route-level"});  // route wins
  EXPECT_EQ(values_of(got, "X-From-Upstream"), std::vector<std::string>{"u"});  // upstream's still apply
  EXPECT_EQ(values_of(got, "X-User-Id"), std::vector<std::string>{"42"});
  EXPECT_EQ(values_of(got, "X-Client-IP"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(values_of(got, "X-Cid"), std::vector<std::string>{"xform-cid-1"});
  EXPECT_EQ(values_of(got, "X-Route"), std::vector<std::string>{"/users/:id"});
  EXPECT_EQ(values_of(got, "X-Upstream"), std::vector<std::string>{"backend"});
  EXPECT_EQ(values_of(got, "X-Tenant-Copy"), std::vector<std::string>{"acme"});
  EXPECT_EQ(values_of(got, "X-Region"), std::vector<std::string>{"eu-test-1"});
  // Anonymous: the set clears the spoofed field and adds nothing.
  EXPECT_TRUE(values_of(got, "X-Auth-Client").empty());
  EXPECT_EQ(values_of(got, "X-Via"), (std::vector<std::string>{"client-proxy", "flexgate"}));
  EXPECT_TRUE(values_of(got, "X-Debug").empty());
  EXPECT_TRUE(values_of(got, "X-Old").empty());
  EXPECT_EQ(values_of(got, "X-New"), std::vector<std::string>{"renamed-value"});
  EXPECT_EQ(values_of(got, "X-Tenant"), std::vector<std::string>{"acme"});  // untouched fields pass
  // The gateway's own fields are still there, once.
  EXPECT_EQ(values_of(got, "X-Correlation-ID"), std::vector<std::string>{"xform-cid-1"});
  EXPECT_EQ(values_of(got, "X-Forwarded-For"), std::vector<std::string>{"127.0.0.1"});
}

TEST_F(TransformTest, ResponseHeadersHideInternalsAndAddSecurityHeaders) {
  auto [response, raw] = send("GET", "/users/7", {{"X-Tenant", "beta"}});
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok");
  EXPECT_EQ(response.header("Server"), "");
  EXPECT_EQ(response.header("X-Powered-By"), "");
  EXPECT_EQ(response.header("X-Internal"), "");
  EXPECT_EQ(response.header("X-Served-Route"), "/users/:id");
  EXPECT_EQ(response.header("X-Tenant-Echo"), "beta");  // rendered with the request, sent with the response
  EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(response.header("Referrer-Policy"), "strict-origin-when-cross-origin");
  // The upstream set its own X-Frame-Options: it is kept, not doubled.
  EXPECT_EQ(values_of(Fields(response.headers.begin(), response.headers.end()), "X-Frame-Options"),
            std::vector<std::string>{"SAMEORIGIN"});
  EXPECT_EQ(response.header("Strict-Transport-Security"), "");  // no TLS listener
  // The route has no CORS of its own: the global one (allowOrigins "*") replaces the upstream's.
  EXPECT_EQ(response.header("Vary"), "Origin");
}

TEST_F(TransformTest, RegexRewriteReordersTheGroupsAndKeepsTheQuery) {
  auto [response, raw] = send("GET", "/old/reports/2024/q1?format=csv");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(request_line(raw), "GET /new/2024/q1/reports?format=csv HTTP/1.1");
  // No match: forwarded unchanged.
  auto [unchanged, raw2] = send("GET", "/old/123");
  ASSERT_EQ(unchanged.status, 200);
  EXPECT_EQ(request_line(raw2), "GET /old/123 HTTP/1.1");
}

TEST_F(TransformTest, ARewriteThatMakesAnUncleanPathFailsWith500AndALogLine) {
  auto [response, raw] = send("GET", "/dots/secret", {{"X-Correlation-ID", "xform-dots-1"}});
  EXPECT_TRUE(IsJsonError(response, 500));
  EXPECT_EQ(raw, "") << "nothing may reach the upstream";
  const auto line = gateway_->process->wait_for_line("path_rewrite_failed");
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("xform-dots-1"), std::string::npos) << *line;
}

TEST_F(TransformTest, KeepLetsServerAndPoweredByThrough) {
  auto [response, raw] = send("GET", "/keep/x");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Server"), "internal-app/1.2");
  EXPECT_EQ(response.header("X-Powered-By"), "PHP/8.2");
  EXPECT_EQ(response.header("X-Internal"), "node-7");
  // Other routes hide them by default.
  auto [hidden, raw2] = send("GET", "/public/x");
  EXPECT_EQ(hidden.header("Server"), "");
  EXPECT_EQ(hidden.header("X-Powered-By"), "");
}

TEST_F(TransformTest, PreflightIsAnsweredByTheGateway) {
  auto [response, raw] = send("OPTIONS", "/api/things",
                              {{"Origin", "https://app.example.com"},
                               {"Access-Control-Request-Method", "PUT"},
                               {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(raw, "") << "a preflight must not reach the upstream";
  EXPECT_EQ(response.header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(response.header("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(response.header("Access-Control-Allow-Methods"), "GET, PUT");
  EXPECT_EQ(response.header("Access-Control-Allow-Headers"), "Content-Type, X-Api-Key");
  EXPECT_EQ(response.header("Access-Control-Max-Age"), "600");
  EXPECT_EQ(response.header("Vary"), "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  EXPECT_EQ(response.body, "");

  // "*.example.org" matches any subdomain, not the bare domain.
  auto [sub, raw2] = send("OPTIONS", "/api/things",
                          {{"Origin", "https://a.b.example.org"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(sub.status, 204);
  EXPECT_EQ(raw2, "");
  EXPECT_EQ(sub.header("Access-Control-Allow-Origin"), "https://a.b.example.org");
  auto [bare, raw3] = send("OPTIONS", "/api/things",
                           {{"Origin", "https://example.org"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(bare.status, 204);
  EXPECT_EQ(raw3, "");
  EXPECT_EQ(bare.header("Access-Control-Allow-Origin"), "");
}

TEST_F(TransformTest, PreflightFromADisallowedOriginGetsNoCorsFields) {
  auto [response, raw] = send("OPTIONS", "/api/things",
                              {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "PUT"}});
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(raw, "");
  for (const auto& [name, value] : response.headers) {
    EXPECT_NE(lower(name).rfind("access-control-", 0), 0u) << name << ": " << value;
  }
  EXPECT_NE(response.header("Vary").find("Origin"), std::string::npos);
}

TEST_F(TransformTest, ActualCorsRequests) {
  auto [allowed, raw] = send("GET", "/api/items", {{"Origin", "https://app.example.com"}});
  ASSERT_EQ(allowed.status, 200);
  EXPECT_EQ(raw_header(raw, "Origin"), "https://app.example.com");  // forwarded as sent
  const Fields got(allowed.headers.begin(), allowed.headers.end());
  // The upstream's own "Access-Control-Allow-Origin: *" is replaced by the gateway's.
  EXPECT_EQ(values_of(got, "Access-Control-Allow-Origin"), std::vector<std::string>{"https://app.example.com"});
  EXPECT_EQ(allowed.header("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(allowed.header("Access-Control-Expose-Headers"), "X-Request-Id");
  EXPECT_EQ(allowed.header("Vary"), "Origin");

  auto [denied, raw2] = send("GET", "/api/items", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(denied.status, 200);  // not a 500: just no CORS fields
  EXPECT_NE(raw2, "");
  EXPECT_TRUE(values_of(Fields(denied.headers.begin(), denied.headers.end()), "Access-Control-Allow-Origin").empty());
  EXPECT_EQ(denied.header("Vary"), "Origin");

  // An OPTIONS that is not a preflight (no Access-Control-Request-Method) is proxied as it is.
  auto [plain, raw3] = send("OPTIONS", "/public/x", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(request_line(raw3), "OPTIONS /public/x HTTP/1.1");
}

TEST_F(TransformTest, GlobalCorsAndTurningItOff) {
  auto [global, raw] = send("GET", "/public/a", {{"Origin", "https://anyone.example"}});
  ASSERT_EQ(global.status, 200);
  EXPECT_EQ(global.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(global.header("Access-Control-Allow-Credentials"), "");
  auto [preflight, raw2] = send("OPTIONS", "/public/a",
                                {{"Origin", "https://anyone.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(raw2, "");
  EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(preflight.header("Access-Control-Allow-Methods"), "GET, HEAD, POST");
  // cors: false: the gateway does nothing, the upstream's own field passes, preflights go upstream.
  auto [off, raw3] = send("GET", "/nocors/a", {{"Origin", "https://anyone.example"}});
  EXPECT_EQ(off.header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(off.header("Vary"), "");
  auto [off_preflight, raw4] = send("OPTIONS", "/nocors/a",
                                    {{"Origin", "https://anyone.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(off_preflight.status, 200);
  EXPECT_EQ(request_line(raw4), "OPTIONS /nocors/a HTTP/1.1");
}

TEST_F(TransformTest, GatewayErrorsOnACorsRouteCarryTheCorsFields) {
  // maxBodySize 16b: the gateway answers 413 itself; the browser must still be able to read it.
  auto [response, raw] = send("PUT", "/api/items", {{"Origin", "https://app.example.com"}},
                              std::string(64, 'x'));
  EXPECT_TRUE(IsJsonError(response, 413));
  EXPECT_EQ(raw, "");
  EXPECT_EQ(response.header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(response.header("Vary"), "Origin");
}

// ─── config errors through the binary ─────────────────────────────────────────────────────

// Where preflights sit in the chain: after ip allow/deny (a refused network learns nothing), before
// auth and rate limits (browsers send preflights without credentials).
TEST(TransformCorsOrder, PreflightsSkipAuthAndRateLimitsButNotIpDeny) {
  ScriptedUpstream upstream([](const std::string&) { return kLeakyOk; });
  auto gateway = start_gateway(R"(proxy:
  host: 127.0.0.1
  port: 0
  workers: 1
upstreams:
  - name: backend
    url: "http://127.0.0.1:)" + std::to_string(upstream.port()) + R"("
routes:
  - path: "/private/*"
    upstream: backend
    auth: required
    rateLimit: { max: 1, windowMs: 60000 }
    cors: { allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST] }
  - path: "/intranet/*"
    upstream: backend
    denyFrom: ["127.0.0.0/8"]
    cors: { allowOrigins: ["https://app.example.com"] }
security:
  auth:
    type: apiKey
    header: X-API-Key
    keys:
      - key: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        name: "Client A"
)");
  const Fields preflight = {{"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "POST"}};
  // Three preflights without a key on a route that needs one and allows one request a minute.
  for (int i = 0; i < 3; ++i) {
    Response answer = request(gateway.port, "OPTIONS", "/private/x", preflight);
    EXPECT_EQ(answer.status, 204) << i;
    EXPECT_EQ(answer.header("Access-Control-Allow-Origin"), "https://app.example.com");
  }
  // The actual request still needs its key.
  EXPECT_EQ(request(gateway.port, "GET", "/private/x", {{"Origin", "https://app.example.com"}}).status, 401);
  // A denied network gets the refusal, not the CORS policy.
  Response denied = request(gateway.port, "OPTIONS", "/intranet/x", preflight);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.header("Access-Control-Allow-Methods"), "");
  EXPECT_TRUE(upstream.requests().empty());
}

TEST(TransformConfigErrors, ValidateReportsPositionedErrors) {
  const std::string path = write_temp_file(R"(upstreams:
  - name: backend
    url: "http://127.0.0.1:9"
routes:
  - path: "/users/:id"
    upstream: backend
    headers:
      request:
        set: { X-A: "${user}" }
  - path: "/old/*"
    upstream: backend
    rewrite: { regex: "^/old/(.*$", replace: "/new/$1" }
  - path: "/x/*"
    upstream: backend
    rewrite: { regex: "^/x/(.*)$", replace: "/y/$2" }
)");
  // The template is a load error; the regexes compile with the snapshot, after the file loads.
  auto [code, output] = run_flexgate({"validate", path});
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find(path + ":9:21: routes[0].headers.request.set.X-A: '${user}' is not a known variable"),
            std::string::npos)
      << output;
  const std::string fixed = write_temp_file(R"(upstreams:
  - name: backend
    url: "http://127.0.0.1:9"
routes:
  - path: "/old/*"
    upstream: backend
    rewrite: { regex: "^/old/(.*$", replace: "/new/$1" }
  - path: "/x/*"
    upstream: backend
    rewrite: { regex: "^/x/(.*)$", replace: "/y/$2" }
)");
  auto [code2, output2] = run_flexgate({"validate", fixed});
  EXPECT_EQ(code2, 1);
  EXPECT_NE(output2.find(fixed + ":7:23: routes[0].rewrite.regex: invalid RE2 regular expression"), std::string::npos)
      << output2;
  EXPECT_NE(output2.find(fixed + ":10:23: routes[1].rewrite.regex: replace uses $2 but the expression has 1 capturing group"),
            std::string::npos)
      << output2;
}

}  // namespace
}  // namespace flexgate::testing
