// validate_upstreams: load-time checks of upstream targets against allowedHosts and the guard.

#include "policy/egress/egress_validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flexgate::policy {
namespace {

config::UpstreamSpec upstream(std::string name, std::vector<std::string> hosts) {
  config::UpstreamSpec spec;
  spec.name = std::move(name);
  for (std::string& host : hosts) {
    config::TargetSpec target;
    target.url = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":8080";
    target.host = std::move(host);
    target.port = 8080;
    spec.targets.push_back(std::move(target));
  }
  return spec;
}

TEST(ValidateUpstreams, AcceptsAllowedHostsAndUnblockedAddresses) {
  config::Config config;
  config.upstreams.push_back(upstream("api", {"127.0.0.1", "10.0.0.5", "::1", "backend.internal"}));
  EXPECT_TRUE(validate_upstreams(config).empty());
}

TEST(ValidateUpstreams, LiteralAddressesTheGuardBlocks) {
  config::Config config;
  config.upstreams.push_back(upstream("ok", {"127.0.0.1"}));
  config.upstreams.push_back(upstream("meta", {"10.0.0.1", "169.254.169.254", "::ffff:169.254.169.254"}));
  config.security.blocked_ips = {"10.0.0.0/8"};
  const auto violations = validate_upstreams(config);
  ASSERT_EQ(violations.size(), 3u);
  EXPECT_EQ(violations[0].upstream_index, 1u);
  EXPECT_EQ(violations[0].target_index, 0u);
  EXPECT_EQ(violations[0].message, "host 10.0.0.1 is blocked: 10.0.0.1 is in blockedIPs 10.0.0.0/8");
  EXPECT_EQ(violations[1].target_index, 1u);
  EXPECT_EQ(violations[1].message,
            "host 169.254.169.254 is blocked: 169.254.169.254 is cloud metadata (built-in deny list)");
  EXPECT_EQ(violations[2].target_index, 2u);
  EXPECT_EQ(violations[2].message,
            "host ::ffff:169.254.169.254 is blocked: ::ffff:169.254.169.254 embeds IPv4 169.254.169.254, which "
            "is cloud metadata (built-in deny list)");
}

TEST(ValidateUpstreams, BuiltinListOffAllowsMetadataLiterals) {
  config::Config config;
  config.upstreams.push_back(upstream("meta", {"169.254.169.254"}));
  config.security.builtin_deny_list = false;
  EXPECT_TRUE(validate_upstreams(config).empty());
}

TEST(ValidateUpstreams, HostsOutsideAllowedHosts) {
  config::Config config;
  config.security.allowed_hosts = {"api.example.com", "*.internal.corp", "[::1]"};
  config.upstreams.push_back(upstream("a", {"api.example.com", "svc.internal.corp", "::1"}));
  config.upstreams.push_back(upstream("b", {"evil.example.com", "127.0.0.1"}));
  const auto violations = validate_upstreams(config);
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_EQ(violations[0].upstream_index, 1u);
  EXPECT_EQ(violations[0].target_index, 0u);
  EXPECT_EQ(violations[0].message,
            "host 'evil.example.com' is not in security.allowedHosts (api.example.com, *.internal.corp, [::1])");
  EXPECT_EQ(violations[1].upstream_index, 1u);
  EXPECT_EQ(violations[1].target_index, 1u);
  EXPECT_NE(violations[1].message.find("'127.0.0.1' is not in security.allowedHosts"), std::string::npos);
}

TEST(ValidateUpstreams, BothViolationsForOneTarget) {
  config::Config config;
  config.security.allowed_hosts = {"api.example.com"};
  config.upstreams.push_back(upstream("meta", {"169.254.169.254"}));
  const auto violations = validate_upstreams(config);
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_NE(violations[0].message.find("allowedHosts"), std::string::npos);
  EXPECT_NE(violations[1].message.find("cloud metadata"), std::string::npos);
}

}  // namespace
}  // namespace flexgate::policy
