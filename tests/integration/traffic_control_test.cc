// Traffic control through the real binary against several real upstreams: load-balancing
// strategies, retries on another target, circuit breaker open → half-open → closed, the fallback
// upstream, consistent hashing and outlier ejection.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "support/dnsmasq.h"
#include "support/free_port.h"

namespace flexgate::testing {
namespace {

using namespace std::chrono_literals;

// An upstream that answers `status` with `body` (the body names the target in the tests).
std::string reply(int status, const std::string& body) {
  const std::string reason = status == 200 ? "OK" : status == 500 ? "Internal Server Error" : "Service Unavailable";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// "  - name: NAME\n    targets: [...]\n" + extra keys (indented by 4).
std::string upstream_yaml(const std::string& name, const std::vector<std::uint16_t>& ports, const std::string& extra) {
  std::string yaml = "  - name: " + name + "\n    targets:\n";
  for (std::uint16_t port : ports) yaml += "      - url: \"http://127.0.0.1:" + std::to_string(port) + "\"\n";
  return yaml + extra;
}

std::string config_with(const std::string& upstreams, const std::string& routes) {
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\nupstreams:\n" + upstreams + "routes:\n" + routes +
         "logging:\n  level: info\n";
}

std::map<std::string, int> bodies_of(std::uint16_t port, int requests, const std::string& path = "/x",
                                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  std::map<std::string, int> seen;
  for (int i = 0; i < requests; ++i) {
    auto response = request(port, "GET", path, headers);
    seen[std::to_string(response.status) + ":" + response.body]++;
  }
  return seen;
}

TEST(TrafficControl, RoundRobinSpreadsByWeight) {
  ScriptedUpstream a([](const std::string&) { return reply(200, "a"); });
  ScriptedUpstream b([](const std::string&) { return reply(200, "b"); });
  auto gateway = start_gateway(config_with(
      "  - name: pair\n    loadBalancer: round_robin\n    targets:\n"
      "      - { url: \"http://127.0.0.1:" + std::to_string(a.port()) + "\", weight: 3 }\n"
      "      - { url: \"http://127.0.0.1:" + std::to_string(b.port()) + "\", weight: 1 }\n",
      "  - path: \"/*\"\n    upstream: pair\n"));
  auto seen = bodies_of(gateway.port, 40);
  EXPECT_EQ(seen["200:a"], 30);
  EXPECT_EQ(seen["200:b"], 10);
}

TEST(TrafficControl, LeastRequestIsTheDefaultAndUsesEveryTarget) {
  ScriptedUpstream a([](const std::string&) { return reply(200, "a"); });
  ScriptedUpstream b([](const std::string&) { return reply(200, "b"); });
  auto gateway = start_gateway(config_with(upstream_yaml("pair", {a.port(), b.port()}, ""),
                                           "  - path: \"/*\"\n    upstream: pair\n"));
  auto seen = bodies_of(gateway.port, 60);
  EXPECT_EQ(seen["200:a"] + seen["200:b"], 60);
  EXPECT_GT(seen["200:a"], 10);
  EXPECT_GT(seen["200:b"], 10);
}

TEST(TrafficControl, ConnectFailureIsRetriedOnAnotherTarget) {
  ScriptedUpstream alive([](const std::string&) { return reply(200, "alive"); });
  const std::uint16_t dead = free_udp_and_tcp_port();  // nothing listens: connection refused
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {dead, alive.port()}, "    loadBalancer: round_robin\n"
                    "    retry: { attempts: 1, on: [connect-failure], budget: { ratio: 1.0 } }\n"),
      "  - path: \"/*\"\n    upstream: pair\n"));
  auto seen = bodies_of(gateway.port, 20);
  EXPECT_EQ(seen["200:alive"], 20);  // every request whose first try hit the dead target was retried
  const std::string metrics = scrape(gateway.port);
  EXPECT_GE(metric_sample(metrics, "flexgate_upstream_requests_total{upstream=\"pair\",outcome=\"connect_error\"}"), 1);
}

