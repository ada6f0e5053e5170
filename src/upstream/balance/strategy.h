#pragma once
// The load-balancing strategies an upstream can use, and their names in config and logs.

#include <cstdint>
#include <optional>
#include <string_view>

namespace flexgate::upstream {

// How a Balancer chooses a target (see balancer.h for each algorithm).
enum class Strategy : std::uint8_t {
  kRoundRobin,      // "round_robin": smooth weighted round robin (nginx)
  kLeastRequest,    // "least_request": power of two choices on in-flight requests per weight
  kLatency,         // "latency": power of two choices on peak-EWMA latency x (in-flight + 1)
  kConsistentHash,  // "consistent_hash": Maglev table lookup of a caller-supplied key hash
};

inline constexpr Strategy kDefaultStrategy = Strategy::kLeastRequest;

// "round_robin" | "least_request" | "latency" | "consistent_hash" (exact, lower case); else nullopt.
std::optional<Strategy> parse_strategy(std::string_view name);

// The name parse_strategy() accepts for `strategy`.
std::string_view to_string(Strategy strategy);

}  // namespace flexgate::upstream
