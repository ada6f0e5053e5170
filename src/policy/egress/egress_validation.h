#pragma once
// Load-time egress checks of a config: every upstream target must be a host security.allowedHosts
// allows, and a literal IP target must pass the egress guard. Names are checked again at connect
// time, on the resolved address.

#include <cstddef>
#include <string>
#include <vector>

#include "config/schema.h"

namespace flexgate::policy {

// One violation: which target (indexes into Config::upstreams and UpstreamSpec::targets) and why.
struct UpstreamViolation {
  std::size_t upstream_index = 0;
  std::size_t target_index = 0;
  std::string message;  // a sentence without position: "host 'x' is not in security.allowedHosts ..."
};

// Every violation in `config`, in file order (empty when the upstreams are acceptable).
std::vector<UpstreamViolation> validate_upstreams(const config::Config& config);

}  // namespace flexgate::policy