TEST(TrafficControl, Retry503GoesToTheOtherTargetOnlyForIdempotentMethods) {
  ScriptedUpstream busy([](const std::string&) { return reply(503, "busy"); });
  ScriptedUpstream fine([](const std::string&) { return reply(200, "fine"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {busy.port(), fine.port()},
                    "    loadBalancer: round_robin\n    retry: { attempts: 1, on: [503], backoff: { base: 1ms, max: 5ms }, budget: { ratio: 1.0 } }\n"),
      "  - path: \"/*\"\n    upstream: pair\n"));
  EXPECT_EQ(bodies_of(gateway.port, 10)["200:fine"], 10);
  // Half of those went to `busy` first. Their retried head is the first attempt's with the Host
  // value replaced in place by the new target's (the two listen on different ports).
  const std::string fine_host = "\r\nHost: 127.0.0.1:" + std::to_string(fine.port()) + "\r\n";
  const std::vector<std::string> seen_by_fine = fine.requests();
  ASSERT_EQ(seen_by_fine.size(), 10u);
  for (const std::string& raw : seen_by_fine) EXPECT_NE(raw.find(fine_host), std::string::npos) << raw;
  // POST is not idempotent and the route does not opt in: the 503 stands for its share.
  int posts_503 = 0;
  for (int i = 0; i < 10; ++i) posts_503 += request(gateway.port, "POST", "/x", {}, "{}").status == 503 ? 1 : 0;
  EXPECT_EQ(posts_503, 5);
}

