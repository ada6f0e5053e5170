#include "policy/egress/egress_validation.h"

#include "net/ip_address.h"
#include "policy/egress/egress_policy.h"

namespace flexgate::policy {
namespace {

std::string allowed_list(const std::vector<std::string>& hosts) {
  std::string out;
  for (const std::string& host : hosts) out += (out.empty() ? "" : ", ") + host;
  return out;
}

}  // namespace

std::vector<UpstreamViolation> validate_upstreams(const config::Config& config) {
  const EgressGuard guard = EgressGuard::build(config.security);
  std::vector<UpstreamViolation> violations;
  for (std::size_t u = 0; u < config.upstreams.size(); ++u) {
    const config::UpstreamSpec& upstream = config.upstreams[u];
    for (std::size_t t = 0; t < upstream.targets.size(); ++t) {
      const std::string& host = upstream.targets[t].host;
      if (!guard.host_allowed(host)) {
        violations.push_back({u, t,
                              "host '" + host + "' is not in security.allowedHosts (" +
                                  allowed_list(guard.config().allowed_hosts) + ")"});
      }
      // A literal address can be judged now; a name is judged on each address it resolves to.
      if (const auto address = net::IpAddress::parse(host)) {
        if (const EgressDecision decision = guard.check(*address); !decision.allowed) {
          violations.push_back({u, t, "host " + host + " is blocked: " + decision.reason});
        }
      }
    }
  }
  return violations;
}

}  // namespace flexgate::policy
