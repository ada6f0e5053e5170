#include "admin/explain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/loader.h"
#include "http/parser.h"
#include "net/ip_address.h"
#include "policy/auth/request_signature.h"
#include "unit/admin/explain_snapshot.h"

namespace flexgate::admin {
namespace {

// sha256("alice-key") and sha256("signer-key"): `flexgate hash-key`.
std::string digest_of(std::string_view key) {
  policy::Sha256Digest digest;
  EXPECT_TRUE(policy::sha256(key, digest));
  std::string hex;
  policy::append_hex(digest, hex);
  return hex;
}

const PolicyStep& step(const ExplainReport& report, std::string_view name) {
  for (const PolicyStep& candidate : report.policies) {
    if (candidate.name == name) return candidate;
  }
  static const PolicyStep missing;
  ADD_FAILURE() << "no step " << name;
  return missing;
}

std::string fact(const PolicyStep& step, std::string_view key) {
  for (const auto& [k, v] : step.facts) {
    if (k == key) return v;
  }
  return "<none>";
}

const std::string kRoutes = R"(
proxy: { port: 0, workers: 1 }
upstreams:
  - name: users
    url: "http://127.0.0.1:9001"
    retries: 2
    timeouts: { connect: 1s }
  - name: legacy
    url: "http://127.0.0.1:9002"
routes:
  - path: "/users/:id"
    upstream: users
    methods: [GET, PUT]
    rewrite: "/v1/users/${path.id}"
    timeouts: { firstByte: 7s }
  - path: "/users/*"
    upstream: legacy
  - path: "/api/*"
    upstream: users
    stripPrefix: true
  - path: "/internal/*"
    host: "*.internal"
    upstream: legacy
)";

TEST(Explain, ForwardedWithRewriteParamsAndUpstream) {
  const Snapshot snapshot(kRoutes);
  ASSERT_TRUE(snapshot.ok());
  const ExplainReport report = snapshot.explain("GET", "/users/42?x=1");
  EXPECT_EQ(report.outcome, ExplainOutcome::kForwarded);
  EXPECT_EQ(report.status, 0u);
  EXPECT_EQ(report.path, "/users/42");
  EXPECT_EQ(report.query, "x=1");
  EXPECT_EQ(report.routing.chosen, 0);
  ASSERT_EQ(report.routing.params.size(), 1u);
  EXPECT_EQ(report.routing.params[0], (std::pair<std::string, std::string>{"id", "42"}));
  EXPECT_EQ(report.routing.routes[1].outcome, "less-specific");
  EXPECT_EQ(report.routing.routes[1].reason,
            "matches, but routes[0] /users/:id is more specific than /users/* (segment 2: :id beats *)");
  EXPECT_EQ(report.routing.routes[2].outcome, "path-mismatch");
  EXPECT_EQ(report.routing.routes[3].outcome, "host-mismatch");
  EXPECT_EQ(report.forward.target, "/v1/users/42?x=1");
  EXPECT_EQ(report.forward.rule, "rewrite /users/:id -> /v1/users/${path.id}");
  EXPECT_EQ(report.verdict, "forwarded to upstream users as GET /v1/users/42?x=1");
  ASSERT_EQ(report.upstreams.size(), 1u);
  const UpstreamInfo& users = report.upstreams[0];
  EXPECT_EQ(users.role, "primary");
  EXPECT_EQ(users.strategy, "least_request");
  EXPECT_TRUE(users.usable);
  ASSERT_EQ(users.targets.size(), 1u);
  EXPECT_EQ(users.targets[0].authority, "127.0.0.1:9001");
  ASSERT_EQ(users.targets[0].addresses.size(), 1u);
  EXPECT_EQ(users.targets[0].addresses[0].address, "127.0.0.1");
  EXPECT_TRUE(users.targets[0].addresses[0].allowed);
  EXPECT_EQ(users.retry.attempts, 2u);
  EXPECT_TRUE(users.retry.applies);
  // resolve_timeouts: the route's firstByte, the upstream's connect, the defaults.
  EXPECT_EQ(report.timeouts.first_byte, std::chrono::seconds(7));
  EXPECT_EQ(report.timeouts.connect, std::chrono::seconds(1));
  EXPECT_EQ(report.timeouts.request, std::chrono::seconds(30));
  for (const PolicyStep& policy : report.policies) {
    EXPECT_NE(policy.verdict, StepVerdict::kRefuse) << policy.name;
  }
  EXPECT_EQ(report.policies.front().name, "admission");
  EXPECT_EQ(report.policies.back().name, "schema");
}

TEST(Explain, StripPrefixAndTheHostFromAnAbsoluteUrl) {
  const Snapshot snapshot(kRoutes);
  const ExplainReport api = snapshot.explain("POST", "/api/orders");
  EXPECT_EQ(api.forward.target, "/orders");
  EXPECT_EQ(api.forward.rule, "stripPrefix /api");
  EXPECT_FALSE(api.upstreams[0].retry.applies);  // POST without retryNonIdempotent

  const ExplainReport internal = snapshot.explain("GET", "http://db.internal:8080/internal/x");
  EXPECT_EQ(internal.host, "db.internal:8080");
  EXPECT_EQ(internal.host_source, "url");
  EXPECT_EQ(internal.routing.host, "db.internal");
  EXPECT_EQ(internal.routing.chosen, 3);
  EXPECT_EQ(internal.upstreams[0].name, "legacy");

  const ExplainReport elsewhere = snapshot.explain("GET", "/internal/x", {{"Host", "api.example.com"}});
  EXPECT_EQ(elsewhere.outcome, ExplainOutcome::kNotFound);
  EXPECT_EQ(elsewhere.routing.routes[3].reason, "host api.example.com does not match *.internal");

  const ExplainReport conflict =
      snapshot.explain("GET", "http://a.internal/internal/x", {{"Host", "b.internal"}});
  EXPECT_EQ(conflict.outcome, ExplainOutcome::kBadRequest);
  EXPECT_EQ(conflict.target_error, "absolute-form target authority differs from Host");
}

TEST(Explain, RefusedTargetsNotFoundAndMethodNotAllowed) {
  const Snapshot snapshot(kRoutes);
  const ExplainReport slash = snapshot.explain("GET", "/api/a%2Fb");
  EXPECT_EQ(slash.outcome, ExplainOutcome::kBadRequest);
  EXPECT_EQ(slash.status, 400u);
  EXPECT_EQ(slash.target_error, "encoded slash (%2F) in path");
  EXPECT_FALSE(slash.matched());

  const ExplainReport dots = snapshot.explain("GET", "/api/../users/7");
  EXPECT_EQ(dots.path, "/users/7");  // normalized before routing: /api/.. cannot reach past /api's route
  EXPECT_EQ(dots.routing.chosen, 0);

  const ExplainReport none = snapshot.explain("GET", "/nothing");
  EXPECT_EQ(none.outcome, ExplainOutcome::kNotFound);
  EXPECT_EQ(none.status, 404u);
  EXPECT_EQ(none.routing.status, "not-found");

  const ExplainReport head = snapshot.explain("BAD METHOD", "/x");
  EXPECT_EQ(head.outcome, ExplainOutcome::kBadRequest);

  const ExplainReport invalid = snapshot.explain("GET", "/users/1", {}, "not-an-ip");
  EXPECT_EQ(invalid.outcome, ExplainOutcome::kInvalidQuery);

  // A query cannot forge head lines (the admin API takes these from a client).
  EXPECT_EQ(snapshot.explain("GET", "/x HTTP/1.1\r\nX-Api-Key: k\r\n\r\n").outcome,
            ExplainOutcome::kInvalidQuery);
  EXPECT_EQ(snapshot.explain("GET", "/users/1", {{"X-A", "1\r\nHost: evil"}}).outcome,
            ExplainOutcome::kInvalidQuery);

  const ExplainReport metrics = snapshot.explain("GET", "/metrics");
  EXPECT_EQ(metrics.outcome, ExplainOutcome::kBuiltin);
}

TEST(Explain, MethodNotAllowedListsAllow) {
  const Snapshot snapshot(R"(
proxy: { port: 0, workers: 1 }
upstreams: [{ name: a, url: "http://127.0.0.1:9001" }]
routes:
  - { path: "/orders", upstream: a, methods: [GET] }
  - { path: "/orders", upstream: a, methods: [PUT] }
)");
  const ExplainReport report = snapshot.explain("POST", "/orders");
  EXPECT_EQ(report.outcome, ExplainOutcome::kMethodNotAllowed);
  EXPECT_EQ(report.status, 405u);
  EXPECT_EQ(report.routing.allow, "GET, HEAD, PUT");
  EXPECT_EQ(report.routing.routes[0].reason, "method POST not in [GET]");
}

const std::string kSecured = R"(
proxy: { port: 0, workers: 1, maxInFlight: 100 }
upstreams: [{ name: a, url: "http://127.0.0.1:9001" }]
routes:
  - path: "/private/*"
    upstream: a
    priority: low
    maxBodySize: 1kb
    allowFrom: ["10.0.0.0/8", "127.0.0.1"]
    denyFrom: ["10.9.0.0/16"]
    rateLimit: { max: 1, windowMs: 60000, key: "header:X-Tenant" }
    validate: { contentTypes: ["application/json"], jsonSchema: "user.json" }
  - path: "/open/*"
    upstream: a
    auth: optional
  - path: "/signed/*"
    upstream: a
security:
  underscoreHeaders: reject
  auth:
    keys:
      - { key: "ALICE", name: "alice" }
      - { key: "SIGNER", name: "signer", hmacSecret: "s3cret" }
rateLimit:
  global: { max: 1000, windowMs: 1m }
)";

