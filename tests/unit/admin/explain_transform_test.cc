// explain and the transformations (issue #11): the forward path after stripPrefix / rewrite /
// regex rewrite, the request header operations in order with their values for the explained
// request and the fields they leave, the response side (hidden fields, operations, security
// headers), and CORS (a preflight the gateway answers, the fields of actual responses).

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "admin/explain.h"
#include "unit/admin/explain_snapshot.h"

namespace flexgate::admin {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

const std::string kTransforms = R"(
proxy: { port: 0, workers: 1 }
securityHeaders: true
cors:
  allowOrigins: ["https://portal.example.com"]
upstreams:
  - name: users
    url: "http://127.0.0.1:9001"
    headers:
      request:
        set: { X-Env: production, X-Tier: "${env.FLEXGATE_EXPLAIN_TIER:-gold}" }
  - name: old
    url: "http://127.0.0.1:9002"
    headers:
      response:
        keep: [Server]
routes:
  - path: "/users/:id"
    upstream: users
    rewrite: "/v2/users/${path.id}"
    headers:
      request:
        set:
          X-User-Id: "${path.id}"
          X-Client: "${auth.client}"
          X-Env: "route-${client_ip}"
        add:
          X-Via: flexgate
          X-Request: "${correlation_id}"
          X-Tenant-Echo: "${request.header.X-Tenant}"
        remove: [X-Debug]
        rename: { X-Legacy-Token: X-Token }
      response:
        set: { Cache-Control: no-store }
        add: { X-Served-By: "${upstream}" }
        remove: [X-Internal-Node]
    cors:
      allowOrigins: ["https://app.example.com", "https://*.example.com"]
      allowMethods: [GET, PUT]
      allowHeaders: [Content-Type, X-API-Key]
      exposeHeaders: [X-Request-Id]
      allowCredentials: true
      maxAge: 10m
  - path: /old/*
    upstream: old
    rewrite: { regex: "^/old/([a-z]+)/(.*)$", replace: "/new/$2/$1" }
    cors: false
    securityHeaders: { frameOptions: SAMEORIGIN, hsts: { maxAge: 8760h } }
  - path: /bad/*
    upstream: old
    rewrite: { regex: "^/bad/(.*)$", replace: "$1" }
  - path: /split/*
    upstreams: [{ name: users, weight: 1 }, { name: old, weight: 1 }]
    stripPrefix: true
    headers:
      response:
        add: { X-Served-By: "${upstream}" }
)";

// The snapshot reads ${env.*} once, at load.
class ExplainTransforms : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::setenv("FLEXGATE_EXPLAIN_TIER", "platinum", 1); }
  static void TearDownTestSuite() { ::unsetenv("FLEXGATE_EXPLAIN_TIER"); }
};

const HeaderOpInfo& op_at(const std::vector<HeaderOpInfo>& ops, std::size_t index) {
  static const HeaderOpInfo missing;
  if (index < ops.size()) return ops[index];
  ADD_FAILURE() << "no operation " << index;
  return missing;
}

// The forward.added entry for `name` ("name: ..."), or "".
std::string added(const ExplainReport& report, const std::string& name) {
  for (const std::string& entry : report.forward.added) {
    if (entry.rfind(name + ": ", 0) == 0) return entry;
  }
  return {};
}

std::string ops_text(const std::vector<HeaderOpInfo>& ops) {
  std::string out;
  for (const HeaderOpInfo& op : ops) {
    out += op.level + " " + op.op + " " + op.name + (op.to.empty() ? "" : " -> " + op.to) +
           (op.op == "set" || op.op == "add" ? " = '" + op.value + "'" : "") + " [" + op.effect + "]\n";
  }
  return out;
}

TEST_F(ExplainTransforms, RequestOperationsInOrderWithValuesForThisRequest) {
  const Snapshot snapshot(kTransforms);
  ASSERT_TRUE(snapshot.ok());
  const ExplainReport report = snapshot.explain("GET", "/users/42?x=1",
                                                {{"X-Debug", "1"},
                                                 {"X-Legacy-Token", "abc"},
                                                 {"X-Client", "spoofed"},
                                                 {"X-Tenant", "acme"},
                                                 {"Accept", "*/*"}},
                                                "203.0.113.7");
  ASSERT_EQ(report.outcome, ExplainOutcome::kForwarded) << report.verdict;
  EXPECT_EQ(report.forward.target, "/v2/users/42?x=1");
  EXPECT_EQ(report.forward.path, "/v2/users/42");
  EXPECT_EQ(report.forward.rewrite, "");  // no regex rewrite on this route
  ASSERT_EQ(report.transforms.size(), 1u);
  const HeaderTransformInfo& users = report.transforms[0];
  EXPECT_EQ(users.upstream, "users");

  // HeaderPlan's order: the upstream's level first, then the route's; per level remove, rename,
  // set, add.
  EXPECT_EQ(ops_text(users.request_ops),
            "upstream set X-Env = 'production' [adds the field]\n"
            "upstream set X-Tier = 'platinum' [adds the field]\n"
            "route remove X-Debug [removes 1 field]\n"
            "route rename X-Legacy-Token -> X-Token [renames 1 field]\n"
            "route set X-User-Id = '42' [adds the field]\n"
            "route set X-Client = '' [removes 1 field, adds nothing (empty value)]\n"
            "route set X-Env = 'route-203.0.113.7' [replaces 1 field]\n"
            "route add X-Via = 'flexgate' [adds the field]\n"
            "route add X-Request = '${correlation_id}' [adds the field]\n"
            "route add X-Tenant-Echo = 'acme' [adds the field]\n");
  // ${env.*} was read at load: a constant; the template is kept as written.
  EXPECT_EQ(op_at(users.request_ops, 1).value_template, "${env.FLEXGATE_EXPLAIN_TIER:-gold}");
  EXPECT_FALSE(op_at(users.request_ops, 1).dynamic);
  EXPECT_EQ(op_at(users.request_ops, 4).value_template, "${path.id}");
  EXPECT_TRUE(op_at(users.request_ops, 4).dynamic);

  // The fields as the plan leaves them (before the gateway's own, in forward.added).
  EXPECT_EQ(users.request_result, (Fields{{"X-Token", "abc"},
                                          {"X-Tenant", "acme"},
                                          {"Accept", "*/*"},
                                          {"X-Tier", "platinum"},
                                          {"X-User-Id", "42"},
                                          {"X-Env", "route-203.0.113.7"},
                                          {"X-Via", "flexgate"},
                                          {"X-Request", "${correlation_id}"},
                                          {"X-Tenant-Echo", "acme"}}));
  EXPECT_TRUE(users.failed_header.empty());

  // A sane X-Correlation-ID from the client is the one the request keeps: known here.
  const ExplainReport with_id = snapshot.explain("GET", "/users/7", {{"X-Correlation-ID", "cid-123"}});
  EXPECT_EQ(op_at(with_id.transforms[0].request_ops, 8).value, "cid-123");
}