TEST(TrafficControl, RetriesStopAtTheBudget) {
  ScriptedUpstream busy([](const std::string&) { return reply(503, "busy"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("solo", {busy.port()},
                    "    retry: { attempts: 3, on: [503], backoff: { base: 1ms, max: 2ms },"
                    " budget: { ratio: 0.1, minRetries: 2, window: 60s } }\n"),
      "  - path: \"/*\"\n    upstream: solo\n"));
  EXPECT_EQ(bodies_of(gateway.port, 10)["503:busy"], 10);
  // 10 requests: the budget allows max(2, 10% of 10) = 2 retries in the window, not 30.
  EXPECT_EQ(busy.requests().size(), 12u);
}

TEST(TrafficControl, BreakerOpensFailsFastThenClosesWhenTheUpstreamIsHealthyAgain) {
  std::atomic<bool> healthy{false};
  ScriptedUpstream upstream([&](const std::string&) { return healthy ? reply(200, "ok") : reply(500, "boom"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("svc", {upstream.port()},
                    "    circuitBreaker: { enabled: true, failureThreshold: 50, minimumRequests: 4, windowMs: 60000,"
                    " openDuration: 300ms, halfOpenRequests: 1 }\n"),
      "  - path: \"/*\"\n    upstream: svc\n"));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(request(gateway.port, "GET", "/x").status, 500);
  // Open: answered by the gateway, the upstream sees nothing.
  const auto refused = request(gateway.port, "GET", "/x");
  EXPECT_EQ(refused.status, 503);
  EXPECT_GE(std::stoi(refused.header("Retry-After").empty() ? "0" : refused.header("Retry-After")), 1);
  EXPECT_EQ(refused.json()["message"], "upstream circuit breaker is open");
  EXPECT_EQ(upstream.requests().size(), 4u);
  ASSERT_TRUE(gateway.process->wait_for_line("\"to\":\"open\""));

  healthy = true;
  // After openDuration one probe is let through; its success closes the breaker.
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  int status = 0;
  while (std::chrono::steady_clock::now() < give_up && status != 200) status = request(gateway.port, "GET", "/x").status;
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(gateway.process->wait_for_line("\"to\":\"half_open\""));
  ASSERT_TRUE(gateway.process->wait_for_line("\"to\":\"closed\""));
  EXPECT_EQ(bodies_of(gateway.port, 5)["200:ok"], 5);
}

TEST(TrafficControl, FallbackUpstreamServesWhileThePrimaryBreakerIsOpen) {
  ScriptedUpstream primary([](const std::string&) { return reply(500, "primary"); });
  ScriptedUpstream backup([](const std::string&) { return reply(200, "backup"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("primary", {primary.port()},
                    "    circuitBreaker: { enabled: true, failureThreshold: 50, minimumRequests: 2, windowMs: 60000,"
                    " openDuration: 60s }\n") +
          upstream_yaml("backup", {backup.port()}, ""),
      "  - path: \"/*\"\n    upstream: primary\n    fallback: backup\n"));
  EXPECT_EQ(bodies_of(gateway.port, 2)["500:primary"], 2);
  EXPECT_EQ(bodies_of(gateway.port, 5)["200:backup"], 5);
  EXPECT_EQ(primary.requests().size(), 2u);
}

TEST(TrafficControl, TrafficSplitFollowsTheWeights) {
  ScriptedUpstream a([](const std::string&) { return reply(200, "a"); });
  ScriptedUpstream b([](const std::string&) { return reply(200, "b"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("a", {a.port()}, "") + upstream_yaml("b", {b.port()}, ""),
      "  - path: \"/*\"\n    upstreams: [{ name: a, weight: 9 }, { name: b, weight: 1 }]\n"));
  auto seen = bodies_of(gateway.port, 200);
  EXPECT_EQ(seen["200:a"] + seen["200:b"], 200);
  EXPECT_GT(seen["200:a"], 150);  // 180 expected
  EXPECT_GT(seen["200:b"], 5);    // 20 expected
}

TEST(TrafficControl, ConsistentHashKeepsAKeyOnOneTarget) {
  ScriptedUpstream a([](const std::string&) { return reply(200, "a"); });
  ScriptedUpstream b([](const std::string&) { return reply(200, "b"); });
  ScriptedUpstream c([](const std::string&) { return reply(200, "c"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("trio", {a.port(), b.port(), c.port()},
                    "    loadBalancer: { strategy: consistent_hash, hashOn: \"header:X-User\" }\n"),
      "  - path: \"/*\"\n    upstream: trio\n"));
  std::map<std::string, int> targets_used;
  for (int user = 0; user < 12; ++user) {
    auto seen = bodies_of(gateway.port, 5, "/x", {{"X-User", "user-" + std::to_string(user)}});
    ASSERT_EQ(seen.size(), 1u) << "user-" << user << " moved between targets";
    targets_used[seen.begin()->first]++;
  }
  EXPECT_GE(targets_used.size(), 2u);  // 12 keys do not all hash to one of three targets
}

TEST(TrafficControl, OutlierEjectionTakesAFailingTargetOut) {
  ScriptedUpstream broken([](const std::string&) { return reply(500, "broken"); });
  ScriptedUpstream fine([](const std::string&) { return reply(200, "fine"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {broken.port(), fine.port()},
                    "    loadBalancer: round_robin\n"
                    "    outlierDetection: { consecutiveFailures: 2, baseEjectionTime: 60s, maxEjectionPercent: 50 }\n"),
      "  - path: \"/*\"\n    upstream: pair\n"));
  auto first = bodies_of(gateway.port, 4);  // alternates until `broken` has failed twice
  EXPECT_EQ(first["500:broken"], 2);
  ASSERT_TRUE(gateway.process->wait_for_line("\"target_ejected\""));
  EXPECT_EQ(bodies_of(gateway.port, 10)["200:fine"], 10);
  EXPECT_EQ(broken.requests().size(), 2u);
}

TEST(TrafficControl, ActiveHealthChecksTakeAFailingTargetOutAndBringItBack) {
  std::atomic<bool> a_healthy{false};
  ScriptedUpstream a([&](const std::string& raw) {
    if (raw.starts_with("GET /healthz ")) return a_healthy ? reply(200, "up") : reply(503, "down");
    return reply(200, "a");
  });
  ScriptedUpstream b([](const std::string& raw) { return raw.starts_with("GET /healthz ") ? reply(200, "up") : reply(200, "b"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {a.port(), b.port()},
                    "    loadBalancer: round_robin\n"
                    "    healthCheck: { path: /healthz, interval: 50ms, timeout: 40ms, healthyThreshold: 1,"
                    " unhealthyThreshold: 1 }\n"),
      "  - path: \"/*\"\n    upstream: pair\n"));
  ASSERT_TRUE(gateway.process->wait_for_line_matching([](const std::string& line) {
    return line.find("\"target_health_changed\"") != std::string::npos && line.find("\"healthy\":\"false\"") != std::string::npos;
  }));
  EXPECT_EQ(bodies_of(gateway.port, 10)["200:b"], 10);
  const auto deep = request(gateway.port, "GET", "/health/deep");
  EXPECT_NE(deep.body.find("\"healthCheck\":\"failing\""), std::string::npos) << deep.body;
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_upstream_targets_healthy{upstream=\"pair\"}"), 1);

  a_healthy = true;
  ASSERT_TRUE(gateway.process->wait_for_line_matching([](const std::string& line) {
    return line.find("\"target_health_changed\"") != std::string::npos && line.find("\"healthy\":\"true\"") != std::string::npos;
  }));
  auto seen = bodies_of(gateway.port, 10);
  EXPECT_EQ(seen["200:a"], 5);
  EXPECT_EQ(seen["200:b"], 5);
}

TEST(TrafficControl, LowPriorityIsShedBeforeCriticalAndHealthStaysAnswered) {
  // maxInFlight 4 with the default thresholds: low is shed from floor(4 * 0.7) = 2 requests in
  // flight, normal from floor(4 * 0.85) = 3, critical only at 4. Two hanging requests hold two.
  SilentListener hang;
  ASSERT_NE(hang.port(), 0);
  ScriptedUpstream fine([](const std::string&) { return reply(200, "ok"); });
  auto gateway = start_gateway(
      "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n  maxConnections: 16\n  maxInFlight: 4\n"
      "upstreams:\n" + upstream_yaml("hang", {hang.port()}, "") + upstream_yaml("svc", {fine.port()}, "") +
      "routes:\n"
      "  - path: \"/slow\"\n    upstream: hang\n    priority: critical\n"
      "  - path: \"/low\"\n    upstream: svc\n    priority: low\n"
      "  - path: \"/normal\"\n    upstream: svc\n"
      "  - path: \"/critical\"\n    upstream: svc\n    priority: critical\n"
      "logging:\n  level: info\n");
  std::vector<std::unique_ptr<Connection>> hanging;
  for (int i = 0; i < 2; ++i) {
    hanging.push_back(std::make_unique<Connection>(gateway.port));
    ASSERT_TRUE(hanging.back()->send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  // Both are in flight once the gauge shows them (the scrape itself is the third).
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < give_up &&
         metric_sample(scrape(gateway.port), "flexgate_http_requests_in_flight") < 3) {
  }
  const auto low = request(gateway.port, "GET", "/low");
  EXPECT_EQ(low.status, 503);
  EXPECT_EQ(low.header("Retry-After"), "1");
  EXPECT_EQ(low.json()["message"], "the gateway is overloaded; retry later");
  EXPECT_EQ(request(gateway.port, "GET", "/normal").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/critical").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/health/ready").status, 200);  // probes are never shed
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_load_shed_total{priority=\"low\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_load_shed_total{priority=\"normal\"}"), 0);
  EXPECT_EQ(metric_sample(metrics, "flexgate_load_shed_total{priority=\"critical\"}"), 0);
}

TEST(TrafficControl, UpstreamNamesAreResolvedAgainWhenTheirTtlRunsOut) {
  ScriptedUpstream first([](const std::string&) { return reply(200, "first"); }, false, "127.0.0.2");
  ASSERT_TRUE(first.listening());
  ScriptedUpstream second([](const std::string&) { return reply(200, "second"); }, false, "127.0.0.3", first.port());
  ASSERT_TRUE(second.listening());
  std::string dns_error;
  auto dns = Dnsmasq::start({}, "127.0.0.2 svc.test\n", dns_error);
  ASSERT_NE(dns, nullptr) << dns_error;
  auto gateway = start_gateway(config_with(
      "  - name: svc\n    url: \"http://svc.test:" + std::to_string(first.port()) + "\"\n",
      "  - path: \"/*\"\n    upstream: svc\n") +
      "dns:\n  servers: [\"" + dns->server() + "\"]\n  minTtl: 1s\n  maxTtl: 1s\n");
  EXPECT_EQ(bodies_of(gateway.port, 3)["200:first"], 3);

  ASSERT_TRUE(dns->reload_hosts("127.0.0.3 svc.test\n", "svc.test", {"127.0.0.3"}));
  // Within a TTL (1 s here) the gateway asks again and the new address replaces the old one.
  ASSERT_TRUE(gateway.process->wait_for_line("\"upstream_addresses_changed\""));
  EXPECT_EQ(bodies_of(gateway.port, 3)["200:second"], 3);
  const auto deep = request(gateway.port, "GET", "/health/deep");
  EXPECT_NE(deep.body.find("\"127.0.0.3\""), std::string::npos) << deep.body;
}

TEST(TrafficControl, MaxConcurrentQueuesThenRefusesWhenTheQueueTimesOut) {
  SilentListener hang;
  ASSERT_NE(hang.port(), 0);
  auto gateway = start_gateway(config_with(
      upstream_yaml("hang", {hang.port()}, "    maxConcurrent: 1\n    queue: { size: 1, timeout: 100ms }\n"),
      "  - path: \"/*\"\n    upstream: hang\n"));
  Connection holder(gateway.port);
  ASSERT_TRUE(holder.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < give_up &&
         metric_sample(scrape(gateway.port), "flexgate_upstream_concurrency_in_flight{upstream=\"hang\"}") < 1) {
  }
  // The one slot is taken: this request waits in the queue for its timeout, then gets a 503.
  const auto refused = request(gateway.port, "GET", "/second");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.json()["message"], "upstream is at its concurrency limit");
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_upstream_concurrency_limit{upstream=\"hang\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_upstream_concurrency_in_flight{upstream=\"hang\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_upstream_concurrency_limited_total{upstream=\"hang\"}"), 1);
}

TEST(TrafficControl, TheMostSpecificTimeoutAppliesAndIsCountedByKind) {
  SilentListener hang;
  ASSERT_NE(hang.port(), 0);
  auto gateway = start_gateway(
      "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n  timeouts: { firstByte: 30s }\n"
      "upstreams:\n" + upstream_yaml("hang", {hang.port()}, "    timeouts: { firstByte: 20s }\n") +
      "routes:\n  - path: \"/quick\"\n    upstream: hang\n    timeouts: { firstByte: 50ms }\n"
      "logging:\n  level: info\n");
  const auto response = request(gateway.port, "GET", "/quick");
  EXPECT_EQ(response.status, 504);  // the route's 50 ms, not the upstream's 20 s or the proxy's 30 s
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_timeouts_total{kind=\"upstream_response\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_timeouts_total{kind=\"connect\"}"), 0);
}