std::string secured_yaml() {
  std::string yaml = kSecured;
  yaml.replace(yaml.find("ALICE"), 5, digest_of("alice-key"));
  yaml.replace(yaml.find("SIGNER"), 6, digest_of("signer-key"));
  return yaml;
}

const std::vector<std::pair<std::string, std::string>> kSchemaFile = {
    {"user.json", R"({"type":"object","required":["name"]})"}};

TEST(Explain, AuthUsesTheRealPolicy) {
  const Snapshot snapshot(secured_yaml(), kSchemaFile);
  ASSERT_TRUE(snapshot.ok());
  const ExplainReport missing = snapshot.explain("GET", "/private/x");
  EXPECT_EQ(missing.outcome, ExplainOutcome::kRefused);
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(step(missing, "auth").summary, "missing API key (X-API-Key header)");
  EXPECT_EQ(fact(step(missing, "auth"), "mode"), "required");

  const ExplainReport unknown = snapshot.explain("GET", "/private/x", {{"X-API-Key", "nope"}});
  EXPECT_EQ(unknown.status, 403u);
  EXPECT_EQ(fact(step(unknown, "auth"), "key"), "not recognized");

  const ExplainReport alice = snapshot.explain("GET", "/private/x", {{"X-API-Key", "alice-key"}});
  EXPECT_EQ(alice.outcome, ExplainOutcome::kForwarded) << alice.verdict;
  EXPECT_EQ(step(alice, "auth").verdict, StepVerdict::kPass);
  EXPECT_EQ(fact(step(alice, "auth"), "client"), "alice");
  // The credential ends at the gateway.
  ASSERT_FALSE(alice.forward.dropped.empty());
  EXPECT_EQ(alice.forward.dropped[0].first, "X-API-Key");

  const ExplainReport anonymous = snapshot.explain("GET", "/open/x");
  EXPECT_EQ(anonymous.outcome, ExplainOutcome::kForwarded);
  EXPECT_EQ(step(anonymous, "auth").summary, "optional: anonymous (no X-API-Key field)");
}

