#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <queue>
#include <vector>

#include "upstream/balance/balancer.h"
#include "upstream/balance/peak_ewma.h"

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const Clock::time_point t0 = Clock::time_point{} + 1000h;

TEST(PeakEwma, InitialEstimateUntilTheFirstSample) {
  PeakEwma ewma(10s, 5ms);
  EXPECT_FALSE(ewma.has_sample());
  EXPECT_DOUBLE_EQ(ewma.estimate_ns(t0), 5e6);
  EXPECT_DOUBLE_EQ(ewma.estimate_ns(t0 + 1h), 5e6) << "no decay without a sample";
  ewma.observe(1ms, t0);
  EXPECT_TRUE(ewma.has_sample());
  EXPECT_DOUBLE_EQ(ewma.estimate_ns(t0), 1e6) << "the first sample replaces the initial value";
}

TEST(PeakEwma, JumpsToAHigherSampleAtOnce) {
  PeakEwma ewma(10s);
  ewma.observe(10ms, t0);
  ewma.observe(100ms, t0 + 1ms);
  EXPECT_DOUBLE_EQ(ewma.estimate_ns(t0 + 1ms), 100e6);
}

TEST(PeakEwma, MovesTowardsALowerSampleByElapsedTime) {
  PeakEwma ewma(10s);
  ewma.observe(100ms, t0);
  ewma.observe(10ms, t0 + 10s);  // weight of the old estimate: exp(-1)
  EXPECT_NEAR(ewma.estimate_ns(t0 + 10s), 100e6 * std::exp(-1.0) + 10e6 * (1 - std::exp(-1.0)), 1);

  PeakEwma soon(10s);
  soon.observe(100ms, t0);
  soon.observe(10ms, t0 + 100ms);  // barely any time: the estimate barely moves
  EXPECT_GT(soon.estimate_ns(t0 + 100ms), 98e6);
}

TEST(PeakEwma, DecaysTowardsZeroWithoutSamples) {
  PeakEwma ewma(10s);
  ewma.observe(100ms, t0);
  EXPECT_NEAR(ewma.estimate_ns(t0 + 10s), 100e6 * std::exp(-1.0), 1);
  EXPECT_NEAR(ewma.estimate_ns(t0 + 30s), 100e6 * std::exp(-3.0), 1);
  EXPECT_DOUBLE_EQ(ewma.estimate_ns(t0 - 1s), 100e6) << "an earlier `now` counts as no time";
}

// Drives a Balancer as a worker would, on a fake clock: one request arrives every millisecond,
// is sent to the picked target and completes after that target's current latency; completions are
// fed back in time order.
class Simulation {
 public:
  Simulation(Balancer& balancer, std::vector<Clock::duration> latencies)
      : balancer_(balancer), latencies_(std::move(latencies)) {}

  void set_latency(int target, Clock::duration latency) { latencies_[target] = latency; }

  // Sends `requests` requests; returns how many each target got.
  std::vector<int> run(int requests) {
    std::vector<int> picks(latencies_.size(), 0);
    const TargetMask all(latencies_.size());
    for (int i = 0; i < requests; ++i) {
      now_ += 1ms;
      while (!pending_.empty() && pending_.top().done <= now_) {
        const Request request = pending_.top();
        pending_.pop();
        balancer_.on_request_end(request.target, request.done - request.sent, request.done);
      }
      const int target = balancer_.pick(all, now_);
      EXPECT_GE(target, 0);
      if (target < 0) continue;
      ++picks[target];
      balancer_.on_request_start(target);
      pending_.push(Request{target, now_, now_ + latencies_[target]});
    }
    return picks;
  }

  Clock::time_point now() const { return now_; }

 private:
  struct Request {
    int target;
    Clock::time_point sent;
    Clock::time_point done;
    bool operator>(const Request& other) const { return done > other.done; }
  };

  Balancer& balancer_;
  std::vector<Clock::duration> latencies_;
  Clock::time_point now_ = t0;
  std::priority_queue<Request, std::vector<Request>, std::greater<>> pending_;
};

double share(const std::vector<int>& picks, int target) {
  int total = 0;
  for (int p : picks) total += p;
  return static_cast<double>(picks[target]) / total;
}

Balancer latency_balancer(std::size_t count, std::uint64_t seed = 3) {
  std::vector<WeightedTarget> targets(count, WeightedTarget{"t", 1});
  return Balancer(targets, BalancerOptions{.strategy = Strategy::kLatency, .seed = seed});
}

