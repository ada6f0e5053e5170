#include "policy/ipfilter/client_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flexgate::policy {
namespace {

net::IpAddress ip(std::string_view text) {
  std::optional<net::IpAddress> address = net::IpAddress::parse(text);
  EXPECT_TRUE(address) << text;
  return address.value_or(net::IpAddress{});
}

ClientFilter filter(std::vector<std::string> allow, std::vector<std::string> deny) {
  config::RouteSpec route;
  route.path = "/api/*";
  route.allow_from = std::move(allow);
  route.deny_from = std::move(deny);
  std::string error;
  std::optional<ClientFilter> built = ClientFilter::build(route, error);
  EXPECT_TRUE(built) << error;
  return built.value_or(ClientFilter{});
}

bool allowed(const ClientFilter& f, std::string_view client) {
  return f.check(ip(client)).allowed;
}

TEST(ClientFilter, EmptyListsAllowEveryone) {
  ClientFilter f = filter({}, {});
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(allowed(f, "1.2.3.4"));
  EXPECT_TRUE(allowed(f, "::1"));
}

TEST(ClientFilter, DenyListOnly) {
  ClientFilter f = filter({}, {"192.0.2.0/24", "2001:db8::/32"});
  EXPECT_FALSE(f.empty());
  EXPECT_FALSE(allowed(f, "192.0.2.77"));
  EXPECT_FALSE(allowed(f, "2001:db8::1"));
  EXPECT_TRUE(allowed(f, "192.0.3.1"));
  EXPECT_TRUE(allowed(f, "2001:db9::1"));
}

TEST(ClientFilter, AllowListOnly) {
  ClientFilter f = filter({"10.0.0.0/8", "fd00::/8"}, {});
  EXPECT_TRUE(allowed(f, "10.1.2.3"));
  EXPECT_TRUE(allowed(f, "fd12::1"));
  EXPECT_FALSE(allowed(f, "11.0.0.1"));
  EXPECT_FALSE(allowed(f, "2001:db8::1"));
}

TEST(ClientFilter, DenyIsCheckedBeforeAllow) {
  ClientFilter f = filter({"10.0.0.0/8"}, {"10.6.6.0/24"});
  EXPECT_TRUE(allowed(f, "10.1.1.1"));
  Verdict denied = f.check(ip("10.6.6.6"));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.kind, ErrorKind::kForbidden);
  EXPECT_NE(denied.message.find("denied"), std::string::npos) << denied.message;
  Verdict outside = f.check(ip("8.8.8.8"));
  EXPECT_FALSE(outside.allowed);
  EXPECT_EQ(outside.kind, ErrorKind::kForbidden);
  EXPECT_NE(outside.message.find("not allowed"), std::string::npos) << outside.message;
  // The same address in both lists: deny wins.
  EXPECT_FALSE(allowed(filter({"1.2.3.4"}, {"1.2.3.4"}), "1.2.3.4"));
}

TEST(ClientFilter, V4MappedClientsMatchV4Lists) {
  ClientFilter f = filter({"10.0.0.0/8"}, {"10.6.6.0/24"});
  EXPECT_TRUE(allowed(f, "::ffff:10.1.1.1"));
  EXPECT_FALSE(allowed(f, "::ffff:10.6.6.6"));
  EXPECT_FALSE(allowed(f, "::ffff:8.8.8.8"));
  // A list written with mapped addresses matches plain IPv4 clients too.
  ClientFilter mapped = filter({"::ffff:10.0.0.0/104"}, {"::ffff:10.6.6.6"});
  EXPECT_TRUE(allowed(mapped, "10.1.1.1"));
  EXPECT_FALSE(allowed(mapped, "10.6.6.6"));
  EXPECT_FALSE(allowed(mapped, "11.0.0.1"));
}

TEST(ClientFilter, NoCrossFamilyMatchBeyondMappedForm) {
  // 0.0.0.0/0 does not admit IPv6 clients; ::/0 does not admit IPv4 ones.
  EXPECT_FALSE(allowed(filter({"0.0.0.0/0"}, {}), "2001:db8::1"));
  EXPECT_FALSE(allowed(filter({"::/0"}, {}), "10.0.0.1"));
  EXPECT_TRUE(allowed(filter({"0.0.0.0/0", "::/0"}, {}), "10.0.0.1"));
  // NAT64 / 6to4 forms of an allowed IPv4 address are other hosts.
  EXPECT_FALSE(allowed(filter({"10.0.0.0/8"}, {}), "64:ff9b::a00:1"));
  EXPECT_FALSE(allowed(filter({"10.0.0.0/8"}, {}), "2002:a00:1::"));
}

TEST(ClientFilter, BuildRejectsBadEntries) {
  config::RouteSpec route;
  route.path = "/admin";
  route.deny_from = {"10.0.0.0/33"};
  std::string error;
  EXPECT_FALSE(ClientFilter::build(route, error));
  EXPECT_NE(error.find("/admin"), std::string::npos) << error;
  EXPECT_NE(error.find("denyFrom"), std::string::npos) << error;
  EXPECT_NE(error.find("10.0.0.0/33"), std::string::npos) << error;

  route.deny_from.clear();
  route.allow_from = {"10.0.0.0/8", "not-an-ip"};
  EXPECT_FALSE(ClientFilter::build(route, error));
  EXPECT_NE(error.find("allowFrom"), std::string::npos) << error;
}

}  // namespace
}  // namespace flexgate::policy
