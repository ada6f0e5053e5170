#pragma once
// The whole retry decision after a failed attempt, in the order the proxy applies it:
//   1. the route's RetryPolicy (retryOn, attempts, safety rules),
//   2. the Backoff delay and the request's deadline (is there time for another attempt?),
//   3. the upstream's RetryBudget (spent last, so a retry refused by 1 or 2 costs no budget).

#include <chrono>

#include "upstream/retry/backoff.h"
#include "upstream/retry/retry_budget.h"
#include "upstream/retry/retry_policy.h"

namespace flexgate::upstream {

// What to do after a failed attempt: retry after `delay`, or stop for `reason`.
struct RetryPlan {
  RetryReason reason = RetryReason::kNotRetryable;  // kRetry: retry after `delay`
  std::chrono::steady_clock::duration delay{0};

  bool retry() const { return reason == RetryReason::kRetry; }
};

// `backoff` is the request's own; `budget` is the upstream's (shared). `retry` numbering for the
// backoff is attempt.attempts_made (the first retry follows attempt 1). The budget is charged only
// when the plan is to retry.
RetryPlan plan_retry(const RetryPolicy& policy, const AttemptInfo& attempt, Backoff& backoff,
                     RetryBudget& budget, std::chrono::steady_clock::time_point now,
                     std::chrono::steady_clock::time_point deadline);

}  // namespace flexgate::upstream
