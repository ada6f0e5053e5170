#pragma once
// The traffic-control state of each upstream in a config snapshot, shared by every worker: the
// consistent-hash table, the circuit breaker, outlier ejection, active-health state, and the
// retry policy with its budget. Built with the snapshot from the upstream's config; breaker,
// ejection, health and budget state carry over from the previous snapshot when the upstream keeps
// its name and its targets (a reload must not reset a breaker that protects a failing service).

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.h"
#include "upstream/balance/balancer.h"
#include "upstream/breaker/circuit_breaker.h"
#include "upstream/concurrency/concurrency_limiter.h"
#include "upstream/health/health_tracker.h"
#include "upstream/health/outlier_detector.h"
#include "upstream/retry/backoff.h"
#include "upstream/retry/retry_budget.h"
#include "upstream/retry/retry_policy.h"
#include "upstream/upstream_set.h"

namespace flexgate::upstream {

// One upstream's controls (index = the upstream's index in the UpstreamSet).
struct UpstreamControls {
  std::string identity;                        // name + targets: decides what a reload may carry over
  std::vector<WeightedTarget> targets;         // identities view Target::authority in the UpstreamSet
  BalancerOptions balancer;                    // per worker: set the seed
  std::shared_ptr<const MaglevTable> maglev;   // consistent_hash only
  config::HashOnSpec hash_on;                  // consistent_hash: what to hash
  std::shared_ptr<CircuitBreaker> breaker;     // null when circuitBreaker.enabled is false
  config::FailureConditions breaker_fail_on;   // what the breaker counts as a failure
  std::shared_ptr<OutlierDetector> outliers;   // null when outlierDetection is off
  std::shared_ptr<HealthTracker> health;       // null without healthCheck
  std::shared_ptr<RetryBudget> retry_budget;   // null without retries
  std::optional<RetryPolicy> retry;            // nullopt without retries
  std::optional<RetryPolicy> retry_unsafe;     // the same for routes with retryNonIdempotent
  Backoff::Options backoff;
  std::shared_ptr<ConcurrencyLimiter> concurrency;  // null when maxConcurrent is unlimited
  std::chrono::milliseconds queue_timeout{0};       // the longest wait for a concurrency slot
};

// Builds the controls of every upstream of `set` (same order). `previous` is the snapshot being
// replaced (nullptr at start).
std::vector<UpstreamControls> build_upstream_controls(const config::Config& config, const UpstreamSet& set,
                                                      const std::vector<UpstreamControls>* previous);

// True when a failure of this kind counts for `conditions` (breaker failOn, retry on).
bool counts_as_failure(const config::FailureConditions& conditions, const AttemptFailure& failure);

}  // namespace flexgate::upstream
