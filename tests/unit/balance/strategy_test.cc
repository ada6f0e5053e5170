#include "upstream/balance/strategy.h"

#include <gtest/gtest.h>

namespace flexgate::upstream {
namespace {

TEST(Strategy, ParsesEveryNameAndPrintsItBack) {
  for (Strategy s :
       {Strategy::kRoundRobin, Strategy::kLeastRequest, Strategy::kLatency, Strategy::kConsistentHash}) {
    EXPECT_EQ(parse_strategy(to_string(s)), s) << to_string(s);
  }
  EXPECT_EQ(parse_strategy("round_robin"), Strategy::kRoundRobin);
  EXPECT_EQ(parse_strategy("least_request"), Strategy::kLeastRequest);
  EXPECT_EQ(parse_strategy("latency"), Strategy::kLatency);
  EXPECT_EQ(parse_strategy("consistent_hash"), Strategy::kConsistentHash);
}

TEST(Strategy, RejectsUnknownNames) {
  for (std::string_view name : {"", "ROUND_ROBIN", "round-robin", "random", "least_request ", "maglev"}) {
    EXPECT_EQ(parse_strategy(name), std::nullopt) << name;
  }
}

TEST(Strategy, DefaultIsLeastRequest) {
  EXPECT_EQ(kDefaultStrategy, Strategy::kLeastRequest);
}

}  // namespace
}  // namespace flexgate::upstream
