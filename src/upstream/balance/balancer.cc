#include "upstream/balance/balancer.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace flexgate::upstream {
namespace {

// Weighted draws over all targets tried before counting the usable ones (see draw()).
constexpr int kFastDraws = 4;
// latency: the cost of a target of unknown latency that already has a request in flight (ns;
// above any real cost, and finite so in-flight counts still order such targets).
constexpr double kUnknownLatencyPenalty = 1e18;

}  // namespace

Balancer::Balancer(std::span<const WeightedTarget> targets, const BalancerOptions& options,
                   std::shared_ptr<const MaglevTable> table)
    : strategy_(options.strategy), random_(options.seed), table_(std::move(table)) {
  targets_.reserve(targets.size());
  cumulative_weight_.reserve(targets.size());
  std::uint64_t total = 0;
  for (const WeightedTarget& target : targets) {
    assert(target.weight >= 1);
    const std::uint32_t weight = std::max<std::uint32_t>(target.weight, 1);
    targets_.push_back(TargetState{weight, 0, 0, PeakEwma(options.latency_decay, options.initial_latency)});
    total += weight;
    cumulative_weight_.push_back(total);
  }
  if (strategy_ == Strategy::kConsistentHash && table_ == nullptr) {
    table_ = std::make_shared<const MaglevTable>(targets, options.hash_table_size);
  }
  assert(table_ == nullptr || table_->target_count() == targets_.size());
}

int Balancer::pick(const TargetMask& available, TimePoint now, std::uint64_t key_hash) {
  assert(available.size() == targets_.size());
  // One target (the usual upstream): nothing to choose, and no random draws to spend on it.
  if (targets_.size() == 1) return available.test(0) ? 0 : kNone;
  switch (strategy_) {
    case Strategy::kRoundRobin:
      return pick_round_robin(available);
    case Strategy::kLeastRequest:
      return pick_least_request(available);
    case Strategy::kLatency:
      return pick_latency(available, now);
    case Strategy::kConsistentHash:
      return table_->pick(key_hash, available);
  }
  assert(false && "unknown strategy");
  return kNone;
}

int Balancer::pick_round_robin(const TargetMask& available) {
  int best = kNone;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (!available.test(i)) continue;  // an unusable target's value waits unchanged
    TargetState& target = targets_[i];
    target.current_weight += target.weight;
    total += target.weight;
    if (best == kNone || target.current_weight > targets_[best].current_weight) best = static_cast<int>(i);
  }
  if (best != kNone) targets_[best].current_weight -= total;
  return best;
}

int Balancer::pick_least_request(const TargetMask& available) {
  const int first = draw(available, kNone);
  if (first == kNone) return kNone;
  const int second = draw(available, first);
  if (second == kNone) return first;
  // in_flight / weight, compared exactly: a/wa < b/wb  <=>  a*wb < b*wa.
  const TargetState& a = targets_[first];
  const TargetState& b = targets_[second];
  const std::uint64_t a_load = std::uint64_t{a.in_flight} * b.weight;
  const std::uint64_t b_load = std::uint64_t{b.in_flight} * a.weight;
  return b_load < a_load ? second : first;
}

double Balancer::latency_cost(const TargetState& target, TimePoint now) const {
  const double estimate = target.latency.estimate_ns(now);
  if (!target.latency.has_sample() && estimate <= 0 && target.in_flight > 0) {
    return kUnknownLatencyPenalty + target.in_flight;
  }
  return estimate * (target.in_flight + 1.0);
}

int Balancer::pick_latency(const TargetMask& available, TimePoint now) {
  const int first = draw(available, kNone);
  if (first == kNone) return kNone;
  const int second = draw(available, first);
  if (second == kNone) return first;
  const TargetState& a = targets_[first];
  const TargetState& b = targets_[second];
  // cost / weight, compared without dividing; a tie goes to the first (weighted) draw.
  return latency_cost(b, now) * a.weight < latency_cost(a, now) * b.weight ? second : first;
}

int Balancer::draw(const TargetMask& available, int exclude) {
  if (targets_.empty()) return kNone;
  // Fast path: a weighted draw over all targets, kept if usable (most targets usually are).
  // Rejection keeps the draw exactly proportional to weight among the usable targets.
  for (int attempt = 0; attempt < kFastDraws; ++attempt) {
    const std::uint64_t point = random_.below(cumulative_weight_.back());
    const auto found = std::upper_bound(cumulative_weight_.begin(), cumulative_weight_.end(), point);
    const int target = static_cast<int>(found - cumulative_weight_.begin());
    if (target != exclude && available.test(static_cast<std::size_t>(target))) return target;
  }
  // Slow path (few usable targets): one exact weighted draw among the usable ones.
  auto usable = [&](std::size_t i) { return static_cast<int>(i) != exclude && available.test(i); };
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (usable(i)) total += targets_[i].weight;
  }
  if (total == 0) return kNone;
  std::uint64_t point = random_.below(total);
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (!usable(i)) continue;
    if (point < targets_[i].weight) return static_cast<int>(i);
    point -= targets_[i].weight;
  }
  assert(false && "weighted draw ran past the usable weight");
  return kNone;
}

void Balancer::on_request_start(int target) {
  assert(valid(target));
  if (!valid(target)) return;
  ++targets_[target].in_flight;
}

void Balancer::on_request_end(int target, std::chrono::nanoseconds latency, TimePoint now) {
  on_request_abandoned(target);
  if (!valid(target) || strategy_ != Strategy::kLatency || targets_.size() < 2) return;
  targets_[target].latency.observe(latency, now);
}

void Balancer::on_request_abandoned(int target) {
  assert(valid(target));
  if (!valid(target)) return;
  TargetState& state = targets_[target];
  assert(state.in_flight > 0 && "request end without start");
  if (state.in_flight > 0) --state.in_flight;  // never wraps in release
}

std::uint32_t Balancer::in_flight(int target) const {
  assert(valid(target));
  return valid(target) ? targets_[target].in_flight : 0;
}

double Balancer::latency_estimate_ns(int target, TimePoint now) const {
  assert(valid(target));
  return valid(target) ? targets_[target].latency.estimate_ns(now) : 0.0;
}

}  // namespace flexgate::upstream
