// The egress guard: the built-in deny list, blockedIPs, IPv6 spellings of IPv4 addresses, and
// allowedHosts matching.

#include "policy/egress/egress_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace flexgate::policy {
namespace {

net::IpAddress ip(std::string_view text) {
  const auto address = net::IpAddress::parse(text);
  EXPECT_TRUE(address) << text;
  return address.value_or(net::IpAddress{});
}

EgressGuard guard_with(std::vector<std::string> blocked = {}, bool builtin = true,
                       std::vector<std::string> allowed_hosts = {}) {
  config::SecuritySpec security;
  security.blocked_ips = std::move(blocked);
  security.builtin_deny_list = builtin;
  security.allowed_hosts = std::move(allowed_hosts);
  return EgressGuard::build(security);
}

std::string reason(const EgressGuard& guard, std::string_view address) {
  const EgressDecision decision = guard.check(ip(address));
  EXPECT_FALSE(decision.allowed) << address << " should be denied";
  return decision.reason;
}

void expect_allowed(const EgressGuard& guard, std::string_view address) {
  const EgressDecision decision = guard.check(ip(address));
  EXPECT_TRUE(decision.allowed) << address << ": " << decision.reason;
  EXPECT_EQ(decision.reason, "");
}

TEST(BuiltinDenyList, EveryEntryParses) {
  ASSERT_FALSE(builtin_deny_list().empty());
  for (const BuiltinDenyRange& range : builtin_deny_list()) {
    EXPECT_TRUE(net::Cidr::parse(range.cidr)) << range.cidr;
    EXPECT_FALSE(range.what.empty()) << range.cidr;
  }
}

TEST(BuiltinDenyList, CloudMetadata) {
  const EgressGuard guard = guard_with();
  EXPECT_EQ(reason(guard, "169.254.169.254"), "169.254.169.254 is cloud metadata (built-in deny list)");
  for (std::string_view address :
       {"169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192"}) {
    EXPECT_EQ(reason(guard, address), std::string(address) + " is cloud metadata (built-in deny list)");
  }
}

TEST(BuiltinDenyList, EveryRange) {
  const EgressGuard guard = guard_with();
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"0.0.0.0", "unspecified"},      {"0.255.255.255", "unspecified"}, {"::", "unspecified"},
      {"169.254.0.1", "link-local"},   {"169.254.255.255", "link-local"}, {"fe80::1", "link-local"},
      {"febf:ffff::1", "link-local"},  {"224.0.0.1", "multicast"},       {"239.255.255.255", "multicast"},
      {"ff02::1", "multicast"},        {"ff0e::1", "multicast"},         {"240.0.0.1", "reserved"},
      {"255.255.255.255", "broadcast"}, {"192.0.0.1", "IETF protocol"},  {"192.0.0.255", "IETF protocol"},
      {"2001::1", "Teredo"},           {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
  };
  for (const auto& [address, what] : cases) {
    const std::string why = reason(guard, address);
    EXPECT_NE(why.find(what), std::string::npos) << address << ": " << why;
    EXPECT_NE(why.find("(built-in deny list)"), std::string::npos) << why;
  }
}

TEST(BuiltinDenyList, PrivateLoopbackAndOtherInternalRangesAreAllowed) {
  const EgressGuard guard = guard_with();
  for (std::string_view address :
       {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "127.1.2.3",
        "::1", "fc00::1", "fd12:3456::1", "fd00:ec2::253", "100.64.0.1", "100.100.100.100", "198.18.0.1",
        "192.0.2.1", "192.0.1.255", "192.0.1.0", "169.253.255.255", "169.255.0.0", "223.255.255.255",
        "fec0::1", "fe7f::1", "2001:db8::1", "2001:1::1", "8.8.8.8", "2606:4700::1111", "::ffff:10.0.0.1",
        "::ffff:127.0.0.1", "64:ff9b::8.8.8.8", "2002:0808:0808::1"}) {
    expect_allowed(guard, address);
  }
}

TEST(BuiltinDenyList, CanBeTurnedOff) {
  const EgressGuard off = guard_with({}, false);
  for (std::string_view address : {"169.254.169.254", "fd00:ec2::254", "0.0.0.0", "fe80::1", "224.0.0.1",
                                   "255.255.255.255", "::ffff:169.254.169.254", "2001::1"}) {
    expect_allowed(off, address);
  }
  // blockedIPs still applies.
  const EgressGuard only_listed = guard_with({"169.254.169.254"}, false);
  EXPECT_EQ(reason(only_listed, "169.254.169.254"), "169.254.169.254 is in blockedIPs 169.254.169.254");
  expect_allowed(only_listed, "169.254.170.2");
}

