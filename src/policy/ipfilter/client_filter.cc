#include "policy/ipfilter/client_filter.h"

#include "policy/ipfilter/cidr_list.h"

namespace flexgate::policy {

std::optional<ClientFilter> ClientFilter::build(const config::RouteSpec& route, std::string& error) {
  const std::string where = "route " + route.path;
  std::optional<net::CidrSet> deny = parse_cidr_set(route.deny_from, where + " denyFrom", error);
  if (!deny) return std::nullopt;
  std::optional<net::CidrSet> allow = parse_cidr_set(route.allow_from, where + " allowFrom", error);
  if (!allow) return std::nullopt;
  ClientFilter filter;
  filter.deny_ = std::move(*deny);
  filter.allow_ = std::move(*allow);
  return filter;
}

Verdict ClientFilter::check(const net::IpAddress& client) const {
  const net::IpAddress address = unmap_v4(client);
  // Deny wins over allow, so a narrow deny can carve a hole in a broad allow.
  if (deny_.contains(address)) {
    return Verdict::deny(ErrorKind::kForbidden, "client address is denied on this route");
  }
  if (!allow_.empty() && !allow_.contains(address)) {
    return Verdict::deny(ErrorKind::kForbidden, "client address is not allowed on this route");
  }
  return Verdict::allow();
}

}  // namespace flexgate::policy
