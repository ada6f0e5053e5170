#pragma once
// Target selection for one upstream, sans I/O: the caller says which targets are usable, reports
// when requests start and end, and passes the time; the balancer only decides.
//
// Strategies (see strategy.h):
//  - round_robin: nginx's smooth weighted round robin. Each pick, every usable target's current
//    value grows by its weight; the largest wins and is lowered by the sum of those weights.
//    Weights 5,1,1 give a a b a c a a.
//  - least_request: power of two choices (Mitzenmacher). Two distinct usable targets are drawn
//    at random by weight; the one with fewer in-flight requests per weight wins; on a tie the
//    first draw wins, so idle targets share traffic exactly by weight.
//  - latency: power of two choices on cost = peak-EWMA latency x (in-flight + 1), per weight
//    (Finagle / Linkerd). A target with no sample yet costs `initial_latency`; when that is 0
//    (unknown) it costs nothing while idle and a large penalty while it has a request in flight,
//    so a new target gets one request at a time until it answers.
//  - consistent_hash: the Maglev table (maglev.h) looked up with the caller's key hash.
//
// Use, per worker and upstream (the table is built once per snapshot and shared):
//   Balancer balancer(targets, {.strategy = s, .seed = worker_seed}, table);
//   TargetMask usable = healthy;  // per attempt: clear targets already tried
//   const int target = balancer.pick(usable, now, stable_hash(client_address));
//   if (target == Balancer::kNone) { /* 503: no usable target */ }
//   balancer.on_request_start(target);
//   ...
//   balancer.on_request_end(target, response_head_at - sent_at, response_head_at);

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "upstream/balance/maglev.h"
#include "upstream/balance/peak_ewma.h"
#include "upstream/balance/random.h"
#include "upstream/balance/strategy.h"
#include "upstream/balance/target_mask.h"
#include "upstream/balance/weighted_target.h"

namespace flexgate::upstream {

// Tuning of one Balancer (plain values; the config module maps its schema onto them).
struct BalancerOptions {
  Strategy strategy = kDefaultStrategy;
  // PRNG seed. Give each worker a different one, or workers make the same choices in step.
  std::uint64_t seed = 0;
  // latency: the peak-EWMA time constant tau (how fast a past latency is forgotten).
  std::chrono::nanoseconds latency_decay = std::chrono::seconds(10);
  // latency: the estimate of a target before its first response; 0 = unknown (see above).
  std::chrono::nanoseconds initial_latency{0};
  // consistent_hash: slots of the table the Balancer builds when not given one (prime).
  std::uint32_t hash_table_size = MaglevTable::kDefaultSize;
};

// Picks targets of one upstream for one worker thread, for one config snapshot. Not thread-safe:
// one per worker per upstream. Owns the per-target in-flight counts and latency estimates.
class Balancer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr int kNone = -1;

  // `targets` is copied (identities only while building a Maglev table). For consistent_hash,
  // pass the snapshot's shared `table` (built from the same targets in the same order); without
  // one the Balancer builds its own. `table` is ignored by the other strategies.
  Balancer(std::span<const WeightedTarget> targets, const BalancerOptions& options,
           std::shared_ptr<const MaglevTable> table = nullptr);

  // The target for the next request, or kNone when `available` has no usable target.
  // `available.size()` must be target_count(). `now` is read by latency only, `key_hash` by
  // consistent_hash only (stable_hash() of the header, cookie or client address). Never allocates.
  // For a retry, clear the targets already tried in `available`.
  int pick(const TargetMask& available, TimePoint now, std::uint64_t key_hash = 0);

  // A request was sent to `target` (call for every strategy: in-flight counts are shared state).
  void on_request_start(int target);
  // The request to `target` ended after `latency` (time to the response head, or to the failure;
  // a fast failure looks fast, outlier ejection handles those), measured at `now`.
  void on_request_end(int target, std::chrono::nanoseconds latency, TimePoint now);
  // The request to `target` ended without a meaningful latency (e.g. the client went away).
  void on_request_abandoned(int target);

  Strategy strategy() const { return strategy_; }
  std::size_t target_count() const { return targets_.size(); }
  std::uint32_t in_flight(int target) const;
  // The latency estimate of `target` at `now` in nanoseconds (see PeakEwma), for tests. Kept only
  // where picks read it, the latency strategy over two or more targets (0 otherwise): an estimate
  // costs an exp() per request.
  double latency_estimate_ns(int target, TimePoint now) const;

 private:
  struct TargetState {
    std::uint32_t weight = 1;
    std::uint32_t in_flight = 0;
    std::int64_t current_weight = 0;  // round_robin
    PeakEwma latency;
  };

  int pick_round_robin(const TargetMask& available);
  int pick_least_request(const TargetMask& available);
  int pick_latency(const TargetMask& available, TimePoint now);
  // A random usable target other than `exclude`, drawn with probability proportional to weight;
  // kNone when there is none.
  int draw(const TargetMask& available, int exclude);
  double latency_cost(const TargetState& target, TimePoint now) const;
  bool valid(int target) const { return target >= 0 && static_cast<std::size_t>(target) < targets_.size(); }

  Strategy strategy_;
  std::vector<TargetState> targets_;
  std::vector<std::uint64_t> cumulative_weight_;  // cumulative_weight_[i] = weights of 0..i
  SplitMix64 random_;
  std::shared_ptr<const MaglevTable> table_;
};

}  // namespace flexgate::upstream
