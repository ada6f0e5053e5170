#include "upstream/balance/strategy.h"

#include <array>
#include <utility>

namespace flexgate::upstream {
namespace {

constexpr std::array<std::pair<std::string_view, Strategy>, 4> kNames{{
    {"round_robin", Strategy::kRoundRobin},
    {"least_request", Strategy::kLeastRequest},
    {"latency", Strategy::kLatency},
    {"consistent_hash", Strategy::kConsistentHash},
}};

}  // namespace

std::optional<Strategy> parse_strategy(std::string_view name) {
  for (const auto& [text, strategy] : kNames) {
    if (text == name) return strategy;
  }
  return std::nullopt;
}

std::string_view to_string(Strategy strategy) {
  for (const auto& [text, value] : kNames) {
    if (value == strategy) return text;
  }
  return "unknown";
}

}  // namespace flexgate::upstream
