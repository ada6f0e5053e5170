#pragma once
// The balancers' view of an upstream's targets: nothing but identity and weight.

#include <cstdint>
#include <string_view>

namespace flexgate::upstream {

// One target of an upstream as the balancers see it; its index in the list is its target index.
struct WeightedTarget {
  // Stable name of the target, e.g. "10.0.0.1:8080" or "api.internal:80". Only consistent
  // hashing reads it; keep identities unique within an upstream.
  std::string_view identity;
  std::uint32_t weight = 1;  // >= 1 (0 is asserted against and read as 1)
};

}  // namespace flexgate::upstream