TEST(Explain, SignaturesAreNeverConsumed) {
  const Snapshot snapshot(secured_yaml(), kSchemaFile);
  const std::string timestamp = std::to_string(std::time(nullptr));
  std::string canonical;
  ASSERT_TRUE(policy::build_canonical_string("GET", "/signed/x", "", timestamp, "", canonical));
  policy::Sha256Digest mac;
  ASSERT_TRUE(policy::hmac_sha256("s3cret", canonical, mac));
  std::string signature;
  policy::append_hex(mac, signature);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-API-Key", "signer-key"}, {"X-Timestamp", timestamp}, {"X-Signature", signature}};
  for (int i = 0; i < 3; ++i) {
    const ExplainReport report = snapshot.explain("GET", "/signed/x", headers);
    EXPECT_EQ(step(report, "auth").verdict, StepVerdict::kApplies) << step(report, "auth").summary;
    EXPECT_EQ(fact(step(report, "auth"), "client"), "signer");
  }
  // The real check afterwards still sees a fresh signature (explain recorded nothing).
  const std::string raw =
      "GET /signed/x HTTP/1.1\r\nHost: h\r\nX-API-Key: signer-key\r\nX-Timestamp: " + timestamp +
      "\r\nX-Signature: " + signature + "\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, snapshot.runtime().limits(), head).status,
            http::ParseStatus::kComplete);
  policy::RequestView view;
  view.head = &head;
  view.method = "GET";
  view.path = "/signed/x";
  view.body_buffered = true;
  std::string_view client;
  const policy::Verdict verdict = snapshot.runtime().auth().check(
      view, snapshot.runtime().config().routes[2], client, static_cast<std::int64_t>(std::time(nullptr)));
  EXPECT_TRUE(verdict.allowed) << verdict.message;
  EXPECT_EQ(client, "signer");
}

