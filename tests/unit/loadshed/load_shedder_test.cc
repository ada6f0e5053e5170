#include "policy/loadshed/load_shedder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace flexgate::policy {
namespace {

using namespace std::chrono_literals;

LoadShedder::Options limits(std::uint64_t max_in_flight, std::uint64_t max_connections = 0) {
  LoadShedder::Options options;
  options.max_in_flight = max_in_flight;
  options.max_connections = max_connections;
  return options;
}

// Admits `priority` until refused; returns the tickets and leaves the refusal in `refusal`.
std::vector<LoadShedder::Ticket> admit_all(LoadShedder& shedder, Priority priority,
                                           LoadShedder::Ticket& refusal) {
  std::vector<LoadShedder::Ticket> tickets;
  while (true) {
    LoadShedder::Ticket ticket = shedder.admit(priority);
    if (!ticket) {
      refusal = std::move(ticket);
      return tickets;
    }
    tickets.push_back(std::move(ticket));
  }
}

TEST(Priority, ParsesTheThreeWords) {
  std::string error;
  EXPECT_EQ(parse_priority("critical", error), Priority::kCritical);
  EXPECT_EQ(parse_priority("normal", error), Priority::kNormal);
  EXPECT_EQ(parse_priority("low", error), Priority::kLow);
  EXPECT_EQ(kDefaultPriority, Priority::kNormal);
  EXPECT_FALSE(parse_priority("high", error).has_value());
  EXPECT_EQ(error, "unknown priority \"high\" (expected critical, normal or low)");
  EXPECT_FALSE(parse_priority("", error).has_value());
  EXPECT_FALSE(parse_priority("Low", error).has_value());
  for (Priority p : {Priority::kCritical, Priority::kNormal, Priority::kLow}) {
    EXPECT_EQ(parse_priority(to_string(p), error), p);
  }
}

TEST(LoadShedder, ShedsLowFirstThenNormalThenCritical) {
  LoadShedder shedder(limits(100));  // low at 70, normal at 85, critical at 100
  LoadShedder::Ticket refusal;

  auto low = admit_all(shedder, Priority::kLow, refusal);
  EXPECT_EQ(low.size(), 70u);
  EXPECT_EQ(refusal.reason(), ShedReason::kLowThreshold);
  EXPECT_EQ(refusal.retry_after(), 1s);

  auto normal = admit_all(shedder, Priority::kNormal, refusal);
  EXPECT_EQ(normal.size(), 15u);
  EXPECT_EQ(refusal.reason(), ShedReason::kNormalThreshold);
  EXPECT_FALSE(shedder.admit(Priority::kLow));

  auto critical = admit_all(shedder, Priority::kCritical, refusal);
  EXPECT_EQ(critical.size(), 15u);
  EXPECT_EQ(refusal.reason(), ShedReason::kHardLimit);
  EXPECT_EQ(shedder.in_flight(), 100u);

  // At the hard limit every priority is refused for the hard limit.
  EXPECT_EQ(shedder.admit(Priority::kLow).reason(), ShedReason::kHardLimit);
  EXPECT_EQ(shedder.admit(Priority::kNormal).reason(), ShedReason::kHardLimit);
  EXPECT_EQ(shedder.shed(Priority::kLow), 3u);
  EXPECT_EQ(shedder.shed(Priority::kNormal), 2u);
  EXPECT_EQ(shedder.shed(Priority::kCritical), 1u);
}

TEST(LoadShedder, ReleasingATicketAdmitsAgain) {
  LoadShedder shedder(limits(2));
  LoadShedder::Ticket a = shedder.admit(Priority::kCritical);
  LoadShedder::Ticket b = shedder.admit(Priority::kCritical);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(shedder.admit(Priority::kCritical));
  a.release();
  a.release();  // idempotent
  EXPECT_EQ(shedder.in_flight(), 1u);
  {
    LoadShedder::Ticket c = shedder.admit(Priority::kCritical);
    EXPECT_TRUE(c.admitted());
    EXPECT_EQ(c.reason(), ShedReason::kNone);
    EXPECT_EQ(c.retry_after(), 0s);
  }  // destroyed: released
  EXPECT_EQ(shedder.in_flight(), 1u);
}

TEST(LoadShedder, TicketsMove) {
  LoadShedder shedder(limits(3));
  LoadShedder::Ticket a = shedder.admit(Priority::kCritical);
  LoadShedder::Ticket moved(std::move(a));
  EXPECT_FALSE(a.admitted());  // NOLINT(bugprone-use-after-move): a moved-from ticket holds nothing
  EXPECT_TRUE(moved.admitted());
  EXPECT_EQ(shedder.in_flight(), 1u);

  LoadShedder::Ticket b = shedder.admit(Priority::kCritical);
  EXPECT_EQ(shedder.in_flight(), 2u);
  b = std::move(moved);  // b's own slot is released, moved's is taken over
  EXPECT_EQ(shedder.in_flight(), 1u);
  EXPECT_TRUE(b.admitted());
  b = LoadShedder::Ticket();
  EXPECT_EQ(shedder.in_flight(), 0u);
}

TEST(LoadShedder, ThresholdsRoundDownExactly) {
  LoadShedder shedder(limits(10));  // 0.7 * 10 = 7 and 0.85 * 10 = 8.5 -> 8
  LoadShedder::Ticket refusal;
  EXPECT_EQ(admit_all(shedder, Priority::kLow, refusal).size(), 7u);
  LoadShedder other(limits(10));
  EXPECT_EQ(admit_all(other, Priority::kNormal, refusal).size(), 8u);
}

TEST(LoadShedder, TinyLimitsShedLowEntirely) {
  LoadShedder shedder(limits(1));  // floor(0.7) = floor(0.85) = 0: only critical gets through
  EXPECT_EQ(shedder.admit(Priority::kLow).reason(), ShedReason::kLowThreshold);
  EXPECT_EQ(shedder.admit(Priority::kNormal).reason(), ShedReason::kNormalThreshold);
  EXPECT_TRUE(shedder.admit(Priority::kCritical));
}

TEST(LoadShedder, ZeroMeansUnlimited) {
  LoadShedder shedder;  // max_in_flight = 0, max_connections = 0
  std::vector<LoadShedder::Ticket> tickets;
  for (int i = 0; i < 10000; ++i) {
    tickets.push_back(shedder.admit(Priority::kLow));
    ASSERT_TRUE(tickets.back()) << i;
    tickets.push_back(shedder.admit_connection());
    ASSERT_TRUE(tickets.back()) << i;
  }
  EXPECT_EQ(shedder.in_flight(), 10000u);
  EXPECT_EQ(shedder.connections(), 10000u);
  tickets.clear();
  EXPECT_EQ(shedder.in_flight(), 0u);
  EXPECT_EQ(shedder.connections(), 0u);
}

TEST(LoadShedder, OddFractionsAreClamped) {
  LoadShedder::Options options = limits(100);
  options.low_shed_at = 0.95;  // above normal_shed_at: low is still shed no later than normal
  options.normal_shed_at = 0.9;
  LoadShedder shedder(options);
  LoadShedder::Ticket refusal;
  EXPECT_EQ(admit_all(shedder, Priority::kLow, refusal).size(), 90u);

  options.low_shed_at = -1;
  options.normal_shed_at = 7;  // more than 1: the hard limit
  LoadShedder clamped(options);
  EXPECT_EQ(admit_all(clamped, Priority::kLow, refusal).size(), 0u);
  EXPECT_EQ(admit_all(clamped, Priority::kNormal, refusal).size(), 100u);
  EXPECT_EQ(refusal.reason(), ShedReason::kHardLimit);
}

TEST(LoadShedder, ConnectionsHaveTheirOwnLimit) {
  LoadShedder::Options options = limits(1, 2);
  options.retry_after = 5s;
  LoadShedder shedder(options);
  LoadShedder::Ticket c1 = shedder.admit_connection();
  LoadShedder::Ticket c2 = shedder.admit_connection();
  LoadShedder::Ticket c3 = shedder.admit_connection();
  EXPECT_TRUE(c1 && c2);
  EXPECT_FALSE(c3);
  EXPECT_EQ(c3.reason(), ShedReason::kConnectionLimit);
  EXPECT_EQ(c3.retry_after(), 5s);
  EXPECT_EQ(shedder.connections_refused(), 1u);
  // Requests are counted apart from connections.
  EXPECT_TRUE(shedder.admit(Priority::kCritical));
  c1.release();
  EXPECT_TRUE(shedder.admit_connection());
}

TEST(LoadShedder, ReconfigureKeepsTheCount) {
  LoadShedder shedder(limits(100));
  LoadShedder::Ticket refusal;
  auto held = admit_all(shedder, Priority::kCritical, refusal);
  held.resize(50);  // 50 in flight
  shedder.reconfigure(limits(40));
  EXPECT_EQ(shedder.admit(Priority::kCritical).reason(), ShedReason::kHardLimit);
  held.resize(39);
  EXPECT_TRUE(shedder.admit(Priority::kCritical));
  shedder.reconfigure(limits(0));
  EXPECT_TRUE(shedder.admit(Priority::kLow));
}

TEST(LoadShedder, ReasonNames) {
  EXPECT_EQ(to_string(ShedReason::kNone), "none");
  EXPECT_EQ(to_string(ShedReason::kHardLimit), "hard_limit");
  EXPECT_EQ(to_string(ShedReason::kNormalThreshold), "normal_threshold");
  EXPECT_EQ(to_string(ShedReason::kLowThreshold), "low_threshold");
  EXPECT_EQ(to_string(ShedReason::kConnectionLimit), "connection_limit");
}

// Many workers admitting and releasing at once never hold more tickets than the hard limit.
TEST(LoadShedder, ConcurrentAdmissionNeverOvershoots) {
  constexpr std::uint64_t kMax = 64;  // low at 44, normal at 54
  LoadShedder shedder(limits(kMax, 16));
  // The main thread holds 50 (above the low threshold): every low request must be shed, and the
  // workers compete for the last 14 slots.
  LoadShedder::Ticket refusal;
  std::vector<LoadShedder::Ticket> base = admit_all(shedder, Priority::kCritical, refusal);
  base.resize(50);
  const std::uint64_t shed_before = shedder.shed(Priority::kCritical);  // admit_all's refusal

  constexpr int kThreads = 8;
  constexpr int kRounds = 20000;
  std::atomic<std::uint64_t> held{50};
  std::atomic<std::uint64_t> most_held{0};
  std::atomic<std::uint64_t> admitted{0};
  std::atomic<std::uint64_t> low_attempts{0};
  std::atomic<std::uint64_t> connections_held{0};
  std::atomic<std::uint64_t> most_connections{0};
  auto note_max = [](std::atomic<std::uint64_t>& most, std::uint64_t value) {
    std::uint64_t seen = most.load();
    while (value > seen && !most.compare_exchange_weak(seen, value)) {
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<LoadShedder::Ticket> mine;  // each worker keeps up to 8 requests in flight
      for (int i = 0; i < kRounds; ++i) {
        const auto priority = static_cast<Priority>((i + t) % 3);
        if (priority == Priority::kLow) low_attempts.fetch_add(1);
        LoadShedder::Ticket ticket = shedder.admit(priority);
        if (ticket) {
          admitted.fetch_add(1);
          note_max(most_held, held.fetch_add(1) + 1);
          mine.push_back(std::move(ticket));
        }
        if (mine.size() >= 8 || (i % 5 == 0 && !mine.empty())) {
          held.fetch_sub(1);  // before the release, so `held` never undercounts
          mine.erase(mine.begin());
        }
        if (i % 7 == 0) {
          LoadShedder::Ticket connection = shedder.admit_connection();
          if (connection) {
            note_max(most_connections, connections_held.fetch_add(1) + 1);
            connections_held.fetch_sub(1);
          }
        }
      }
      held.fetch_sub(mine.size());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(most_held.load(), kMax);
  EXPECT_LE(most_connections.load(), 16u);
  EXPECT_EQ(shedder.shed(Priority::kLow), low_attempts.load());
  const std::uint64_t shed =
      shedder.shed(Priority::kLow) + shedder.shed(Priority::kNormal) + shedder.shed(Priority::kCritical);
  EXPECT_EQ(admitted.load() + shed - shed_before, static_cast<std::uint64_t>(kThreads) * kRounds);
  EXPECT_EQ(shedder.in_flight(), 50u);
  base.clear();
  EXPECT_EQ(shedder.in_flight(), 0u);
  EXPECT_EQ(shedder.connections(), 0u);
}

}  // namespace
}  // namespace flexgate::policy
