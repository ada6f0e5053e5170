#pragma once
// Per-route client allow/deny lists (`allowFrom`, `denyFrom`), compiled once per snapshot.

#include <optional>
#include <string>

#include "config/schema.h"
#include "net/ip_address.h"
#include "policy/request_view.h"

namespace flexgate::policy {

// A route's client address filter: denyFrom first (403), then allowFrom when non-empty (403 when
// the client is not in it). Immutable; safe to share across worker threads.
class ClientFilter {
 public:
  // Parses the route's lists. On a bad entry: nullopt, and `error` names the route and the entry.
  static std::optional<ClientFilter> build(const config::RouteSpec& route, std::string& error);

  // True when the route has neither list: check() always allows, so the lifecycle may skip it.
  bool empty() const { return allow_.empty() && deny_.empty(); }

  // `client` is the resolved client address (resolve_client_address); an IPv4-mapped IPv6
  // address is compared as the IPv4 address it carries.
  Verdict check(const net::IpAddress& client) const;

 private:
  net::CidrSet allow_;
  net::CidrSet deny_;
};

}  // namespace flexgate::policy