TEST(LatencyBalancer, RoutesAwayFromASlowTargetAndBackWhenItRecovers) {
  Balancer balancer = latency_balancer(3);
  Simulation sim(balancer, {10ms, 10ms, 10ms});
  const std::vector<int> warm = sim.run(5000);
  for (int target = 0; target < 3; ++target) EXPECT_NEAR(share(warm, target), 1.0 / 3, 0.1) << target;

  // Target 0 becomes 10x slower. Its first slow answer arrives 100 requests later and sets its
  // estimate at once (peak): it keeps a small part of the traffic before, almost none after.
  sim.set_latency(0, 100ms);
  const std::vector<int> reacting = sim.run(200);
  EXPECT_LT(share(reacting, 0), 0.15);
  const std::vector<int> slow = sim.run(3000);
  EXPECT_LT(share(slow, 0), 0.02);

  // Fast again: its estimate decays, a probe comes back fast, and its share returns over a few
  // decay constants (tau = 10 s).
  sim.set_latency(0, 10ms);
  sim.run(10000);
  const std::vector<int> returning = sim.run(5000);
  EXPECT_GT(share(returning, 0), 0.05);
  sim.run(30000);
  const std::vector<int> recovered = sim.run(5000);
  EXPECT_GT(share(recovered, 0), 0.25);
}

TEST(LatencyBalancer, PrefersTheFasterOfTwoUnderLoad) {
  Balancer balancer = latency_balancer(2);
  Simulation sim(balancer, {5ms, 20ms});
  sim.run(2000);
  const std::vector<int> picks = sim.run(10000);
  EXPECT_GT(share(picks, 0), 0.7);
  EXPECT_GT(share(picks, 1), 0.0) << "the slower target still serves some load";
}

TEST(LatencyBalancer, NewTargetGetsOneRequestAtATimeUntilItAnswers) {
  Balancer balancer = latency_balancer(2);
  const TargetMask all(2);
  balancer.on_request_start(0);
  balancer.on_request_end(0, 10ms, t0);
  // Target 1 has no sample: free while idle, so it gets the next request...
  EXPECT_EQ(balancer.pick(all, t0), 1);
  balancer.on_request_start(1);
  // ...and nothing more while that one is in flight, even with target 0 busy.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(balancer.pick(all, t0), 0);
    balancer.on_request_start(0);
  }
  balancer.on_request_end(1, 1ms, t0 + 1ms);
  EXPECT_EQ(balancer.pick(all, t0 + 1ms), 1) << "answered fast and idle: preferred";
}

TEST(LatencyBalancer, InitialLatencyIsTheEstimateBeforeAnySample) {
  const std::vector<WeightedTarget> targets{{"a", 1}, {"b", 1}};
  Balancer balancer(targets, BalancerOptions{.strategy = Strategy::kLatency, .initial_latency = 50ms});
  balancer.on_request_start(0);
  balancer.on_request_end(0, 10ms, t0);
  EXPECT_DOUBLE_EQ(balancer.latency_estimate_ns(1, t0), 50e6);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(balancer.pick(TargetMask(2), t0), 0);
}

TEST(LatencyBalancer, CostIsPerWeight) {
  // Same latency, b has 3x the weight: idle, traffic follows weights; b wins ties of cost / weight.
  const std::vector<WeightedTarget> targets{{"a", 1}, {"b", 3}};
  Balancer balancer(targets, BalancerOptions{.strategy = Strategy::kLatency, .seed = 5});
  for (int target : {0, 1}) {
    balancer.on_request_start(target);
    balancer.on_request_end(target, 10ms, t0);
  }
  // a idle (cost 10ms / 1), b with 2 in flight (30ms / 3): equal, so the first draw wins.
  balancer.on_request_start(1);
  balancer.on_request_start(1);
  int picks[2] = {0, 0};
  for (int i = 0; i < 40000; ++i) ++picks[balancer.pick(TargetMask(2), t0)];
  EXPECT_NEAR(picks[1], 30000, 600);
  // b with 3 in flight (40ms / 3 > 10ms): a wins every time.
  balancer.on_request_start(1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(balancer.pick(TargetMask(2), t0), 0);
}

TEST(LatencyBalancer, SkipsUnavailableAndNoneWhenNothingIsAvailable) {
  Balancer balancer = latency_balancer(3);
  TargetMask available(3, false);
  EXPECT_EQ(balancer.pick(available, t0), Balancer::kNone);
  available.set(2);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(balancer.pick(available, t0), 2);
}

TEST(LeastRequestBalancer, SlowTargetGetsLessTrafficThroughItsInFlightCount) {
  std::vector<WeightedTarget> targets(3, WeightedTarget{"t", 1});
  Balancer balancer(targets, BalancerOptions{.strategy = Strategy::kLeastRequest, .seed = 9});
  Simulation sim(balancer, {100ms, 10ms, 10ms});
  sim.run(1000);
  const std::vector<int> picks = sim.run(10000);
  EXPECT_LT(share(picks, 0), 0.15);
}

}  // namespace
}  // namespace flexgate::upstream