TEST(BlockedIps, PrivateAndLoopbackWhenListed) {
  const EgressGuard guard = guard_with({"10.0.0.0/8", "127.0.0.0/8"});
  EXPECT_EQ(reason(guard, "10.1.2.3"), "10.1.2.3 is in blockedIPs 10.0.0.0/8");
  EXPECT_EQ(reason(guard, "127.0.0.1"), "127.0.0.1 is in blockedIPs 127.0.0.0/8");
  expect_allowed(guard, "11.0.0.1");
  expect_allowed(guard, "192.168.1.1");
  // IPv6 loopback is its own address: list "::1" to deny it too.
  expect_allowed(guard, "::1");
  // The built-in list is still on and wins on overlap (its reason is the more specific one).
  EXPECT_EQ(reason(guard, "169.254.169.254"), "169.254.169.254 is cloud metadata (built-in deny list)");
}

TEST(BlockedIps, Ipv6Entries) {
  const EgressGuard guard = guard_with({"fd00::/8", "::1", "2001:db8:1::/48"});
  EXPECT_EQ(reason(guard, "fd12::1"), "fd12::1 is in blockedIPs fd00::/8");
  EXPECT_EQ(reason(guard, "::1"), "::1 is in blockedIPs ::1");
  EXPECT_EQ(reason(guard, "2001:db8:1:ffff::1"), "2001:db8:1:ffff::1 is in blockedIPs 2001:db8:1::/48");
  expect_allowed(guard, "2001:db8:2::1");
  expect_allowed(guard, "fc00::1");
  expect_allowed(guard, "10.0.0.1");
}

TEST(BlockedIps, MappedEntryAlsoDeniesThePlainIpv4Address) {
  const EgressGuard guard = guard_with({"::ffff:1.2.3.4", "::ffff:10.0.0.0/104"});
  EXPECT_EQ(reason(guard, "1.2.3.4"), "1.2.3.4 is in blockedIPs ::ffff:1.2.3.4");
  EXPECT_EQ(reason(guard, "::ffff:1.2.3.4"), "::ffff:1.2.3.4 is in blockedIPs ::ffff:1.2.3.4");
  EXPECT_EQ(reason(guard, "10.9.9.9"), "10.9.9.9 is in blockedIPs ::ffff:10.0.0.0/104");
  expect_allowed(guard, "1.2.3.5");
}

TEST(EmbeddedV4, BypassCorpusIsDenied) {
  const EgressGuard guard = guard_with();
  for (std::string_view address :
       {"::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "::169.254.169.254", "::a9fe:a9fe", "64:ff9b::a9fe:a9fe",
        "64:ff9b::169.254.169.254", "64:ff9b:1::a9fe:a9fe", "2002:a9fe:a9fe::1", "2002:a9fe:a9fe::",
        "::ffff:169.254.170.2", "::ffff:100.100.100.200", "64:ff9b::a83f:8110" /* 168.63.129.16 */}) {
    const std::string why = reason(guard, address);
    EXPECT_NE(why.find("cloud metadata (built-in deny list)"), std::string::npos) << address << ": " << why;
    EXPECT_NE(why.find("embeds IPv4"), std::string::npos) << address << ": " << why;
  }
  EXPECT_EQ(reason(guard, "::ffff:a9fe:a9fe"),
            "::ffff:169.254.169.254 embeds IPv4 169.254.169.254, which is cloud metadata (built-in deny list)");
  EXPECT_EQ(reason(guard, "2002:a9fe:a9fe::1"),
            "2002:a9fe:a9fe::1 embeds IPv4 169.254.169.254, which is cloud metadata (built-in deny list)");
  // Other built-in ranges through an IPv6 spelling.
  EXPECT_NE(reason(guard, "::ffff:0.0.0.0").find("unspecified"), std::string::npos);
  EXPECT_NE(reason(guard, "::0.0.0.2").find("unspecified"), std::string::npos);
  EXPECT_NE(reason(guard, "::ffff:224.0.0.1").find("multicast"), std::string::npos);
  EXPECT_NE(reason(guard, "64:ff9b::ffff:ffff").find("reserved"), std::string::npos);
  EXPECT_NE(reason(guard, "2002:a9fe:0101::").find("link-local"), std::string::npos);
}

