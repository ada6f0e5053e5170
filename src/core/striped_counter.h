#pragma once
// A counter that many threads add to and few read (a metric counted on the data path): each
// thread adds to a cache line of its own, so adding never moves a line between cores; reading
// sums the stripes.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace flexgate {

class StripedCounter {
 public:
  static constexpr std::size_t kStripes = 16;

  void add(std::uint64_t n = 1) { stripes_[stripe_of_this_thread()].value.fetch_add(n, std::memory_order_relaxed); }

  // The sum of every thread's additions so far (relaxed: a metric, not a synchronisation point).
  std::uint64_t load() const {
    std::uint64_t total = 0;
    for (const Stripe& stripe : stripes_) total += stripe.value.load(std::memory_order_relaxed);
    return total;
  }

  // The stripe this thread adds to: threads take stripes in turn as they first add to any counter,
  // so up to kStripes threads (the workers, a handful of others) never share one.
  static std::size_t stripe_of_this_thread() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Stripe, kStripes> stripes_{};
};

}  // namespace flexgate
