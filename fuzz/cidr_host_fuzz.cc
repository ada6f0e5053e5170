// libFuzzer target: the address and host parsers on the same text.
// - net::IpAddress::parse: round-trips through to_string() (canonical, and exactly the input for
//   IPv4), and agrees with glibc's inet_pton (the oracle) on what is an address and which one.
// - net::Cidr::parse: host bits zero, contains its own network, round-trips, and contains() agrees
//   with a bit-by-bit reference on an address taken from the input; policy::parse_cidr_set on the
//   comma-separated list agrees with its members; config::check_ip_or_cidr agrees with Cidr::parse.
// - The Host header (http parser's valid_host): "[x]" is accepted exactly when x is an IPv6
//   address; an accepted Host routes to the host group a by-hand reading of RFC 9110 expects.
// - config::check_hostname: an accepted name is a valid Host and an IP only as a dotted quad.
// - net::parse_host_port: host and port survive a format/parse round trip.
// - policy::resolve_client_address: X-Forwarded-For from the input never yields a mapped address,
//   and is ignored when the peer is not trusted.

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/syntax.h"
#include "http/parser.h"
#include "net/ip_address.h"
#include "net/listener.h"
#include "policy/ipfilter/cidr_list.h"
#include "policy/ipfilter/client_address.h"
#include "router/route_table.h"

