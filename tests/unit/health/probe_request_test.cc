#include "upstream/health/probe_request.h"

#include <gtest/gtest.h>

#include <string>

namespace flexgate::upstream {
namespace {

TEST(ProbeRequest, BuildsAMinimalHttp11Get) {
  EXPECT_EQ(build_probe_request("api.internal:8080", "/healthz?deep=1"),
            "GET /healthz?deep=1 HTTP/1.1\r\n"
            "Host: api.internal:8080\r\n"
            "Connection: close\r\n"
            "User-Agent: flexgate-health-check\r\n"
            "\r\n");
  EXPECT_EQ(
      build_probe_request("[::1]:9000", "/"),
      "GET / HTTP/1.1\r\nHost: [::1]:9000\r\nConnection: close\r\nUser-Agent: flexgate-health-check\r\n\r\n");
}

TEST(ProbeRequest, RefusesWhatWouldBreakTheRequest) {
  EXPECT_EQ(build_probe_request("h", ""), std::nullopt);
  EXPECT_EQ(build_probe_request("h", "healthz"), std::nullopt);  // not origin-form
  EXPECT_EQ(build_probe_request("", "/healthz"), std::nullopt);
  EXPECT_EQ(build_probe_request("h", "/a b"), std::nullopt);
  EXPECT_EQ(build_probe_request("h", "/a\r\nX-Injected: 1"), std::nullopt);
  EXPECT_EQ(build_probe_request("h\r\nX-Injected: 1", "/"), std::nullopt);
  EXPECT_EQ(build_probe_request("h", std::string("/a\0b", 4)), std::nullopt);
  EXPECT_EQ(build_probe_request("h", "/caf\xc3\xa9"), std::nullopt);
  EXPECT_EQ(build_probe_request("h", "/a\x7f"), std::nullopt);
  EXPECT_EQ(build_probe_request("h", "/a\tb"), std::nullopt);
}

TEST(ProbeRequest, TwoHundredsAreHealthyByDefault) {
  for (unsigned status : {200u, 204u, 299u}) EXPECT_TRUE(is_healthy_status(status)) << status;
  for (unsigned status : {0u, 100u, 199u, 300u, 302u, 404u, 500u, 503u})
    EXPECT_FALSE(is_healthy_status(status)) << status;
}

TEST(ProbeRequest, TheExpectedRangeIsConfigurable) {
  const ExpectedStatus up_to_redirects{200, 399};
  EXPECT_TRUE(is_healthy_status(302, up_to_redirects));
  EXPECT_TRUE(is_healthy_status(399, up_to_redirects));
  EXPECT_FALSE(is_healthy_status(400, up_to_redirects));
  const ExpectedStatus exactly_204{204, 204};
  EXPECT_TRUE(is_healthy_status(204, exactly_204));
  EXPECT_FALSE(is_healthy_status(200, exactly_204));
}

}  // namespace
}  // namespace flexgate::upstream