TEST(TrafficControl, ASmallBodyIsKeptSoAnOptedInPostCanBeRetried) {
  ScriptedUpstream busy([](const std::string&) { return reply(503, "busy"); });
  ScriptedUpstream fine([](const std::string& raw) {
    return reply(200, raw.substr(raw.find("\r\n\r\n") + 4));  // echoes the body it got
  });
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {busy.port(), fine.port()},
                    "    loadBalancer: round_robin\n"
                    "    retry: { attempts: 1, on: [503], backoff: { base: 1ms, max: 2ms }, budget: { ratio: 1.0 } }\n"),
      "  - path: \"/*\"\n    upstream: pair\n    retryNonIdempotent: true\n"));
  for (int i = 0; i < 6; ++i) {
    const std::string body = "{\"order\":" + std::to_string(i) + "}";
    const auto response = request(gateway.port, "POST", "/orders", {{"Content-Type", "application/json"}}, body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, body);  // the whole body reached the second target too
  }
  EXPECT_EQ(busy.requests().size(), 3u);
}

TEST(TrafficControl, LatencyStrategyMovesTrafficAwayFromASlowTarget) {
  ScriptedUpstream slow([](const std::string&) {
    // The upstream is slow (this delay is the behaviour under test, not synchronisation).
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    return reply(200, "slow");
  });
  ScriptedUpstream quick([](const std::string&) { return reply(200, "quick"); });
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {slow.port(), quick.port()}, "    loadBalancer: latency\n"),
      "  - path: \"/*\"\n    upstream: pair\n"));
  auto seen = bodies_of(gateway.port, 40);
  EXPECT_EQ(seen["200:slow"] + seen["200:quick"], 40);
  EXPECT_GE(seen["200:quick"], 36);  // the slow one is tried, measured, then avoided
}

