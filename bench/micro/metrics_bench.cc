// Metrics hot path: what recording one request costs a worker, and what a scrape costs.
// Run: build-*/bench/micro/metrics_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "observe/metrics.h"

namespace flexgate::observe {
namespace {

using std::chrono::microseconds;

// Durations a proxy sees: mostly fast, a tail of slow ones.
constexpr std::array<std::int64_t, 8> kDurations = {180, 420, 900, 1'700, 3'200, 9'000, 48'000, 700'000};

std::vector<RouteId> register_routes(MetricsRegistry& registry, int count) {
  std::vector<RouteId> ids;
  std::vector<std::string> errors;
  for (int i = 0; i < count; ++i)
    ids.push_back(*registry.register_route("/svc" + std::to_string(i) + "/items/:id", errors));
  return ids;
}

// One request on one route: request_started + request_finished (in flight, requests_total, histogram).
void BM_RecordRequest(benchmark::State& state) {
  MetricsRegistry registry(1);
  const std::vector<RouteId> routes = register_routes(registry, 1);
  WorkerMetrics& worker = registry.worker(0);
  std::size_t i = 0;
  for (auto _ : state) {
    worker.request_started();
    worker.request_finished(routes[0], MethodLabel::kGet, 200, microseconds(kDurations[i++ & 7]));
  }
  benchmark::DoNotOptimize(registry.request_count(routes[0], MethodLabel::kGet, 200));
}
BENCHMARK(BM_RecordRequest);

// The same over 1,000 routes x 3 methods x 4 statuses: 12,000 possible series, cache misses included.
void BM_RecordRequestManySeries(benchmark::State& state) {
  MetricsLimits limits;
  limits.request_series = 32768;
  MetricsRegistry registry(1, limits);
  const std::vector<RouteId> routes = register_routes(registry, 1000);
  WorkerMetrics& worker = registry.worker(0);
  constexpr std::array<MethodLabel, 3> kMethods = {MethodLabel::kGet, MethodLabel::kPost, MethodLabel::kPut};
  constexpr std::array<std::uint16_t, 4> kStatuses = {200, 201, 404, 503};
  std::uint64_t i = 0;
  for (auto _ : state) {
    const std::uint64_t r = i * 2654435761u;  // a scattered walk over the routes
    worker.request_started();
    worker.request_finished(routes[r % routes.size()], kMethods[i % 3], kStatuses[(i >> 2) & 3],
                            microseconds(kDurations[i & 7]));
    ++i;
  }
  benchmark::DoNotOptimize(registry.dropped_count());
}
BENCHMARK(BM_RecordRequestManySeries);

// What the same four increments would cost as shared fetch_add counters (uncontended).
void BM_BaselineFourFetchAdds(benchmark::State& state) {
  std::array<std::atomic<std::uint64_t>, 4> counters{};
  for (auto _ : state) {
    for (auto& counter : counters) counter.fetch_add(1, std::memory_order_relaxed);
  }
  benchmark::DoNotOptimize(counters[0].load());
}
BENCHMARK(BM_BaselineFourFetchAdds);

void BM_RecordRejection(benchmark::State& state) {
  MetricsRegistry registry(1);
  WorkerMetrics& worker = registry.worker(0);
  for (auto _ : state) worker.record_rejection(Rejection::kRatelimitLimited);
  benchmark::DoNotOptimize(registry.rejection_count(Rejection::kRatelimitLimited));
}
BENCHMARK(BM_RecordRejection);

void BM_RecordUpstreamAttempt(benchmark::State& state) {
  MetricsRegistry registry(1);
  std::vector<std::string> errors;
  const UpstreamId upstream = *registry.register_upstream("backend", errors);
  WorkerMetrics& worker = registry.worker(0);
  for (auto _ : state) {
    worker.record_upstream_pool_reuse(upstream);
    worker.record_upstream_request(upstream, UpstreamOutcome::kSuccess);
  }
  benchmark::DoNotOptimize(registry.upstream_pool_reuses(upstream));
}
BENCHMARK(BM_RecordUpstreamAttempt);

// Recording while another thread scrapes nonstop (the worst case: a scrape every few ms would
// steal the shard's cache lines far less often).
void BM_RecordRequestDuringScrapes(benchmark::State& state) {
  MetricsRegistry registry(1);
  const std::vector<RouteId> routes = register_routes(registry, 1);
  WorkerMetrics& worker = registry.worker(0);
  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    std::string out;
    while (!stop.load(std::memory_order_relaxed)) {
      out.clear();
      registry.render_prometheus(out);
    }
  });
  std::size_t i = 0;
  for (auto _ : state) {
    worker.request_started();
    worker.request_finished(routes[0], MethodLabel::kGet, 200, microseconds(kDurations[i++ & 7]));
  }
  stop.store(true);
  scraper.join();
}
BENCHMARK(BM_RecordRequestDuringScrapes);

// One scrape: `workers` shards, 100 routes with traffic (GET/POST x 200/404 each), 10 upstreams.
void BM_RenderPrometheus(benchmark::State& state) {
  const auto workers = static_cast<unsigned>(state.range(0));
  MetricsRegistry registry(workers);
  const std::vector<RouteId> routes = register_routes(registry, 100);
  std::vector<std::string> errors;
  for (int u = 0; u < 10; ++u) registry.register_upstream("upstream" + std::to_string(u), errors);
  for (unsigned w = 0; w < workers; ++w) {
    for (std::size_t r = 0; r < routes.size(); ++r) {
      for (int k = 0; k < 4; ++k) {
        registry.worker(w).request_finished(routes[r], k & 1 ? MethodLabel::kPost : MethodLabel::kGet,
                                            k & 2 ? 404 : 200, microseconds(kDurations[(r + k) & 7]));
      }
    }
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    registry.render_prometheus(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_RenderPrometheus)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace flexgate::observe

BENCHMARK_MAIN();