TEST(EmbeddedV4, NativeIpv6MetadataAndLinkLocal) {
  const EgressGuard guard = guard_with();
  EXPECT_EQ(reason(guard, "fd00:ec2::254"), "fd00:ec2::254 is cloud metadata (built-in deny list)");
  // "[fe80::1]" as a URL host is bracketed; the address connected to is fe80::1.
  EXPECT_EQ(reason(guard, "fe80::1"), "fe80::1 is link-local (built-in deny list)");
  EXPECT_FALSE(net::IpAddress::parse("[fe80::1]"));
}

TEST(EmbeddedV4, BlockedIpsApplyThroughIpv6Spellings) {
  const EgressGuard guard = guard_with({"10.0.0.0/8", "127.0.0.0/8"});
  EXPECT_EQ(reason(guard, "::ffff:10.1.2.3"), "::ffff:10.1.2.3 embeds IPv4 10.1.2.3, which is in blockedIPs 10.0.0.0/8");
  EXPECT_NE(reason(guard, "::ffff:127.0.0.1").find("127.0.0.0/8"), std::string::npos);
  EXPECT_NE(reason(guard, "::127.0.0.1").find("127.0.0.0/8"), std::string::npos);
  EXPECT_NE(reason(guard, "64:ff9b::a00:1").find("10.0.0.0/8"), std::string::npos);
  EXPECT_NE(reason(guard, "2002:7f00:1::1").find("127.0.0.0/8"), std::string::npos);
  expect_allowed(guard, "::ffff:11.0.0.1");
  // Without the list, the same spellings of private and loopback addresses are allowed.
  const EgressGuard open = guard_with();
  expect_allowed(open, "::ffff:10.1.2.3");
  expect_allowed(open, "2002:7f00:1::1");
}

TEST(EgressGuardBuild, FailsClosedOnAnUnparsableEntry) {
  // Config validation refuses these; a guard built without it must not silently drop a deny entry.
  const EgressGuard guard = guard_with({"10.0.0.0/8", "example.com"});
  ASSERT_EQ(guard.config().invalid.size(), 1u);
  const EgressDecision decision = guard.check(ip("8.8.8.8"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_NE(decision.reason.find("'example.com'"), std::string::npos) << decision.reason;
}

TEST(HostAllowed, EmptyListAllowsAny) {
  const EgressGuard guard = guard_with();
  EXPECT_TRUE(guard.host_allowed("anything.example"));
  EXPECT_TRUE(guard.host_allowed("10.0.0.1"));
}

TEST(HostAllowed, ExactAndSuffixPatterns) {
  const EgressGuard guard =
      guard_with({}, true, {"api.example.com", "*.internal.corp", "10.0.0.5", "[fd00::1]", "Localhost"});
  EXPECT_TRUE(guard.host_allowed("api.example.com"));
  EXPECT_TRUE(guard.host_allowed("API.Example.COM"));
  EXPECT_FALSE(guard.host_allowed("example.com"));
  EXPECT_FALSE(guard.host_allowed("www.api.example.com"));
  EXPECT_FALSE(guard.host_allowed("api.example.com.evil.io"));
  EXPECT_FALSE(guard.host_allowed("xapi.example.com"));

  EXPECT_TRUE(guard.host_allowed("a.internal.corp"));
  EXPECT_TRUE(guard.host_allowed("a.b.c.internal.corp"));
  EXPECT_TRUE(guard.host_allowed("A.INTERNAL.CORP"));
  EXPECT_FALSE(guard.host_allowed("internal.corp"));
  EXPECT_FALSE(guard.host_allowed("evilinternal.corp"));
  EXPECT_FALSE(guard.host_allowed("internal.corp.evil.io"));
  EXPECT_FALSE(guard.host_allowed(".internal.corp"));

  EXPECT_TRUE(guard.host_allowed("10.0.0.5"));
  EXPECT_FALSE(guard.host_allowed("10.0.0.6"));
  EXPECT_TRUE(guard.host_allowed("fd00::1"));
  EXPECT_TRUE(guard.host_allowed("[fd00::1]"));
  EXPECT_TRUE(guard.host_allowed("FD00:0:0::1"));
  EXPECT_FALSE(guard.host_allowed("fd00::2"));
  EXPECT_TRUE(guard.host_allowed("localhost"));
  EXPECT_FALSE(guard.host_allowed(""));
}

TEST(HostAllowed, WildcardsNeverMatchAddresses) {
  const EgressGuard guard = guard_with({}, true, {"*.0.1"});
  EXPECT_FALSE(guard.host_allowed("10.0.0.1"));
}

}  // namespace
}  // namespace flexgate::policy