TEST(Explain, PoliciesInLifecycleOrderWithRefusals) {
  const Snapshot snapshot(secured_yaml(), kSchemaFile);
  const std::vector<std::pair<std::string, std::string>> alice = {{"X-API-Key", "alice-key"}};

  const ExplainReport denied = snapshot.explain("GET", "/private/x", alice, "10.9.1.1");
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(step(denied, "ipFilter").verdict, StepVerdict::kRefuse);
  EXPECT_EQ(fact(step(denied, "ipFilter"), "denyFrom"), "10.9.0.0/16");
  const ExplainReport outside = snapshot.explain("GET", "/private/x", alice, "192.0.2.1");
  EXPECT_EQ(outside.status, 403u);
  EXPECT_EQ(step(snapshot.explain("GET", "/private/x", alice, "10.1.2.3"), "ipFilter").verdict,
            StepVerdict::kPass);

  auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    extra.insert(extra.begin(), alice.begin(), alice.end());
    return extra;
  };
  const ExplainReport underscore = snapshot.explain("GET", "/private/x", with({{"X_User", "bob"}}));
  EXPECT_EQ(underscore.status, 400u);
  EXPECT_EQ(step(underscore, "headers").verdict, StepVerdict::kRefuse);

  const ExplainReport large = snapshot.explain("POST", "/private/x", with({{"Content-Length", "4096"}}));
  EXPECT_EQ(large.status, 413u);
  EXPECT_EQ(step(large, "bodyLimit").verdict, StepVerdict::kRefuse);

  const ExplainReport xml =
      snapshot.explain("POST", "/private/x", with({{"Content-Type", "text/xml"}, {"Content-Length", "10"}}));
  EXPECT_EQ(xml.status, 415u);
  EXPECT_EQ(step(xml, "contentType").verdict, StepVerdict::kRefuse);

  const ExplainReport json = snapshot.explain(
      "POST", "/private/x", with({{"Content-Type", "application/json"}, {"Content-Length", "10"}}));
  EXPECT_EQ(json.outcome, ExplainOutcome::kForwarded) << json.verdict;
  EXPECT_EQ(step(json, "contentType").verdict, StepVerdict::kPass);
  EXPECT_EQ(step(json, "schema").verdict, StepVerdict::kApplies);
  EXPECT_EQ(fact(step(json, "schema"), "jsonSchema"), "user.json");
  // Shedding: priority low, 70% of maxInFlight 100.
  EXPECT_EQ(step(json, "admission").verdict, StepVerdict::kApplies);
  EXPECT_EQ(fact(step(json, "admission"), "shedAt"), "70");

  std::vector<std::string> order;
  for (const PolicyStep& policy : json.policies) order.push_back(policy.name);
  EXPECT_EQ(order, (std::vector<std::string>{"admission", "bodyLimit", "headers", "ipFilter", "contentType",
                                             "auth", "rateLimit", "schema"}));
}

