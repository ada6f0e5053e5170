#include "upstream/concurrency/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Mode = ConcurrencyLimiter::Mode;

const Clock::time_point t0 = Clock::time_point{} + 1000h;

ConcurrencyLimiter::Options fixed(std::uint32_t limit, std::uint32_t max_queue = 0) {
  ConcurrencyLimiter::Options options;
  options.mode = Mode::kFixed;
  options.fixed_limit = limit;
  options.max_queue = max_queue;
  return options;
}

ConcurrencyLimiter::Options adaptive(std::uint32_t initial, std::uint32_t min, std::uint32_t max) {
  ConcurrencyLimiter::Options options;
  options.mode = Mode::kAdaptive;
  options.adaptive.initial_limit = initial;
  options.adaptive.min_limit = min;
  options.adaptive.max_limit = max;
  return options;
}

// Acquires tickets until refused: a saturated upstream.
void saturate(ConcurrencyLimiter& limiter, std::vector<ConcurrencyLimiter::Ticket>& tickets) {
  while (true) {
    ConcurrencyLimiter::Ticket ticket = limiter.try_acquire();
    if (!ticket) return;
    tickets.push_back(std::move(ticket));
  }
}

TEST(ConcurrencyLimiter, FixedLimitIsExact) {
  ConcurrencyLimiter limiter(fixed(3));
  EXPECT_EQ(limiter.mode(), Mode::kFixed);
  std::vector<ConcurrencyLimiter::Ticket> tickets;
  saturate(limiter, tickets);
  EXPECT_EQ(tickets.size(), 3u);
  EXPECT_EQ(limiter.in_flight(), 3u);
  EXPECT_EQ(limiter.rejected(), 1u);
  EXPECT_FALSE(limiter.try_acquire());
  EXPECT_EQ(limiter.rejected(), 2u);

  tickets.pop_back();  // released on destruction
  EXPECT_EQ(limiter.in_flight(), 2u);
  tickets.push_back(limiter.try_acquire());
  EXPECT_TRUE(tickets.back());
  // Samples do not move a fixed limit.
  for (int i = 0; i < 50; ++i) limiter.on_sample(10s, true, t0 + i * 1s);
  EXPECT_EQ(limiter.limit(), 3u);
  tickets.clear();
  EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(ConcurrencyLimiter, FixedZeroIsUnlimited) {
  ConcurrencyLimiter limiter(fixed(0));
  std::vector<ConcurrencyLimiter::Ticket> tickets;
  for (int i = 0; i < 5000; ++i) {
    tickets.push_back(limiter.try_acquire());
    ASSERT_TRUE(tickets.back()) << i;
  }
  EXPECT_EQ(limiter.rejected(), 0u);
}

TEST(ConcurrencyLimiter, TicketsMoveAndReleaseOnce) {
  ConcurrencyLimiter limiter(fixed(2));
  ConcurrencyLimiter::Ticket a = limiter.try_acquire();
  ConcurrencyLimiter::Ticket b(std::move(a));
  EXPECT_FALSE(a.held());  // NOLINT(bugprone-use-after-move): a moved-from ticket holds nothing
  EXPECT_TRUE(b.held());
  EXPECT_EQ(limiter.in_flight(), 1u);
  ConcurrencyLimiter::Ticket c = limiter.try_acquire();
  c = std::move(b);  // c's own unit goes back
  EXPECT_EQ(limiter.in_flight(), 1u);
  c.release();
  c.release();
  EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(ConcurrencyLimiter, WaitQueueIsBounded) {
  ConcurrencyLimiter limiter(fixed(1, 2));
  ConcurrencyLimiter::Ticket running = limiter.try_acquire();
  ASSERT_TRUE(running);
  // Over the limit: the caller asks for a wait slot instead of failing.
  ASSERT_FALSE(limiter.try_acquire());
  ConcurrencyLimiter::QueueSlot first = limiter.try_enter_queue();
  ConcurrencyLimiter::QueueSlot second = limiter.try_enter_queue();
  ConcurrencyLimiter::QueueSlot third = limiter.try_enter_queue();
  EXPECT_TRUE(first && second);
  EXPECT_FALSE(third);  // reject now
  EXPECT_EQ(limiter.queued(), 2u);
  EXPECT_EQ(limiter.max_queue(), 2u);
  EXPECT_EQ(limiter.queue_rejected(), 1u);

  // The running request finishes; the first waiter takes its place and leaves the queue.
  running.release();
  ConcurrencyLimiter::Ticket promoted = limiter.try_acquire();
  EXPECT_TRUE(promoted);
  first.release();
  EXPECT_EQ(limiter.queued(), 1u);
  EXPECT_TRUE(limiter.try_enter_queue());    // a slot is free again (and released at once)
  second = ConcurrencyLimiter::QueueSlot();  // a waiter that timed out
  EXPECT_EQ(limiter.queued(), 0u);
}

TEST(ConcurrencyLimiter, NoQueueMeansRejectAtOnce) {
  ConcurrencyLimiter limiter(fixed(1));
  EXPECT_FALSE(limiter.try_enter_queue());
  EXPECT_EQ(limiter.queue_rejected(), 1u);
}

TEST(ConcurrencyLimiter, AdaptiveLimitFollowsLatency) {
  ConcurrencyLimiter limiter(adaptive(10, 2, 50));
  EXPECT_EQ(limiter.mode(), Mode::kAdaptive);
  EXPECT_EQ(limiter.limit(), 10u);
  std::vector<ConcurrencyLimiter::Ticket> tickets;
  Clock::time_point now = t0;
  // A saturated upstream answering in 10ms: every slot is used before each sample.
  auto run = [&](int samples, Clock::duration latency) {
    for (int i = 0; i < samples; ++i) {
      saturate(limiter, tickets);
      limiter.on_sample(latency, false, now);
      if (!tickets.empty()) tickets.pop_back();  // the sampled request completes
      now += 1ms;
    }
  };
  run(200, 10ms);
  EXPECT_EQ(limiter.limit(), 50u);
  run(30, 60ms);
  EXPECT_LT(limiter.limit(), 15u);
  EXPECT_GE(limiter.limit(), 2u);
  run(300, 10ms);
  EXPECT_EQ(limiter.limit(), 50u);
}

TEST(ConcurrencyLimiter, ShrunkLimitAdmitsNothingUntilDrained) {
  ConcurrencyLimiter limiter(adaptive(20, 2, 100));
  std::vector<ConcurrencyLimiter::Ticket> tickets;
  saturate(limiter, tickets);
  ASSERT_EQ(tickets.size(), 20u);
  limiter.on_sample(0ns, true, t0);  // a timeout: 20 -> 18
  EXPECT_EQ(limiter.limit(), 18u);
  EXPECT_FALSE(limiter.try_acquire());
  tickets.resize(18);
  EXPECT_FALSE(limiter.try_acquire());
  tickets.resize(17);
  EXPECT_TRUE(limiter.try_acquire());
}

// Workers acquiring, sampling and releasing at once: never more in flight than the limit allows
// (the fixed limit exactly; the adaptive one within its bounds), and every unit comes back.
void hammer(ConcurrencyLimiter& limiter, std::uint32_t most_allowed) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10000;
  std::atomic<std::uint32_t> held{0};
  std::atomic<std::uint32_t> most_held{0};
  std::atomic<std::uint32_t> queue_held{0};
  std::atomic<std::uint32_t> most_queued{0};
  auto note_max = [](std::atomic<std::uint32_t>& most, std::uint32_t value) {
    std::uint32_t seen = most.load();
    while (value > seen && !most.compare_exchange_weak(seen, value)) {
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<ConcurrencyLimiter::Ticket> mine;
      for (int i = 0; i < kRounds; ++i) {
        ConcurrencyLimiter::Ticket ticket = limiter.try_acquire();
        if (ticket) {
          note_max(most_held, held.fetch_add(1) + 1);
          mine.push_back(std::move(ticket));
        } else if (ConcurrencyLimiter::QueueSlot slot = limiter.try_enter_queue()) {
          note_max(most_queued, queue_held.fetch_add(1) + 1);
          queue_held.fetch_sub(1);
        }
        if (mine.size() >= 6 || (i % 3 == 0 && !mine.empty())) {
          // Latency rises with the load, and some requests time out.
          limiter.on_sample(std::chrono::milliseconds(5 + limiter.in_flight()), (i + t) % 50 == 0,
                            t0 + std::chrono::milliseconds(i));
          held.fetch_sub(1);
          mine.pop_back();
        }
      }
      held.fetch_sub(static_cast<std::uint32_t>(mine.size()));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(most_held.load(), most_allowed);
  EXPECT_LE(most_queued.load(), limiter.max_queue());
  EXPECT_EQ(limiter.in_flight(), 0u);
  EXPECT_EQ(limiter.queued(), 0u);
}

TEST(ConcurrencyLimiter, ConcurrentFixedLimitNeverOvershoots) {
  ConcurrencyLimiter limiter(fixed(16, 4));
  hammer(limiter, 16);
}

TEST(ConcurrencyLimiter, ConcurrentAdaptiveLimitStaysInBounds) {
  ConcurrencyLimiter limiter(adaptive(16, 4, 32));
  hammer(limiter, 32);
  EXPECT_GE(limiter.limit(), 4u);
  EXPECT_LE(limiter.limit(), 32u);
}

}  // namespace
}  // namespace flexgate::upstream