TEST_F(ExplainTransforms, ResponseSideHiddenFieldsOperationsAndSecurityHeaders) {
  const Snapshot snapshot(kTransforms);
  const ExplainReport report = snapshot.explain("GET", "/users/42");
  ASSERT_EQ(report.transforms.size(), 1u);
  const HeaderTransformInfo& users = report.transforms[0];
  ASSERT_EQ(users.hidden.size(), 3u);
  EXPECT_EQ(users.hidden[0].name, "Server");
  EXPECT_EQ(users.hidden[1].name, "X-Powered-By");
  EXPECT_EQ(users.hidden[2].name, "Access-Control-*");  // the route does CORS
  EXPECT_EQ(ops_text(users.response_ops),
            "route remove X-Internal-Node []\n"
            "route set Cache-Control = 'no-store' [replaces the upstream's]\n"
            "route add X-Served-By = 'users' []\n");
  ASSERT_EQ(users.security.size(), 3u);  // securityHeaders: true at the top level
  EXPECT_EQ(users.security[0].name, "X-Content-Type-Options");
  EXPECT_EQ(users.security[0].value, "nosniff");
  EXPECT_EQ(users.security[2].value, "DENY");

  // /old/*: keep [Server] on the upstream, cors: false, the route's securityHeaders with HSTS.
  const ExplainReport old = snapshot.explain("GET", "/old/abc/def");
  ASSERT_EQ(old.transforms.size(), 1u);
  ASSERT_EQ(old.transforms[0].hidden.size(), 1u);
  EXPECT_EQ(old.transforms[0].hidden[0].name, "X-Powered-By");
  ASSERT_EQ(old.transforms[0].security.size(), 4u);
  EXPECT_EQ(old.transforms[0].security[2].value, "SAMEORIGIN");
  EXPECT_EQ(old.transforms[0].security[3].name, "Strict-Transport-Security");
  EXPECT_EQ(old.transforms[0].security[3].value, "max-age=31536000");
  EXPECT_TRUE(old.transforms[0].security[3].tls_only);
  EXPECT_TRUE(old.transforms[0].request_ops.empty());
}

