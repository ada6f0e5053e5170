// Router hot path: normalize_target and RouteTable::match on a 1,000-route table.
// Run: build-*/bench/micro/router_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "router/normalize.h"
#include "router/route_table.h"

namespace flexgate::router {
namespace {

// 1,000 routes over 100 services: exact, params, nested params, wildcards, methods and hosts.
std::vector<config::RouteSpec> make_routes() {
  std::vector<config::RouteSpec> routes;
  auto add = [&routes](std::string path, std::string host, std::vector<std::string> methods) {
    config::RouteSpec spec;
    spec.path = std::move(path);
    spec.host = std::move(host);
    spec.methods = std::move(methods);
    spec.upstream = "backend";
    routes.push_back(std::move(spec));
  };
  for (int i = 0; i < 100; ++i) {
    const std::string svc = "/svc" + std::to_string(i);
    add(svc + "/health", "", {});
    add(svc + "/items", "", {"GET"});
    add(svc + "/items", "", {"POST"});
    add(svc + "/items/:id", "", {"GET", "PUT"});
    add(svc + "/items/:id", "", {"DELETE"});
    add(svc + "/items/:id/reviews/:review", "", {});
    add(svc + "/users/:uid/orders/:oid/lines/:line", "", {"GET"});
    add(svc + "/static/*", "", {});
    add(svc + "/*", "*.example.com", {});
    add(svc + "/admin/*", "admin" + std::to_string(i % 10) + ".example.com", {});
  }
  return routes;
}

struct Request {
  std::string host;
  std::string method;
  std::string path;
};

// A mix of hits at every precedence level, 405s and 404s, in a fixed pseudo-random order.
std::vector<Request> make_requests() {
  std::vector<Request> requests;
  std::mt19937 rng(42);
  for (int n = 0; n < 1024; ++n) {
    const std::string svc = "/svc" + std::to_string(rng() % 100);
    switch (rng() % 8) {
      case 0:
        requests.push_back({"gw.test", "GET", svc + "/health"});
        break;
      case 1:
        requests.push_back({"gw.test", "GET", svc + "/items/12345"});
        break;
      case 2:
        requests.push_back({"gw.test", "DELETE", svc + "/items/12345"});
        break;
      case 3:
        requests.push_back({"gw.test", "GET", svc + "/items/7/reviews/99"});
        break;
      case 4:
        requests.push_back({"gw.test", "GET", svc + "/users/1/orders/2/lines/3"});
        break;
      case 5:
        requests.push_back({"gw.test", "GET", svc + "/static/css/site/main.css"});
        break;
      case 6:
        requests.push_back({"admin3.example.com", "GET", svc + "/admin/panel/x"});
        break;
      case 7:
        requests.push_back({"gw.test", "PATCH", svc + "/items"});
        break;  // 405
    }
  }
  requests.push_back({"gw.test", "GET", "/nope/not/found"});
  return requests;
}

void BM_RouteMatch(benchmark::State& state) {
  const auto routes = make_routes();
  const RouteTable table(routes);
  const auto requests = make_requests();
  std::size_t i = 0;
  for (auto _ : state) {
    const Request& r = requests[i++ & 1023];
    RouteMatch m = table.match(r.host, r.method, r.path);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteMatch);

void BM_RouteMatchParamDeep(benchmark::State& state) {
  const auto routes = make_routes();
  const RouteTable table(routes);
  const std::string path = "/svc77/users/1/orders/2/lines/3";
  for (auto _ : state) {
    RouteMatch m = table.match("gw.test", "GET", path);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteMatchParamDeep);

void BM_RouteTableBuild(benchmark::State& state) {
  const auto routes = make_routes();
  for (auto _ : state) {
    RouteTable table(routes);
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_RouteTableBuild)->Unit(benchmark::kMicrosecond);

void normalize_bench(benchmark::State& state, const std::string& target) {
  NormalizedTarget out;
  for (auto _ : state) {
    NormalizeError e = normalize_target(target, out);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(out.path.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(target.size()));
}

void BM_NormalizeTypical(benchmark::State& state) {
  normalize_bench(state, "/api/v1/users/12345/orders?limit=50&cursor=abcdef0123456789");
}
BENCHMARK(BM_NormalizeTypical);

void BM_NormalizeEscapesAndDots(benchmark::State& state) {
  normalize_bench(state, "/api/./v1//users/%7Ejohn/../%41lice/caf%c3%a9/%2e%2e/orders?q=%20x");
}
BENCHMARK(BM_NormalizeEscapesAndDots);

void BM_NormalizeLong(benchmark::State& state) {
  std::string target;
  while (target.size() < 2000) target += "/segment-name_" + std::to_string(target.size());
  normalize_bench(state, target);
}
BENCHMARK(BM_NormalizeLong);

void BM_NormalizeThenMatch(benchmark::State& state) {
  const auto routes = make_routes();
  const RouteTable table(routes);
  const std::string target = "/svc42/items/%31%32%33?expand=reviews";
  NormalizedTarget out;
  for (auto _ : state) {
    normalize_target(target, out);
    RouteMatch m = table.match("gw.test", "GET", out.path);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizeThenMatch);

}  // namespace
}  // namespace flexgate::router

BENCHMARK_MAIN();
