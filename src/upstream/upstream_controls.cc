#include "upstream/upstream_controls.h"

#include <algorithm>

namespace flexgate::upstream {
namespace {

Strategy strategy_of(config::LoadBalancerStrategy strategy) {
  switch (strategy) {
    case config::LoadBalancerStrategy::kRoundRobin: return Strategy::kRoundRobin;
    case config::LoadBalancerStrategy::kLeastRequest: return Strategy::kLeastRequest;
    case config::LoadBalancerStrategy::kLatency: return Strategy::kLatency;
    case config::LoadBalancerStrategy::kConsistentHash: return Strategy::kConsistentHash;
  }
  return kDefaultStrategy;
}

// "name|host:port*weight|...": two snapshots with the same identity have the same target indexes.
std::string identity_of(const Upstream& upstream) {
  std::string identity = upstream.spec->name;
  for (const Target& target : upstream.targets) {
    identity += '|';
    identity += target.authority;
    identity += '*';
    identity += std::to_string(target.weight);
  }
  return identity;
}

RetryOn retry_on_of(const config::FailureConditions& conditions) {
  RetryOn on;
  std::string ignored;
  if (conditions.connect_failure) on.add("connect-failure", ignored);
  if (conditions.timeout) on.add("timeout", ignored);
  if (conditions.reset) on.add("reset", ignored);
  if (conditions.any_5xx) on.add("5xx", ignored);
  for (std::uint16_t status : conditions.statuses) on.add(std::to_string(status), ignored);
  return on;
}

}  // namespace

bool counts_as_failure(const config::FailureConditions& conditions, const AttemptFailure& failure) {
  switch (failure.kind) {
    case FailureKind::kConnectFailure: return conditions.connect_failure;
    case FailureKind::kTimeout: return conditions.timeout;
    case FailureKind::kReset: return conditions.reset;
    case FailureKind::kStatus: return failure.status >= 0 && conditions.matches_status(static_cast<unsigned>(failure.status));
  }
  return false;
}

std::vector<UpstreamControls> build_upstream_controls(const config::Config& config, const UpstreamSet& set,
                                                      const std::vector<UpstreamControls>* previous) {
  (void)config;
  std::vector<UpstreamControls> all(set.upstreams().size());
  for (std::size_t u = 0; u < all.size(); ++u) {
    const Upstream& upstream = set.upstreams()[u];
    const config::UpstreamSpec& spec = *upstream.spec;
    UpstreamControls& controls = all[u];
    controls.identity = identity_of(upstream);
    const UpstreamControls* before = nullptr;
    if (previous != nullptr) {
      auto found = std::find_if(previous->begin(), previous->end(),
                                [&](const UpstreamControls& old) { return old.identity == controls.identity; });
      if (found != previous->end()) before = &*found;
    }
    for (const Target& target : upstream.targets) controls.targets.push_back({target.authority, target.weight});

    controls.balancer.strategy = strategy_of(spec.balancer.strategy);
    controls.balancer.latency_decay = spec.balancer.latency_decay;
    controls.hash_on = spec.balancer.hash_on;
    if (controls.balancer.strategy == Strategy::kConsistentHash && !controls.targets.empty()) {
      controls.maglev = before != nullptr && before->maglev ? before->maglev
                                                             : std::make_shared<const MaglevTable>(controls.targets);
    }

    const config::CircuitBreakerSpec& breaker = spec.circuit_breaker;
    if (breaker.enabled) {
      CircuitBreakerOptions options;
      options.failure_threshold_percent = breaker.failure_threshold;
      options.minimum_requests = breaker.minimum_requests;
      options.window = breaker.window;
      options.open_duration = breaker.open_duration;
      options.half_open_requests = breaker.half_open_requests;
      options.probe_timeout = std::max(spec.timeout, breaker.open_duration);  // a probe may take a response timeout
      controls.breaker = before != nullptr && before->breaker ? before->breaker : std::make_shared<CircuitBreaker>(options);
      controls.breaker_fail_on = breaker.fail_on;
    }

    const config::OutlierDetectionSpec& outliers = spec.outlier_detection;
    if (outliers.enabled) {
      OutlierDetectorOptions options;
      options.consecutive_failures = outliers.consecutive_failures;
      options.base_ejection_time = outliers.base_ejection_time;
      options.max_ejection_time = outliers.max_ejection_time;
      options.max_ejection_percent = outliers.max_ejection_percent;
      controls.outliers = before != nullptr && before->outliers
                              ? before->outliers
                              : std::make_shared<OutlierDetector>(upstream.targets.size(), options);
    }

    if (spec.health_check) {
      HealthTrackerOptions options;
      options.healthy_threshold = spec.health_check->healthy_threshold;
      options.unhealthy_threshold = spec.health_check->unhealthy_threshold;
      controls.health = before != nullptr && before->health
                            ? before->health
                            : std::make_shared<HealthTracker>(upstream.targets.size(), options);
    }

    if (spec.retry.attempts > 0) {
      RetryPolicy::Options options;
      options.retry_on = retry_on_of(spec.retry.on);
      options.max_attempts = spec.retry.attempts + 1;
      controls.retry.emplace(options);
      options.retry_non_idempotent = true;
      controls.retry_unsafe.emplace(options);
      RetryBudget::Options budget;
      budget.window = spec.retry.budget.window;
      budget.ratio = spec.retry.budget.ratio;
      budget.min_retries_per_window = spec.retry.budget.min_retries;
      controls.retry_budget = before != nullptr && before->retry_budget ? before->retry_budget
                                                                         : std::make_shared<RetryBudget>(budget);
      controls.backoff.base = spec.retry.backoff.base;
      controls.backoff.max = spec.retry.backoff.max;
    }

    if (spec.concurrency != config::ConcurrencyLimit::kUnlimited) {
      ConcurrencyLimiter::Options options;
      options.mode = spec.concurrency == config::ConcurrencyLimit::kAuto ? ConcurrencyLimiter::Mode::kAdaptive
                                                                         : ConcurrencyLimiter::Mode::kFixed;
      options.fixed_limit = spec.max_concurrent;
      options.max_queue = spec.queue.size;
      // The in-flight count must survive a reload, but only a limiter built from the same settings
      // may be kept.
      const bool same = before != nullptr && before->concurrency && before->concurrency->mode() == options.mode &&
                        before->concurrency->max_queue() == options.max_queue &&
                        (options.mode == ConcurrencyLimiter::Mode::kAdaptive ||
                         before->concurrency->limit() == options.fixed_limit);
      controls.concurrency = same ? before->concurrency : std::make_shared<ConcurrencyLimiter>(options);
      controls.queue_timeout = spec.queue.timeout;
    }
  }
  return all;
}

}  // namespace flexgate::upstream