TEST_F(ExplainTransforms, RegexRewriteShowsTheRewrittenPathNoMatchAndInvalid) {
  const Snapshot snapshot(kTransforms);
  const ExplainReport rewritten = snapshot.explain("GET", "/old/reports/2024/q1?format=csv");
  EXPECT_EQ(rewritten.outcome, ExplainOutcome::kForwarded);
  EXPECT_EQ(rewritten.forward.target, "/new/2024/q1/reports?format=csv");
  EXPECT_EQ(rewritten.forward.rule, "regex ^/old/([a-z]+)/(.*)$ -> /new/$2/$1");
  EXPECT_EQ(rewritten.forward.rewrite, "rewritten");
  EXPECT_EQ(rewritten.verdict, "forwarded to upstream old as GET /new/2024/q1/reports?format=csv");

  const ExplainReport unchanged = snapshot.explain("GET", "/old/123");
  EXPECT_EQ(unchanged.forward.rewrite, "no-match");
  EXPECT_EQ(unchanged.forward.target, "/old/123");

  const ExplainReport invalid = snapshot.explain("GET", "/bad/x");
  EXPECT_EQ(invalid.outcome, ExplainOutcome::kRefused);
  EXPECT_EQ(invalid.status, 500u);
  EXPECT_EQ(invalid.forward.rewrite, "invalid");
  EXPECT_EQ(
      invalid.verdict,
      "refused with 500: the regex rewrite turns /bad/x into x, not a clean path (a path_rewrite_failed "
      "event)");
}

TEST_F(ExplainTransforms, EachUpstreamOfASplitHasItsOwnPlan) {
  const Snapshot snapshot(kTransforms);
  const ExplainReport split = snapshot.explain("GET", "/split/a");
  EXPECT_EQ(split.forward.target, "/a");
  ASSERT_EQ(split.transforms.size(), 2u);
  EXPECT_EQ(split.transforms[0].upstream, "users");
  EXPECT_EQ(split.transforms[0].request_ops.size(), 2u);  // the upstream's X-Env and X-Tier
  EXPECT_EQ(op_at(split.transforms[0].response_ops, 0).value, "users");
  EXPECT_EQ(split.transforms[1].upstream, "old");
  EXPECT_TRUE(split.transforms[1].request_ops.empty());
  EXPECT_EQ(op_at(split.transforms[1].response_ops, 0).value, "old");
}

