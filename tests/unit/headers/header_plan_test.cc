// Header plans: operation order (remove, rename, set, add), the route winning over the upstream,
// set clearing spoofed fields, hidden upstream fields, security headers.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config/transform_reader.h"
#include "http/parser.h"
#include "policy/headers/header_plan.h"

namespace flexgate::policy {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

config::HeaderValueSpec value(const std::string& name, const std::string& text,
                              const std::vector<std::string>* params = nullptr) {
  config::HeaderValueSpec spec;
  spec.name = name;
  const std::string error = config::parse_value_template(text, config::TemplateScope{params}, spec.value);
  EXPECT_EQ(error, "");
  return spec;
}

HeaderPlan compile(const PlanInputs& inputs) {
  HeaderPlan plan;
  std::string error;
  EXPECT_TRUE(HeaderPlan::compile(inputs, plan, error)) << error;
  return plan;
}

// Runs the request operations over `in`; returns what is left, in order.
Fields run_request(const HeaderPlan& plan, const Fields& in, const TemplateContext& context = {}) {
  TransformScratch scratch;
  std::string_view failed;
  EXPECT_TRUE(plan.render(context, scratch, failed));
  scratch.list.clear();
  for (const auto& [name, text] : in) scratch.list.push(name, text);
  plan.apply_request(scratch);
  Fields out;
  scratch.list.for_each([&](std::string_view name, std::string_view text) { out.emplace_back(name, text); });
  return out;
}

TEST(HeaderPlan, OperationsRunRemoveRenameSetAdd) {
  config::HeadersSpec route;
  route.request.remove = {"X-Debug"};
  route.request.rename = {{"X-Old", "X-New", {}}};
  route.request.set = {value("X-Team", "payments")};
  route.request.add = {value("X-Via", "flexgate")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  EXPECT_TRUE(plan.has_request_ops());
  EXPECT_FALSE(plan.has_response_ops());
  EXPECT_FALSE(plan.needs_render());
  const Fields out = run_request(plan, {{"Accept", "*/*"},
                                        {"x-debug", "1"},
                                        {"X-Old", "v"},
                                        {"X-Team", "spoofed"},
                                        {"X-Team", "twice"},
                                        {"X-Via", "client"}});
  EXPECT_EQ(out, (Fields{{"Accept", "*/*"}, {"X-New", "v"}, {"X-Via", "client"}, {"X-Team", "payments"},
                         {"X-Via", "flexgate"}}));
}

TEST(HeaderPlan, RouteWinsOverUpstream) {
  config::HeadersSpec upstream;
  upstream.request.set = {value("X-Env", "upstream"), value("X-Only-Upstream", "u")};
  upstream.request.remove = {"X-Keep-Me"};
  config::HeadersSpec route;
  route.request.set = {value("X-Env", "route"), value("X-Keep-Me", "route-set")};
  const HeaderPlan plan = compile(PlanInputs{&upstream, &route, nullptr, {}});
  const Fields out = run_request(plan, {{"X-Keep-Me", "client"}});
  EXPECT_EQ(out, (Fields{{"X-Only-Upstream", "u"}, {"X-Env", "route"}, {"X-Keep-Me", "route-set"}}));
}

TEST(HeaderPlan, SetWithAnEmptyValueStillRemovesTheClientsField) {
  // `X-User: ${auth.client}` on an anonymous request must not let a spoofed X-User through.
  config::HeadersSpec route;
  route.request.set = {value("X-User", "${auth.client}")};
  route.request.add = {value("X-Maybe", "${request.header.X-Absent}")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  EXPECT_TRUE(plan.needs_render());
  EXPECT_EQ(run_request(plan, {{"x-user", "admin"}}), Fields{});
  TemplateContext known;
  known.auth_client = "mobile-app";
  EXPECT_EQ(run_request(plan, {{"x-user", "admin"}}, known), (Fields{{"X-User", "mobile-app"}}));
}

TEST(HeaderPlan, RenderUsesRouteParametersAndReportsABadValue) {
  const std::vector<std::string> params = {"id"};
  config::HeadersSpec route;
  route.request.set = {value("X-User-Id", "user-${path.id}", &params)};
  route.response.set = {value("X-Served-By", "${upstream}")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, params});
  const std::string_view values[] = {"42"};
  TemplateContext context;
  context.path_params = values;
  context.upstream = "users";
  EXPECT_EQ(run_request(plan, {}, context), (Fields{{"X-User-Id", "user-42"}}));

  TransformScratch scratch;
  std::string_view failed;
  const std::string_view bad[] = {"4\r\n2"};
  context.path_params = bad;
  EXPECT_FALSE(plan.render(context, scratch, failed));
  EXPECT_EQ(failed, "X-User-Id");
}

TEST(HeaderPlan, ResponseValuesRenderedWithTheRequestSurviveUntilTheResponse) {
  config::HeadersSpec route;
  route.response.set = {value("X-Request-Tenant", "${request.header.X-Tenant}")};
  route.response.remove = {"X-Internal"};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  TransformScratch scratch;
  {
    const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX-Tenant: acme\r\n\r\n";
    http::RequestHead head;
    ASSERT_EQ(http::parse_request_head(raw, http::Limits{}, head).status, http::ParseStatus::kComplete);
    TemplateContext context;
    context.request_headers = &head.fields;
    std::string_view failed;
    ASSERT_TRUE(plan.render(context, scratch, failed));
  }  // the request head is gone
  scratch.list.clear();
  scratch.list.push("Content-Type", "text/plain");
  scratch.list.push("X-Internal", "node-7");
  plan.apply_response(scratch);
  Fields out;
  scratch.list.for_each([&](std::string_view n, std::string_view v) { out.emplace_back(n, v); });
  EXPECT_EQ(out, (Fields{{"Content-Type", "text/plain"}, {"X-Request-Tenant", "acme"}}));
}

TEST(HeaderPlan, HidesServerAndPoweredByUnlessKept) {
  http::HeaderField server{"Server", "nginx/1.2", http::HeaderToken::kServer};
  http::HeaderField powered{"x-powered-by", "PHP/8", http::HeaderToken::kOther};
  http::HeaderField other{"X-Other", "1", http::HeaderToken::kOther};
  const HeaderPlan defaults = compile(PlanInputs{});
  EXPECT_TRUE(defaults.hides(server));
  EXPECT_TRUE(defaults.hides(powered));
  EXPECT_FALSE(defaults.hides(other));
  config::HeadersSpec upstream;
  upstream.response.keep = {"Server"};
  const HeaderPlan kept = compile(PlanInputs{&upstream, nullptr, nullptr, {}});
  EXPECT_FALSE(kept.hides(server));
  EXPECT_TRUE(kept.hides(powered));
}

TEST(HeaderPlan, SecurityHeadersOnlyWhereMissingAndHstsOnlyOnTls) {
  config::SecurityHeadersSpec security;
  security.enabled = true;
  security.hsts = config::HstsSpec{};
  security.hsts->include_subdomains = true;
  config::HeadersSpec route;
  route.response.set = {value("X-Frame-Options", "SAMEORIGIN")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, &security, {}});
  std::string out;
  plan.append_security_headers(false, [](std::string_view name) { return name == "Referrer-Policy"; }, out);
  // X-Frame-Options is the route's own (set), Referrer-Policy already there, HSTS needs TLS.
  EXPECT_EQ(out, "X-Content-Type-Options: nosniff\r\n");
  out.clear();
  plan.append_security_headers(true, [](std::string_view) { return false; }, out);
  EXPECT_EQ(out,
            "X-Content-Type-Options: nosniff\r\nReferrer-Policy: strict-origin-when-cross-origin\r\n"
            "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n");
  security.enabled = false;
  EXPECT_TRUE(compile(PlanInputs{nullptr, nullptr, &security, {}}).security_fields().empty());
}

}  // namespace
}  // namespace flexgate::policy
