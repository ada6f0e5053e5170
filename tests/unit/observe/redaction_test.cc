#include "observe/redaction.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/loader.h"
#include "observe/access_log.h"
#include "observe/log.h"

namespace flexgate::observe {
namespace {

config::Config config_with(std::string auth_header, std::string signature_header,
                           std::vector<std::string> redact_headers) {
  config::Config config;
  config.security.auth.header = std::move(auth_header);
  config.security.auth.signature_header = std::move(signature_header);
  config.logging.redact_headers = std::move(redact_headers);
  return config;
}

TEST(RedactionTest, CredentialsAreAlwaysSensitiveInAnyCase) {
  const Redactor redactor;
  for (const char* name : {"Authorization", "authorization", "AUTHORIZATION", "Proxy-Authorization",
                           "proxy-authorization", "Cookie", "COOKIE", "Set-Cookie", "set-cookie"}) {
    EXPECT_TRUE(redactor.is_sensitive(name)) << name;
  }
}

TEST(RedactionTest, TheDefaultApiKeyAndSignatureHeadersAreSensitive) {
  const Redactor redactor;
  EXPECT_TRUE(redactor.is_sensitive("X-API-Key"));
  EXPECT_TRUE(redactor.is_sensitive("x-api-key"));
  EXPECT_TRUE(redactor.is_sensitive("X-Signature"));
  EXPECT_FALSE(redactor.is_sensitive("X-Timestamp")) << "not a secret";
  EXPECT_TRUE(is_sensitive_header("X-Api-Key", config::Config{}));
}

TEST(RedactionTest, ConfiguredAuthHeadersAndRedactHeadersAreSensitive) {
  const config::Config config = config_with("X-Gateway-Key", "X-Body-Sig", {"X-Session", "x-internal-token"});
  const Redactor redactor(config);
  for (const char* name : {"X-Gateway-Key", "x-gateway-key", "X-Body-Sig", "X-SESSION", "X-Internal-Token",
                           "Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization"}) {
    EXPECT_TRUE(redactor.is_sensitive(name)) << name;
    EXPECT_TRUE(is_sensitive_header(name, config)) << name;
  }
  EXPECT_FALSE(redactor.is_sensitive("X-API-Key")) << "the default API-key header was replaced";
  EXPECT_FALSE(redactor.is_sensitive("X-Request-Source"));
  EXPECT_FALSE(redactor.is_sensitive("X-Session-Id")) << "whole names only";
  EXPECT_FALSE(redactor.is_sensitive(""));
}

TEST(RedactionTest, ApplyReplacesOnlySensitiveValues) {
  const Redactor redactor;
  EXPECT_EQ(redactor.apply("Authorization", "Bearer s3cr3t"), "[REDACTED]");
  EXPECT_EQ(redactor.apply("X-Request-Source", "mobile"), "mobile");
}

class AccessLogRedactionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    set_access_log_redactor(Redactor());
    set_log_format(config::LogFormat::kJson);
  }
};

TEST_F(AccessLogRedactionTest, EverySensitiveHeaderKindIsRedactedInTheAccessLine) {
  set_access_log_redactor(Redactor(config_with("X-Gateway-Key", "X-Body-Sig", {"X-Session"})));
  const LogField headers[] = {
      {"Authorization", "Bearer secret-1"},
      {"Proxy-Authorization", "Basic secret-2"},
      {"cookie", "sid=secret-3"},
      {"Set-Cookie", "sid=secret-4"},
      {"X-Gateway-Key", "secret-5"},
      {"X-Body-Sig", "secret-6"},
      {"x-session", "secret-7"},
      {"X-Request-Source", "mobile"},
  };
  AccessRecord r;
  r.correlation_id = "cid";
  r.status = 200;
  r.headers = headers;
  for (const auto format : {config::LogFormat::kJson, config::LogFormat::kText}) {
    set_log_format(format);
    std::string line;
    format_access_line(r, line);
    EXPECT_EQ(line.find("secret"), std::string::npos) << line;
    EXPECT_NE(line.find("mobile"), std::string::npos) << line;
  }
  set_log_format(config::LogFormat::kJson);
  std::string line;
  format_access_line(r, line);
  const nlohmann::json j = nlohmann::json::parse(line);
  ASSERT_TRUE(j["headers"].is_object()) << line;
  EXPECT_EQ(j["headers"].size(), 8u);
  for (const char* name : {"Authorization", "Proxy-Authorization", "cookie", "Set-Cookie", "X-Gateway-Key",
                           "X-Body-Sig", "x-session"}) {
    EXPECT_EQ(j["headers"][name], "[REDACTED]") << name;
  }
  EXPECT_EQ(j["headers"]["X-Request-Source"], "mobile");
}

TEST_F(AccessLogRedactionTest, ConfigureLoggingInstallsTheConfiguredRedaction) {
  const auto result = config::load_config_text(R"(
security:
  auth:
    header: X-Tenant-Key
    keys: [{ key: "0000000000000000000000000000000000000000000000000000000000000000", name: a }]
logging:
  redactHeaders: [X-Forwarded-Token]
  headers: [X-Tenant-Key, X-Forwarded-Token, User-Agent]
)");
  ASSERT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors.front().to_string());
  configure_logging(*result.config);
  const LogField headers[] = {
      {"X-Tenant-Key", "k-123"}, {"X-Forwarded-Token", "t-456"}, {"User-Agent", "curl"}};
  AccessRecord r;
  r.headers = headers;
  std::string line;
  format_access_line(r, line);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["headers"]["X-Tenant-Key"], "[REDACTED]");
  EXPECT_EQ(j["headers"]["X-Forwarded-Token"], "[REDACTED]");
  EXPECT_EQ(j["headers"]["User-Agent"], "curl");
  configure_logging(config::Config{});  // back to the defaults (stdout, no sampling)
}

}  // namespace
}  // namespace flexgate::observe
