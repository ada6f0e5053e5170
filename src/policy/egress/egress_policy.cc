#include "policy/egress/egress_policy.h"

#include <array>
#include <optional>

namespace flexgate::policy {
namespace {

// Deliberately NOT here (an internal gateway proxies to them; list them in blockedIPs to deny):
// private 10/8, 172.16/12, 192.168/16, fc00::/7; loopback 127/8, ::1; CGNAT 100.64/10 (Tailscale,
// Kubernetes and cloud pod networks live there); benchmarking 198.18/15 and the documentation
// ranges (nothing to reach there; some networks use them as internal space). NAT64 and 6to4 are
// not denied as a whole: the IPv4 address they carry is checked instead.
constexpr std::array kBuiltinDenyList{
    // Cloud instance metadata: credentials and instance identity, the usual SSRF prize.
    BuiltinDenyRange{"169.254.169.254/32", "cloud metadata"},  // AWS, GCP, Azure, OCI, DO, OpenStack
    BuiltinDenyRange{"169.254.170.2/32", "cloud metadata"},    // AWS ECS task credentials
    BuiltinDenyRange{"fd00:ec2::254/128", "cloud metadata"},   // AWS IMDS over IPv6 (inside fc00::/7)
    BuiltinDenyRange{"100.100.100.200/32", "cloud metadata"},  // Alibaba Cloud (inside 100.64/10)
    BuiltinDenyRange{"168.63.129.16/32", "cloud metadata"},    // Azure WireServer (a public address)
    BuiltinDenyRange{"192.0.0.192/32", "cloud metadata"},      // Oracle Cloud, legacy endpoint
    // Ranges no upstream lives in.
    BuiltinDenyRange{"0.0.0.0/8", "unspecified (\"this network\")"},  // Linux connects 0.0.0.0 to itself
    BuiltinDenyRange{"::/128", "unspecified"},                        // likewise for ::
    BuiltinDenyRange{"169.254.0.0/16", "link-local"},
    BuiltinDenyRange{"fe80::/10", "link-local"},
    BuiltinDenyRange{"224.0.0.0/4", "multicast"},
    BuiltinDenyRange{"ff00::/8", "multicast"},
    BuiltinDenyRange{"240.0.0.0/4", "reserved (incl. broadcast 255.255.255.255)"},
    BuiltinDenyRange{"192.0.0.0/24", "reserved for IETF protocol assignments"},
    // Teredo hides its IPv4 destination (XOR-obfuscated) and needs a tunnel no server should use.
    BuiltinDenyRange{"2001::/32", "a Teredo tunnel address"},
};

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = to_lower(c);
  return out;
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

// ::ffff:a.b.c.d/N (N >= 96) also as a.b.c.d/(N-96): a v4-mapped entry in blockedIPs means that
// IPv4 network, whichever family the connection uses.
std::optional<net::Cidr> mapped_as_v4(const net::Cidr& cidr) {
  const auto& b = cidr.network.bytes;
  if (cidr.network.is_v4 || cidr.prefix < 96) return std::nullopt;
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0) return std::nullopt;
  }
  if (b[10] != 0xff || b[11] != 0xff) return std::nullopt;
  return net::Cidr::of(net::IpAddress::from_v4({b[12], b[13], b[14], b[15]}), cidr.prefix - 96);
}

}  // namespace

std::span<const BuiltinDenyRange> builtin_deny_list() {
  return kBuiltinDenyList;
}

EgressConfig EgressConfig::from(const config::SecuritySpec& security) {
  EgressConfig config;
  config.builtin_deny_list = security.builtin_deny_list;
  for (const std::string& text : security.blocked_ips) {
    const auto cidr = net::Cidr::parse(text);
    if (!cidr) {
      config.invalid.push_back(text);
      continue;
    }
    std::string what = "in blockedIPs " + text;
    if (const auto v4 = mapped_as_v4(*cidr)) config.blocked.push_back({*v4, what});
    config.blocked.push_back({*cidr, std::move(what)});
  }
  for (const std::string& host : security.allowed_hosts) config.allowed_hosts.push_back(lower(host));
  return config;
}

EgressGuard EgressGuard::build(const config::SecuritySpec& security) {
  return EgressGuard(EgressConfig::from(security));
}

EgressGuard::EgressGuard(EgressConfig config) : config_(std::move(config)) {
  if (config_.builtin_deny_list) {
    for (const BuiltinDenyRange& range : kBuiltinDenyList) {
      // The table is constant and covered by a unit test; a bad entry would be skipped, never crash.
      if (const auto cidr = net::Cidr::parse(range.cidr)) {
        rules_.push_back({*cidr, std::string(range.what) + " (built-in deny list)"});
      }
    }
  }
  rules_.insert(rules_.end(), config_.blocked.begin(), config_.blocked.end());
}

const EgressRule* EgressGuard::match(const net::IpAddress& address) const {
  for (const EgressRule& rule : rules_) {
    if (rule.cidr.contains(address)) return &rule;
  }
  return nullptr;
}

EgressDecision EgressGuard::check(const net::IpAddress& address) const {
  // A guard built from an unvalidated list fails closed: a deny entry must never be dropped.
  if (!config_.invalid.empty()) {
    return {false, "egress guard misconfigured: security.blockedIPs entry '" + config_.invalid.front() +
                       "' is not an IP address or CIDR"};
  }
  if (const EgressRule* rule = match(address)) return {false, address.to_string() + " is " + rule->what};
  // An IPv6 spelling of an IPv4 address reaches that IPv4 address (through the kernel's dual
  // stack, a NAT64 gateway or a 6to4 relay): judge it as that address too.
  if (const auto v4 = address.embedded_v4()) {
    if (const EgressRule* rule = match(*v4)) {
      return {false, address.to_string() + " embeds IPv4 " + v4->to_string() + ", which is " + rule->what};
    }
  }
  return {};
}

bool EgressGuard::host_allowed(std::string_view host) const {
  if (config_.allowed_hosts.empty()) return true;
  const std::string_view bare = strip_brackets(host);
  const auto address = net::IpAddress::parse(bare);
  const std::string name = lower(bare);
  for (const std::string& pattern : config_.allowed_hosts) {
    if (pattern.starts_with("*.")) {
      // Wildcards match names only; ".example.com" needs at least one label before it.
      const std::string_view suffix = std::string_view(pattern).substr(1);
      if (!address && name.size() > suffix.size() && name.ends_with(suffix)) return true;
      continue;
    }
    const std::string_view exact = strip_brackets(pattern);
    if (address) {
      // "[::1]" allows "0:0::1" too: IP literals compare as addresses, not spellings.
      if (const auto allowed = net::IpAddress::parse(exact); allowed && *allowed == *address) return true;
    } else if (exact == name) {
      return true;
    }
  }
  return false;
}

}  // namespace flexgate::policy