TEST(Explain, RateLimitBucketsWithoutTakingTokens) {
  const Snapshot snapshot(secured_yaml(), kSchemaFile);
  const std::vector<std::pair<std::string, std::string>> headers = {{"X-API-Key", "alice-key"},
                                                                    {"X-Tenant", "acme"}};
  for (int i = 0; i < 3; ++i) {
    const ExplainReport report = snapshot.explain("GET", "/private/x", headers);
    const PolicyStep& limit = step(report, "rateLimit");
    EXPECT_EQ(limit.verdict, StepVerdict::kApplies);
    ASSERT_EQ(limit.levels.size(), 2u);
    EXPECT_EQ(limit.levels[0].level, "global");
    EXPECT_EQ(limit.levels[0].key, "client");
    EXPECT_EQ(limit.levels[0].bucket, "client alice");
    EXPECT_EQ(limit.levels[1].level, "route");
    EXPECT_EQ(limit.levels[1].max, 1u);
    EXPECT_EQ(limit.levels[1].window, std::chrono::minutes(1));
    EXPECT_EQ(limit.levels[1].bucket, "header X-Tenant=acme");
  }
  // Without the header the route level falls back to the client address.
  const ExplainReport no_tenant = snapshot.explain("GET", "/private/x", {{"X-API-Key", "alice-key"}});
  EXPECT_EQ(step(no_tenant, "rateLimit").levels[1].bucket, "ip 127.0.0.1");
  // The one-token bucket is still full: explain took nothing.
  const std::string raw = "GET /private/x HTTP/1.1\r\nHost: h\r\nX-Tenant: acme\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, snapshot.runtime().limits(), head).status,
            http::ParseStatus::kComplete);
  policy::RequestView view;
  view.head = &head;
  view.client = *net::IpAddress::parse("127.0.0.1");
  policy::RateLimitScratch scratch;
  std::string lines;
  EXPECT_TRUE(snapshot.runtime()
                  .rate_limit()
                  .check(view, 0, "alice", "", std::chrono::steady_clock::now(), scratch, lines)
                  .allowed);
}

