#include "policy/ipfilter/cidr_list.h"

#include <algorithm>

namespace flexgate::policy {
namespace {

// ::ffff:0:0/96, the IPv4-mapped IPv6 prefix (RFC 4291 2.5.5.2).
bool is_v4_mapped(const net::IpAddress& address) {
  if (address.is_v4) return false;
  const auto& b = address.bytes;
  return std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t x) { return x == 0; }) && b[10] == 0xff &&
         b[11] == 0xff;
}

}  // namespace

net::IpAddress unmap_v4(const net::IpAddress& address) {
  if (!is_v4_mapped(address)) return address;
  const auto& b = address.bytes;
  return net::IpAddress::from_v4({b[12], b[13], b[14], b[15]});
}

std::optional<net::CidrSet> parse_cidr_set(std::span<const std::string> entries, std::string_view setting,
                                           std::string& error) {
  net::CidrSet set;
  for (const std::string& entry : entries) {
    std::optional<net::Cidr> cidr = net::Cidr::parse(entry);
    if (!cidr) {
      error.assign(setting).append(": '").append(entry).append("' is not an IP address or CIDR range");
      return std::nullopt;
    }
    if (is_v4_mapped(cidr->network) && cidr->prefix >= 96) {
      cidr = net::Cidr{unmap_v4(cidr->network), cidr->prefix - 96};
    }
    set.add(*cidr);
  }
  return set;
}

}  // namespace flexgate::policy
