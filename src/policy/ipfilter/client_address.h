#pragma once
// Who the client is: the TCP peer, or, when the peer is a trusted proxy, the address that proxy
// chain reports in X-Forwarded-For.
//
// Trust rules (`security.trustedProxies`, empty by default = X-Forwarded-For is never read):
// - The peer is not in trustedProxies: X-Forwarded-For is ignored entirely (anyone can write it).
// - The peer is trusted: every X-Forwarded-For field, combined in order (RFC 9110 5.3), is walked
//   from the right. Each entry was appended by the hop to its right, so it is believable as long
//   as that hop is trusted. Trusted entries are skipped; the first untrusted entry is the client.
// - The walk stops without finding an untrusted entry when it meets a malformed entry, or when the
//   list runs out: the client is then the last address reached (the leftmost valid entry walked,
//   or the peer when the rightmost entry is already malformed or the list is empty). That address
//   was reported by a trusted hop, so it is the best fact available; nothing a client writes to
//   the left of a trusted hop is ever believed, and no request is refused for a bad entry.
// Entries: an IPv4 or IPv6 address, optionally "[v6]", "[v6]:port" or "v4:port" (some load
// balancers append ports); empty list elements are ignored (RFC 9110 5.6.1); anything else
// ("unknown", obfuscated identifiers, garbage) is malformed. The `Forwarded` field is not read.
// The result is unmapped (::ffff:1.2.3.4 -> 1.2.3.4), see unmap_v4().

#include "http/message.h"
#include "net/ip_address.h"

namespace flexgate::policy {

net::IpAddress resolve_client_address(const net::IpAddress& peer, const http::RequestHead& head,
                                      const net::CidrSet& trusted);

}  // namespace flexgate::policy