TEST_F(ExplainTransforms, CorsOnActualRequests) {
  const Snapshot snapshot(kTransforms);
  const ExplainReport allowed = snapshot.explain("GET", "/users/1", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(allowed.cors.source, "route");
  EXPECT_FALSE(allowed.cors.preflight);
  EXPECT_TRUE(allowed.cors.allowed);
  EXPECT_EQ(allowed.cors.headers, (Fields{{"Vary", "Origin"},
                                          {"Access-Control-Allow-Origin", "https://app.example.com"},
                                          {"Access-Control-Allow-Credentials", "true"},
                                          {"Access-Control-Expose-Headers", "X-Request-Id"}}));

  const ExplainReport wildcard = snapshot.explain("GET", "/users/1", {{"Origin", "https://a.b.example.com"}});
  EXPECT_TRUE(wildcard.cors.allowed);

  const ExplainReport refused = snapshot.explain("GET", "/users/1", {{"Origin", "https://evil.test"}});
  EXPECT_FALSE(refused.cors.allowed);
  EXPECT_EQ(refused.cors.headers, (Fields{{"Vary", "Origin"}}));
  EXPECT_EQ(refused.cors.summary,
            "origin https://evil.test not allowed: no CORS headers (responses get Vary: Origin only; the "
            "browser refuses)");
  EXPECT_EQ(refused.outcome, ExplainOutcome::kForwarded);  // proxied normally

  const ExplainReport no_origin = snapshot.explain("GET", "/users/1");
  EXPECT_FALSE(no_origin.cors.has_origin);
  EXPECT_EQ(no_origin.cors.headers, (Fields{{"Vary", "Origin"}}));

  const ExplainReport global = snapshot.explain("GET", "/bad/x", {{"Origin", "https://portal.example.com"}});
  EXPECT_EQ(global.cors.source, "global");
  EXPECT_TRUE(global.cors.allowed);

  const ExplainReport off = snapshot.explain("GET", "/old/a/b", {{"Origin", "https://portal.example.com"}});
  EXPECT_EQ(off.cors.source, "off");
  EXPECT_TRUE(off.cors.headers.empty());
}

TEST_F(ExplainTransforms, APreflightIsAnsweredByTheGateway) {
  const Snapshot snapshot(kTransforms);
  const ExplainReport preflight = snapshot.explain("OPTIONS", "/users/42",
                                                   {{"Origin", "https://app.example.com"},
                                                    {"Access-Control-Request-Method", "PUT"},
                                                    {"X-Correlation-ID", "pf-1"}});
  EXPECT_EQ(preflight.outcome, ExplainOutcome::kPreflight);
  EXPECT_EQ(preflight.status, 204u);
  EXPECT_EQ(
      preflight.verdict,
      "CORS preflight for PUT answered by the gateway with 204; origin https://app.example.com allowed");
  EXPECT_EQ(preflight.routing.chosen, 0);
  EXPECT_TRUE(preflight.cors.preflight);
  EXPECT_EQ(preflight.cors.requested_method, "PUT");
  EXPECT_EQ(preflight.cors.headers,
            (Fields{{"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
                    {"Access-Control-Allow-Origin", "https://app.example.com"},
                    {"Access-Control-Allow-Credentials", "true"},
                    {"Access-Control-Allow-Methods", "GET, PUT"},
                    {"Access-Control-Allow-Headers", "Content-Type, X-API-Key"},
                    {"Access-Control-Max-Age", "600"},
                    {"X-Correlation-ID", "pf-1"}}));
  // Load shedding, the body limit, header hygiene and ip allow/deny run; nothing after them.
  EXPECT_EQ(preflight.policies.size(), 4u);
  for (const auto& step : preflight.policies) EXPECT_NE(step.verdict, StepVerdict::kRefuse) << step.name;
  EXPECT_TRUE(preflight.upstreams.empty());
  EXPECT_TRUE(preflight.transforms.empty());

  const ExplainReport refused = snapshot.explain(
      "OPTIONS", "/users/42", {{"Origin", "https://evil.test"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(refused.outcome, ExplainOutcome::kPreflight);
  EXPECT_FALSE(refused.cors.allowed);
  EXPECT_EQ(refused.cors.headers,
            (Fields{{"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
                    {"X-Correlation-ID", "(a new one)"}}));
  EXPECT_EQ(refused.verdict,
            "CORS preflight for GET answered by the gateway with 204; origin not allowed: no CORS headers");

  // The route for the announced method has no CORS: a plain OPTIONS request, proxied.
  const ExplainReport plain =
      snapshot.explain("OPTIONS", "/old/a/b",
                       {{"Origin", "https://portal.example.com"}, {"Access-Control-Request-Method", "PUT"}});
  EXPECT_EQ(plain.outcome, ExplainOutcome::kForwarded) << plain.verdict;
  EXPECT_EQ(plain.cors.source, "off");
  EXPECT_EQ(plain.cors.summary.rfind("an OPTIONS preflight for PUT, but that route has no CORS", 0), 0u)
      << plain.cors.summary;
}

TEST_F(ExplainTransforms, APreflightFromADeniedClientIsRefusedNotAnswered) {
  const Snapshot snapshot(R"(proxy:
  port: 0
upstreams:
  - name: api
    url: http://127.0.0.1:9
routes:
  - path: /intranet/*
    upstream: api
    denyFrom: ["10.0.0.0/8"]
    auth: required
    cors: { allowOrigins: ["https://app.example.com"] }
security:
  auth:
    type: apiKey
    keys:
      - key: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        name: a
)");
  const std::vector<std::pair<std::string, std::string>> preflight = {
      {"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "GET"}};
  const ExplainReport denied = snapshot.explain("OPTIONS", "/intranet/x", preflight, "10.1.2.3");
  EXPECT_EQ(denied.outcome, ExplainOutcome::kRefused);
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(denied.verdict.rfind("CORS preflight refused with 403", 0), 0u) << denied.verdict;
  // From elsewhere it is answered, although the route requires a key the preflight does not carry.
  const ExplainReport answered = snapshot.explain("OPTIONS", "/intranet/x", preflight, "192.168.1.1");
  EXPECT_EQ(answered.outcome, ExplainOutcome::kPreflight) << answered.verdict;
}

TEST_F(ExplainTransforms, TraceContextAndDroppedFieldsBeforeTheOperations) {
  const Snapshot snapshot(kTransforms);
  const ExplainReport report = snapshot.explain(
      "GET", "/users/1",
      {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, {"tracestate", "a=1"}});
  bool traceparent_dropped = false;
  for (const auto& [name, why] : report.forward.dropped)
    traceparent_dropped = traceparent_dropped || name == "traceparent";
  EXPECT_TRUE(traceparent_dropped);
  EXPECT_EQ(added(report, "traceparent"), "traceparent: (the client's trace, this hop's span)");
  // tracestate goes on with a joined trace: the operations see it.
  bool tracestate_kept = false;
  for (const auto& [name, value] : report.transforms[0].request_result)
    tracestate_kept = tracestate_kept || name == "tracestate";
  EXPECT_TRUE(tracestate_kept);

  const ExplainReport lone = snapshot.explain("GET", "/users/1", {{"tracestate", "a=1"}});
  EXPECT_EQ(added(lone, "traceparent"), "traceparent: (a new trace)");
  for (const auto& [name, value] : lone.transforms[0].request_result) EXPECT_NE(name, "tracestate");
}

TEST_F(ExplainTransforms, JsonCarriesCorsHeadersAndTheForwardPath) {
  const Snapshot snapshot(kTransforms);
  std::string out;
  render_json(snapshot.explain("GET", "/users/42", {{"Origin", "https://app.example.com"}, {"X-Debug", "1"}}),
              out);
  const nlohmann::json json = nlohmann::json::parse(out);
  EXPECT_EQ(json["forward"]["path"], "/v2/users/42");
  EXPECT_EQ(json["forward"]["rewrite"], "");
  EXPECT_EQ(json["cors"]["source"], "route");
  EXPECT_EQ(json["cors"]["allowed"], true);
  EXPECT_EQ(json["cors"]["headers"][1]["name"], "Access-Control-Allow-Origin");
  EXPECT_EQ(json["cors"]["headers"][1]["value"], "https://app.example.com");
  ASSERT_EQ(json["headers"].size(), 1u);
  const nlohmann::json& users = json["headers"][0];
  EXPECT_EQ(users["upstream"], "users");
  EXPECT_EQ(users["request"]["operations"][2]["level"], "route");
  EXPECT_EQ(users["request"]["operations"][2]["op"], "remove");
  EXPECT_EQ(users["request"]["operations"][2]["name"], "X-Debug");
  EXPECT_EQ(users["request"]["operations"][2]["effect"], "removes 1 field");
  EXPECT_EQ(users["request"]["operations"][4]["template"], "${path.id}");
  EXPECT_EQ(users["request"]["operations"][4]["value"], "42");
  EXPECT_EQ(users["request"]["operations"][4]["dynamic"], true);
  EXPECT_EQ(users["request"]["result"][0]["name"], "Origin");
  EXPECT_EQ(users["request"]["failed"], "");
  EXPECT_EQ(users["response"]["hidden"][0]["name"], "Server");
  EXPECT_EQ(users["response"]["operations"][2]["value"], "users");
  EXPECT_EQ(users["response"]["securityHeaders"][0]["name"], "X-Content-Type-Options");
  EXPECT_EQ(users["response"]["securityHeaders"][0]["tlsOnly"], false);

  std::string preflight_out;
  render_json(
      snapshot.explain("OPTIONS", "/users/42",
                       {{"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "PUT"}}),
      preflight_out);
  const nlohmann::json preflight = nlohmann::json::parse(preflight_out);
  EXPECT_EQ(preflight["outcome"], "preflight");
  EXPECT_EQ(preflight["status"], 204);
  EXPECT_EQ(preflight["cors"]["preflight"], true);
  EXPECT_EQ(preflight["cors"]["requestedMethod"], "PUT");
  EXPECT_EQ(preflight["routing"]["status"], "matched");
  EXPECT_FALSE(preflight.contains("forward"));
  EXPECT_FALSE(preflight.contains("headers"));
  EXPECT_FALSE(preflight.contains("policies"));
}

TEST_F(ExplainTransforms, TextShowsTheOperationsTheResultAndCors) {
  const Snapshot snapshot(kTransforms);
  std::string text;
  render_text(snapshot.explain("GET", "/users/42", {{"Origin", "https://evil.test"}, {"X-Debug", "1"}}),
              text);
  const auto has = [&](const std::string& needle) { return text.find(needle) != std::string::npos; };
  EXPECT_TRUE(has("CORS        origin https://evil.test not allowed: no CORS headers")) << text;
  EXPECT_TRUE(has("  from      the route's cors\n")) << text;
  EXPECT_TRUE(has("  adds      Vary: Origin\n")) << text;
  EXPECT_TRUE(has("Request headers to upstream users, in the order applied")) << text;
  EXPECT_TRUE(has("  upstream  set     X-Env: production ")) << text;
  EXPECT_TRUE(has("  route     remove  X-Debug ")) << text;
  EXPECT_TRUE(has("removes 1 field\n")) << text;
  EXPECT_TRUE(has("  route     set     X-User-Id: ${path.id} = 42 ")) << text;
  EXPECT_TRUE(has("  route     add     X-Request: ${correlation_id} ")) << text;
  EXPECT_TRUE(has("  sent      Origin: https://evil.test\n")) << text;
  EXPECT_TRUE(has("            X-User-Id: 42\n")) << text;
  EXPECT_TRUE(has("Response headers from upstream users\n")) << text;
  EXPECT_TRUE(has("  hidden    Server: leaks internals")) << text;
  EXPECT_TRUE(has("  route     add     X-Served-By: ${upstream} = users\n")) << text;
  EXPECT_TRUE(has("  security  X-Content-Type-Options: nosniff (if absent)\n")) << text;

  std::string preflight;
  render_text(
      snapshot.explain("OPTIONS", "/users/42",
                       {{"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "PUT"}}),
      preflight);
  EXPECT_NE(preflight.find("  answer    Vary: Origin, Access-Control-Request-Method"), std::string::npos)
      << preflight;
  EXPECT_NE(preflight.find("            Access-Control-Max-Age: 600\n"), std::string::npos) << preflight;
  EXPECT_EQ(preflight.find("Forward"), std::string::npos) << preflight;
  EXPECT_EQ(preflight.find("Policies"), std::string::npos) << preflight;
}

}  // namespace
}  // namespace flexgate::admin