TEST(TrafficControl, ReadinessFollowsTheHealthOfEachUpstream) {
  std::atomic<bool> healthy{true};
  ScriptedUpstream only([&](const std::string& raw) {
    if (raw.starts_with("GET /healthz ")) return healthy ? reply(200, "up") : reply(503, "down");
    return reply(200, "only");
  });
  auto gateway = start_gateway(config_with(
      upstream_yaml("solo", {only.port()},
                    "    healthCheck: { path: /healthz, interval: 50ms, timeout: 40ms, healthyThreshold: 1,"
                    " unhealthyThreshold: 1 }\n"),
      "  - path: \"/*\"\n    upstream: solo\n"));
  EXPECT_EQ(request(gateway.port, "GET", "/health/ready").status, 200);
  healthy = false;
  ASSERT_TRUE(gateway.process->wait_for_line("\"healthy\":\"false\""));
  const auto down = request(gateway.port, "GET", "/health/ready");
  EXPECT_EQ(down.status, 503);
  EXPECT_NE(down.body.find("\"upstreams\":\"DOWN\""), std::string::npos) << down.body;
  EXPECT_EQ(request(gateway.port, "GET", "/x").status, 503);  // no usable target
  healthy = true;
  ASSERT_TRUE(gateway.process->wait_for_line("\"healthy\":\"true\""));
  EXPECT_EQ(request(gateway.port, "GET", "/health/ready").status, 200);
  EXPECT_EQ(request(gateway.port, "GET", "/x").status, 200);
}

