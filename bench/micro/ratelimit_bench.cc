// Rate-limit hot path: one token-bucket decision in the shared in-memory table, and the whole
// policy check a request pays (bucket keys, decision, RateLimit response lines). Rate = decisions/s.
// Run: build-*/bench/micro/ratelimit_bench [--benchmark_filter=...]
//
// Every limit is far above what a run can spend, so each decision is an allowed one (the path
// real traffic takes). The clock is synthetic and advances 1 ms every 1,024 decisions, so refills
// happen without a clock read per decision. Multi-threaded cases share one table (or policy) and
// report wall-clock throughput of both threads together (UseRealTime); each has a 1-thread
// wall-clock twin, because CPU-time rates hide the time a thread waits for the other's lock and
// wall-clock rates include time the (shared) machine gives to other processes.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.h"
#include "http/message.h"
#include "policy/ratelimit/rate_limit_policy.h"
#include "policy/ratelimit/token_bucket_table.h"
#include "policy/request_view.h"

namespace flexgate::policy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kHugeCapacity = 1'000'000'000;  // the config loader's maximum
constexpr std::size_t kDistinctKeys = 10'000;
const Clock::time_point kStart = Clock::time_point{} + 1000h;

Clock::time_point synthetic_now(std::uint64_t decision) {
  return kStart + std::chrono::milliseconds(decision >> 10);
}

// A scattered walk over [0, n): neighbouring decisions hit unrelated buckets and shards.
std::size_t scattered(std::uint64_t i, std::size_t n) { return (i * 2654435761u) % n; }

std::string client_ip(std::size_t n) {
  return "10." + std::to_string(n >> 16 & 255) + "." + std::to_string(n >> 8 & 255) + "." + std::to_string(n & 255);
}

// Bucket keys shaped as the policy makes them: "<level>\x1f<route identity>\x1f<kind>:<value>".
std::vector<std::string> make_bucket_keys(std::size_t count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::size_t n = 0; n < count; ++n) keys.push_back("r\x1f/api/*\x1fi:" + client_ip(n));
  return keys;
}

// --- TokenBucketTable::decide: the shared table alone (shard lock, hash lookup, refill, take).

TokenBucketTable& shared_table() {
  static TokenBucketTable table;  // one table for all threads, as the workers share it
  return table;
}

void BM_TableDecideHotKey(benchmark::State& state) {
  TokenBucketTable& table = shared_table();
  const std::string key = "r\x1f/api/*\x1fi:192.0.2.1";
  std::uint64_t i = 0;
  for (auto _ : state) {
    RateLimitDecision decision = table.decide(key, kHugeCapacity, 1000ms, synthetic_now(i++));
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TableDecideHotKey);
// Both threads on one key: one shard mutex and one bucket's cache line bounce between cores.
BENCHMARK(BM_TableDecideHotKey)->UseRealTime()->Threads(1)->Threads(2);

void BM_TableDecide10kKeys(benchmark::State& state) {
  TokenBucketTable& table = shared_table();
  static const std::vector<std::string> keys = make_bucket_keys(kDistinctKeys);
  for (const std::string& key : keys) table.decide(key, kHugeCapacity, 1000ms, kStart);  // buckets exist
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 7919;  // threads walk apart
  for (auto _ : state) {
    RateLimitDecision decision =
        table.decide(keys[scattered(i, keys.size())], kHugeCapacity, 1000ms, synthetic_now(i));
    ++i;
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TableDecide10kKeys);
// Two threads over 10,000 keys in 64 shards: rarely the same shard, so little lock contention.
BENCHMARK(BM_TableDecide10kKeys)->UseRealTime()->Threads(1)->Threads(2);

// --- RateLimitPolicy::check: what request_policies_phase pays per request with a memory backend.

config::RateLimitSpec limit(std::uint64_t max) {
  config::RateLimitSpec spec;
  spec.max = max;
  spec.window = 1000ms;
  return spec;
}

// Route 0: its own limit only. Route 1: global + per-route + route limits (three buckets at once).
const config::Config& policy_config() {
  static const config::Config config = [] {
    config::Config c;
    config::RouteSpec api;
    api.path = "/api/*";
    api.upstream = "backend";
    api.rate_limit = limit(kHugeCapacity);
    config::RouteSpec orders = api;
    orders.path = "/orders/:id";
    c.routes = {api, orders};
    c.rate_limit.global = limit(kHugeCapacity);
    c.rate_limit.per_route = {{"/orders/:id", limit(kHugeCapacity)}};
    return c;
  }();
  return config;
}

const RateLimitPolicy& shared_policy() {
  static const RateLimitPolicy policy = RateLimitPolicy::build(policy_config());
  return policy;
}

void policy_check_bench(benchmark::State& state, std::size_t route_index, std::size_t clients) {
  const RateLimitPolicy& policy = shared_policy();
  std::vector<std::string> ips;
  for (std::size_t n = 0; n < clients; ++n) ips.push_back(client_ip(n));
  auto head = std::make_unique<http::RequestHead>();
  RequestView view;
  view.head = head.get();
  view.method = "GET";
  view.path = "/api/items/42";
  RateLimitScratch scratch;  // per request context, reused
  std::string response_headers;
  for (const std::string& ip : ips) {  // buckets exist: measure decisions, not first-time inserts
    response_headers.clear();
    policy.check(view, route_index, "", ip, kStart, scratch, response_headers);
  }
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    response_headers.clear();
    Verdict verdict = policy.check(view, route_index, "", ips[scattered(i, ips.size())], synthetic_now(i),
                                   scratch, response_headers);
    ++i;
    benchmark::DoNotOptimize(verdict);
    benchmark::DoNotOptimize(response_headers.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PolicyCheckHotClient(benchmark::State& state) { policy_check_bench(state, 0, 1); }
BENCHMARK(BM_PolicyCheckHotClient);
BENCHMARK(BM_PolicyCheckHotClient)->UseRealTime()->Threads(1)->Threads(2);

void BM_PolicyCheck10kClients(benchmark::State& state) { policy_check_bench(state, 0, kDistinctKeys); }
BENCHMARK(BM_PolicyCheck10kClients);

void BM_PolicyCheckThreeLevels10kClients(benchmark::State& state) { policy_check_bench(state, 1, kDistinctKeys); }
BENCHMARK(BM_PolicyCheckThreeLevels10kClients);

}  // namespace
}  // namespace flexgate::policy

BENCHMARK_MAIN();
