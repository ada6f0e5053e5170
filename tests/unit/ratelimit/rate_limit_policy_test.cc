#include "policy/ratelimit/rate_limit_policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace flexgate::policy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Clock::time_point t0 = Clock::time_point{} + 1000h;

config::RateLimitSpec limit(std::uint64_t max, std::chrono::milliseconds window, std::string message = {},
                            std::string key = {}) {
  config::RateLimitSpec spec;
  spec.max = max;
  spec.window = window;
  spec.message = std::move(message);
  spec.key = std::move(key);
  return spec;
}

config::RouteSpec route(std::string path, std::optional<config::RateLimitSpec> own = std::nullopt) {
  config::RouteSpec spec;
  spec.path = std::move(path);
  spec.upstream = "backend";
  spec.rate_limit = std::move(own);
  return spec;
}

// One request on the policy: the head carries the given fields.
struct Call {
  const RateLimitPolicy& policy;
  const config::Config& config;
  std::size_t route_index = 0;
  std::string_view client_name;
  std::string_view client_ip = "192.0.2.1";
  std::vector<http::HeaderField> fields;
  Clock::time_point now = t0;
  std::string response_headers;
  RateLimitScratch scratch;  // reused across calls, as the request context reuses it

  Verdict run() {
    http::RequestHead head;
    for (const http::HeaderField& field : fields) head.fields.add() = field;
    RequestView view;
    view.head = &head;
    view.method = "GET";
    view.path = "/";
    response_headers.clear();
    return policy.check(view, route_index, client_name, client_ip, now, scratch, response_headers);
  }
};

int count_allowed(Call& call, int attempts) {
  int allowed = 0;
  for (int i = 0; i < attempts; ++i) allowed += call.run().allowed ? 1 : 0;
  return allowed;
}

TEST(RateLimitPolicy, RouteWithoutLimitsIsInactiveAndAddsNothing) {
  config::Config config;
  config.routes = {route("/free")};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  EXPECT_FALSE(policy.active_for(0));
  EXPECT_FALSE(policy.active_for(7));
  Call call{policy, config};
  EXPECT_TRUE(call.run().allowed);
  EXPECT_EQ(call.response_headers, "");
}

TEST(RateLimitPolicy, AllowedResponsesCarryTheRateLimitFields) {
  config::Config config;
  config.routes = {route("/api/*", limit(100, 60000ms))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  ASSERT_TRUE(policy.active_for(0));
  Call call{policy, config};
  EXPECT_TRUE(call.run().allowed);
  EXPECT_EQ(call.response_headers,
            "RateLimit-Policy: \"route\";q=100;w=60\r\n"
            "RateLimit: \"route\";r=99;t=1\r\n");  // one token back in 600ms, rounded up
}

TEST(RateLimitPolicy, RefusalIs429WithRetryAfterAndDefaultMessage) {
  config::Config config;
  config.routes = {route("/api/*", limit(2, 60000ms))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call call{policy, config};
  ASSERT_EQ(count_allowed(call, 2), 2);
  Verdict verdict = call.run();
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kTooManyRequests);
  EXPECT_EQ(verdict.message, "rate limit exceeded");
  EXPECT_EQ(verdict.reason, "limited");
  EXPECT_EQ(verdict.extra_headers,
            "Retry-After: 30\r\n"
            "RateLimit-Policy: \"route\";q=2;w=60\r\n"
            "RateLimit: \"route\";r=0;t=30\r\n");
  EXPECT_EQ(call.response_headers, "");
}

TEST(RateLimitPolicy, RetryAfterRoundsUpToWholeSecondsAndIsAtLeastOne) {
  config::Config config;
  config.routes = {route("/slow", limit(2, 2500ms, "slow down")), route("/fast", limit(1000, 1000ms))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call slow{policy, config, 0};
  ASSERT_EQ(count_allowed(slow, 2), 2);
  Verdict verdict = slow.run();  // 1250ms to the next token
  EXPECT_EQ(verdict.message, "slow down");
  EXPECT_TRUE(verdict.extra_headers.starts_with("Retry-After: 2\r\nRateLimit-Policy: \"route\";q=2;w=3\r\n"))
      << verdict.extra_headers;
  slow.now = t0 + 1249ms;  // 1ms to go
  EXPECT_TRUE(slow.run().extra_headers.starts_with("Retry-After: 1\r\n"));

  Call fast{policy, config, 1};
  ASSERT_EQ(count_allowed(fast, 1000), 1000);
  EXPECT_TRUE(fast.run().extra_headers.starts_with("Retry-After: 1\r\n"));  // 1ms, never 0
}

TEST(RateLimitPolicy, ThreeLevelsAllApplyAndTheFirstExhaustedAnswers) {
  config::Config config;
  config.rate_limit.global = limit(10, 60000ms, "global says no");
  config.rate_limit.per_route = {{"/other", limit(1, 60000ms)},
                                 {"/api/*", limit(5, 60000ms, "per-route says no")}};
  config.routes = {route("/api/*", limit(3, 60000ms, "route says no")), route("/other")};
  RateLimitPolicy policy = RateLimitPolicy::build(config);

  Call api{policy, config, 0};
  EXPECT_TRUE(api.run().allowed);
  EXPECT_EQ(api.response_headers,
            "RateLimit-Policy: \"global\";q=10;w=60, \"per-route\";q=5;w=60, \"route\";q=3;w=60\r\n"
            "RateLimit: \"global\";r=9;t=6, \"per-route\";r=4;t=12, \"route\";r=2;t=20\r\n");
  ASSERT_EQ(count_allowed(api, 2), 2);
  Verdict verdict = api.run();
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.message, "route says no");
  // The refused request took nothing from the other levels.
  EXPECT_NE(verdict.extra_headers.find("\"global\";r=7;t=18, \"per-route\";r=2;t=36, \"route\";r=0;t=20"),
            std::string::npos)
      << verdict.extra_headers;

  // /other: global (7 tokens left) and its own per-route entry (max 1), no route limit.
  Call other{policy, config, 1};
  EXPECT_EQ(count_allowed(other, 1), 1);
  verdict = other.run();
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.message, "rate limit exceeded");  // the per-route entry has no message
}