TEST(TrafficControl, ConsistentHashOnACookieAndFallbackWhenNoTargetIsUsable) {
  ScriptedUpstream a([](const std::string&) { return reply(200, "a"); });
  ScriptedUpstream b([](const std::string&) { return reply(200, "b"); });
  ScriptedUpstream backup([](const std::string&) { return reply(200, "backup"); });
  const std::uint16_t dead = free_udp_and_tcp_port();
  auto gateway = start_gateway(config_with(
      upstream_yaml("pair", {a.port(), b.port()},
                    "    loadBalancer: { strategy: consistent_hash, hashOn: \"cookie:sid\" }\n") +
          upstream_yaml("gone", {dead},
                        "    healthCheck: { path: /h, interval: 50ms, timeout: 40ms, healthyThreshold: 1,"
                        " unhealthyThreshold: 1 }\n") +
          upstream_yaml("backup", {backup.port()}, ""),
      "  - path: \"/sticky\"\n    upstream: pair\n"
      "  - path: \"/gone\"\n    upstream: gone\n    fallback: backup\n"));
  std::map<std::string, int> targets_used;
  // 32 keys: which target a key lands on depends on the targets' addresses (new ports every run), so with
  // 10 keys all of them landed on one target about once in 500 runs (seen once under ASan).
  for (int session = 0; session < 32; ++session) {
    const std::string cookie = "theme=dark; sid=session-" + std::to_string(session) + "; lang=en";
    auto seen = bodies_of(gateway.port, 4, "/sticky", {{"Cookie", cookie}});
    ASSERT_EQ(seen.size(), 1u) << cookie << " moved between targets";
    targets_used[seen.begin()->first]++;
  }
  EXPECT_EQ(targets_used.size(), 2u);
  // The only target of `gone` refuses connections, so its health check fails: with no usable
  // target the route's fallback answers.
  ASSERT_TRUE(gateway.process->wait_for_line("\"healthy\":\"false\""));
  EXPECT_EQ(bodies_of(gateway.port, 3, "/gone")["200:backup"], 3);
}

}  // namespace
}  // namespace flexgate::testing
