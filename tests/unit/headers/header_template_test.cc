// Header value templates: parsing at load (config::parse_value_template: every variable, env read
// once, unknown variables and bad bytes refused) and expansion per request (CompiledTemplate).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "config/transform_reader.h"
#include "http/parser.h"
#include "policy/headers/header_template.h"

namespace flexgate::policy {
namespace {

using config::TemplateScope;
using config::TemplateVar;
using config::ValueTemplate;

const std::vector<std::string> kParams = {"id", "section"};

ValueTemplate parse_ok(const std::string& text, TemplateScope scope = TemplateScope{&kParams}) {
  ValueTemplate out;
  const std::string error = config::parse_value_template(text, scope, out);
  EXPECT_EQ(error, "") << text;
  return out;
}

std::string parse_error(const std::string& text, TemplateScope scope = TemplateScope{&kParams}) {
  ValueTemplate out;
  return config::parse_value_template(text, scope, out);
}

TEST(ValueTemplateParse, EveryVariableBecomesAPart) {
  const ValueTemplate t = parse_ok(
      "ip=${client_ip} id=${correlation_id} r=${route} u=${upstream} c=${auth.client} "
      "h=${request.header.X-Tenant} p=${path.id}");
  std::vector<TemplateVar> vars;
  for (const auto& part : t.parts) vars.push_back(part.var);
  EXPECT_EQ(vars, (std::vector<TemplateVar>{TemplateVar::kLiteral, TemplateVar::kClientIp, TemplateVar::kLiteral,
                                            TemplateVar::kCorrelationId, TemplateVar::kLiteral, TemplateVar::kRoute,
                                            TemplateVar::kLiteral, TemplateVar::kUpstream, TemplateVar::kLiteral,
                                            TemplateVar::kAuthClient, TemplateVar::kLiteral,
                                            TemplateVar::kRequestHeader, TemplateVar::kLiteral,
                                            TemplateVar::kPathParam}));
  EXPECT_EQ(t.parts[11].text, "X-Tenant");
  EXPECT_EQ(t.parts[13].text, "id");
}

TEST(ValueTemplateParse, EnvironmentIsReadOnceAtLoadIntoALiteral) {
  ::setenv("FLEXGATE_XFORM_TEST_REGION", "eu-west-1", 1);
  const ValueTemplate t = parse_ok("region=${env.FLEXGATE_XFORM_TEST_REGION}");
  ASSERT_EQ(t.parts.size(), 1u);
  EXPECT_EQ(t.parts[0].var, TemplateVar::kLiteral);
  EXPECT_EQ(t.parts[0].text, "region=eu-west-1");
  ::unsetenv("FLEXGATE_XFORM_TEST_REGION");
  EXPECT_EQ(parse_ok("${env.FLEXGATE_XFORM_TEST_REGION:-none}").parts[0].text, "none");
  EXPECT_NE(parse_error("${env.FLEXGATE_XFORM_TEST_REGION}").find("is not set"), std::string::npos);
}

TEST(ValueTemplateParse, DollarDollarIsALiteral) {
  const ValueTemplate t = parse_ok("cost: $5 and $${client_ip}");
  ASSERT_EQ(t.parts.size(), 1u);
  EXPECT_EQ(t.parts[0].text, "cost: $5 and ${client_ip}");
}

TEST(ValueTemplateParse, UnknownAndMalformedVariablesAreErrors) {
  EXPECT_NE(parse_error("${clientip}").find("not a known variable"), std::string::npos);
  EXPECT_NE(parse_error("${HOME}").find("not a known variable"), std::string::npos);
  EXPECT_NE(parse_error("${client_ip").find("unclosed"), std::string::npos);
  EXPECT_NE(parse_error("${request.header.}").find("does not name a header"), std::string::npos);
  EXPECT_NE(parse_error("${request.header.X Y}").find("does not name a header"), std::string::npos);
  EXPECT_NE(parse_error("${path.user}").find("names no parameter"), std::string::npos);
  EXPECT_NE(parse_error("${env.1BAD}").find("not an environment variable name"), std::string::npos);
  // An upstream serves many routes: no path parameters there.
  EXPECT_NE(parse_error("${path.id}", TemplateScope{}).find("only be used in a route"), std::string::npos);
}

TEST(ValueTemplateParse, ControlBytesAreRefusedAtLoad) {
  EXPECT_NE(parse_error("a\r\nX-Evil: 1").find("CR"), std::string::npos);
  EXPECT_NE(parse_error(std::string("a\nb")).find("LF"), std::string::npos);
  EXPECT_NE(parse_error(std::string("a\0b", 3)).find("NUL"), std::string::npos);
  ::setenv("FLEXGATE_XFORM_TEST_BAD", "x\r\ny", 1);
  EXPECT_NE(parse_error("${env.FLEXGATE_XFORM_TEST_BAD}").find("CR"), std::string::npos);
  ::unsetenv("FLEXGATE_XFORM_TEST_BAD");
  EXPECT_EQ(parse_error("tab\tis fine"), "");
}

// ─── expansion ─────────────────────────────────────────────────────────────────────────────

CompiledTemplate compile(const std::string& text) {
  CompiledTemplate out;
  std::string error;
  EXPECT_TRUE(CompiledTemplate::compile(parse_ok(text), kParams, out, error)) << error;
  return out;
}

TEST(CompiledTemplate, ExpandsFromTheContext) {
  const std::string raw =
      "GET /users/42 HTTP/1.1\r\nHost: a\r\nX-Tenant: acme\r\nX-Tenant: beta\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, http::Limits{}, head).status, http::ParseStatus::kComplete);
  const std::string_view params[] = {"42", "info"};
  TemplateContext context;
  context.client_ip = "10.1.2.3";
  context.correlation_id = "cid-1";
  context.route = "/users/:id/:section";
  context.upstream = "users";
  context.auth_client = "mobile";
  context.request_headers = &head.fields;
  context.path_params = params;
  std::string out;
  ASSERT_TRUE(compile("${client_ip}|${correlation_id}|${route}|${upstream}|${auth.client}|"
                      "${request.header.x-tenant}|${path.section}/${path.id}")
                  .expand(context, out));
  EXPECT_EQ(out, "10.1.2.3|cid-1|/users/:id/:section|users|mobile|acme, beta|info/42");
}

TEST(CompiledTemplate, MissingValuesExpandToNothing) {
  TemplateContext context;
  std::string out;
  ASSERT_TRUE(compile("[${auth.client}${request.header.X-None}]").expand(context, out));
  EXPECT_EQ(out, "[]");
}

TEST(CompiledTemplate, ConstantsAreKnownAtCompileTime) {
  EXPECT_TRUE(compile("plain text").is_constant());
  EXPECT_FALSE(compile("x ${route}").is_constant());
}

TEST(CompiledTemplate, AValueMadeAtRunTimeWithCrLfFails) {
  // The parser never lets CR/LF into a field, but the check does not rely on that.
  TemplateContext context;
  context.auth_client = "evil\r\nX-Injected: 1";
  std::string out;
  EXPECT_FALSE(compile("${auth.client}").expand(context, out));
  out.clear();
  context.auth_client = std::string_view("a\0b", 3);
  EXPECT_FALSE(compile("${auth.client}").expand(context, out));
  EXPECT_FALSE(valid_field_value("a\nb"));
  EXPECT_TRUE(valid_field_value("a\tb \x80"));  // obs-text and HTAB are legal
}

TEST(CompiledTemplate, ValidFieldValueMatchesTheByteRule) {
  // valid_field_value() looks at eight bytes at a time; the answer is the byte-by-byte rule's.
  const auto by_byte = [](std::string_view value) {
    return std::all_of(value.begin(), value.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return (byte >= 0x20 || byte == '\t') && byte != 0x7f;
    });
  };
  for (std::size_t size = 1; size <= 20; ++size) {
    for (std::size_t at = 0; at < size; ++at) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string value(size, 'a');
        value[at] = static_cast<char>(byte);
        ASSERT_EQ(valid_field_value(value), by_byte(value)) << size << " " << at << " " << byte;
      }
    }
  }
  // Neighbours that could fool a word-wide test: obs-text, DEL, HTAB, controls side by side.
  const char pool[] = {'\0', '\t', '\x1f', ' ', '~', '\x7f', '\x80', '\xff', 'a'};
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::string value(rng() % 40, 'a');
    for (char& c : value) c = pool[rng() % sizeof pool];
    ASSERT_EQ(valid_field_value(value), by_byte(value)) << round;
  }
}

