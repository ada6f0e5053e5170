#include "upstream/retry/retry_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Clock::time_point t0 = Clock::time_point{} + 1000h;

RetryPolicy make_policy(unsigned max_attempts) {
  std::string error;
  const std::vector<std::string> words{"connect-failure", "5xx"};
  std::optional<RetryOn> retry_on = RetryOn::parse(words, error);
  EXPECT_TRUE(retry_on.has_value()) << error;
  return RetryPolicy(RetryPolicy::Options{*retry_on, max_attempts, false});
}

const AttemptInfo kGet503{AttemptFailure::status_code(503), 1, "GET", true};

TEST(RetryPlan, RetriesWithABackoffDelayAndChargesTheBudget) {
  const RetryPolicy policy = make_policy(3);
  Backoff backoff(Backoff::Options{100ms, 1s, 5ms}, 1);
  RetryBudget budget;
  const RetryPlan plan = plan_retry(policy, kGet503, backoff, budget, t0, t0 + 10s);
  EXPECT_TRUE(plan.retry());
  EXPECT_LE(plan.delay, 100ms);
  EXPECT_EQ(budget.retries_allowed(), 1u);
}

TEST(RetryPlan, PolicyRefusalCostsNoBudget) {
  const RetryPolicy policy = make_policy(3);
  Backoff backoff(Backoff::Options{}, 1);
  RetryBudget budget;
  const AttemptInfo post{AttemptFailure::status_code(503), 1, "POST", true};
  EXPECT_EQ(plan_retry(policy, post, backoff, budget, t0, t0 + 10s).reason, RetryReason::kNotIdempotent);
  EXPECT_EQ(budget.retries_allowed() + budget.retries_refused(), 0u);
}

TEST(RetryPlan, NoTimeLeftCostsNoBudget) {
  const RetryPolicy policy = make_policy(3);
  Backoff backoff(Backoff::Options{100ms, 1s, 5ms}, 1);
  RetryBudget budget;
  EXPECT_EQ(plan_retry(policy, kGet503, backoff, budget, t0, t0 + 5ms).reason, RetryReason::kNoTimeLeft);
  EXPECT_EQ(budget.retries_allowed() + budget.retries_refused(), 0u);
}

TEST(RetryPlan, EmptyBudgetStopsRetries) {
  const RetryPolicy policy = make_policy(3);
  Backoff backoff(Backoff::Options{}, 1);
  RetryBudget budget(RetryBudget::Options{10s, 10, 0.2, 1});
  EXPECT_TRUE(plan_retry(policy, kGet503, backoff, budget, t0, Clock::time_point::max()).retry());
  const RetryPlan plan = plan_retry(policy, kGet503, backoff, budget, t0, Clock::time_point::max());
  EXPECT_EQ(plan.reason, RetryReason::kBudgetExhausted);
  EXPECT_EQ(plan.delay, 0ns);
}

}  // namespace
}  // namespace flexgate::upstream