TEST(Explain, SplitFallbackConsistentHashAndEgress) {
  const Snapshot snapshot(R"(
proxy: { port: 0, workers: 1 }
upstreams:
  - name: blue
    targets: [{ url: "http://10.1.0.1:9001" }, { url: "http://10.1.0.2:9001" }]
    loadBalancer: { strategy: consistent_hash, hashOn: "header:X-User" }
    circuitBreaker: { enabled: true }
  - name: green
    url: "http://10.1.0.3:9002"
  - name: blocked
    url: "http://localhost:9003"
routes:
  - path: "/split/*"
    upstreams: [{ name: blue, weight: 9 }, { name: green, weight: 1 }]
    fallback: blocked
  - path: "/blocked"
    upstream: blocked
    preserveHost: true
security:
  blockedIPs: ["127.0.0.0/8", "::1/128"]
  allowedHosts: ["10.1.0.1", "10.1.0.2", "10.1.0.3", "localhost"]
)");
  ASSERT_TRUE(snapshot.ok());
  const ExplainReport split = snapshot.explain("GET", "/split/a", {{"X-User", "bob"}});
  ASSERT_EQ(split.upstreams.size(), 3u);
  EXPECT_EQ(split.upstreams[0].role, "split");
  EXPECT_EQ(split.upstreams[0].share_percent, 90u);
  EXPECT_EQ(split.upstreams[1].share_percent, 10u);
  EXPECT_EQ(split.upstreams[2].role, "fallback");
  EXPECT_EQ(split.upstreams[0].hash_on, "header:X-User");
  EXPECT_EQ(split.upstreams[0].hash_key, "bob");
  EXPECT_GE(split.upstreams[0].hash_target, 0);
  EXPECT_TRUE(split.upstreams[0].breaker.enabled);
  EXPECT_EQ(split.upstreams[0].breaker.state, "closed");
  EXPECT_EQ(split.verdict, "forwarded, split blue 90%, green 10% as GET /split/a");
  // Same key, same target: the table is deterministic.
  EXPECT_EQ(snapshot.explain("GET", "/split/b", {{"X-User", "bob"}}).upstreams[0].hash_target,
            split.upstreams[0].hash_target);

  const ExplainReport blocked = snapshot.explain("GET", "/blocked", {{"Host", "front.example"}});
  EXPECT_EQ(blocked.outcome, ExplainOutcome::kNoTarget);
  EXPECT_EQ(blocked.status, 403u);
  ASSERT_FALSE(blocked.upstreams[0].targets[0].addresses.empty());
  EXPECT_FALSE(blocked.upstreams[0].targets[0].addresses[0].allowed);
  EXPECT_NE(blocked.upstreams[0].targets[0].addresses[0].reason.find("blockedIPs"), std::string::npos)
      << blocked.upstreams[0].targets[0].addresses[0].reason;
  EXPECT_TRUE(blocked.forward.preserve_host);
  EXPECT_EQ(blocked.forward.host, "front.example");
}

