// Header plans: operation order (remove, rename, set, add), the route winning over the upstream,
// set clearing spoofed fields, hidden upstream fields, security headers; the compiled fast paths
// (constant lines written at load, per-name fates, ${route}/${upstream} bound to the pair) against
// a plain edit-list model of the operations.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "config/transform_reader.h"
#include "http/head_writer.h"
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

// "Name: value\r\n" lines back into fields.
Fields parse_lines(std::string_view text) {
  Fields out;
  while (!text.empty()) {
    const std::size_t end = text.find("\r\n");
    EXPECT_NE(end, std::string_view::npos) << text;
    if (end == std::string_view::npos) break;
    const std::string_view line = text.substr(0, end);
    const std::size_t colon = line.find(": ");
    EXPECT_NE(colon, std::string_view::npos) << line;
    out.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    text.remove_prefix(end + 2);
  }
  return out;
}

// Writes `in` through `edits` as the lifecycle does (each field forwarded, then the added ones);
// `present` gets the security bits of what was written.
std::string write_edited(const HeaderEdits& edits, const TransformScratch& scratch, const Fields& in,
                         std::uint32_t* present = nullptr, const TemplateContext& context = {}) {
  std::string out;
  std::uint32_t bits = 0;
  {
    http::HeadWriter writer(out);
    for (const auto& [name, text] : in) {
      bits |= edits.forward(http::HeaderField{name, text, http::HeaderToken::kOther}, writer);
    }
    bits |= edits.append_added(scratch, context, writer);
  }
  if (present != nullptr) *present = bits;
  return out;
}

// Runs the request operations over `in`; returns what is left, in order.
Fields run_request(const HeaderPlan& plan, const Fields& in, const TemplateContext& context = {}) {
  TransformScratch scratch;
  std::string_view failed;
  EXPECT_TRUE(plan.render(context, scratch, failed));
  return parse_lines(write_edited(plan.request_edits(), scratch, in, nullptr, context));
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
  const Fields out = parse_lines(
      write_edited(plan.response_edits(), scratch, {{"Content-Type", "text/plain"}, {"X-Internal", "node-7"}}));
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
  {
    http::HeadWriter writer(out);
    plan.append_security_headers(false, [](std::string_view name) { return name == "Referrer-Policy"; }, writer);
  }
  // X-Frame-Options is the route's own (set), Referrer-Policy already there, HSTS needs TLS.
  EXPECT_EQ(out, "X-Content-Type-Options: nosniff\r\n");
  out.clear();
  {
    http::HeadWriter writer(out);
    plan.append_security_headers(true, [](std::string_view) { return false; }, writer);
  }
  EXPECT_EQ(out,
            "X-Content-Type-Options: nosniff\r\nReferrer-Policy: strict-origin-when-cross-origin\r\n"
            "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n");
  security.enabled = false;
  EXPECT_TRUE(compile(PlanInputs{nullptr, nullptr, &security, {}}).security_fields().empty());
}


// ─── compiled fast paths ──────────────────────────────────────────────────────────────────────

