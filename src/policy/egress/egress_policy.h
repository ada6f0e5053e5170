#pragma once
// The egress (SSRF) guard: which addresses the gateway may connect to, and which upstream hosts a
// config may name. Built once per config snapshot from `security`; check() runs on the address
// actually being connected to, for every connection, so DNS answers cannot steer around it.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "net/ip_address.h"

namespace flexgate::policy {

// One entry of the built-in deny list: a network and what it is.
struct BuiltinDenyRange {
  std::string_view cidr;  // "169.254.0.0/16"
  std::string_view what;  // "link-local"
};

// The built-in deny list, in check order (single metadata addresses before the ranges holding
// them, so the reason names the most specific match). docs/threat-model.md says why each is here.
std::span<const BuiltinDenyRange> builtin_deny_list();

// One deny rule of a built guard.
struct EgressRule {
  net::Cidr cidr;
  std::string what;  // completes "<address> is ...": "cloud metadata (built-in deny list)"
};

// The egress policy's settings, built from config::SecuritySpec.
struct EgressConfig {
  std::vector<EgressRule> blocked;          // `blockedIPs`, in file order
  bool builtin_deny_list = true;            // `builtinDenyList`
  std::vector<std::string> allowed_hosts;   // `allowedHosts`, lower-case; empty = any host
  std::vector<std::string> invalid;         // blockedIPs entries that did not parse (fail closed)

  static EgressConfig from(const config::SecuritySpec& security);
};

// The answer for one address: allowed, or denied with a sentence for the log and the 403 body.
struct EgressDecision {
  bool allowed = true;
  std::string reason;  // "169.254.169.254 is cloud metadata (built-in deny list)"
};

// Decides whether an upstream address may be connected to and whether a host may be an upstream.
// Immutable once built; safe to share between workers.
class EgressGuard {
 public:
  // The guard for a validated `security` section.
  static EgressGuard build(const config::SecuritySpec& security);
  explicit EgressGuard(EgressConfig config);

  // Whether `address` may be connected to. The address and, for an IPv6 address, the IPv4 address
  // it embeds (mapped, compatible, NAT64, 6to4) are both checked against the built-in list (when
  // on) and blockedIPs; the first match denies. Allocates only when denying.
  EgressDecision check(const net::IpAddress& address) const;

  // Whether `host` (a name or IP literal as written in an upstream URL, IPv6 with or without
  // brackets) matches security.allowedHosts: exact, case-insensitive, or "*.suffix" for one or more
  // labels before the suffix ("*.example.com" matches "a.example.com" and "a.b.example.com", not
  // "example.com"). IP patterns match the same address in any spelling. No list: any host.
  bool host_allowed(std::string_view host) const;

  const EgressConfig& config() const { return config_; }

 private:
  const EgressRule* match(const net::IpAddress& address) const;

  EgressConfig config_;
  std::vector<EgressRule> rules_;  // built-in (when on) then blockedIPs, in check order
};

}  // namespace flexgate::policy