TEST(RateLimitPolicy, ARefusedRequestDoesNotSpendTheOtherLevels) {
  config::Config config;
  config.rate_limit.global = limit(5, 60000ms, "global says no");
  config.routes = {route("/tight", limit(2, 60000ms)), route("/open")};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call tight{policy, config, 0};
  EXPECT_EQ(count_allowed(tight, 10), 2);  // 8 refusals by the route limit
  Call open{policy, config, 1};
  EXPECT_EQ(count_allowed(open, 3), 3);  // the global bucket lost only the 2 allowed requests
  Verdict verdict = open.run();
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.message, "global says no");
  EXPECT_EQ(open.response_headers, "");
}

TEST(RateLimitPolicy, DefaultKeyIsTheClientNameElseTheAddress) {
  config::Config config;
  config.routes = {route("/api/*", limit(1, 60000ms))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call alice{policy, config, 0, "alice", "192.0.2.1"};
  Call alice_elsewhere{policy, config, 0, "alice", "198.51.100.7"};
  Call bob_same_ip{policy, config, 0, "bob", "192.0.2.1"};
  Call anonymous_same_ip{policy, config, 0, "", "192.0.2.1"};
  EXPECT_TRUE(alice.run().allowed);
  EXPECT_FALSE(alice_elsewhere.run().allowed);  // one bucket per client name, wherever it comes from
  EXPECT_TRUE(bob_same_ip.run().allowed);
  EXPECT_TRUE(anonymous_same_ip.run().allowed);  // the address bucket, not alice's
  EXPECT_FALSE(anonymous_same_ip.run().allowed);
}

TEST(RateLimitPolicy, IpKeyIgnoresTheClientName) {
  config::Config config;
  config.routes = {route("/api/*", limit(1, 60000ms, "", "ip"))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call alice{policy, config, 0, "alice", "192.0.2.1"};
  Call bob{policy, config, 0, "bob", "192.0.2.1"};
  Call carol{policy, config, 0, "carol", "192.0.2.2"};
  EXPECT_TRUE(alice.run().allowed);
  EXPECT_FALSE(bob.run().allowed);
  EXPECT_TRUE(carol.run().allowed);
}

TEST(RateLimitPolicy, HeaderKeyFallsBackToTheAddressWhenTheFieldIsMissing) {
  config::Config config;
  config.routes = {route("/api/*", limit(1, 60000ms, "", "header:X-Tenant"))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call acme{policy, config, 0, "alice", "192.0.2.1", {{"x-tenant", "acme"}}};
  Call acme_elsewhere{policy, config, 0, "bob", "198.51.100.7", {{"X-TENANT", "acme"}}};
  Call globex{policy, config, 0, "alice", "192.0.2.1", {{"X-Tenant", "globex"}}};
  Call no_header{policy, config, 0, "alice", "192.0.2.1"};
  Call empty_header{policy, config, 0, "carol", "192.0.2.1", {{"X-Tenant", ""}}};
  Call spoofed{policy, config, 0, "", "192.0.2.9", {{"X-Tenant", "192.0.2.9"}}};
  EXPECT_TRUE(acme.run().allowed);
  EXPECT_FALSE(acme_elsewhere.run().allowed);  // one bucket per tenant
  EXPECT_TRUE(globex.run().allowed);
  EXPECT_TRUE(no_header.run().allowed);      // keyed by 192.0.2.1 (not by the client name)
  EXPECT_FALSE(empty_header.run().allowed);  // an empty value counts as missing: same address
  EXPECT_TRUE(spoofed.run().allowed);        // a header value never shares an address bucket
  Call by_address{policy, config, 0, "", "192.0.2.9"};
  EXPECT_TRUE(by_address.run().allowed);
}

TEST(RateLimitPolicy, GlobalLevelIsOneBucketPerClientAcrossRoutes) {
  config::Config config;
  config.rate_limit.global = limit(3, 60000ms);
  config.routes = {route("/a"), route("/b")};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call a{policy, config, 0};
  Call b{policy, config, 1};
  Call b_other_client{policy, config, 1, "", "192.0.2.2"};
  EXPECT_EQ(count_allowed(a, 2), 2);
  EXPECT_EQ(count_allowed(b, 5), 1);
  EXPECT_TRUE(b_other_client.run().allowed);
}

TEST(RateLimitPolicy, EmptyClientIpUsesTheRequestClientAddress) {
  config::Config config;
  config.routes = {route("/api/*", limit(1, 60000ms, "", "ip"))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call explicit_ip{policy, config, 0, "", "203.0.113.5"};
  ASSERT_TRUE(explicit_ip.run().allowed);
  http::RequestHead head;
  RequestView view;
  view.head = &head;
  view.client = *net::IpAddress::parse("203.0.113.5");
  std::string headers;
  RateLimitScratch scratch;
  EXPECT_FALSE(policy.check(view, 0, "", "", t0, scratch, headers).allowed);
}

TEST(RateLimitPolicy, BucketsSurviveARebuildThatReusesTheTable) {
  config::Config config;
  config.routes = {route("/api/*", limit(2, 60000ms))};
  RateLimitPolicy first = RateLimitPolicy::build(config);
  Call call{first, config};
  ASSERT_EQ(count_allowed(call, 2), 2);

  // The reload inserts a route before it: buckets follow the route, not its index.
  config::Config reloaded = config;
  reloaded.routes.insert(reloaded.routes.begin(), route("/new", limit(50, 60000ms)));
  RateLimitPolicy second = RateLimitPolicy::build(reloaded, first.table());
  EXPECT_EQ(second.table(), first.table());
  Call after{second, reloaded, 1};
  EXPECT_FALSE(after.run().allowed);
  after.now = t0 + 30s;
  EXPECT_TRUE(after.run().allowed);

  RateLimitPolicy fresh = RateLimitPolicy::build(reloaded);  // no reuse: a new table
  Call fresh_call{fresh, reloaded, 1};
  EXPECT_EQ(count_allowed(fresh_call, 3), 2);
}

// The Redis backend fills the decisions itself: conclude() renders them exactly as for memory.
TEST(RateLimitPolicy, ConcludeRendersDecisionsMadeByAnotherStore) {
  config::Config config;
  config.rate_limit.backend = "redis";
  config.rate_limit.fail_mode = "closed";
  config.rate_limit.global = limit(1000, 60000ms);
  config.routes = {route("/api/*", limit(10, 10000ms, "tenant over quota"))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  EXPECT_EQ(policy.backend(), RateLimitBackend::kRedis);
  EXPECT_EQ(policy.fail_mode(), RateLimitFailMode::kClosed);

  http::RequestHead head;
  RequestView view;
  view.head = &head;
  RateLimitScratch scratch;
  policy.prepare(view, 0, "client-a", "192.0.2.1", scratch);
  ASSERT_EQ(scratch.count, 2u);
  EXPECT_NE(scratch.requests()[0].key.find("n:client-a"), std::string_view::npos);
  EXPECT_EQ(scratch.requests()[1].capacity, 10u);

  scratch.decisions[0] = RateLimitDecision{true, {}, 1000, 990, 0ms, 600ms, {}};
  scratch.decisions[1] = RateLimitDecision{false, {}, 10, 0, 2500ms, 10000ms, {}};
  std::string headers;
  Verdict refused = policy.conclude(0, scratch, 1, headers);
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.message, "tenant over quota");
  EXPECT_EQ(headers, "");
  EXPECT_EQ(refused.extra_headers,
            "Retry-After: 3\r\n"
            "RateLimit-Policy: \"global\";q=1000;w=60, \"route\";q=10;w=10\r\n"
            "RateLimit: \"global\";r=990;t=1, \"route\";r=0;t=3\r\n");

  scratch.decisions[1] = RateLimitDecision{true, {}, 10, 4, 0ms, 6000ms, {}};
  EXPECT_TRUE(policy.conclude(0, scratch, 2, headers).allowed);
  EXPECT_EQ(headers,
            "RateLimit-Policy: \"global\";q=1000;w=60, \"route\";q=10;w=10\r\n"
            "RateLimit: \"global\";r=990;t=1, \"route\";r=4;t=6\r\n");
}

TEST(RateLimitPolicy, HeadersCanBeLeftOffAllowedResponsesButNotRefusals) {
  config::Config config;
  config.rate_limit.headers = false;
  config.routes = {route("/api/*", limit(1, 60000ms))};
  RateLimitPolicy policy = RateLimitPolicy::build(config);
  Call call{policy, config};
  EXPECT_TRUE(call.run().allowed);
  EXPECT_EQ(call.response_headers, "");
  Verdict refused = call.run();
  ASSERT_FALSE(refused.allowed);
  EXPECT_NE(refused.extra_headers.find("RateLimit: "), std::string::npos);
  EXPECT_NE(refused.extra_headers.find("Retry-After: "), std::string::npos);
}

}  // namespace
}  // namespace flexgate::policy
