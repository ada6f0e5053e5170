// Traffic-control keys: load balancing, health checks, outlier detection, circuit breaking,
// retries, timeouts at three levels, backpressure, traffic splits and fallbacks. Loading valid
// values and defaults, resolving effective timeouts, and one failing case per validation rule
// (exact line:column, key path and message substring, like validation_test.cc).

#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"
#include "config/schema.h"
#include "config_test_util.h"

namespace flexgate::config {
namespace {

using namespace std::chrono_literals;
using testing::all_errors;
using testing::has_error;
using testing::yaml;

TEST(TrafficControl, LoadsEveryKey) {
  const LoadResult result = load_config_text(yaml(R"(
proxy:
  timeouts: { connect: 2s, firstByte: 10s, perTry: 3s, request: 20s, idle: 30s }
  maxConnections: 500
  maxInFlight: 200
  shedding: { lowAt: 0.5, normalAt: 0.9 }
upstreams:
  - name: api
    url: "http://127.0.0.1:8080"
    loadBalancer: { strategy: latency, latencyDecay: 2s }
    healthCheck: { path: "/healthz?full=1", interval: 10s, timeout: 2s, healthyThreshold: 1, unhealthyThreshold: 5 }
    outlierDetection: { consecutiveFailures: 7, baseEjectionTime: 10s, maxEjectionTime: 1m, maxEjectionPercent: 30 }
    circuitBreaker: { enabled: true, failOn: [connect-failure, reset, 502, 504] }
    retry:
      attempts: 2
      on: [timeout, 5xx]
      backoff: { base: 50ms, max: 2s }
      budget: { ratio: 0.5, minRetries: 10, window: 30s }
      perTryTimeout: 4s
    timeouts: { connect: 1s, firstByte: 5s }
    maxConcurrent: 100
    queue: { size: 50, timeout: 250ms }
  - name: cache
    url: "http://127.0.0.1:8081"
    loadBalancer: { strategy: consistent_hash, hashOn: "cookie:session" }
    maxConcurrent: auto
    outlierDetection: { enabled: false }
  - name: spare
    url: "http://127.0.0.1:8082"
    loadBalancer: round_robin
    retries: 4
routes:
  - path: /api/*
    upstreams: [{ name: api, weight: 90 }, { name: cache, weight: 10 }]
    fallback: spare
    timeouts: { firstByte: 8s, request: 15s }
    retryNonIdempotent: true
    priority: critical
  - path: /b
    upstream: spare
    timeout: 2s
    priority: low
  - path: /c
    upstreams: [{ name: cache }]
rateLimit:
  headers: false
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;

  EXPECT_EQ(c.proxy.timeouts.connect, 2s);
  EXPECT_EQ(c.proxy.timeouts.first_byte, 10s);
  EXPECT_EQ(c.proxy.timeouts.per_try, 3s);
  EXPECT_EQ(c.proxy.timeouts.request, 20s);
  EXPECT_EQ(c.proxy.timeouts.idle, 30s);
  EXPECT_EQ(c.proxy.timeout, 20s);  // the older fields follow
  EXPECT_EQ(c.proxy.idle_timeout, 30s);
  EXPECT_EQ(c.proxy.max_connections, 500u);
  EXPECT_EQ(c.proxy.max_in_flight, 200u);
  EXPECT_DOUBLE_EQ(c.proxy.shedding.low_at, 0.5);
  EXPECT_DOUBLE_EQ(c.proxy.shedding.normal_at, 0.9);

  ASSERT_EQ(c.upstreams.size(), 3u);
  const UpstreamSpec& api = c.upstreams[0];
  EXPECT_EQ(api.load_balancer, "latency");
  EXPECT_EQ(api.balancer.strategy, LoadBalancerStrategy::kLatency);
  EXPECT_EQ(api.balancer.latency_decay, 2s);
  EXPECT_EQ(api.balancer.hash_on.source, HashSource::kNone);
  EXPECT_EQ(api.balancer.pos.line, 9);
  EXPECT_EQ(api.balancer.pos.column, 19);
  ASSERT_TRUE(api.health_check.has_value());
  EXPECT_EQ(api.health_check->path, "/healthz?full=1");
  EXPECT_EQ(api.health_check->interval, 10s);
  EXPECT_EQ(api.health_check->timeout, 2s);
  EXPECT_EQ(api.health_check->healthy_threshold, 1u);
  EXPECT_EQ(api.health_check->unhealthy_threshold, 5u);
  EXPECT_EQ(api.health_check->pos.line, 10);
  EXPECT_TRUE(api.outlier_detection.enabled);  // written = on
  EXPECT_EQ(api.outlier_detection.consecutive_failures, 7u);
  EXPECT_EQ(api.outlier_detection.base_ejection_time, 10s);
  EXPECT_EQ(api.outlier_detection.max_ejection_time, 1min);
  EXPECT_EQ(api.outlier_detection.max_ejection_percent, 30u);
  EXPECT_TRUE(api.circuit_breaker.enabled);
  const FailureConditions& fail_on = api.circuit_breaker.fail_on;
  EXPECT_TRUE(fail_on.connect_failure);
  EXPECT_FALSE(fail_on.timeout);
  EXPECT_TRUE(fail_on.reset);
  EXPECT_FALSE(fail_on.any_5xx);
  EXPECT_EQ(fail_on.statuses, (std::vector<std::uint16_t>{502, 504}));
  EXPECT_EQ(api.retry.attempts, 2u);
  EXPECT_EQ(api.retries, 2u);
  EXPECT_FALSE(api.retry.on.connect_failure);
  EXPECT_TRUE(api.retry.on.timeout);
  EXPECT_TRUE(api.retry.on.any_5xx);
  EXPECT_TRUE(api.retry.on.statuses.empty());
  EXPECT_EQ(api.retry.backoff.base, 50ms);
  EXPECT_EQ(api.retry.backoff.max, 2s);
  EXPECT_DOUBLE_EQ(api.retry.budget.ratio, 0.5);
  EXPECT_EQ(api.retry.budget.min_retries, 10u);
  EXPECT_EQ(api.retry.budget.window, 30s);
  EXPECT_EQ(api.retry.pos.line, 14);  // a block mapping starts at its first key
  EXPECT_EQ(api.retry.pos.column, 7);
  EXPECT_EQ(api.timeouts.per_try, 4s);  // retry.perTryTimeout
  EXPECT_EQ(api.timeouts.connect, 1s);
  EXPECT_EQ(api.timeouts.first_byte, 5s);
  EXPECT_FALSE(api.timeouts.request.has_value());
  EXPECT_EQ(api.timeout, 5s);
  EXPECT_EQ(api.connect_timeout, 1s);
  EXPECT_EQ(api.concurrency, ConcurrencyLimit::kFixed);
  EXPECT_EQ(api.max_concurrent, 100u);
  EXPECT_EQ(api.queue.size, 50u);
  EXPECT_EQ(api.queue.timeout, 250ms);

  const UpstreamSpec& cache = c.upstreams[1];
  EXPECT_EQ(cache.load_balancer, "consistent_hash");
  EXPECT_EQ(cache.balancer.strategy, LoadBalancerStrategy::kConsistentHash);
  EXPECT_EQ(cache.balancer.hash_on.source, HashSource::kCookie);
  EXPECT_EQ(cache.balancer.hash_on.name, "session");
  EXPECT_EQ(cache.concurrency, ConcurrencyLimit::kAuto);
  EXPECT_EQ(cache.max_concurrent, 0u);
  EXPECT_FALSE(cache.outlier_detection.enabled);
  EXPECT_EQ(cache.outlier_detection.consecutive_failures, 5u);
  EXPECT_FALSE(cache.health_check.has_value());
  EXPECT_EQ(cache.timeout, 10s);  // proxy.timeouts.firstByte, inherited
  EXPECT_EQ(cache.connect_timeout, 2s);
  EXPECT_FALSE(cache.timeouts.first_byte.has_value());

  const UpstreamSpec& spare = c.upstreams[2];
  EXPECT_EQ(spare.load_balancer, "round_robin");
  EXPECT_EQ(spare.balancer.strategy, LoadBalancerStrategy::kRoundRobin);
  EXPECT_EQ(spare.retries, 4u);
  EXPECT_EQ(spare.retry.attempts, 4u);  // the shorthand, with the other retry defaults
  EXPECT_EQ(spare.retry.on.statuses, (std::vector<std::uint16_t>{502, 503, 504}));
  EXPECT_EQ(spare.retry.pos.line, 30);
  EXPECT_EQ(spare.retry.pos.column, 14);

  ASSERT_EQ(c.routes.size(), 3u);
  const RouteSpec& split = c.routes[0];
  EXPECT_EQ(split.upstream, "api");  // the first entry, for code that reads one upstream
  ASSERT_EQ(split.upstreams.size(), 2u);
  EXPECT_EQ(split.upstreams[0].name, "api");
  EXPECT_EQ(split.upstreams[0].weight, 90u);
  EXPECT_EQ(split.upstreams[1].name, "cache");
  EXPECT_EQ(split.upstreams[1].weight, 10u);
  EXPECT_EQ(split.upstreams[1].pos.line, 33);
  EXPECT_EQ(split.upstreams[1].pos.column, 44);
  EXPECT_EQ(split.fallback, "spare");
  EXPECT_EQ(split.timeouts.first_byte, 8s);
  EXPECT_EQ(split.timeouts.request, 15s);
  EXPECT_EQ(split.timeout, 8s);
  EXPECT_TRUE(split.retry_non_idempotent);
  EXPECT_EQ(split.priority, RoutePriority::kCritical);

  const RouteSpec& single = c.routes[1];
  EXPECT_EQ(single.upstream, "spare");
  ASSERT_EQ(single.upstreams.size(), 1u);
  EXPECT_EQ(single.upstreams[0].name, "spare");
  EXPECT_EQ(single.upstreams[0].weight, 1u);
  EXPECT_EQ(single.timeout, 2s);
  EXPECT_EQ(single.timeouts.first_byte, 2s);  // `timeout` is the route's firstByte
  EXPECT_EQ(single.priority, RoutePriority::kLow);
  EXPECT_EQ(single.fallback, "");

  ASSERT_EQ(c.routes[2].upstreams.size(), 1u);
  EXPECT_EQ(c.routes[2].upstreams[0].weight, 1u);  // weight defaults to 1
  EXPECT_EQ(c.routes[2].upstream, "cache");

  EXPECT_FALSE(c.rate_limit.headers);
}

TEST(TrafficControl, Defaults) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: a
    url: http://localhost:8080
routes:
  - path: /*
    upstream: a
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  EXPECT_EQ(c.proxy.max_connections, 10000u);
  EXPECT_EQ(c.proxy.max_in_flight, 0u);
  EXPECT_DOUBLE_EQ(c.proxy.shedding.low_at, 0.7);
  EXPECT_DOUBLE_EQ(c.proxy.shedding.normal_at, 0.85);
  EXPECT_FALSE(c.proxy.timeouts.connect || c.proxy.timeouts.first_byte || c.proxy.timeouts.per_try ||
               c.proxy.timeouts.request || c.proxy.timeouts.idle);
  EXPECT_EQ(c.proxy.timeout, 30s);
  EXPECT_EQ(c.proxy.idle_timeout, 60s);

  const UpstreamSpec& u = c.upstreams[0];
  EXPECT_EQ(u.load_balancer, "least_request");
  EXPECT_EQ(u.balancer.strategy, LoadBalancerStrategy::kLeastRequest);
  EXPECT_EQ(u.balancer.hash_on.source, HashSource::kNone);
  EXPECT_EQ(u.balancer.latency_decay, 10s);
  EXPECT_EQ(u.balancer.pos.line, 0);
  EXPECT_FALSE(u.health_check.has_value());
  EXPECT_FALSE(u.outlier_detection.enabled);
  EXPECT_EQ(u.outlier_detection.consecutive_failures, 5u);
  EXPECT_EQ(u.outlier_detection.base_ejection_time, 30s);
  EXPECT_EQ(u.outlier_detection.max_ejection_time, 300s);
  EXPECT_EQ(u.outlier_detection.max_ejection_percent, 50u);
  const FailureConditions& fail_on = u.circuit_breaker.fail_on;
  EXPECT_TRUE(fail_on.connect_failure && fail_on.timeout && fail_on.any_5xx);
  EXPECT_FALSE(fail_on.reset);
  EXPECT_TRUE(fail_on.statuses.empty());
  EXPECT_EQ(u.retries, 0u);
  EXPECT_EQ(u.retry.attempts, 0u);
  EXPECT_TRUE(u.retry.on.connect_failure && u.retry.on.timeout);
  EXPECT_FALSE(u.retry.on.reset || u.retry.on.any_5xx);
  EXPECT_EQ(u.retry.on.statuses, (std::vector<std::uint16_t>{502, 503, 504}));
  EXPECT_EQ(u.retry.backoff.base, 25ms);
  EXPECT_EQ(u.retry.backoff.max, 1s);
  EXPECT_DOUBLE_EQ(u.retry.budget.ratio, 0.2);
  EXPECT_EQ(u.retry.budget.min_retries, 3u);
  EXPECT_EQ(u.retry.budget.window, 10s);
  EXPECT_EQ(u.retry.pos.line, 0);
  EXPECT_FALSE(u.timeouts.connect || u.timeouts.first_byte || u.timeouts.per_try);
  EXPECT_EQ(u.timeout, 30s);
  EXPECT_EQ(u.connect_timeout, 5s);
  EXPECT_EQ(u.concurrency, ConcurrencyLimit::kUnlimited);
  EXPECT_EQ(u.queue.size, 0u);
  EXPECT_EQ(u.queue.timeout, 1s);

  const RouteSpec& r = c.routes[0];
  ASSERT_EQ(r.upstreams.size(), 1u);
  EXPECT_EQ(r.upstreams[0].name, "a");
  EXPECT_EQ(r.upstreams[0].weight, 1u);
  EXPECT_EQ(r.upstreams[0].pos.line, 6);
  EXPECT_EQ(r.upstreams[0].pos.column, 15);
  EXPECT_EQ(r.fallback, "");
  EXPECT_FALSE(r.timeout.has_value());
  EXPECT_FALSE(r.timeouts.first_byte.has_value());
  EXPECT_FALSE(r.retry_non_idempotent);
  EXPECT_EQ(r.priority, RoutePriority::kNormal);
  EXPECT_TRUE(c.rate_limit.headers);
}

TEST(TrafficControl, HealthCheckDefaultsAndOutlierDetectionTurnedOnByItsKey) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: a
    url: http://localhost:8080
    healthCheck: { path: / }
    outlierDetection: {}
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const UpstreamSpec& u = result.config->upstreams[0];
  ASSERT_TRUE(u.health_check.has_value());
  EXPECT_EQ(u.health_check->path, "/");
  EXPECT_EQ(u.health_check->interval, 5s);
  EXPECT_EQ(u.health_check->timeout, 1s);
  EXPECT_EQ(u.health_check->healthy_threshold, 2u);
  EXPECT_EQ(u.health_check->unhealthy_threshold, 3u);
  EXPECT_TRUE(u.outlier_detection.enabled);
  EXPECT_EQ(u.outlier_detection.consecutive_failures, 5u);
  EXPECT_EQ(u.outlier_detection.max_ejection_time, 5min);
}

TEST(TrafficControl, HashOnForms) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - { name: a, url: "http://h:1", loadBalancer: { strategy: consistent_hash, hashOn: ip } }
  - { name: b, url: "http://h:2", loadBalancer: { strategy: consistent_hash, hashOn: "header:X-Tenant" } }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const auto& a = result.config->upstreams[0].balancer.hash_on;
  EXPECT_EQ(a.source, HashSource::kIp);
  EXPECT_EQ(a.name, "");
  const auto& b = result.config->upstreams[1].balancer.hash_on;
  EXPECT_EQ(b.source, HashSource::kHeader);
  EXPECT_EQ(b.name, "X-Tenant");
}

TEST(TrafficControl, OlderTimeoutKeysFillTheTimeouts) {
  const LoadResult result = load_config_text(yaml(R"(
proxy: { timeout: 12s, idleTimeout: 7s, timeouts: { connect: 3s, firstByte: 9s } }
upstreams:
  - { name: a, url: "http://h:1", timeout: 4s, connectTimeout: 1s }
  - { name: b, url: "http://h:2", timeouts: { perTry: 2s } }
routes:
  - { path: /a, upstream: a, timeout: 6s }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  EXPECT_EQ(c.proxy.timeouts.request, 12s);
  EXPECT_EQ(c.proxy.timeouts.idle, 7s);
  EXPECT_EQ(c.proxy.timeout, 12s);
  EXPECT_EQ(c.proxy.idle_timeout, 7s);
  EXPECT_EQ(c.upstreams[0].timeouts.first_byte, 4s);
  EXPECT_EQ(c.upstreams[0].timeouts.connect, 1s);
  EXPECT_EQ(c.upstreams[0].timeout, 4s);
  EXPECT_EQ(c.upstreams[0].connect_timeout, 1s);
  // b sets neither: its fields hold the proxy-level values.
  EXPECT_FALSE(c.upstreams[1].timeouts.first_byte.has_value());
  EXPECT_EQ(c.upstreams[1].timeout, 9s);
  EXPECT_EQ(c.upstreams[1].connect_timeout, 3s);
  EXPECT_EQ(c.routes[0].timeouts.first_byte, 6s);
  EXPECT_EQ(c.routes[0].timeout, 6s);
}

TEST(TrafficControl, MixedRetryWordsAndStatuses) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: a
    url: "http://h:1"
    retry: { attempts: 0, on: [reset, "503", 599, 500] }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const RetrySpec& retry = result.config->upstreams[0].retry;
  EXPECT_EQ(retry.attempts, 0u);
  EXPECT_TRUE(retry.on.reset);
  EXPECT_FALSE(retry.on.connect_failure);  // the list replaces the default
  EXPECT_EQ(retry.on.statuses, (std::vector<std::uint16_t>{503, 599, 500}));
}

TEST(TrafficControl, SeveralErrorsInOneUpstreamAreAllReported) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: a
    url: "http://h:1"
    loadBalancer: { strategy: round_robin, hashOn: ip, latencyDecay: 1s }
    retry: { attempts: 20, on: [5xx, 502] }
    queue: { size: 1 }
routes:
  - { path: /a, upstreams: [{ name: a }, { name: zz }], fallback: a }
)"),
                                             "gw.yml");
  ASSERT_EQ(result.errors.size(), 7u) << all_errors(result);
  const char* expected[] = {
      "gw.yml:4:44: upstreams[0].loadBalancer.hashOn: only applies to strategy consistent_hash (strategy is "
      "round_robin)",
      "gw.yml:4:56: upstreams[0].loadBalancer.latencyDecay: only applies to strategy latency (strategy is "
      "round_robin)",
      "gw.yml:5:24: upstreams[0].retry.attempts: must be between 0 and 10 (got '20')",
      "gw.yml:5:38: upstreams[0].retry.on[1]: '502' is already covered by '5xx' (upstreams[0].retry.on[0])",
      "gw.yml:6:5: upstreams[0].queue: needs maxConcurrent: without a concurrency limit no request ever "
      "waits",
      "gw.yml:8:50: routes[0].upstreams[1].name: upstream 'zz' is not defined (defined: a)",
      "gw.yml:8:67: routes[0].fallback: upstream 'a' already serves this route; the fallback must be another "
      "upstream",
  };
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    EXPECT_EQ(result.errors[i].to_string(), expected[i]);
  }
}

TEST(TrafficControl, UndefinedSplitUpstreamIsReportedOnce) {
  // The route's own "not defined" error; the fallback naming another defined upstream is fine.
  const LoadResult result = load_config_text(yaml(R"(
upstreams: [{ name: a, url: "http://h:1" }, { name: b, url: "http://h:2" }]
routes:
  - { path: /a, upstream: c, fallback: b }
)"));
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_TRUE(has_error(result, "routes[0].upstream", 3, 27, "upstream 'c' is not defined"));
}

TEST(TrafficControl, InvalidMaxInFlightDoesNotAlsoFailShedding) {
  const LoadResult result = load_config_text("proxy: { maxInFlight: -1, shedding: { lowAt: 0.5 } }\n");
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_TRUE(has_error(result, "proxy.maxInFlight", 1, 23, "must be between 0 and 1000000 (got '-1')"));
}

TEST(FailureConditions, MatchesStatus) {
  FailureConditions some{.statuses = {502, 504}};
  EXPECT_TRUE(some.matches_status(502));
  EXPECT_FALSE(some.matches_status(503));
  EXPECT_FALSE(some.matches_status(200));
  FailureConditions all{.any_5xx = true};
  EXPECT_TRUE(all.matches_status(500));
  EXPECT_TRUE(all.matches_status(599));
  EXPECT_FALSE(all.matches_status(499));
  EXPECT_FALSE(all.matches_status(600));
  EXPECT_TRUE(CircuitBreakerSpec{}.fail_on.matches_status(503));
  EXPECT_FALSE(RetrySpec{}.on.matches_status(500));
  EXPECT_TRUE(RetrySpec{}.on.matches_status(503));
}

TEST(ResolveTimeouts, DefaultsWhenNothingIsSet) {
  const EffectiveTimeouts t = resolve_timeouts(ProxySettings{}, UpstreamSpec{}, RouteSpec{});
  EXPECT_EQ(t.connect, 5s);
  EXPECT_EQ(t.first_byte, 30s);
  EXPECT_EQ(t.request, 30s);
  EXPECT_EQ(t.per_try, 30s);  // perTry defaults to the request deadline
  EXPECT_EQ(t.idle, 60s);
}

TEST(ResolveTimeouts, MostSpecificScopeWins) {
  ProxySettings proxy;
  proxy.timeouts = {.connect = 1s, .first_byte = 2s, .per_try = 3s, .request = 4s, .idle = 5s};
  UpstreamSpec upstream;
  upstream.timeouts = {.first_byte = 20s, .per_try = 30s};
  RouteSpec route;
  route.timeouts = {.per_try = 300ms};
  EffectiveTimeouts t = resolve_timeouts(proxy, upstream, route);
  EXPECT_EQ(t.connect, 1s);      // proxy
  EXPECT_EQ(t.first_byte, 20s);  // upstream over proxy
  EXPECT_EQ(t.per_try, 300ms);   // route over upstream and proxy
  EXPECT_EQ(t.request, 4s);      // proxy
  EXPECT_EQ(t.idle, 5s);         // proxy

  route.timeouts.request = 40s;
  route.timeouts.idle = 50s;
  upstream.timeouts.connect = 10s;
  t = resolve_timeouts(proxy, upstream, route);
  EXPECT_EQ(t.connect, 10s);
  EXPECT_EQ(t.request, 40s);
  EXPECT_EQ(t.idle, 50s);
}

TEST(ResolveTimeouts, PerTryFollowsTheResolvedRequest) {
  RouteSpec route;
  route.timeouts.request = 7s;
  EXPECT_EQ(resolve_timeouts(ProxySettings{}, UpstreamSpec{}, route).per_try, 7s);
}

TEST(ResolveTimeouts, OlderFieldsAreTheFallbackAtTheirLevel) {
  // Hand-built specs that only set the older fields still resolve as they say.
  ProxySettings proxy;
  proxy.timeout = 9s;
  proxy.idle_timeout = 8s;
  UpstreamSpec upstream;
  upstream.timeout = 7s;
  upstream.connect_timeout = 6s;
  RouteSpec route;
  EffectiveTimeouts t = resolve_timeouts(proxy, upstream, route);
  EXPECT_EQ(t.request, 9s);
  EXPECT_EQ(t.per_try, 9s);
  EXPECT_EQ(t.idle, 8s);
  EXPECT_EQ(t.first_byte, 7s);
  EXPECT_EQ(t.connect, 6s);
  route.timeout = 2s;  // a route's own response timeout beats the upstream's
  EXPECT_EQ(resolve_timeouts(proxy, upstream, route).first_byte, 2s);
  upstream.timeouts.first_byte = 3s;  // ...even the upstream's timeouts.firstByte
  EXPECT_EQ(resolve_timeouts(proxy, upstream, route).first_byte, 2s);
  route.timeouts.first_byte = 1s;
  EXPECT_EQ(resolve_timeouts(proxy, upstream, route).first_byte, 1s);
}

TEST(ResolveTimeouts, FromALoadedConfig) {
  const LoadResult result = load_config_text(yaml(R"(
proxy: { timeout: 20s, timeouts: { connect: 2s, perTry: 5s } }
upstreams:
  - { name: a, url: "http://h:1", timeout: 8s, retry: { attempts: 2, perTryTimeout: 3s } }
routes:
  - { path: /a, upstream: a, timeouts: { request: 60s } }
  - { path: /b, upstream: a, timeout: 1s }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  const EffectiveTimeouts a = resolve_timeouts(c.proxy, c.upstreams[0], c.routes[0]);
  EXPECT_EQ(a.connect, 2s);
  EXPECT_EQ(a.first_byte, 8s);
  EXPECT_EQ(a.per_try, 3s);
  EXPECT_EQ(a.request, 60s);
  EXPECT_EQ(a.idle, 60s);
  const EffectiveTimeouts b = resolve_timeouts(c.proxy, c.upstreams[0], c.routes[1]);
  EXPECT_EQ(b.first_byte, 1s);
  EXPECT_EQ(b.request, 20s);
}

struct RuleCase {
  const char* name;
  const char* yaml;
  const char* path;  // key path of the error
  int line;          // 1-based
  int column;
  const char* message;  // substring of the message
};

// gtest prints the case name instead of the struct's bytes.
void PrintTo(const RuleCase& c, std::ostream* os) {
  *os << c.name;
}

// clang-format off
const RuleCase kRuleCases[] = {
    {"LoadBalancerConsistentHashStringNeedsHashOn",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: consistent_hash\n",
     "upstreams[0].loadBalancer", 4, 19, "consistent_hash needs a key to hash: write {strategy: consistent_hash, hashOn: ip} (or header:NAME, cookie:NAME)"},
    {"LoadBalancerMissingHashOn",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: consistent_hash }\n",
     "upstreams[0].loadBalancer.hashOn", 4, 19, "missing required key 'hashOn' (consistent_hash hashes it: ip, header:NAME or cookie:NAME)"},
    {"LoadBalancerMissingStrategy",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { hashOn: ip }\n",
     "upstreams[0].loadBalancer.strategy", 4, 19, "missing required key 'strategy'"},
    {"LoadBalancerStrategyTypo",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: latncy }\n",
     "upstreams[0].loadBalancer.strategy", 4, 31, "must be one of round_robin, least_request, latency, consistent_hash (got 'latncy'); did you mean 'latency'?"},
    {"LoadBalancerNotStringOrMapping",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: [latency]\n",
     "upstreams[0].loadBalancer", 4, 19, "must be one of round_robin, least_request, latency, consistent_hash (got a list)"},
    {"LoadBalancerUnknownKey",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: latency, decay: 5s }\n",
     "upstreams[0].loadBalancer.decay", 4, 40, "unknown key 'decay' (expected one of: strategy, hashOn, latencyDecay)"},
    {"HashOnOnlyForConsistentHash",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: round_robin, hashOn: ip }\n",
     "upstreams[0].loadBalancer.hashOn", 4, 44, "only applies to strategy consistent_hash (strategy is round_robin)"},
    {"HashOnHeaderWithoutName",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: consistent_hash, hashOn: \"header:\" }\n",
     "upstreams[0].loadBalancer.hashOn", 4, 56, "must be 'ip', 'header:NAME' or 'cookie:NAME' like 'header:X-User-Id' (got 'header:')"},
    {"HashOnUnknownSource",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: consistent_hash, hashOn: \"query:id\" }\n",
     "upstreams[0].loadBalancer.hashOn", 4, 56, "(got 'query:id')"},
    {"HashOnCookieNameNotToken",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: consistent_hash, hashOn: \"cookie:a b\" }\n",
     "upstreams[0].loadBalancer.hashOn", 4, 56, "must be 'ip', 'header:NAME' or 'cookie:NAME'"},
    {"LatencyDecayOnlyForLatency",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: least_request, latencyDecay: 5s }\n",
     "upstreams[0].loadBalancer.latencyDecay", 4, 46, "only applies to strategy latency (strategy is least_request)"},
    {"LatencyDecayZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: { strategy: latency, latencyDecay: 0 }\n",
     "upstreams[0].loadBalancer.latencyDecay", 4, 54, "must be between 1ms and 24h (got 0ms)"},
    {"HealthCheckMissingPath",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { interval: 5s }\n",
     "upstreams[0].healthCheck.path", 4, 18, "missing required key 'path'"},
    {"HealthCheckPathRelative",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: healthz }\n",
     "upstreams[0].healthCheck.path", 4, 26, "must start with '/' (got 'healthz')"},
    {"HealthCheckPathWithSpace",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: \"/a b\" }\n",
     "upstreams[0].healthCheck.path", 4, 26, "must not contain spaces, control or non-ASCII characters"},
    {"HealthCheckPathWithFragment",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: \"/h#x\" }\n",
     "upstreams[0].healthCheck.path", 4, 26, "must not contain a fragment ('#')"},
    {"HealthCheckTimeoutEqualsInterval",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck:\n"
     "      path: /h\n"
     "      interval: 2s\n"
     "      timeout: 2s\n",
     "upstreams[0].healthCheck.timeout", 7, 16, "must be less than interval (got 2s; interval is 2s)"},
    {"HealthCheckIntervalBelowDefaultTimeout",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck:\n"
     "      path: /h\n"
     "      interval: 500ms\n",
     "upstreams[0].healthCheck.interval", 6, 17, "must be greater than timeout (got 500ms; timeout is 1s by default)"},
    {"HealthCheckTimeoutAboveDefaultInterval",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: /h, timeout: 10s }\n",
     "upstreams[0].healthCheck.timeout", 4, 39, "must be less than interval (got 10s; interval is 5s by default)"},
    {"HealthCheckIntervalWrittenLast",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck:\n"
     "      path: /h\n"
     "      timeout: 10s\n"
     "      interval: 5s\n",
     "upstreams[0].healthCheck.interval", 7, 17, "must be greater than timeout (got 5s; timeout is 10s)"},
    {"HealthyThresholdZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: /h, healthyThreshold: 0 }\n",
     "upstreams[0].healthCheck.healthyThreshold", 4, 48, "must be between 1 and 100 (got '0')"},
    {"UnhealthyThresholdTooLarge",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: /h, unhealthyThreshold: 101 }\n",
     "upstreams[0].healthCheck.unhealthyThreshold", 4, 50, "must be between 1 and 100 (got '101')"},
    {"HealthCheckIntervalZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: { path: /h, interval: 0 }\n",
     "upstreams[0].healthCheck.interval", 4, 40, "must be between 1ms and 24h (got 0ms)"},
    {"HealthCheckNotMapping",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    healthCheck: /health\n",
     "upstreams[0].healthCheck", 4, 18, "must be a mapping of keys to values (got '/health')"},
    {"ConsecutiveFailuresZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    outlierDetection: { consecutiveFailures: 0 }\n",
     "upstreams[0].outlierDetection.consecutiveFailures", 4, 46, "must be between 1 and 1000 (got '0')"},
    {"MaxEjectionPercentOver100",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    outlierDetection: { maxEjectionPercent: 101 }\n",
     "upstreams[0].outlierDetection.maxEjectionPercent", 4, 45, "must be between 0 and 100 (got '101')"},
    {"MaxEjectionTimeBelowBase",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    outlierDetection: { baseEjectionTime: 1m, maxEjectionTime: 30s }\n",
     "upstreams[0].outlierDetection.maxEjectionTime", 4, 64, "must be at least baseEjectionTime (got 30s; baseEjectionTime is 1m)"},
    {"BaseEjectionTimeAboveDefaultMax",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    outlierDetection: { baseEjectionTime: 10m }\n",
     "upstreams[0].outlierDetection.baseEjectionTime", 4, 43, "must be at most maxEjectionTime (got 10m; maxEjectionTime is 5m by default)"},
    {"OutlierDetectionUnknownKeySuggests",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    outlierDetection: { baseEjectionTme: 1s }\n",
     "upstreams[0].outlierDetection.baseEjectionTme", 4, 25, "(did you mean 'baseEjectionTime'?)"},
    {"OutlierDetectionEnabledQuoted",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    outlierDetection: { enabled: \"false\" }\n",
     "upstreams[0].outlierDetection.enabled", 4, 34, "must be true or false (got 'false'); remove the quotes"},
    {"FailOnUnknownWordSuggests",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failOn: [connect-failure, timeouts] }\n",
     "upstreams[0].circuitBreaker.failOn[1]", 4, 49, "must be connect-failure, timeout, reset, 5xx or a status code 500..599 (got 'timeouts'); did you mean 'timeout'?"},
    {"FailOnClientError",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failOn: [404] }\n",
     "upstreams[0].circuitBreaker.failOn[0]", 4, 32, "status 404 is not a server error; only 500..599 can be listed"},
    {"FailOnNotAStatus",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failOn: [5000] }\n",
     "upstreams[0].circuitBreaker.failOn[0]", 4, 32, "must be connect-failure, timeout, reset, 5xx or a status code 500..599 (got '5000')"},
    {"FailOnListedTwice",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker:\n"
     "      failOn: [502, timeout, 502]\n",
     "upstreams[0].circuitBreaker.failOn[2]", 5, 30, "'502' is listed twice (also upstreams[0].circuitBreaker.failOn[0])"},
    {"FailOnCoveredBy5xx",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker:\n"
     "      failOn: [5xx, 503]\n",
     "upstreams[0].circuitBreaker.failOn[1]", 5, 21, "'503' is already covered by '5xx' (upstreams[0].circuitBreaker.failOn[0])"},
    {"FailOnStatusBefore5xx",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker:\n"
     "      failOn: [503, 5xx]\n",
     "upstreams[0].circuitBreaker.failOn[0]", 5, 16, "'503' is already covered by '5xx' (upstreams[0].circuitBreaker.failOn[1])"},
    {"FailOnEmpty",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failOn: [] }\n",
     "upstreams[0].circuitBreaker.failOn", 4, 31, "must list at least one condition (omit the key for the default: connect-failure, timeout, 5xx)"},
    {"FailOnNotList",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failOn: 5xx }\n",
     "upstreams[0].circuitBreaker.failOn", 4, 31, "must be a list (got '5xx')"},
    {"FailOnItemNotScalar",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failOn: [[5xx]] }\n",
     "upstreams[0].circuitBreaker.failOn[0]", 4, 32, "(got a list)"},
    {"MinimumRequestsZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { minimumRequests: 0 }\n",
     "upstreams[0].circuitBreaker.minimumRequests", 4, 40, "must be between 1 and 1000000 (got '0')"},
    {"HalfOpenRequestsZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { halfOpenRequests: 0 }\n",
     "upstreams[0].circuitBreaker.halfOpenRequests", 4, 41, "must be between 1 and 1000 (got '0')"},
    {"CircuitBreakerWindowNotDuration",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { windowMs: soon }\n",
     "upstreams[0].circuitBreaker.windowMs", 4, 33, "must be a duration like"},
    {"RetriesAndRetry",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retries: 2\n"
     "    retry: { attempts: 2 }\n",
     "upstreams[0].retry", 5, 5, "use either 'retries' or 'retry', not both ('retries: N' is short for 'retry: {attempts: N}')"},
    {"RetryBeforeRetries",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 2 }\n"
     "    retries: 2\n",
     "upstreams[0].retries", 5, 5, "use either 'retries' or 'retry', not both"},
    {"RetryMissingAttempts",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { on: [5xx] }\n",
     "upstreams[0].retry.attempts", 4, 12, "missing required key 'attempts'"},
    {"RetryAttemptsTooMany",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 11 }\n",
     "upstreams[0].retry.attempts", 4, 24, "must be between 0 and 10 (got '11')"},
    {"RetryOnUnknownCondition",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, on: [gateway-error] }\n",
     "upstreams[0].retry.on[0]", 4, 32, "must be connect-failure, timeout, reset, 5xx or a status code 500..599 (got 'gateway-error')"},
    {"RetryOnEmpty",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, on: [] }\n",
     "upstreams[0].retry.on", 4, 31, "must list at least one condition (omit the key for the default: connect-failure, timeout, 502, 503, 504)"},
    {"RetryOnClientError",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, on: [429] }\n",
     "upstreams[0].retry.on[0]", 4, 32, "status 429 is not a server error"},
    {"RetryBackoffMaxBelowBase",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry:\n"
     "      attempts: 1\n"
     "      backoff: { base: 2s, max: 1s }\n",
     "upstreams[0].retry.backoff.max", 6, 33, "must be at least base (got 1s; base is 2s)"},
    {"RetryBackoffBaseAboveDefaultMax",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry:\n"
     "      attempts: 1\n"
     "      backoff: { base: 5s }\n",
     "upstreams[0].retry.backoff.base", 6, 24, "must be at most max (got 5s; max is 1s by default)"},
    {"RetryBackoffBaseZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, backoff: { base: 0 } }\n",
     "upstreams[0].retry.backoff.base", 4, 44, "must be between 1ms and 24h (got 0ms)"},
    {"RetryBudgetRatioAboveOne",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, budget: { ratio: 1.5 } }\n",
     "upstreams[0].retry.budget.ratio", 4, 44, "must be between 0 and 1 (got '1.5')"},
    {"RetryBudgetMinRetriesNegative",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, budget: { minRetries: -1 } }\n",
     "upstreams[0].retry.budget.minRetries", 4, 49, "must be between 0 and 1000000 (got '-1')"},
    {"RetryBudgetUnknownKeySuggests",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, budget: { min_retries: 3 } }\n",
     "upstreams[0].retry.budget.min_retries", 4, 37, "(did you mean 'minRetries'?)"},
    {"RetryBudgetWindowZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, budget: { window: 0ms } }\n",
     "upstreams[0].retry.budget.window", 4, 45, "must be between 1ms and 24h (got 0ms)"},
    {"RetryPerTryTimeoutZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, perTryTimeout: 0 }\n",
     "upstreams[0].retry.perTryTimeout", 4, 42, "must be between 1ms and 24h (got 0ms)"},
    {"RetryPerTryTimeoutAndTimeoutsPerTry",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, perTryTimeout: 2s }\n"
     "    timeouts: { perTry: 3s }\n",
     "upstreams[0].timeouts.perTry", 5, 17, "sets the same timeout as upstreams[0].retry.perTryTimeout (line 4); keep only one"},
    {"RetryNotMapping",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: 3\n",
     "upstreams[0].retry", 4, 12, "must be a mapping of keys to values (got '3')"},
    {"RetryUnknownKeySuggests",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retry: { attempts: 1, perTryTimout: 1s }\n",
     "upstreams[0].retry.perTryTimout", 4, 27, "(did you mean 'perTryTimeout'?)"},
    {"ProxyTimeoutAndTimeoutsRequest",
     "proxy:\n"
     "  timeout: 5s\n"
     "  timeouts: { request: 10s }\n",
     "proxy.timeouts.request", 3, 15, "sets the same timeout as proxy.timeout (line 2); keep only one"},
    {"ProxyTimeoutsIdleThenIdleTimeout",
     "proxy:\n"
     "  timeouts: { idle: 10s }\n"
     "  idleTimeout: 5s\n",
     "proxy.idleTimeout", 3, 3, "sets the same timeout as proxy.timeouts.idle (line 2); keep only one"},
    {"UpstreamTimeoutAndFirstByte",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    timeout: 5s\n"
     "    timeouts:\n"
     "      firstByte: 10s\n",
     "upstreams[0].timeouts.firstByte", 6, 7, "sets the same timeout as upstreams[0].timeout (line 4); keep only one"},
    {"UpstreamConnectTimeoutAfterConnect",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    timeouts: { connect: 1s }\n"
     "    connectTimeout: 2s\n",
     "upstreams[0].connectTimeout", 5, 5, "sets the same timeout as upstreams[0].timeouts.connect (line 4); keep only one"},
    {"RouteTimeoutAndFirstByte",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    timeout: 1s\n"
     "    timeouts: { firstByte: 2s }\n",
     "routes[0].timeouts.firstByte", 6, 17, "sets the same timeout as routes[0].timeout (line 5); keep only one"},
    {"TimeoutsUnknownKey",
     "proxy:\n"
     "  timeouts: { header: 1s }\n",
     "proxy.timeouts.header", 2, 15, "unknown key 'header' (expected one of: connect, firstByte, perTry, request, idle)"},
    {"TimeoutsSnakeCaseKey",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    timeouts: { first_byte: 1s }\n",
     "upstreams[0].timeouts.first_byte", 4, 17, "(did you mean 'firstByte'?)"},
    {"TimeoutsPerTryZero",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    timeouts: { perTry: 0 }\n",
     "routes[0].timeouts.perTry", 5, 25, "must be between 1ms and 24h (got 0ms)"},
    {"TimeoutsRequestNotDuration",
     "proxy:\n"
     "  timeouts: { request: forever }\n",
     "proxy.timeouts.request", 2, 24, "must be a duration like 5000, \"5s\" or \"250ms\" (got 'forever')"},
    {"TimeoutsNotMapping",
     "proxy:\n"
     "  timeouts: 5s\n",
     "proxy.timeouts", 2, 13, "must be a mapping of keys to values (got '5s')"},
    {"MaxConnectionsTooLarge",
     "proxy:\n"
     "  maxConnections: 1000001\n",
     "proxy.maxConnections", 2, 19, "must be between 0 and 1000000 (got '1000001')"},
    {"MaxInFlightNegative",
     "proxy:\n"
     "  maxInFlight: -1\n",
     "proxy.maxInFlight", 2, 16, "must be between 0 and 1000000 (got '-1')"},
    {"SheddingNormalBelowLow",
     "proxy:\n"
     "  maxInFlight: 100\n"
     "  shedding: { lowAt: 0.9, normalAt: 0.8 }\n",
     "proxy.shedding.normalAt", 3, 37, "must be at least lowAt (got 0.8; lowAt is 0.9)"},
    {"SheddingLowAboveDefaultNormal",
     "proxy:\n"
     "  maxInFlight: 100\n"
     "  shedding: { lowAt: 0.9 }\n",
     "proxy.shedding.lowAt", 3, 22, "must be at most normalAt (got 0.9; normalAt is 0.85 by default)"},
    {"SheddingFractionAboveOne",
     "proxy:\n"
     "  maxInFlight: 100\n"
     "  shedding: { lowAt: 1.2 }\n",
     "proxy.shedding.lowAt", 3, 22, "must be between 0 and 1 (got '1.2')"},
    {"SheddingPercentNotFraction",
     "proxy:\n"
     "  maxInFlight: 100\n"
     "  shedding: { normalAt: 85% }\n",
     "proxy.shedding.normalAt", 3, 25, "must be a number 0..1 (got '85%')"},
    {"SheddingWithoutMaxInFlight",
     "proxy:\n"
     "  shedding: { lowAt: 0.5 }\n",
     "proxy.shedding", 2, 3, "needs proxy.maxInFlight: the thresholds are fractions of it, and with 0 (unlimited, the default) nothing is shed"},
    {"SheddingWithMaxInFlightZero",
     "proxy:\n"
     "  maxInFlight: 0\n"
     "  shedding: { normalAt: 0.9 }\n",
     "proxy.shedding", 3, 3, "needs proxy.maxInFlight"},
    {"SheddingUnknownKey",
     "proxy:\n"
     "  maxInFlight: 100\n"
     "  shedding: { lowAT: 0.5 }\n",
     "proxy.shedding.lowAT", 3, 15, "(did you mean 'lowAt'?)"},
    {"MaxConcurrentZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    maxConcurrent: 0\n",
     "upstreams[0].maxConcurrent", 4, 20, "must be between 1 and 100000 (got '0')"},
    {"MaxConcurrentWord",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    maxConcurrent: many\n",
     "upstreams[0].maxConcurrent", 4, 20, "must be an integer 1..100000 or 'auto' (got 'many')"},
    {"MaxConcurrentQuoted",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    maxConcurrent: \"10\"\n",
     "upstreams[0].maxConcurrent", 4, 20, "must be a number, not a quoted string"},
    {"MaxConcurrentAutoCapitalized",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    maxConcurrent: Auto\n",
     "upstreams[0].maxConcurrent", 4, 20, "or 'auto' (got 'Auto')"},
    {"QueueWithoutMaxConcurrent",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    queue: { size: 10 }\n",
     "upstreams[0].queue", 4, 5, "needs maxConcurrent: without a concurrency limit no request ever waits"},
    {"QueueSizeTooLarge",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    maxConcurrent: 10\n"
     "    queue: { size: 100001 }\n",
     "upstreams[0].queue.size", 5, 20, "must be between 0 and 100000 (got '100001')"},
    {"QueueTimeoutZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    maxConcurrent: auto\n"
     "    queue: { size: 1, timeout: 0 }\n",
     "upstreams[0].queue.timeout", 5, 32, "must be between 1ms and 24h (got 0ms)"},
    {"RoutePriorityUnknown",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    priority: high\n",
     "routes[0].priority", 5, 15, "must be one of critical, normal, low (got 'high')"},
    {"RetryNonIdempotentQuoted",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    retryNonIdempotent: \"true\"\n",
     "routes[0].retryNonIdempotent", 5, 25, "must be true or false (got 'true'); remove the quotes"},
    {"RouteUpstreamAndUpstreams",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    upstreams: [{ name: b }]\n",
     "routes[0].upstreams", 5, 5, "use either 'upstream' or 'upstreams', not both"},
    {"RouteUpstreamsThenUpstream",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: b }]\n"
     "    upstream: a\n",
     "routes[0].upstream", 5, 5, "use either 'upstream' or 'upstreams', not both"},
    {"RouteWithoutAnyUpstream",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    priority: low\n",
     "routes[0].upstream", 3, 5, "missing required key 'upstream' (or 'upstreams')"},
    {"SplitEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: []\n",
     "routes[0].upstreams", 4, 16, "must list at least one upstream like {name: api, weight: 100}"},
    {"SplitNotList",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: a\n",
     "routes[0].upstreams", 4, 16, "must be a list (got 'a')"},
    {"SplitUpstreamNotDefined",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: a }, { name: c }]\n",
     "routes[0].upstreams[1].name", 4, 38, "upstream 'c' is not defined (defined: a, b)"},
    {"SplitUpstreamSuggests",
     "upstreams: [{ name: primary-api, url: \"http://h:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: primary-apu }]\n",
     "routes[0].upstreams[0].name", 4, 25, "did you mean 'primary-api'?"},
    {"SplitListedTwice",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams:\n"
     "      - { name: a, weight: 1 }\n"
     "      - { name: a, weight: 2 }\n",
     "routes[0].upstreams[1].name", 6, 17, "upstream 'a' is listed twice (also routes[0].upstreams[0]); raise its weight instead"},
    {"SplitWeightZero",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: a, weight: 0 }]\n",
     "routes[0].upstreams[0].weight", 4, 36, "must be between 1 and 1000 (got '0')"},
    {"SplitWeightTooLarge",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: a, weight: 1001 }]\n",
     "routes[0].upstreams[0].weight", 4, 36, "must be between 1 and 1000 (got '1001')"},
    {"SplitEntryMissingName",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ weight: 5 }]\n",
     "routes[0].upstreams[0].name", 4, 17, "missing required key 'name'"},
    {"SplitEntryNotMapping",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [a]\n",
     "routes[0].upstreams[0]", 4, 17, "must be a mapping of keys to values (got 'a')"},
    {"SplitEntryUnknownKey",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: a, wieght: 1 }]\n",
     "routes[0].upstreams[0].wieght", 4, 28, "(did you mean 'weight'?)"},
    {"FallbackNotDefined",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    fallback: spare\n",
     "routes[0].fallback", 5, 15, "upstream 'spare' is not defined (defined: a, b)"},
    {"FallbackSuggests",
     "upstreams: [{ name: a, url: \"http://h:1\" }, { name: backup, url: \"http://h:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    fallback: bakup\n",
     "routes[0].fallback", 5, 15, "upstream 'bakup' is not defined (defined: a, backup); did you mean 'backup'?"},
    {"FallbackIsTheUpstream",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    fallback: a\n",
     "routes[0].fallback", 5, 15, "upstream 'a' already serves this route; the fallback must be another upstream"},
    {"FallbackInTheSplit",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstreams: [{ name: a, weight: 1 }, { name: b, weight: 1 }]\n"
     "    fallback: b\n",
     "routes[0].fallback", 5, 15, "upstream 'b' already serves this route; the fallback must be another upstream"},
    {"FallbackEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }, { name: b, url: \"http://127.0.0.1:2\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    fallback: \"\"\n",
     "routes[0].fallback", 5, 15, "must not be empty"},
    {"RateLimitHeadersQuoted",
     "rateLimit:\n"
     "  headers: \"false\"\n",
     "rateLimit.headers", 2, 12, "must be true or false (got 'false'); remove the quotes"},
    {"RateLimitHeaderTypo",
     "rateLimit:\n"
     "  header: true\n",
     "rateLimit.header", 2, 3, "unknown key 'header' (did you mean 'headers'?)"},

};
// clang-format on

class TrafficControlRule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(TrafficControlRule, ReportsPositionPathAndMessage) {
  const RuleCase& c = GetParam();
  const LoadResult result = load_config_text(c.yaml, "test.yml");
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(has_error(result, c.path, c.line, c.column, c.message)) << "YAML:\n" << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(Config, TrafficControlRule, ::testing::ValuesIn(kRuleCases),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace flexgate::config
