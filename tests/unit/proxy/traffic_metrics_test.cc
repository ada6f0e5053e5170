// The metrics method label comes from the parser's reading of the method, not a second one.
#include "proxy/traffic_metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"

namespace flexgate::proxy {
namespace {

observe::MethodLabel label_of_request_with_method(const std::string& method) {
  http::RequestHead head;
  const http::ParseOutcome outcome =
      http::parse_request_head(method + " / HTTP/1.1\r\nHost: a\r\n\r\n", http::Limits{}, head);
  EXPECT_EQ(outcome.status, http::ParseStatus::kComplete) << method;
  return method_label(head.method);
}

TEST(MethodLabel, EveryStandardMethodIsItsOwnLabelAndAnyOtherIsOther) {
  for (std::size_t i = 0; i + 1 < observe::kMethodLabelCount; ++i) {
    const auto label = static_cast<observe::MethodLabel>(i);
    const std::string name(observe::to_string(label));
    EXPECT_EQ(label_of_request_with_method(name), label) << name;
  }
  EXPECT_EQ(label_of_request_with_method("PROPFIND"), observe::MethodLabel::kOther);
  EXPECT_EQ(label_of_request_with_method("GETS"), observe::MethodLabel::kOther);
  EXPECT_EQ(label_of_request_with_method("get"), observe::MethodLabel::kOther);  // case-sensitive
}

}  // namespace
}  // namespace flexgate::proxy
