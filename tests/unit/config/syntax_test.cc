// The strict text parsers behind validation: IPs and CIDRs, host names and patterns, upstream
// URLs, route path patterns and rewrites, "did you mean".

#include "config/syntax.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace flexgate::config {
namespace {

TEST(Ipv4, AcceptsOnlyStrictDottedQuads) {
  for (std::string_view ok : {"0.0.0.0", "127.0.0.1", "255.255.255.255", "169.254.169.254", "10.0.0.0"}) {
    EXPECT_TRUE(parse_ipv4(ok)) << ok;
  }
  for (std::string_view bad : {"",
                               "1",
                               "1.2",
                               "1.2.3",
                               "1.2.3.4.5",
                               "256.1.1.1",
                               "01.2.3.4",
                               "1.2.3.04",
                               "0251.0376.0251.0376",
                               "2852039166",
                               "0xA9FEA9FE",
                               "0xa9.0xfe.0xa9.0xfe",
                               "169.254.43518",
                               "1..2.3",
                               "1.2.3.",
                               ".1.2.3",
                               "1.2.3.4 ",
                               "-1.2.3.4",
                               "1.2.3.a",
                               "1234.1.1.1"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
  const auto bytes = parse_ipv4("192.168.1.200");
  ASSERT_TRUE(bytes);
  EXPECT_EQ((*bytes)[0], 192);
  EXPECT_EQ((*bytes)[3], 200);
}

TEST(Ipv6, AcceptsRfc4291Forms) {
  for (std::string_view ok :
       {"::", "::1", "1::", "fe80::1", "2001:db8::8a2e:370:7334", "2001:DB8:0:0:0:0:0:1", "1:2:3:4:5:6:7:8",
        "::ffff:1.2.3.4", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4",
        "0000:0000:0000:0000:0000:0000:0000:0001"}) {
    EXPECT_TRUE(parse_ipv6(ok)) << ok;
  }
  for (std::string_view bad :
       {"", ":", ":::", "1:::2", "::1::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8",
        ":1::", "1:", "12345::", "g::1", "fe80::1%eth0", "::ffff:1.2.3", "::1.2.3.4:5", "::ffff:01.2.3.4",
        "[::1]", "1:2:3:4:5:6:7:1.2.3.4"}) {
    EXPECT_FALSE(parse_ipv6(bad)) << bad;
  }
  const auto bytes = parse_ipv6("::ffff:1.2.3.4");
  ASSERT_TRUE(bytes);
  EXPECT_EQ((*bytes)[10], 0xff);
  EXPECT_EQ((*bytes)[11], 0xff);
  EXPECT_EQ((*bytes)[12], 1);
  EXPECT_EQ((*bytes)[15], 4);
  const auto tail = parse_ipv6("1::2");
  ASSERT_TRUE(tail);
  EXPECT_EQ((*tail)[1], 1);
  EXPECT_EQ((*tail)[15], 2);
}

TEST(IpOrCidr, ChecksPrefixAndHostBits) {
  for (std::string_view ok : {"10.0.0.0/8", "0.0.0.0/0", "169.254.169.254", "169.254.169.254/32", "::1",
                              "fd00::/8", "::/0", "2001:db8::/32", "fe80::1/128"}) {
    EXPECT_EQ(check_ip_or_cidr(ok), "") << ok;
  }
  EXPECT_NE(check_ip_or_cidr("10.0.0.0/33").find("0..32"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("fd00::/129").find("0..128"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("10.0.0.0/08").find("prefix length"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("10.1.2.3/8").find("did you mean 10.0.0.0/8?"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("fd00::1/8").find("did you mean fd00::/8?"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("2001:db8:0:1::5/64").find("did you mean 2001:db8:0:1::/64?"),
            std::string::npos);
  EXPECT_NE(check_ip_or_cidr("fe80::1%eth0").find("zone"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("010.0.0.1").find("not a valid IPv4"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("example.com").find("is a host name"), std::string::npos);
  EXPECT_NE(check_ip_or_cidr("/8"), "");
}

TEST(Hostname, RefusesOddNumericForms) {
  for (std::string_view ok : {"localhost", "api.example.com", "my_service", "a-b.c", "10.0.0.1", "1e100.net",
                              "xn--bcher-kva.example", "123abc.example"}) {
    EXPECT_EQ(check_hostname(ok), "") << ok;
  }
  for (std::string_view odd : {"2852039166", "0xA9FEA9FE", "0251.0376.0251.0376", "169.254.43518", "10.1",
                               "example.123", "1.2.3.4.5", "0x7f.1", "256.0.0.1"}) {
    EXPECT_NE(check_hostname(odd).find("not a valid IPv4 address"), std::string::npos) << odd;
  }
  for (std::string_view bad :
       {"", "a..b", ".a", "a.", "-a.com", "a-.com", "exa mple.com", "a/b", "a:b", "\xc3\xa9.com"}) {
    EXPECT_NE(check_hostname(bad), "") << bad;
  }
  EXPECT_NE(check_hostname(std::string(64, 'a') + ".com").find("63"), std::string::npos);
  EXPECT_NE(check_hostname(std::string(254, 'a')).find("253"), std::string::npos);
}

TEST(HostPattern, OnlyPrefixWildcards) {
  for (std::string_view ok :
       {"api.example.com", "*.example.com", "*.internal.corp", "localhost", "[::1]", "127.0.0.1"}) {
    EXPECT_EQ(check_host_pattern(ok), "") << ok;
  }
  EXPECT_NE(check_host_pattern("*").find("omit the key"), std::string::npos);
  EXPECT_NE(check_host_pattern("").find("omit the key"), std::string::npos);
  EXPECT_NE(check_host_pattern("api.*.com").find("'*.' prefix"), std::string::npos);
  EXPECT_NE(check_host_pattern("*api.com").find("'*.' prefix"), std::string::npos);
  EXPECT_NE(check_host_pattern("*.*.com").find("'*.' prefix"), std::string::npos);
  EXPECT_NE(check_host_pattern("api.example.com:8080").find("port"), std::string::npos);
  EXPECT_NE(check_host_pattern("::1").find("brackets"), std::string::npos);
  EXPECT_NE(check_host_pattern("[::g]").find("IPv6"), std::string::npos);
  EXPECT_NE(check_host_pattern("*.10.0.0.1").find("IP address"), std::string::npos);
  EXPECT_NE(check_host_pattern("*.").find("must not be empty"), std::string::npos);
  EXPECT_NE(check_host_pattern("*..com").find("empty label"), std::string::npos);
}

TEST(UpstreamUrl, ParsesSchemeHostPort) {
  UpstreamUrl url;
  ASSERT_EQ(parse_upstream_url("http://127.0.0.1:8080", url), "");
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 8080);
  ASSERT_EQ(parse_upstream_url("HTTPS://API.Example.COM/", url), "");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "api.example.com");
  EXPECT_EQ(url.port, 443);
  ASSERT_EQ(parse_upstream_url("http://[FD00::1]", url), "");
  EXPECT_EQ(url.host, "fd00::1");
  EXPECT_EQ(url.port, 80);
  ASSERT_EQ(parse_upstream_url("http://[::1]:65535", url), "");
  EXPECT_EQ(url.port, 65535);
}

TEST(UpstreamUrl, RefusesAmbiguousOrUnsupportedForms) {
  struct Case {
    std::string_view url;
    std::string_view message;
  };
  const Case cases[] = {
      {"", "must not be empty"},
      {"127.0.0.1:8080", "absolute URL"},
      {"ftp://host", "scheme must be http or https"},
      {"http://user:pw@host", "userinfo"},
      {"http://host@evil.com", "userinfo"},
      {"http://host\\evil.com", "backslash"},
      {"http://host/?a=1", "query or fragment"},
      {"http://host#x", "query or fragment"},
      {"http://host/v1", "must not have a path"},
      {"http://host//", "must not have a path"},
      {"http://host:0", "port must be a number 1..65535"},
      {"http://host:65536", "port must be a number 1..65535"},
      {"http://host:", "port must be a number 1..65535"},
      {"http://host:08080", "port must be a number 1..65535"},
      {"http://host:80a", "port must be a number 1..65535"},
      {"http://", "has no host"},
      {"http://:80", "has no host"},
      {"http://2852039166", "not a valid IPv4 address"},
      {"http://0xA9FEA9FE", "not a valid IPv4 address"},
      {"http://0251.0376.0251.0376", "not a valid IPv4 address"},
      {"http://169.254.43518", "not a valid IPv4 address"},
      {"http://[::1", "unclosed '['"},
      {"http://[::g]:80", "not a valid IPv6 address"},
      {"http://[::1]x", "unexpected text after ']'"},
      {"http://::1:80", "more than one ':'"},
      {"http://ho st", "spaces"},
      {"http://h\xc3\xa9.com", "ASCII"},
      {"http://a..b", "empty label"},
  };
  for (const auto& c : cases) {
    UpstreamUrl url;
    const std::string error = parse_upstream_url(c.url, url);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.url << " -> " << error;
  }
}

TEST(PathPattern, ValidPatterns) {
  PathPattern p;
  ASSERT_EQ(parse_path_pattern("/api/users/*", p), "");
  EXPECT_TRUE(p.wildcard);
  EXPECT_TRUE(p.params.empty());
  EXPECT_EQ(p.shape, "/api/users/*");
  ASSERT_EQ(parse_path_pattern("/*", p), "");
  EXPECT_TRUE(p.wildcard);
  ASSERT_EQ(parse_path_pattern("/", p), "");
  EXPECT_EQ(p.shape, "/");
  ASSERT_EQ(parse_path_pattern("/users/:id/posts/:post_id/*", p), "");
  EXPECT_EQ(p.params, (std::vector<std::string>{"id", "post_id"}));
  EXPECT_EQ(p.shape, "/users/:/posts/:/*");
  ASSERT_EQ(parse_path_pattern("/a-b/c.d/~e/f@g/h;i=j/", p), "");
  EXPECT_FALSE(p.wildcard);
  EXPECT_EQ(p.shape, "/a-b/c.d/~e/f@g/h;i=j/");
}

TEST(PathPattern, InvalidPatterns) {
  struct Case {
    std::string_view path;
    std::string_view message;
  };
  const Case cases[] = {
      {"", "must not be empty"},
      {"api/*", "must start with '/'"},
      {"/api*", "whole last segment"},
      {"/a/*/b", "whole last segment"},
      {"/*/*", "whole last segment"},
      {"/a/**", "whole last segment"},
      {"/a/:", "must be ':' and a name"},
      {"/a/:1d", "must be ':' and a name"},
      {"/a/:i-d", "must be ':' and a name"},
      {"/a/:id/b/:id", "appears more than once"},
      {"/a/x:y", "only allowed at the start of a segment"},
      {"/a/../b", "'.' or '..' segments"},
      {"/a/./b", "'.' or '..' segments"},
      {"/a/..", "'.' or '..' segments"},
      {"/a//b", "empty segment"},
      {"//", "empty segment"},
      {"/a?b=1", "'?' or '#'"},
      {"/a#b", "'?' or '#'"},
      {"/a%2Fb", "percent-escapes"},
      {"/a\\b", "backslash"},
      {"/a b", "spaces"},
      {"/a\tb", "spaces"},
      {"/caf\xc3\xa9", "non-ASCII"},
      {"/a<b", "invalid character '<'"},
      {"/a/{id}", "invalid character '{'"},
      {"/:a/:b/:c/:d/:e/:f/:g/:h/:i", "more than 8 parameters"},
  };
  for (const auto& c : cases) {
    PathPattern p;
    const std::string error = parse_path_pattern(c.path, p);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.path << " -> " << error;
  }
}

TEST(Rewrite, PlaceholdersMustNameRouteParams) {
  PathPattern route;
  ASSERT_EQ(parse_path_pattern("/users/:id/*", route), "");
  EXPECT_EQ(check_rewrite("/v2", route), "");
  EXPECT_EQ(check_rewrite("/v2/u/${path.id}/", route), "");
  EXPECT_EQ(check_rewrite("/$price", route), "");
  EXPECT_NE(check_rewrite("v2", route).find("must start with '/'"), std::string::npos);
  EXPECT_NE(check_rewrite("", route).find("must not be empty"), std::string::npos);
  EXPECT_NE(
      check_rewrite("/${path.name}", route).find("names no parameter of the route path (parameters: id)"),
      std::string::npos);
  EXPECT_NE(check_rewrite("/${query.id}", route).find("not a known placeholder"), std::string::npos);
  EXPECT_NE(check_rewrite("/${path.id", route).find("unclosed"), std::string::npos);
  EXPECT_NE(check_rewrite("/a/../b", route).find("'..'"), std::string::npos);
  EXPECT_NE(check_rewrite("/a?b", route).find("'?'"), std::string::npos);
  EXPECT_NE(check_rewrite("/a}", route).find("invalid character"), std::string::npos);
  PathPattern plain;
  ASSERT_EQ(parse_path_pattern("/api/*", plain), "");
  EXPECT_NE(check_rewrite("/${path.id}", plain).find("no ':name' parameters"), std::string::npos);
}

TEST(Tokens, MethodAndHeaderNames) {
  EXPECT_TRUE(is_token("GET"));
  EXPECT_TRUE(is_token("X-API-Key"));
  EXPECT_TRUE(is_token("M-SEARCH"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("GE T"));
  EXPECT_FALSE(is_token("X:Y"));
  EXPECT_TRUE(is_hex(std::string(64, 'a'), 64));
  EXPECT_TRUE(is_hex("0123456789abcdefABCDEF", 22));
  EXPECT_FALSE(is_hex(std::string(63, 'a'), 64));
  EXPECT_FALSE(is_hex(std::string(64, 'g'), 64));
}

TEST(Suggest, FindsLikelyTypos) {
  const std::string_view keys[] = {"timeout", "maxBodySize", "headerTimeout", "port"};
  EXPECT_EQ(suggest("timout", keys), "timeout");
  EXPECT_EQ(suggest("max_body_size", keys), "maxBodySize");
  EXPECT_EQ(suggest("MAXBODYSIZE", keys), "maxBodySize");
  EXPECT_EQ(suggest("prot", keys), "port");  // a transposition is one edit
  EXPECT_EQ(suggest("tmeout", keys), "timeout");
  EXPECT_EQ(suggest("nope", std::vector<std::string_view>{"open"}), "");  // two edits in four letters
  EXPECT_EQ(suggest("banana", keys), "");
  EXPECT_EQ(suggest("x", keys), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("wieght", "weight"), 1u);
  EXPECT_GT(edit_distance(std::string(500, 'a'), "a"), 1000u);
}

TEST(Quote, EscapesAndTruncates) {
  EXPECT_EQ(quote("abc"), "'abc'");
  EXPECT_EQ(quote(std::string_view("a\nb\0", 4)), "'a\\x0ab\\x00'");
  EXPECT_EQ(quote(std::string(100, 'x')), "'" + std::string(60, 'x') + "...'");
}

}  // namespace
}  // namespace flexgate::config
