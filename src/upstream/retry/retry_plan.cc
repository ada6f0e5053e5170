#include "upstream/retry/retry_plan.h"

namespace flexgate::upstream {

RetryPlan plan_retry(const RetryPolicy& policy, const AttemptInfo& attempt, Backoff& backoff,
                     RetryBudget& budget, std::chrono::steady_clock::time_point now,
                     std::chrono::steady_clock::time_point deadline) {
  const RetryReason reason = policy.decide(attempt);
  if (reason != RetryReason::kRetry) return {reason, {}};
  const auto delay = backoff.delay_before(attempt.attempts_made, now, deadline);
  if (!delay) return {RetryReason::kNoTimeLeft, {}};
  if (!budget.try_spend_retry(now)) return {RetryReason::kBudgetExhausted, {}};
  return {RetryReason::kRetry, *delay};
}

}  // namespace flexgate::upstream
