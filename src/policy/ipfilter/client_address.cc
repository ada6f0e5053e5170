#include "policy/ipfilter/client_address.h"

#include <optional>
#include <string_view>

#include "policy/ipfilter/cidr_list.h"

namespace flexgate::policy {
namespace {

constexpr bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// One X-Forwarded-For entry: "addr", "[v6]", "[v6]:port" or "v4:port". nullopt when malformed.
std::optional<net::IpAddress> parse_entry(std::string_view entry) {
  if (entry.empty()) return std::nullopt;
  if (entry.front() == '[') {
    std::size_t close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = entry.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && is_port(rest.substr(1)))) return std::nullopt;
    std::optional<net::IpAddress> address = net::IpAddress::parse(entry.substr(1, close - 1));
    if (!address || address->is_v4) return std::nullopt;  // brackets are for IPv6 only
    return address;
  }
  std::size_t colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: IPv4 with a port (an IPv6 address has at least two).
    if (!is_port(entry.substr(colon + 1))) return std::nullopt;
    std::optional<net::IpAddress> address = net::IpAddress::parse(entry.substr(0, colon));
    if (!address || !address->is_v4) return std::nullopt;
    return address;
  }
  return net::IpAddress::parse(entry);
}

}  // namespace

net::IpAddress resolve_client_address(const net::IpAddress& peer, const http::RequestHead& head,
                                      const net::CidrSet& trusted) {
  net::IpAddress reached = unmap_v4(peer);
  if (trusted.empty() || !trusted.contains(reached)) return reached;

  // Walk the combined list from the right without copying it: fields last to first, and each
  // field's elements last to first.
  const http::HeaderFields& fields = head.fields;
  for (std::size_t i = fields.count; i-- > 0;) {
    const http::HeaderField& field = fields[i];
    if (field.token != http::HeaderToken::kXForwardedFor) continue;
    std::string_view rest = field.value;
    while (true) {
      std::size_t comma = rest.rfind(',');
      std::string_view element = trim_ows(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      if (!element.empty()) {
        std::optional<net::IpAddress> address = parse_entry(element);
        if (!address) return reached;  // a trusted hop wrote garbage: stop at what it reported last
        reached = unmap_v4(*address);
        if (!trusted.contains(reached)) return reached;
      }
      if (comma == std::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  return reached;  // every entry was a trusted proxy: the leftmost is the best we know
}

}  // namespace flexgate::policy