namespace {

using namespace flexgate;

#define FUZZ_CHECK(cond)                                            \
  do {                                                              \
    if (!(cond)) {                                                  \
      std::fprintf(stderr, "cidr_host_fuzz: check failed: %s\n", #cond); \
      std::abort();                                                 \
    }                                                               \
  } while (0)

bool is_mapped_v6(const net::IpAddress& a) {
  if (a.is_v4) return false;
  for (int i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

// Reference containment: same family, first `prefix` bits equal (IPv4 bits are bytes 12..15).
bool reference_contains(const net::Cidr& c, const net::IpAddress& a) {
  if (c.network.is_v4 != a.is_v4) return false;
  const unsigned offset = a.is_v4 ? 96 : 0;
  for (unsigned bit = 0; bit < c.prefix; ++bit) {
    const unsigned i = offset + bit;
    const int mask = 0x80 >> (i % 8);
    if ((c.network.bytes[i / 8] & mask) != (a.bytes[i / 8] & mask)) return false;
  }
  return true;
}

void check_ip(std::string_view text) {
  const std::optional<net::IpAddress> ip = net::IpAddress::parse(text);
  // glibc needs a NUL-terminated string; an embedded NUL would cut it short, so skip those.
  if (text.find('\0') == std::string_view::npos && text.size() < 128) {
    const std::string z(text);
    unsigned char v4[4];
    unsigned char v6[16];
    const bool glibc_v4 = inet_pton(AF_INET, z.c_str(), v4) == 1;
    const bool glibc_v6 = inet_pton(AF_INET6, z.c_str(), v6) == 1;
    FUZZ_CHECK(ip.has_value() == (glibc_v4 || glibc_v6));
    if (ip && ip->is_v4) FUZZ_CHECK(glibc_v4 && std::equal(v4, v4 + 4, ip->bytes.begin() + 12));
    if (ip && !ip->is_v4) FUZZ_CHECK(glibc_v6 && std::equal(v6, v6 + 16, ip->bytes.begin()));
  }
  if (!ip) return;
  const std::string canonical = ip->to_string();
  const std::optional<net::IpAddress> again = net::IpAddress::parse(canonical);
  FUZZ_CHECK(again && *again == *ip && again->to_string() == canonical);
  if (ip->is_v4) FUZZ_CHECK(canonical == text);  // strict dotted quad has one spelling
  FUZZ_CHECK(policy::unmap_v4(*ip) == (is_mapped_v6(*ip) ? net::IpAddress::from_v4({ip->bytes[12], ip->bytes[13],
                                                                                   ip->bytes[14], ip->bytes[15]})
                                                         : *ip));
  if (const auto inner = ip->embedded_v4()) FUZZ_CHECK(inner->is_v4 && !ip->is_v4);
}

void check_cidr(std::string_view text, const net::IpAddress& probe) {
  const std::optional<net::Cidr> cidr = net::Cidr::parse(text);
  FUZZ_CHECK(config::check_ip_or_cidr(text).empty() == cidr.has_value());
  if (!cidr) return;
  FUZZ_CHECK(cidr->prefix <= cidr->max_prefix());
  FUZZ_CHECK(net::Cidr::of(cidr->network, cidr->prefix) == *cidr);  // host bits are zero
  FUZZ_CHECK(cidr->contains(cidr->network));
  const std::optional<net::Cidr> again = net::Cidr::parse(cidr->to_string());
  FUZZ_CHECK(again && *again == *cidr);
  if (text.find('/') == std::string_view::npos) {
    FUZZ_CHECK(cidr->prefix == cidr->max_prefix() && net::IpAddress::parse(text) == cidr->network);
  }
  FUZZ_CHECK(cidr->contains(probe) == reference_contains(*cidr, probe));
}

void check_cidr_list(std::string_view text, const net::IpAddress& probe) {
  std::vector<std::string> entries;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t comma = text.find(',', begin);
    entries.emplace_back(text.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin));
    if (comma == std::string_view::npos || entries.size() >= 16) break;
    begin = comma + 1;
  }
  std::string error;
  const std::optional<net::CidrSet> set = policy::parse_cidr_set(entries, "fuzz", error);
  const bool all_parse = std::all_of(entries.begin(), entries.end(),
                                     [](const std::string& e) { return net::Cidr::parse(e).has_value(); });
  FUZZ_CHECK(set.has_value() == all_parse);
  FUZZ_CHECK(set.has_value() == error.empty());
  if (!set) return;
  FUZZ_CHECK(set->members().size() == entries.size());
  bool any = false;
  for (const net::Cidr& member : set->members()) any = any || reference_contains(member, probe);
  FUZZ_CHECK(set->contains(probe) == any);
  const net::Cidr* found = set->find(probe);
  FUZZ_CHECK((found != nullptr) == any && (!found || found->contains(probe)));
}

const router::RouteTable& host_table() {
  static const std::vector<config::RouteSpec> specs = [] {
    std::vector<config::RouteSpec> routes;
    for (const char* host : {"example.com", "*.example.com", "[::1]", ""}) {
      config::RouteSpec spec;
      spec.path = "/";
      spec.host = host;
      spec.upstream = "u";
      routes.push_back(spec);
    }
    return routes;
  }();
  static const router::RouteTable table(specs);
  return table;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

void check_host_header(std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return;
  std::string request = "GET / HTTP/1.1\r\nHost: ";
  request.append(value);
  request.append("\r\n\r\n");
  static http::RequestHead head;
  const http::ParseOutcome outcome = http::parse_request_head(request, http::Limits{}, head);

  // "[x]" (x of IPv6 characters only, so no other rule can refuse it) is an IPv6 literal.
  if (value.size() >= 2 && value.front() == '[' && value.back() == ']') {
    const std::string_view inner = value.substr(1, value.size() - 2);
    if (inner.find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos) {
      const auto ip = net::IpAddress::parse(inner);
      FUZZ_CHECK((outcome.status == http::ParseStatus::kComplete) == (ip && !ip->is_v4));
    }
  }
  if (outcome.status != http::ParseStatus::kComplete) return;
  FUZZ_CHECK(head.host.data() >= request.data() && head.host.size() <= request.size());

  // Expected host group: without brackets or port, one trailing dot dropped, any case.
  std::string_view name = head.host;
  if (!name.empty() && name.front() == '[') {
    name = name.substr(1, name.find(']') - 1);
  } else if (const std::size_t colon = name.find(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  const std::string key = lower(name);
  std::string_view expected = "";
  if (key.size() <= 255 && !key.empty()) {
    if (key == "example.com") expected = "example.com";
    else if (key == "::1") expected = "[::1]";
    else if (key.size() > 12 && key.ends_with(".example.com")) expected = "*.example.com";
  }
  const router::RouteMatch match = host_table().match(head.host, "GET", "/");
  FUZZ_CHECK(match.status == router::RouteMatch::Status::kMatched && match.route->spec->host == expected);
}

void check_hostname(std::string_view text) {
  if (!config::check_hostname(text).empty()) return;
  // A configured name is one a client can send as Host.
  std::string request = "GET / HTTP/1.1\r\nHost: ";
  request.append(text);
  request.append("\r\n\r\n");
  static http::RequestHead head;
  FUZZ_CHECK(http::parse_request_head(request, http::Limits{}, head).status == http::ParseStatus::kComplete);
  if (const auto ip = net::IpAddress::parse(text)) FUZZ_CHECK(ip->is_v4);
}

void check_host_port(std::string_view text) {
  std::string host;
  std::uint16_t port = 0;
  if (!net::parse_host_port(text, host, port)) return;
  // Found by this target, fixed: a bracket inside the host was accepted ("[[]:0" -> host "[").
  FUZZ_CHECK(host.find_first_of("[]") == std::string::npos);
  const std::string formatted =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  std::string host2;
  std::uint16_t port2 = 0;
  FUZZ_CHECK(net::parse_host_port(formatted, host2, port2) && host2 == host && port2 == port);
}

void check_forwarded_for(std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return;
  std::string request = "GET / HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: ";
  request.append(value);
  request.append("\r\n\r\n");
  static http::RequestHead head;
  if (http::parse_request_head(request, http::Limits{}, head).status != http::ParseStatus::kComplete) return;
  static const net::CidrSet trusted = [] {
    net::CidrSet set;
    for (const char* text : {"127.0.0.0/8", "::1", "10.0.0.0/8", "fd00::/8"}) set.add(*net::Cidr::parse(text));
    return set;
  }();
  const net::IpAddress peer = *net::IpAddress::parse("127.0.0.1");
  const net::IpAddress client = policy::resolve_client_address(peer, head, trusted);
  FUZZ_CHECK(!is_mapped_v6(client));
  const net::IpAddress stranger = *net::IpAddress::parse("192.0.2.1");
  FUZZ_CHECK(policy::resolve_client_address(stranger, head, trusted) == stranger);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 17 || size > 4096) return 0;
  // Bytes 0..16: a probe address (byte 0 picks the family); the rest is the text.
  net::IpAddress probe;
  if (data[0] & 1) {
    probe = net::IpAddress::from_v4({data[1], data[2], data[3], data[4]});
  } else {
    std::array<std::uint8_t, 16> v6;
    std::copy(data + 1, data + 17, v6.begin());
    probe = net::IpAddress::from_v6(v6);
  }
  const std::string_view text(reinterpret_cast<const char*>(data) + 17, size - 17);
  check_ip(text);
  check_cidr(text, probe);
  check_cidr_list(text, probe);
  check_host_header(text);
  check_hostname(text);
  check_host_port(text);
  check_forwarded_for(text);
  return 0;
}