TEST(CompiledTemplate, BindMakesAKnownVariableALiteral) {
  CompiledTemplate served = compile("${upstream}/${route}");
  served.bind(TemplateVar::kUpstream, "users");
  EXPECT_FALSE(served.is_constant());
  served.bind(TemplateVar::kRoute, "/users/:id/:section");
  EXPECT_TRUE(served.is_constant());
  std::string out;
  ASSERT_TRUE(served.expand(TemplateContext{}, out));
  EXPECT_EQ(out, "users//users/:id/:section");
  // A value a header may not carry is not bound: the part fails at run time, as before.
  CompiledTemplate bad = compile("${upstream}");
  bad.bind(TemplateVar::kUpstream, "a\nb");
  EXPECT_FALSE(bad.is_constant());
  TemplateContext context;
  context.upstream = "a\nb";
  out.clear();
  EXPECT_FALSE(bad.expand(context, out));
}

TEST(CompiledTemplate, AValueThatIsOneGatewayValueNamesItsMember) {
  // render() copies such a value straight from the context; expand() agrees with it.
  TemplateContext context;
  context.client_ip = "10.1.2.3";
  context.correlation_id = "cid-1";
  EXPECT_EQ(compile("${correlation_id}").only_gateway_value(), &TemplateContext::correlation_id);
  EXPECT_EQ(compile("${client_ip}").only_gateway_value(), &TemplateContext::client_ip);
  for (const char* text : {"id=${correlation_id}", "${client_ip}${client_ip}", "${auth.client}", "${route}", "plain"}) {
    EXPECT_EQ(compile(text).only_gateway_value(), nullptr) << text;
  }
  CompiledTemplate bound = compile("${upstream}");
  bound.bind(TemplateVar::kUpstream, "users");
  EXPECT_EQ(bound.only_gateway_value(), nullptr);
  std::string out;
  ASSERT_TRUE(compile("${client_ip}").expand(context, out));
  EXPECT_EQ(out, context.*compile("${client_ip}").only_gateway_value());
}

TEST(CompiledTemplate, UnknownParameterIsACompileError) {
  CompiledTemplate out;
  std::string error;
  ValueTemplate t = parse_ok("${path.id}");
  EXPECT_FALSE(CompiledTemplate::compile(t, std::vector<std::string>{"other"}, out, error));
  EXPECT_NE(error.find("path.id"), std::string::npos);
}

}  // namespace
}  // namespace flexgate::policy
