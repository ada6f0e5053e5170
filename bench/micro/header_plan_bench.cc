// Header plans on the hot path: the work a route with header operations adds to writing the
// upstream request head and the client response head, next to copying the same fields untouched.
// The plan is bench/flexgate-headers.yml.tmpl's (issue #11's five operations): request set
// X-Team (constant) and X-Request-Id (${correlation_id}), remove X-Debug, rename X-Old-Name;
// response set X-Served-By (${upstream}, a constant of the route/upstream pair).
// Run: build-*/bench/micro/header_plan_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>

#include "config/transform_reader.h"
#include "http/head_writer.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "policy/headers/header_plan.h"

namespace flexgate::policy {
namespace {

// What a browser sends for a page (bench/micro/codec_bench.cc's typical request).
const std::string kTypicalRequest =
    "GET /catalog/shoes?size=42&color=blue HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://shop.example.com/\r\n"
    "Cookie: sid=8f14e45fceea167a5a36; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "DNT: 1\r\n"
    "\r\n";

const std::string kTypicalResponse =
    "HTTP/1.1 200 OK\r\n"
    "Date: Sun, 29 Nov 2026 10:15:42 GMT\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Cache-Control: private, max-age=0, no-cache\r\n"
    "ETag: W/\"72a-Lq1vKZ4Jz8sO0o4T0sCk0p3H5xE\"\r\n"
    "Vary: Accept-Encoding, Origin\r\n"
    "\r\n";

config::HeaderValueSpec value(const std::string& name, const std::string& text) {
  config::HeaderValueSpec spec;
  spec.name = name;
  (void)config::parse_value_template(text, config::TemplateScope{}, spec.value);
  return spec;
}

struct Fixture {
  Fixture() {
    route.request.set = {value("X-Team", "payments"), value("X-Request-Id", "${correlation_id}")};
    route.request.remove = {"X-Debug"};
    route.request.rename = {{"X-Old-Name", "X-New-Name", {}}};
    route.response.set = {value("X-Served-By", "${upstream}")};
    PlanInputs inputs;
    inputs.route_headers = &route;
    inputs.route_path = &route_path;
    inputs.upstream_name = &upstream_name;
    std::string error;
    ok = HeaderPlan::compile(inputs, plan, error);
    ok = ok && http::parse_request_head(kTypicalRequest, http::Limits{}, *request).status ==
                   http::ParseStatus::kComplete;
    ok = ok &&
         http::parse_response_head(kTypicalResponse, http::Limits{}, http::Method::kGet, *response).status ==
             http::ParseStatus::kComplete;
    context.correlation_id = "5f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b";
    context.request_headers = &request->fields;
    out.reserve(4096);
  }
  config::HeadersSpec route;
  std::string route_path = "/*";
  std::string upstream_name = "echo";
  HeaderPlan plan;
  std::unique_ptr<http::RequestHead> request = std::make_unique<http::RequestHead>();
  std::unique_ptr<http::ResponseHead> response = std::make_unique<http::ResponseHead>();
  TemplateContext context;
  TransformScratch scratch;
  std::string out;
  bool ok = false;
};

// The baseline: the request's fields copied as a route without operations does.
void BM_RequestFieldsCopied(benchmark::State& state) {
  Fixture f;
  if (!f.ok) state.SkipWithError("fixture");
  for (auto _ : state) {
    f.out.clear();
    for (const http::HeaderField& field : f.request->fields) http::append_parsed_field(f.out, field);
    benchmark::DoNotOptimize(f.out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestFieldsCopied);

// The same fields through the plan: render (the transform phase), forward, the added lines.
void BM_RequestFieldsThroughPlan(benchmark::State& state) {
  Fixture f;
  if (!f.ok) state.SkipWithError("fixture");
  std::string_view failed;
  for (auto _ : state) {
    if (!f.plan.render(f.context, f.scratch, failed)) state.SkipWithError("render");
    f.out.clear();
    {
      http::HeadWriter writer(f.out);
      const HeaderEdits& edits = f.plan.request_edits();
      for (const http::HeaderField& field : f.request->fields) edits.forward(field, writer);
      edits.append_added(f.scratch, f.context, writer);
    }
    benchmark::DoNotOptimize(f.out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestFieldsThroughPlan);

void BM_ResponseFieldsCopied(benchmark::State& state) {
  Fixture f;
  if (!f.ok) state.SkipWithError("fixture");
  for (auto _ : state) {
    f.out.clear();
    for (const http::HeaderField& field : f.response->fields) http::append_parsed_field(f.out, field);
    benchmark::DoNotOptimize(f.out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResponseFieldsCopied);

void BM_ResponseFieldsThroughPlan(benchmark::State& state) {
  Fixture f;
  if (!f.ok) state.SkipWithError("fixture");
  for (auto _ : state) {
    f.out.clear();
    {
      http::HeadWriter writer(f.out);
      const HeaderEdits& edits = f.plan.response_edits();
      for (const http::HeaderField& field : f.response->fields) edits.forward(field, writer);
      edits.append_added(f.scratch, f.context, writer);
    }
    benchmark::DoNotOptimize(f.out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResponseFieldsThroughPlan);

// A value made from a client's field: looked up, checked for CR/LF/NUL, rendered.
void BM_RenderRequestHeaderValue(benchmark::State& state) {
  Fixture f;
  config::HeadersSpec route;
  route.request.set = {value("X-Client", "ua=${request.header.User-Agent}")};
  PlanInputs inputs;
  inputs.route_headers = &route;
  HeaderPlan plan;
  std::string error;
  if (!f.ok || !HeaderPlan::compile(inputs, plan, error)) state.SkipWithError("fixture");
  std::string_view failed;
  for (auto _ : state) {
    if (!plan.render(f.context, f.scratch, failed)) state.SkipWithError("render");
    benchmark::DoNotOptimize(f.scratch.added[0].view().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderRequestHeaderValue);

}  // namespace
}  // namespace flexgate::policy

BENCHMARK_MAIN();