TEST(Explain, JsonHasTheDocumentedFields) {
  const Snapshot snapshot(secured_yaml(), kSchemaFile);
  std::string out;
  render_json(snapshot.explain("GET", "/private/x?q=1", {{"X-API-Key", "alice-key"}}), out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  const nlohmann::json json = nlohmann::json::parse(out);
  EXPECT_EQ(json["request"]["method"], "GET");
  EXPECT_EQ(json["request"]["client"], "127.0.0.1");
  EXPECT_EQ(json["outcome"], "forwarded");
  EXPECT_EQ(json["status"], 0);
  EXPECT_EQ(json["target"]["path"], "/private/x");
  EXPECT_EQ(json["target"]["query"], "q=1");
  EXPECT_EQ(json["routing"]["status"], "matched");
  EXPECT_EQ(json["routing"]["chosen"], 0);
  EXPECT_EQ(json["routing"]["routes"].size(), 3u);
  EXPECT_EQ(json["routing"]["routes"][1]["outcome"], "path-mismatch");
  EXPECT_EQ(json["forward"]["target"], "/private/x?q=1");
  EXPECT_EQ(json["upstreams"][0]["targets"][0]["addresses"][0]["allowed"], true);
  EXPECT_EQ(json["upstreams"][0]["timeouts"]["requestMs"], 30000);
  EXPECT_EQ(json["policies"].size(), 8u);
  EXPECT_EQ(json["policies"][5]["name"], "auth");
  EXPECT_EQ(json["policies"][5]["facts"]["client"], "alice");
  EXPECT_EQ(json["policies"][6]["levels"][1]["windowMs"], 60000);
  EXPECT_EQ(json["priority"], "low");
  EXPECT_EQ(json["maxBodySize"], 1024);

  std::string missing;
  render_json(snapshot.explain("GET", "/missing"), missing);
  const nlohmann::json not_found = nlohmann::json::parse(missing);
  EXPECT_EQ(not_found["outcome"], "not-found");
  EXPECT_EQ(not_found["status"], 404);
  EXPECT_FALSE(not_found.contains("forward"));
}

TEST(Explain, TextNamesTheRouteTheReasonsAndThePolicies) {
  const Snapshot snapshot(kRoutes);
  std::string text;
  render_text(snapshot.explain("GET", "/users/42"), text);
  EXPECT_NE(text.find("Verdict     forwarded to upstream users as GET /v1/users/42\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Route       routes[0] /users/:id [GET, PUT] -> upstream users\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("less-specific    matches, but routes[0] /users/:id is more specific than /users/*"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Forward     GET /v1/users/42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  auth         skip"), std::string::npos) << text;
}


// The websocket step (only for a request with an Upgrade field), as Session::websocket_phase.
TEST(Explain, WebSocketUpgrades) {
  const Snapshot snapshot(R"(
proxy: { port: 0, workers: 1 }
upstreams:
  - name: chat
    url: "http://127.0.0.1:9001"
routes:
  - path: "/ws/*"
    upstream: chat
    websocket: true
    timeouts: { idle: 2m }
  - path: "/*"
    upstream: chat
)");
  ASSERT_TRUE(snapshot.ok());
  // With a Host: without one explain stands for an HTTP/1.0 request, never a handshake.
  const std::vector<std::pair<std::string, std::string>> handshake = {
      {"Connection", "Upgrade"},
      {"Upgrade", "websocket"},
      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
      {"Sec-WebSocket-Version", "13"},
      {"Host", "chat.example"}};

  const ExplainReport upgraded = snapshot.explain("GET", "/ws/chat", handshake);
  EXPECT_EQ(upgraded.outcome, ExplainOutcome::kForwarded) << upgraded.verdict;
  EXPECT_EQ(upgraded.policies.front().name, "websocket");
  EXPECT_EQ(step(upgraded, "websocket").verdict, StepVerdict::kApplies);
  EXPECT_NE(step(upgraded, "websocket").summary.find("120000 ms"), std::string::npos);
  const auto& added = upgraded.forward.added;
  EXPECT_NE(std::find(added.begin(), added.end(), "Upgrade: websocket"), added.end());
  EXPECT_NE(std::find(added.begin(), added.end(), "Connection: Upgrade"), added.end());

  const ExplainReport elsewhere = snapshot.explain("GET", "/chat", handshake);
  EXPECT_EQ(elsewhere.status, 403u);
  EXPECT_EQ(step(elsewhere, "websocket").verdict, StepVerdict::kRefuse);

  auto without_key = handshake;
  without_key.erase(without_key.begin() + 2);
  EXPECT_EQ(snapshot.explain("GET", "/ws/chat", without_key).status, 400u);
  auto old_version = handshake;
  old_version[3].second = "8";
  EXPECT_EQ(snapshot.explain("GET", "/ws/chat", old_version).status, 426u);

  // h2c is not a refusal: the request goes on as HTTP/1.1, without the Upgrade.
  const ExplainReport h2c = snapshot.explain("GET", "/ws/chat", {{"Connection", "Upgrade"}, {"Upgrade", "h2c"}});
  EXPECT_EQ(h2c.outcome, ExplainOutcome::kForwarded) << h2c.verdict;
  EXPECT_EQ(step(h2c, "websocket").verdict, StepVerdict::kPass);
  EXPECT_EQ(std::find(h2c.forward.added.begin(), h2c.forward.added.end(), "Upgrade: websocket"),
            h2c.forward.added.end());

  // A plain request has no websocket step at all.
  EXPECT_EQ(snapshot.explain("GET", "/ws/chat").policies.front().name, "admission");
}

}  // namespace
}  // namespace flexgate::admin
