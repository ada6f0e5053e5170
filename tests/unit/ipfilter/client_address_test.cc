#include "policy/ipfilter/client_address.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "http/parser.h"
#include "policy/ipfilter/cidr_list.h"

namespace flexgate::policy {
namespace {

net::IpAddress ip(std::string_view text) {
  std::optional<net::IpAddress> address = net::IpAddress::parse(text);
  EXPECT_TRUE(address) << text;
  return address.value_or(net::IpAddress{});
}

net::CidrSet cidrs(std::vector<std::string> entries) {
  std::string error;
  std::optional<net::CidrSet> set = parse_cidr_set(entries, "test", error);
  EXPECT_TRUE(set) << error;
  return set.value_or(net::CidrSet{});
}

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

// Resolves with the peer and trusted set used through most of this file.
std::string resolve(std::string_view peer, const std::vector<std::string>& lines,
                    const std::vector<std::string>& trusted = {"10.0.0.0/8", "fd00::/8"}) {
  Request request(lines);
  return resolve_client_address(ip(peer), *request.head, cidrs(trusted)).to_string();
}

TEST(ClientAddress, NoTrustedProxiesMeansXffIsNeverRead) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 1.2.3.4"}, {}), "10.0.0.1");
}

TEST(ClientAddress, SpoofedXffFromUntrustedPeerIsIgnored) {
  EXPECT_EQ(resolve("203.0.113.9", {"X-Forwarded-For: 1.2.3.4"}), "203.0.113.9");
  EXPECT_EQ(resolve("203.0.113.9", {"X-Forwarded-For: 10.0.0.2, 1.2.3.4"}), "203.0.113.9");
  EXPECT_EQ(resolve("203.0.113.9", {"X-Forwarded-For: garbage"}), "203.0.113.9");
  EXPECT_EQ(resolve("2001:db8::1", {"X-Forwarded-For: 1.2.3.4"}), "2001:db8::1");
}

TEST(ClientAddress, TrustedPeerWithoutXffIsTheClient) {
  EXPECT_EQ(resolve("10.0.0.1", {}), "10.0.0.1");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For:"}), "10.0.0.1");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: , ,"}), "10.0.0.1");
}

TEST(ClientAddress, TrustedPeerOneHop) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(resolve("10.0.0.1", {"x-forwarded-for:198.51.100.7"}), "198.51.100.7");
}

TEST(ClientAddress, ClientWrittenEntriesLeftOfTheFirstUntrustedAreIgnored) {
  // The client sent "X-Forwarded-For: 1.1.1.1"; the trusted proxy appended what it saw.
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 1.1.1.1, 198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 10.9.9.9, 198.51.100.7"}), "198.51.100.7");
}

TEST(ClientAddress, ChainThroughSeveralTrustedProxies) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 1.1.1.1, 198.51.100.7, 10.0.0.3, 10.0.0.2"}),
            "198.51.100.7");
  EXPECT_EQ(resolve("fd00::1", {"X-Forwarded-For: 198.51.100.7, fd00::2, 10.0.0.2"}), "198.51.100.7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 2001:db8::7, 10.0.0.2"}), "2001:db8::7");
}

TEST(ClientAddress, AllFieldsAreCombinedInOrder) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 1.1.1.1", "X-Forwarded-For: 198.51.100.7, 10.0.0.3"}),
            "198.51.100.7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 1.1.1.1, 10.0.0.4", "X-Forwarded-For: 10.0.0.3"}),
            "1.1.1.1");
  // Other fields in between do not matter.
  EXPECT_EQ(
      resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7", "Accept: */*", "X-Forwarded-For: 10.0.0.3"}),
      "198.51.100.7");
}

TEST(ClientAddress, EveryEntryTrustedGivesTheLeftmost) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 10.0.0.5, 10.0.0.3"}), "10.0.0.5");
}

TEST(ClientAddress, MalformedEntryStopsAtTheLastAddressReached) {
  // Rightmost entry malformed: the peer is all we know.
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7, unknown"}), "10.0.0.1");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7, 300.1.1.1"}), "10.0.0.1");
  // Garbage behind a trusted hop: that hop is the last address reported by a trusted party.
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7, _hidden, 10.0.0.3"}), "10.0.0.3");
  // Garbage left of the first untrusted entry is never read.
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: garbage, 198.51.100.7"}), "198.51.100.7");
}

TEST(ClientAddress, GarbageCorpus) {
  for (const char* entry : {"unknown", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1.2.3.4:", "1.2.3.4:x",
                            "1.2.3.4:123456", "[1.2.3.4]", "[::1", "[::1]x", "[::1]:", "fe80::1%eth0", "::g",
                            "1.2.3.4 5.6.7.8", "\"1.2.3.4\"", "for=1.2.3.4", "[fd00::1]]", "-1.2.3.4"}) {
    EXPECT_EQ(resolve("10.0.0.1", {std::string("X-Forwarded-For: 198.51.100.7, ") + entry}), "10.0.0.1")
        << entry;
  }
}

TEST(ClientAddress, PortsAndBracketsAreAccepted) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7:51234"}), "198.51.100.7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: [2001:db8::7]"}), "2001:db8::7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: [2001:db8::7]:443"}), "2001:db8::7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7, 10.0.0.3:80"}), "198.51.100.7");
}

TEST(ClientAddress, WhitespaceAndEmptyElementsAreIgnored) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: \t198.51.100.7 ,, 10.0.0.3\t,"}), "198.51.100.7");
}

TEST(ClientAddress, V4MappedPeerAndEntriesAreUnmapped) {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; they must match IPv4 CIDRs.
  EXPECT_EQ(resolve("::ffff:10.0.0.1", {"X-Forwarded-For: 198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(resolve("::ffff:203.0.113.9", {"X-Forwarded-For: 198.51.100.7"}), "203.0.113.9");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: ::ffff:198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7, ::ffff:10.0.0.3"}), "198.51.100.7");
  // Only the mapped form is unwrapped: NAT64 / 6to4 addresses stay IPv6.
  EXPECT_EQ(resolve("64:ff9b::a00:1", {"X-Forwarded-For: 198.51.100.7"}), "64:ff9b::a00:1");
}

TEST(ClientAddress, TrustedSetGivenAsMappedV6MatchesV4Peers) {
  EXPECT_EQ(resolve("10.0.0.1", {"X-Forwarded-For: 198.51.100.7"}, {"::ffff:10.0.0.0/104"}), "198.51.100.7");
}

TEST(CidrList, RejectsBadEntriesNamingTheSetting) {
  std::string error;
  std::vector<std::string> entries = {"10.0.0.0/8", "10.0.0.1/8"};
  EXPECT_FALSE(parse_cidr_set(entries, "security.trustedProxies", error));
  EXPECT_NE(error.find("security.trustedProxies"), std::string::npos) << error;
  EXPECT_NE(error.find("10.0.0.1/8"), std::string::npos) << error;
  entries = {"nonsense"};
  EXPECT_FALSE(parse_cidr_set(entries, "x", error));
}

TEST(CidrList, UnmapV4) {
  EXPECT_EQ(unmap_v4(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
  EXPECT_TRUE(unmap_v4(ip("::ffff:1.2.3.4")).is_v4);
  EXPECT_EQ(unmap_v4(ip("1.2.3.4")), ip("1.2.3.4"));
  EXPECT_EQ(unmap_v4(ip("::1")), ip("::1"));
  EXPECT_FALSE(unmap_v4(ip("::1.2.3.4")).is_v4);  // v4-compatible (deprecated) is not mapped
}

}  // namespace
}  // namespace flexgate::policy