TEST(HeaderPlan, ALiteralOnlyPlanIsWrittenAtLoadAndNeedsNoRender) {
  config::HeadersSpec route;
  route.request.set = {value("X-Team", "payments"), value("X-Empty", "")};
  route.request.add = {value("X-Via", "flexgate")};
  route.response.set = {value("X-Served-By", "gw-1")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  EXPECT_FALSE(plan.needs_render());
  const TransformScratch never_rendered;  // the lifecycle skips render() for such a plan
  EXPECT_EQ(write_edited(plan.request_edits(), never_rendered, {{"x-empty", "spoofed"}, {"Accept", "*/*"}}),
            "Accept: */*\r\nX-Team: payments\r\nX-Via: flexgate\r\n");
  EXPECT_EQ(write_edited(plan.response_edits(), never_rendered, {}), "X-Served-By: gw-1\r\n");
}

TEST(HeaderPlan, FieldsNoOperationNamesAreCopiedAsParsed) {
  // Untouched fields keep their bytes (append_parsed_field copies the line in one piece); a
  // renamed one is written canonically under its new name.
  config::HeadersSpec route;
  route.request.rename = {{"x-old", "X-New", {}}};
  route.request.remove = {"X-Debug"};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  const std::string raw =
      "GET / HTTP/1.1\r\nHost: a\r\nuser-agent: t/1\r\nX-OLD: v\r\nx-debug: 1\r\nAccept:  */*\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, http::Limits{}, head).status, http::ParseStatus::kComplete);
  std::string out;
  {
    http::HeadWriter writer(out);
    for (const http::HeaderField& field : head.fields) {
      if (field.token != http::HeaderToken::kHost) plan.request_edits().forward(field, writer);
    }
  }
  EXPECT_EQ(out, "user-agent: t/1\r\nX-New: v\r\nAccept: */*\r\n");
}

TEST(HeaderPlan, RouteAndUpstreamAreConstantsOfThePair) {
  config::HeadersSpec route;
  route.request.set = {value("X-Route", "${route}")};
  route.response.set = {value("X-Served-By", "${upstream}@${route}")};
  const std::string path = "/users/*";
  const std::string upstream = "users-v2";
  PlanInputs inputs{nullptr, &route, nullptr, {}};
  inputs.route_path = &path;
  inputs.upstream_name = &upstream;
  const HeaderPlan plan = compile(inputs);
  EXPECT_FALSE(plan.needs_render());
  const TransformScratch scratch;
  EXPECT_EQ(write_edited(plan.request_edits(), scratch, {}), "X-Route: /users/*\r\n");
  EXPECT_EQ(write_edited(plan.response_edits(), scratch, {}), "X-Served-By: users-v2@/users/*\r\n");
}

TEST(HeaderPlan, ABoundNameThatCannotBeSentStillFailsTheRequest) {
  // A name a header may not carry stays a run-time part, so render() fails as it always did.
  config::HeadersSpec route;
  route.response.set = {value("X-Served-By", "${upstream}")};
  const std::string upstream = "bad\r\nX-Injected: 1";
  PlanInputs inputs{nullptr, &route, nullptr, {}};
  inputs.upstream_name = &upstream;
  const HeaderPlan plan = compile(inputs);
  EXPECT_TRUE(plan.needs_render());
  TemplateContext context;
  context.upstream = upstream;
  TransformScratch scratch;
  std::string_view failed;
  EXPECT_FALSE(plan.render(context, scratch, failed));
  EXPECT_EQ(failed, "X-Served-By");
}

TEST(HeaderPlan, ARunTimeValueWithCrLfFailsRenderSoTheRequestGets500) {
  // The parser never lets CR/LF into a field; the check does not rely on that. A value a later
  // operation drops is still rendered and checked.
  http::HeaderFields fields;
  fields.add() = {"X-Tenant", "acme\r\nX-Injected: 1", http::HeaderToken::kOther};
  TemplateContext context;
  context.request_headers = &fields;
  context.correlation_id = "cid-1";
  for (const bool dropped_later : {false, true}) {
    config::HeadersSpec upstream;
    upstream.request.set = {value("X-Id", "${correlation_id}"), value("X-Tenant-Copy", "t=${request.header.X-Tenant}")};
    config::HeadersSpec route;
    if (dropped_later) route.request.remove = {"X-Tenant-Copy"};
    const HeaderPlan plan = compile(PlanInputs{&upstream, &route, nullptr, {}});
    TransformScratch scratch;
    std::string_view failed;
    EXPECT_FALSE(plan.render(context, scratch, failed)) << dropped_later;
    EXPECT_EQ(failed, "X-Tenant-Copy");
  }
  config::HeadersSpec route;
  route.request.set = {value("X-User", "${auth.client}")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  context.auth_client = std::string_view("a\0b", 3);
  TransformScratch scratch;
  std::string_view failed;
  EXPECT_FALSE(plan.render(context, scratch, failed));
  EXPECT_EQ(failed, "X-User");
}

TEST(HeaderPlan, LoneGatewayValuesAreWrittenWithTheHeadWithoutARender) {
  // Nothing in ${correlation_id} or ${client_ip} can fail a request: a direction whose every
  // request-dependent value is one of them copies the values while its head is written.
  config::HeadersSpec upstream;
  upstream.request.set = {value("X-Upstream-Id", "${correlation_id}")};
  config::HeadersSpec route;
  route.request.remove = {"X-Upstream-Id"};  // drops the upstream's line: it adds no field
  route.request.set = {value("X-Team", "payments"), value("X-Request-Id", "${correlation_id}"),
                       value("X-Real-IP", "${client_ip}")};
  route.request.add = {value("X-Via", "flexgate")};
  route.response.add = {value("X-Seen-From", "${client_ip}")};
  const HeaderPlan plan = compile(PlanInputs{&upstream, &route, nullptr, {}});
  EXPECT_FALSE(plan.needs_render());
  EXPECT_TRUE(plan.request_edits().writes_directly());
  EXPECT_TRUE(plan.response_edits().writes_directly());
  const TransformScratch never_rendered;
  TemplateContext context;
  context.correlation_id = "abc";
  context.client_ip = "10.0.0.1";
  EXPECT_EQ(write_edited(plan.request_edits(), never_rendered, {{"X-Request-Id", "spoofed"}, {"Accept", "*/*"}},
                         nullptr, context),
            "Accept: */*\r\nX-Team: payments\r\nX-Request-Id: abc\r\nX-Real-IP: 10.0.0.1\r\nX-Via: flexgate\r\n");
  EXPECT_EQ(write_edited(plan.response_edits(), never_rendered, {}, nullptr, context), "X-Seen-From: 10.0.0.1\r\n");
  context.client_ip = "";  // an empty value adds no field; the constant lines around it stay
  EXPECT_EQ(write_edited(plan.request_edits(), never_rendered, {}, nullptr, context),
            "X-Team: payments\r\nX-Request-Id: abc\r\nX-Via: flexgate\r\n");
  EXPECT_EQ(write_edited(plan.response_edits(), never_rendered, {}, nullptr, context), "");

  // One value that may fail (a client's field) and the direction renders as before; the other
  // direction still writes directly.
  route.request.add.push_back(value("X-Copy", "${request.header.X-Tenant}"));
  const HeaderPlan mixed = compile(PlanInputs{&upstream, &route, nullptr, {}});
  EXPECT_TRUE(mixed.needs_render());
  EXPECT_FALSE(mixed.request_edits().writes_directly());
  EXPECT_TRUE(mixed.response_edits().writes_directly());
  http::HeaderFields fields;
  fields.add() = {"x-tenant", "acme", http::HeaderToken::kOther};
  context.request_headers = &fields;
  context.client_ip = "10.0.0.2";
  TransformScratch scratch;
  std::string_view failed;
  ASSERT_TRUE(mixed.render(context, scratch, failed));
  EXPECT_EQ(write_edited(mixed.request_edits(), scratch, {}, nullptr, context),
            "X-Team: payments\r\nX-Request-Id: abc\r\nX-Real-IP: 10.0.0.2\r\nX-Via: flexgate\r\nX-Copy: acme\r\n");
  EXPECT_EQ(write_edited(mixed.response_edits(), scratch, {}, nullptr, context), "X-Seen-From: 10.0.0.2\r\n");
}

TEST(HeaderPlan, RenderedLinesAreReusedAcrossRequests) {
  // ${correlation_id} and ${client_ip} alone are copied from the context without expand().
  config::HeadersSpec route;
  route.request.set = {value("X-Request-Id", "${correlation_id}"), value("X-User", "${auth.client}"),
                       value("X-Real-IP", "${client_ip}")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  TransformScratch scratch;
  std::string_view failed;
  TemplateContext context;
  context.correlation_id = "first-id";
  context.auth_client = "mobile";
  context.client_ip = "10.0.0.1";
  ASSERT_TRUE(plan.render(context, scratch, failed));
  EXPECT_EQ(write_edited(plan.request_edits(), scratch, {}),
            "X-Request-Id: first-id\r\nX-User: mobile\r\nX-Real-IP: 10.0.0.1\r\n");
  context.correlation_id = "second";
  context.auth_client = "";
  context.client_ip = "";
  ASSERT_TRUE(plan.render(context, scratch, failed));
  EXPECT_EQ(write_edited(plan.request_edits(), scratch, {{"X-User", "spoofed"}}), "X-Request-Id: second\r\n");
}

TEST(HeaderPlan, LongValuesGrowTheScratchAndKeepTheirOrder) {
  // A client's 8 KiB field copied into two request values and a response value: the rendered
  // lines outgrow the scratch's first capacity; the next (short) request reuses it.
  config::HeadersSpec route;
  route.request.set = {value("X-Copy-1", "${request.header.X-Big}"), value("X-Team", "payments"),
                       value("X-Copy-2", "<${request.header.X-Big}>")};
  route.response.set = {value("X-Echo", "${request.header.X-Big}")};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, nullptr, {}});
  const std::string big(8192, 'b');
  http::HeaderFields fields;
  fields.add() = {"x-big", big, http::HeaderToken::kOther};
  TemplateContext context;
  context.request_headers = &fields;
  TransformScratch scratch;
  std::string_view failed;
  ASSERT_TRUE(plan.render(context, scratch, failed));
  EXPECT_EQ(write_edited(plan.request_edits(), scratch, {}),
            "X-Copy-1: " + big + "\r\nX-Team: payments\r\nX-Copy-2: <" + big + ">\r\n");
  EXPECT_EQ(write_edited(plan.response_edits(), scratch, {}), "X-Echo: " + big + "\r\n");
  fields[0].value = "small";
  ASSERT_TRUE(plan.render(context, scratch, failed));
  EXPECT_EQ(write_edited(plan.request_edits(), scratch, {}),
            "X-Copy-1: small\r\nX-Team: payments\r\nX-Copy-2: <small>\r\n");
  EXPECT_EQ(write_edited(plan.response_edits(), scratch, {}), "X-Echo: small\r\n");
}

TEST(HeaderPlan, SecurityHeadersSeeTheEditedResponse) {
  config::SecurityHeadersSpec security;
  security.enabled = true;
  config::HeadersSpec route;
  route.response.rename = {{"X-Legacy-Frame", "X-Frame-Options", {}}, {"Referrer-Policy", "X-Old-Referrer", {}}};
  route.response.remove = {"X-Internal"};
  const HeaderPlan plan = compile(PlanInputs{nullptr, &route, &security, {}});
  ASSERT_EQ(plan.security_fields().size(), 3u);
  const TransformScratch scratch;
  std::uint32_t present = 0;
  const std::string out = write_edited(plan.response_edits(), scratch,
                                       {{"x-legacy-frame", "SAMEORIGIN"},
                                        {"referrer-policy", "no-referrer"},
                                        {"x-content-type-options", "nosniff"},
                                        {"X-Internal", "1"}},
                                       &present);
  EXPECT_EQ(out,
            "X-Frame-Options: SAMEORIGIN\r\nX-Old-Referrer: no-referrer\r\nx-content-type-options: nosniff\r\n");
  EXPECT_TRUE(plan.security_present(present, "X-Frame-Options"));
  EXPECT_TRUE(plan.security_present(present, "X-Content-Type-Options"));
  EXPECT_FALSE(plan.security_present(present, "Referrer-Policy"));  // renamed away: the default goes on
}

// The operations as an edit list, one at a time (what HeaderPlan compiles away).
struct ModelField {
  std::string name;
  std::string value;
};

void model_level(const config::HeaderOpsSpec& spec, const TemplateContext& context, std::vector<ModelField>& list) {
  const auto remove = [&](const std::string& name) {
    std::erase_if(list, [&](const ModelField& field) { return http::iequals(field.name, name); });
  };
  const auto expand = [&](const config::HeaderValueSpec& entry) {
    CompiledTemplate compiled;
    std::string error;
    EXPECT_TRUE(CompiledTemplate::compile(entry.value, {}, compiled, error));
    std::string text;
    EXPECT_TRUE(compiled.expand(context, text));
    return text;
  };
  for (const std::string& name : spec.remove) remove(name);
  for (const config::HeaderRenameSpec& rename : spec.rename) {
    for (ModelField& field : list) {
      if (http::iequals(field.name, rename.from)) field.name = rename.to;
    }
  }
  for (const config::HeaderValueSpec& entry : spec.set) {
    remove(entry.name);
    if (std::string text = expand(entry); !text.empty()) list.push_back({entry.name, text});
  }
  for (const config::HeaderValueSpec& entry : spec.add) {
    if (std::string text = expand(entry); !text.empty()) list.push_back({entry.name, text});
  }
}

TEST(HeaderPlan, CompiledEditsMatchTheEditListModel) {
  // Random operations on two levels over a few names (in any case), random arriving fields:
  // the compiled plan writes what running the operations on an edit list leaves, and reports the
  // same security fields present.
  const std::vector<std::string> names = {"X-A", "x-a", "X-B", "x-c", "X-Frame-Options", "referrer-policy",
                                          "X-CONTENT-TYPE-OPTIONS"};
  const std::vector<std::string> values = {"v", "", "${auth.client}", "a-${auth.client}"};
  std::mt19937 rng(11);
  const auto pick = [&](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
  const auto random_ops = [&](config::HeaderOpsSpec& ops) {
    for (unsigned n = rng() % 3; n > 0; --n) ops.remove.push_back(pick(names));
    for (unsigned n = rng() % 3; n > 0; --n) ops.rename.push_back({pick(names), pick(names), {}});
    for (unsigned n = rng() % 3; n > 0; --n) ops.set.push_back(value(pick(names), pick(values)));
    for (unsigned n = rng() % 3; n > 0; --n) ops.add.push_back(value(pick(names), pick(values)));
  };
  config::SecurityHeadersSpec security;
  security.enabled = true;
  for (int round = 0; round < 3000; ++round) {
    config::HeadersSpec upstream;
    config::HeadersSpec route;
    random_ops(upstream.response);
    random_ops(route.response);
    const HeaderPlan plan = compile(PlanInputs{&upstream, &route, rng() % 2 == 0 ? &security : nullptr, {}});
    Fields in;
    for (unsigned n = rng() % 5; n > 0; --n) in.emplace_back(pick(names), "in" + std::to_string(n));
    TemplateContext context;
    context.auth_client = rng() % 2 == 0 ? "client" : "";

    std::vector<ModelField> list;
    for (const auto& [name, text] : in) list.push_back({name, text});
    model_level(upstream.response, context, list);
    model_level(route.response, context, list);
    Fields expected;
    for (const ModelField& field : list) expected.emplace_back(field.name, field.value);

    TransformScratch scratch;
    std::string_view failed;
    ASSERT_TRUE(plan.render(context, scratch, failed));
    std::uint32_t present = 0;
    ASSERT_EQ(parse_lines(write_edited(plan.response_edits(), scratch, in, &present)), expected) << "round " << round;
    for (const SecurityField& field : plan.security_fields()) {
      const bool in_model = std::any_of(list.begin(), list.end(),
                                        [&](const ModelField& entry) { return http::iequals(entry.name, field.name); });
      EXPECT_EQ(plan.security_present(present, field.name), in_model) << "round " << round << " " << field.name;
    }
  }
}

}  // namespace
}  // namespace flexgate::policy
