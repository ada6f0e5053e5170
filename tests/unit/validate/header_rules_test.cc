#include "policy/validate/header_rules.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "http/parser.h"

namespace flexgate::policy {
namespace {

// A parsed request head with the given extra header lines; owns the bytes the head points into.
struct Request {
  std::string bytes;
  std::unique_ptr<http::RequestHead> head = std::make_unique<http::RequestHead>();

  explicit Request(const std::vector<std::string>& lines) {
    bytes = "GET / HTTP/1.1\r\nHost: gw\r\n";
    for (const std::string& line : lines) bytes += line + "\r\n";
    bytes += "\r\n";
    http::ParseOutcome out = http::parse_request_head(bytes, http::Limits{}, *head);
    EXPECT_EQ(out.status, http::ParseStatus::kComplete) << http::to_string(out.error);
  }
};

HeaderRules rules(std::string mode) {
  config::SecuritySpec security;
  security.underscore_headers = std::move(mode);
  std::string error;
  std::optional<HeaderRules> built = HeaderRules::build(security, error);
  EXPECT_TRUE(built) << error;
  return built.value_or(HeaderRules{});
}

TEST(HeaderRules, ClearlyAllowsOnlyWhatTheCheckWouldAllowAnyway) {
  const Request plain({"X-Api-Key: k", "Accept: */*"});
  const Request underscored({"X_Api_Key: k"});
  const Request dotted({"X.Api: k"});  // no underscore, but not plain: the check reads the names
  const HeaderRules reject = rules("reject");
  EXPECT_TRUE(reject.clearly_allows(*plain.head));
  EXPECT_FALSE(reject.clearly_allows(*underscored.head));
  EXPECT_FALSE(reject.check_headers(*underscored.head).allowed);
  EXPECT_FALSE(reject.clearly_allows(*dotted.head));
  EXPECT_TRUE(reject.check_headers(*dotted.head).allowed);
  EXPECT_TRUE(rules("drop").clearly_allows(*underscored.head));
  http::RequestHead unparsed;  // fields from anywhere but the parser are never taken as plain
  EXPECT_FALSE(reject.clearly_allows(unparsed));
}

TEST(HeaderRules, DefaultIsReject) {
  EXPECT_EQ(rules(config::SecuritySpec{}.underscore_headers).underscores(), UnderscorePolicy::kReject);
  EXPECT_EQ(HeaderRules{}.underscores(), UnderscorePolicy::kReject);
}

TEST(HeaderRules, RejectModeNamesTheField) {
  HeaderRules reject = rules("reject");
  Request request({"Accept: */*", "X_Api_Key: secret", "X_Other: 1"});
  Verdict verdict = reject.check_headers(*request.head);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kBadRequest);
  EXPECT_NE(verdict.message.find("'X_Api_Key'"), std::string::npos) << verdict.message;
  EXPECT_EQ(verdict.message.find("secret"), std::string::npos) << "never echo values";
  EXPECT_FALSE(reject.drop_field("X_Api_Key"));
}

TEST(HeaderRules, RejectModeAllowsDashes) {
  Request request({"X-Api-Key: k", "Accept: */*", "X-Value: a_b"});  // underscores in values are fine
  EXPECT_TRUE(rules("reject").check_headers(*request.head).allowed);
}

TEST(HeaderRules, RejectModeCapsLongNames) {
  const std::string name = "X_" + std::string(500, 'a');
  Request request({name + ": 1"});
  Verdict verdict = rules("reject").check_headers(*request.head);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_LT(verdict.message.size(), 120u) << verdict.message;
}

TEST(HeaderRules, DropModeAllowsAndDropsUnderscoreNames) {
  HeaderRules drop = rules("drop");
  Request request({"X_Api_Key: k", "X-Api-Key: k"});
  EXPECT_TRUE(drop.check_headers(*request.head).allowed);
  EXPECT_TRUE(drop.drop_field("X_Api_Key"));
  EXPECT_TRUE(drop.drop_field("_"));
  EXPECT_FALSE(drop.drop_field("X-Api-Key"));
  EXPECT_FALSE(drop.drop_field("Host"));
}

TEST(HeaderRules, BuildRejectsUnknownMode) {
  config::SecuritySpec security;
  security.underscore_headers = "allow";
  std::string error;
  EXPECT_FALSE(HeaderRules::build(security, error));
  EXPECT_NE(error.find("underscoreHeaders"), std::string::npos) << error;
}

}  // namespace
}  // namespace flexgate::policy
