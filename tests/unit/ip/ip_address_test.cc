// IpAddress, Cidr and CidrSet: strict parsing, canonical text, embedded IPv4, containment.

#include "net/ip_address.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace flexgate::net {
namespace {

IpAddress ip(std::string_view text) {
  const auto address = IpAddress::parse(text);
  EXPECT_TRUE(address) << text;
  return address.value_or(IpAddress{});
}

Cidr cidr(std::string_view text) {
  const auto network = Cidr::parse(text);
  EXPECT_TRUE(network) << text;
  return network.value_or(Cidr{});
}

TEST(IpParse, AcceptsStrictIpv4) {
  for (std::string_view ok : {"0.0.0.0", "127.0.0.1", "255.255.255.255", "169.254.169.254", "10.0.0.0", "1.2.3.4"}) {
    const auto address = IpAddress::parse(ok);
    ASSERT_TRUE(address) << ok;
    EXPECT_TRUE(address->is_v4) << ok;
    EXPECT_EQ(address->to_string(), ok);
  }
  const IpAddress a = ip("192.168.1.200");
  EXPECT_EQ(a, IpAddress::from_v4({192, 168, 1, 200}));
  EXPECT_EQ(a.bytes[10], 0xff);  // stored as its v4-mapped form
  EXPECT_EQ(a.bytes[15], 200);
}

TEST(IpParse, RefusesOddIpv4Forms) {
  // Forms inet_aton or URL parsers read as 169.254.169.254 (or other addresses): never accepted.
  for (std::string_view bad :
       {"", "1", "1.2", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "00.0.0.0",
        "0251.0376.0251.0376", "2852039166", "0xA9FEA9FE", "0xa9.0xfe.0xa9.0xfe", "169.254.43518",
        "169.16689662", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", " 1.2.3.4", "-1.2.3.4", "+1.2.3.4",
        "1.2.3.a", "1234.1.1.1", "1.2.3.4/32", "1.2.3.4:80", "１.2.3.4"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpParse, AcceptsRfc4291Ipv6) {
  for (std::string_view ok :
       {"::", "::1", "1::", "fe80::1", "2001:db8::8a2e:370:7334", "2001:DB8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8",
        "::ffff:1.2.3.4", "::ffff:169.254.169.254", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4",
        "0000:0000:0000:0000:0000:0000:0000:0001", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"}) {
    const auto address = IpAddress::parse(ok);
    ASSERT_TRUE(address) << ok;
    EXPECT_FALSE(address->is_v4) << ok;
  }
}

TEST(IpParse, RefusesBadIpv6) {
  for (std::string_view bad :
       {":", ":::", "1:::2", "::1::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8",
        ":1::", "1:", "12345::", "g::1", "::ffff:1.2.3", "::1.2.3.4:5", "::ffff:01.2.3.4",
        "::ffff:2852039166", "1:2:3:4:5:6:7:1.2.3.4", "[::1]", "[::1]:80", "::1 ", "fe80::1%eth0",
        "fe80::1%25eth0", "fe80::1%1", "::ffff:1.2.3.4%0", "1:2:3:4:5:6:7:8%eth0"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpParse, FromV6KeepsMappedAsV6) {
  const IpAddress mapped = ip("::ffff:1.2.3.4");
  EXPECT_FALSE(mapped.is_v4);
  EXPECT_NE(mapped, ip("1.2.3.4"));  // same bytes, different family
  EXPECT_EQ(mapped.bytes, ip("1.2.3.4").bytes);
  EXPECT_EQ(IpAddress::from_v6(mapped.bytes), mapped);
}

TEST(IpToString, Rfc5952) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},   // first of two equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group is not compressed
      {"2001:0db8::0001", "2001:db8::1"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},  // the longest run wins
      {"FE80::A", "fe80::a"},
      {"::ffff:a9fe:a9fe", "::ffff:169.254.169.254"},  // mapped: dotted tail (RFC 5952 section 5)
      {"::ffff:0.0.0.0", "::ffff:0.0.0.0"},
      {"::a9fe:a9fe", "::a9fe:a9fe"},  // v4-compatible (deprecated) stays hex
      {"64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe"},
      {"fd00:ec2:0:0:0:0:0:254", "fd00:ec2::254"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(ip(in).to_string(), out) << in;
}

TEST(EmbeddedV4, EveryForm) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"::ffff:169.254.169.254", "169.254.169.254"},  // v4-mapped
      {"::ffff:a9fe:a9fe", "169.254.169.254"},
      {"::169.254.169.254", "169.254.169.254"},  // v4-compatible
      {"::a9fe:a9fe", "169.254.169.254"},
      {"::0.0.0.2", "0.0.0.2"},
      {"::0.1.0.0", "0.1.0.0"},
      {"64:ff9b::a9fe:a9fe", "169.254.169.254"},  // NAT64 well-known prefix
      {"64:ff9b::10.0.0.1", "10.0.0.1"},
      {"64:ff9b:1::a9fe:a9fe", "169.254.169.254"},  // NAT64 local-use prefix, /96 layout
      {"64:ff9b:1:ab::a9fe:a9fe", "169.254.169.254"},
      {"2002:a9fe:a9fe::1", "169.254.169.254"},  // 6to4
      {"2002:a9fe:a9fe:ffff:ffff:ffff:ffff:ffff", "169.254.169.254"},
      {"2002:7f00:1::", "127.0.0.1"},
  };
  for (const auto& [in, out] : cases) {
    const auto v4 = ip(in).embedded_v4();
    ASSERT_TRUE(v4) << in;
    EXPECT_TRUE(v4->is_v4) << in;
    EXPECT_EQ(v4->to_string(), out) << in;
  }
  for (std::string_view none : {"::", "::1", "fe80::1", "2001:db8::1", "fd00:ec2::254", "64:ff9b:2::1",
                                "64:ff9b:0:0:1::1", "::fffe:a9fe:a9fe", "::ffff:0:a9fe:a9fe", "2001::1",
                                "169.254.169.254", "10.0.0.1"}) {
    EXPECT_FALSE(ip(none).embedded_v4()) << none;
  }
}

TEST(CidrParse, AcceptsNetworksAndBareAddresses) {
  EXPECT_EQ(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(cidr("169.254.169.254").to_string(), "169.254.169.254/32");
  EXPECT_EQ(cidr("169.254.169.254/32").prefix, 32u);
  EXPECT_EQ(cidr("::1").to_string(), "::1/128");
  EXPECT_EQ(cidr("FD00::/8").to_string(), "fd00::/8");
  EXPECT_EQ(cidr("::/0").to_string(), "::/0");
  EXPECT_EQ(cidr("2001:db8::/32").prefix, 32u);
  EXPECT_EQ(cidr("::ffff:0:0/96").to_string(), "::ffff:0.0.0.0/96");
  EXPECT_EQ(cidr("10.0.0.0/8").max_prefix(), 32u);
  EXPECT_EQ(cidr("::/0").max_prefix(), 128u);
}

TEST(CidrParse, RefusesBadPrefixesAndHostBits) {
  for (std::string_view bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8",
        "10.0.0.0/ 8", "10.0.0.0/1000", "10.1.2.3/8", "10.0.0.1/31", "fd00::/129", "fd00::1/8", "::1/127",
        "10.0.0.0/0x8", "example.com/8", "10/8", "10.0/16", "[::1]/128", "fe80::%eth0/64", "2852039166/32"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(CidrOf, ClearsHostBitsAndClampsPrefix) {
  EXPECT_EQ(Cidr::of(ip("10.1.2.3"), 8).to_string(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::of(ip("10.1.2.3"), 33).to_string(), "10.1.2.3/32");
  EXPECT_EQ(Cidr::of(ip("10.1.2.3"), 0).to_string(), "0.0.0.0/0");
  EXPECT_EQ(Cidr::of(ip("2001:db8:0:1::5"), 64).to_string(), "2001:db8:0:1::/64");
  EXPECT_EQ(Cidr::of(ip("ffff::ffff"), 1).to_string(), "8000::/1");
  EXPECT_EQ(Cidr::of(ip("255.255.255.255"), 23).to_string(), "255.255.254.0/23");
}

TEST(CidrContains, EdgesOfTheRange) {
  const Cidr ten = cidr("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(ip("10.0.0.0")));
  EXPECT_TRUE(ten.contains(ip("10.255.255.255")));
  EXPECT_FALSE(ten.contains(ip("9.255.255.255")));
  EXPECT_FALSE(ten.contains(ip("11.0.0.0")));

  const Cidr odd = cidr("172.16.0.0/12");
  EXPECT_TRUE(odd.contains(ip("172.31.255.255")));
  EXPECT_FALSE(odd.contains(ip("172.32.0.0")));
  EXPECT_FALSE(odd.contains(ip("172.15.255.255")));

  const Cidr host = cidr("169.254.169.254/32");
  EXPECT_TRUE(host.contains(ip("169.254.169.254")));
  EXPECT_FALSE(host.contains(ip("169.254.169.255")));
  EXPECT_FALSE(host.contains(ip("169.254.169.253")));

  const Cidr all_v4 = cidr("0.0.0.0/0");
  EXPECT_TRUE(all_v4.contains(ip("0.0.0.0")));
  EXPECT_TRUE(all_v4.contains(ip("255.255.255.255")));

  const Cidr v6_host = cidr("fd00:ec2::254/128");
  EXPECT_TRUE(v6_host.contains(ip("fd00:ec2:0::254")));
  EXPECT_FALSE(v6_host.contains(ip("fd00:ec2::255")));

  const Cidr all_v6 = cidr("::/0");
  EXPECT_TRUE(all_v6.contains(ip("::")));
  EXPECT_TRUE(all_v6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));

  const Cidr link = cidr("fe80::/10");
  EXPECT_TRUE(link.contains(ip("febf:ffff::1")));
  EXPECT_FALSE(link.contains(ip("fec0::1")));
  EXPECT_FALSE(link.contains(ip("fe7f::1")));
}

TEST(CidrContains, FamiliesNeverMix) {
  // Documented choice: containment is per family; the egress guard checks embedded_v4() itself.
  EXPECT_FALSE(cidr("::/0").contains(ip("10.0.0.1")));
  EXPECT_FALSE(cidr("::ffff:0:0/96").contains(ip("10.0.0.1")));
  EXPECT_TRUE(cidr("::ffff:0:0/96").contains(ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(cidr("10.0.0.0/8").contains(ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::")));
  EXPECT_FALSE(cidr("::/128").contains(ip("0.0.0.0")));
}

TEST(CidrSetTest, FindsTheFirstContainingMember) {
  CidrSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(ip("10.0.0.1")));
  set.add(cidr("10.0.0.0/8"));
  set.add(cidr("10.1.0.0/16"));
  set.add(cidr("fd00::/8"));
  EXPECT_FALSE(set.empty());
  EXPECT_EQ(set.members().size(), 3u);
  ASSERT_NE(set.find(ip("10.1.2.3")), nullptr);
  EXPECT_EQ(set.find(ip("10.1.2.3"))->to_string(), "10.0.0.0/8");
  EXPECT_EQ(set.find(ip("fd12::1"))->to_string(), "fd00::/8");
  EXPECT_TRUE(set.contains(ip("10.255.0.1")));
  EXPECT_FALSE(set.contains(ip("11.0.0.1")));
  EXPECT_FALSE(set.contains(ip("fe80::1")));
}

TEST(IpRoundTrip, CanonicalTextParsesBackToTheSameAddress) {
  for (std::string_view text : {"1.2.3.4", "::", "::1", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8",
                                "fe80::", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1"}) {
    const IpAddress address = ip(text);
    EXPECT_EQ(ip(address.to_string()), address) << text;
  }
}

}  // namespace
}  // namespace flexgate::net
