#pragma once
// Config CIDR lists (`allowFrom`, `denyFrom`, `security.trustedProxies`) parsed into CidrSets
// once, when the snapshot is built.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/ip_address.h"

namespace flexgate::policy {

// Parses every entry ("10.0.0.0/8", "fd00::/8", or a bare address). An IPv4-mapped IPv6 network
// (::ffff:a.b.c.d/96+) becomes the equivalent IPv4 network, so it matches the unmapped client
// addresses the filters compare against. On a bad entry: nullopt, and `error` names `setting` and
// the entry.
std::optional<net::CidrSet> parse_cidr_set(std::span<const std::string> entries, std::string_view setting,
                                           std::string& error);

// The address as the policies compare it: an IPv4-mapped IPv6 address (::ffff:1.2.3.4, what a
// dual-stack socket reports for an IPv4 peer) becomes the IPv4 address; anything else is unchanged.
// Only the mapped form is unwrapped: NAT64 and 6to4 addresses are distinct hosts, and treating
// them as IPv4 would let a v6 client pass an IPv4 allow list.
net::IpAddress unmap_v4(const net::IpAddress& address);

}  // namespace flexgate::policy
