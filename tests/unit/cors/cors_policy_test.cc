// CORS: origin matching (exact, "*.suffix", "*"), preflight detection and answer, the fields of
// actual responses, and that a disallowed origin gets no CORS field.

#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "policy/cors/cors_policy.h"

namespace flexgate::policy {
namespace {

CorsPolicy build(config::CorsSpec spec) {
  std::string error;
  auto policy = CorsPolicy::build(spec, error);
  EXPECT_TRUE(policy) << error;
  return *policy;
}

config::CorsSpec spec(std::vector<std::string> origins, bool credentials = false) {
  config::CorsSpec out;
  out.allow_origins = std::move(origins);
  out.allow_credentials = credentials;
  return out;
}

TEST(CorsPolicy, OriginsMatchExactlyOrBySuffix) {
  const CorsPolicy policy = build(spec({"https://app.example.com", "https://*.example.org", "http://localhost:3000"}));
  EXPECT_TRUE(policy.origin_allowed("https://app.example.com"));
  EXPECT_TRUE(policy.origin_allowed("HTTPS://APP.EXAMPLE.COM"));
  EXPECT_FALSE(policy.origin_allowed("http://app.example.com"));      // scheme differs
  EXPECT_FALSE(policy.origin_allowed("https://app.example.com.evil")); // exact means exact
  EXPECT_TRUE(policy.origin_allowed("https://a.example.org"));
  EXPECT_TRUE(policy.origin_allowed("https://a.b.example.org"));
  EXPECT_FALSE(policy.origin_allowed("https://example.org"));          // the bare domain is not a subdomain
  EXPECT_FALSE(policy.origin_allowed("https://evilexample.org"));
  EXPECT_FALSE(policy.origin_allowed("https://x.example.org.evil.com"));
  EXPECT_FALSE(policy.origin_allowed("https://a@b.example.org"));
  EXPECT_TRUE(policy.origin_allowed("http://localhost:3000"));
  EXPECT_FALSE(policy.origin_allowed("http://localhost:3001"));
  EXPECT_FALSE(policy.origin_allowed(""));
  EXPECT_FALSE(policy.origin_allowed("null"));
}

TEST(CorsPolicy, StarWithCredentialsIsRefused) {
  std::string error;
  EXPECT_FALSE(CorsPolicy::build(spec({"*"}, true), error));
  EXPECT_NE(error.find("allowCredentials"), std::string::npos);
}

TEST(CorsPolicy, PreflightIsOptionsWithOriginAndRequestMethod) {
  const auto parse = [](const std::string& raw, std::string_view& method) {
    http::RequestHead head;
    EXPECT_EQ(http::parse_request_head(raw, http::Limits{}, head).status, http::ParseStatus::kComplete);
    return CorsPolicy::is_preflight(head, method);
  };
  std::string_view method;
  // The method is a view into the head: the bytes must outlive the check.
  const std::string preflight =
      "OPTIONS /a HTTP/1.1\r\nHost: x\r\nOrigin: https://a\r\nAccess-Control-Request-Method: PUT\r\n\r\n";
  EXPECT_TRUE(parse(preflight, method));
  EXPECT_EQ(method, "PUT");
  EXPECT_FALSE(parse("OPTIONS /a HTTP/1.1\r\nHost: x\r\nOrigin: https://a\r\n\r\n", method));
  EXPECT_FALSE(parse("OPTIONS /a HTTP/1.1\r\nHost: x\r\nAccess-Control-Request-Method: PUT\r\n\r\n", method));
  EXPECT_FALSE(parse("GET /a HTTP/1.1\r\nHost: x\r\nOrigin: https://a\r\nAccess-Control-Request-Method: PUT\r\n\r\n",
                     method));
}

TEST(CorsPolicy, PreflightAnswer) {
  config::CorsSpec s = spec({"https://app.example.com"}, true);
  s.allow_methods = {"GET", "PUT"};
  s.allow_headers = {"Content-Type", "X-Api-Key"};
  s.max_age = std::chrono::minutes(10);
  const CorsPolicy policy = build(s);
  std::string out;
  policy.append_preflight("https://app.example.com", out);
  EXPECT_EQ(out,
            "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
            "Access-Control-Allow-Origin: https://app.example.com\r\n"
            "Access-Control-Allow-Credentials: true\r\n"
            "Access-Control-Allow-Methods: GET, PUT\r\n"
            "Access-Control-Allow-Headers: Content-Type, X-Api-Key\r\n"
            "Access-Control-Max-Age: 600\r\n");
  out.clear();
  policy.append_preflight("https://evil.example", out);
  EXPECT_EQ(out, "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n");
}

TEST(CorsPolicy, ActualResponseFields) {
  config::CorsSpec s = spec({"*"});
  s.expose_headers = {"X-Request-Id"};
  const CorsPolicy any = build(s);
  std::string out;
  any.append_response("https://whoever.example", true, out);
  EXPECT_EQ(out, "Vary: Origin\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: X-Request-Id\r\n");
  out.clear();
  any.append_response("", false, out);
  EXPECT_EQ(out, "Vary: Origin\r\n");

  const CorsPolicy listed = build(spec({"https://app.example.com"}));
  out.clear();
  listed.append_response("https://other.example", true, out);
  EXPECT_EQ(out, "Vary: Origin\r\n");
  out.clear();
  listed.append_response("https://app.example.com", true, out);
  EXPECT_EQ(out, "Vary: Origin\r\nAccess-Control-Allow-Origin: https://app.example.com\r\n");
  EXPECT_EQ(build(spec({"*"})).origin_allowed("https://x"), true);
}

TEST(CorsPolicy, DefaultMethodsAndOwnedFields) {
  const CorsPolicy policy = build(spec({"https://a.example"}));
  std::string out;
  policy.append_preflight("https://a.example", out);
  EXPECT_NE(out.find("Access-Control-Allow-Methods: GET, HEAD, POST\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Access-Control-Max-Age"), std::string::npos);
  EXPECT_TRUE(CorsPolicy::owns_response_field("access-control-allow-origin"));
  EXPECT_FALSE(CorsPolicy::owns_response_field("Vary"));
}

}  // namespace
}  // namespace flexgate::policy
