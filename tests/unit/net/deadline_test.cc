#include "net/deadline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "loopback_test_util.h"

namespace flexgate::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

// A deadline plus a record of what happened, in order. Durations are short; assertions are only
// about order and outcome, never elapsed time. The far deadlines (10 s) are there so that an
// overloaded machine cannot reorder events.
class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deadline_ = std::make_unique<Deadline>(io_.get_executor(), [this] {
      ++expirations_;
      events_.emplace_back("expire");
    });
  }
  void TearDown() override {
    deadline_->stop();
    deadline_.reset();
    // Stopped and gone, the deadline has left its queue: the loop runs out of work.
    io_.restart();
    io_.run_for(test::kTestBound);
    EXPECT_TRUE(io_.stopped());
  }

  // Schedules a "marker" event at `after` from now.
  void mark_after(std::chrono::milliseconds after) {
    marker_.expires_after(after);
    marker_.async_wait([this](std::error_code ec) {
      if (!ec) events_.emplace_back("marker");
    });
  }
  bool marked() const { return std::find(events_.begin(), events_.end(), "marker") != events_.end(); }

  asio::io_context io_;
  net::SteadyTimer marker_{io_};
  std::unique_ptr<Deadline> deadline_;
  int expirations_ = 0;
  std::vector<std::string> events_;
};

TEST_F(DeadlineTest, ExpiryCallsOnExpireOnceAndSetsExpired) {
  EXPECT_FALSE(deadline_->expired());
  deadline_->set_after(20ms);
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 1; }));
  EXPECT_TRUE(deadline_->expired());
  // Nothing more happens afterwards.
  mark_after(50ms);
  ASSERT_TRUE(run_until(io_, [&] { return marked(); }));
  EXPECT_EQ(events_, (std::vector<std::string>{"expire", "marker"}));
  EXPECT_EQ(expirations_, 1);
  EXPECT_TRUE(deadline_->expired());
}

TEST_F(DeadlineTest, NoDeadlineUntilSet) {
  EXPECT_EQ(deadline_->at(), Clock::time_point::max());
  mark_after(30ms);
  ASSERT_TRUE(run_until(io_, [&] { return marked(); }));
  EXPECT_EQ(expirations_, 0);
  EXPECT_FALSE(deadline_->expired());
}

TEST(DeadlineWaits, OnlyWhileSetAndNotAfterItsOwnerLetGo) {
  // A deadline never set is not queued (each HTTP/2 stream's Session has one). Once set it is in
  // its io_context's queue, whose one timer keeps the loop busy; a deadline whose owner let go
  // leaves the queue at once and never fires, and the loop runs out of work.
  asio::io_context io;
  DeadlineQueue& queue = asio::use_service<DeadlineQueue>(io);
  int expirations = 0;
  auto deadline = std::make_unique<Deadline>(io.get_executor(), [&] { ++expirations; });
  EXPECT_EQ(queue.size(), 0u);
  deadline->set_after(1ms);
  EXPECT_EQ(queue.size(), 1u);
  ASSERT_TRUE(run_until(io, [&] { return expirations == 1; }));
  EXPECT_EQ(queue.size(), 0u);  // an expired deadline waits again only when set again
  io.restart();
  EXPECT_EQ(io.poll(), 0u);
  EXPECT_TRUE(io.stopped());

  deadline->set_after(10s);
  EXPECT_EQ(queue.size(), 1u);
  deadline.reset();
  EXPECT_EQ(queue.size(), 0u);
  io.restart();
  io.run_for(test::kTestBound);  // the queue's wait is cancelled: nothing keeps the loop running
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(expirations, 1);
}

// Many deadlines of one io_context: a heap under one timer. Times in the past make every one due
// at once, so the order of the callbacks is the heap's order, whatever the machine's load.
// `count` deadlines ranked 0..count-1 (each records its rank in `order` when it expires), set in a
// scrambled order (`stride` coprime with `count`) so that each insert lands anywhere in the heap;
// deadline i has rank (i * stride) % count.
std::vector<std::unique_ptr<Deadline>> scrambled_due_deadlines(asio::io_context& io, int count, int stride,
                                                               std::vector<int>& order) {
  std::vector<std::unique_ptr<Deadline>> deadlines;
  const Clock::time_point base = Clock::now() - 1h;
  for (int i = 0; i < count; ++i) {
    const int rank = (i * stride) % count;
    deadlines.push_back(
        std::make_unique<Deadline>(io.get_executor(), [&order, rank] { order.push_back(rank); }));
    deadlines.back()->set(base + std::chrono::milliseconds(rank));
  }
  return deadlines;
}

TEST(DeadlineQueueTest, DueDeadlinesExpireEarliestFirst) {
  asio::io_context io;
  std::vector<int> order;
  const auto deadlines = scrambled_due_deadlines(io, 64, 37, order);
  EXPECT_EQ(asio::use_service<DeadlineQueue>(io).size(), 64u);
  ASSERT_TRUE(run_until(io, [&] { return order.size() == 64; }));
  for (int i = 0; i < 64; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
  for (const auto& deadline : deadlines) EXPECT_TRUE(deadline->expired());
}

TEST(DeadlineQueueTest, StoppedAndDestroyedDeadlinesLeaveTheHeapInOrder) {
  // Erasing from the middle of the heap (stop, destruction) must keep the rest in order.
  asio::io_context io;
  std::vector<int> order;
  auto deadlines = scrambled_due_deadlines(io, 100, 61, order);
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) {
    const int rank = (i * 61) % 100;
    if (rank % 3 == 0) {
      deadlines[static_cast<std::size_t>(i)]->stop();
    } else if (rank % 3 == 1) {
      deadlines[static_cast<std::size_t>(i)].reset();
    }
  }
  for (int rank = 0; rank < 100; ++rank) {
    if (rank % 3 == 2) expected.push_back(rank);
  }
  EXPECT_EQ(asio::use_service<DeadlineQueue>(io).size(), expected.size());
  ASSERT_TRUE(run_until(io, [&] { return order.size() == expected.size(); }));
  io.restart();
  io.poll();  // nothing else fires, and nothing is left waiting
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(order, expected);
}

TEST(DeadlineQueueTest, MovingOneDeadlineEarlierThanTheTopFiresItFirst) {
  asio::io_context io;
  std::vector<std::string> events;
  auto far = std::make_unique<Deadline>(io.get_executor(), [&] { events.emplace_back("far"); });
  auto near = std::make_unique<Deadline>(io.get_executor(), [&] { events.emplace_back("near"); });
  far->set_after(10s);
  near->set_after(20s);
  io.poll();               // the queue's timer waits for the 10 s deadline
  near->set_after(20ms);  // now the earliest: the wait must move
  ASSERT_TRUE(run_until(io, [&] { return !events.empty(); }));
  EXPECT_EQ(events, (std::vector<std::string>{"near"}));
  EXPECT_FALSE(far->expired());
  far->stop();
  near->stop();
}

TEST(DeadlineQueueTest, AnExpiryMayStopOrSetOtherDeadlines) {
  // The owners' callbacks cancel sockets; one may well stop another deadline, set its own again
  // or end a third, all while the queue is walking its due entries.
  asio::io_context io;
  std::vector<std::string> events;
  std::unique_ptr<Deadline> second;
  std::unique_ptr<Deadline> third;
  std::unique_ptr<Deadline> first;
  int first_count = 0;
  first = std::make_unique<Deadline>(io.get_executor(), [&] {
    events.emplace_back("first");
    second->stop();
    third.reset();
    if (++first_count == 1) first->set(Clock::now() - 1s);  // due again at once
  });
  second = std::make_unique<Deadline>(io.get_executor(), [&] { events.emplace_back("second"); });
  third = std::make_unique<Deadline>(io.get_executor(), [&] { events.emplace_back("third"); });
  const Clock::time_point base = Clock::now() - 1h;
  first->set(base);
  second->set(base + 1ms);
  third->set(base + 2ms);
  ASSERT_TRUE(run_until(io, [&] { return first_count == 2; }));
  io.restart();
  io.poll();
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(events, (std::vector<std::string>{"first", "first"}));
  EXPECT_EQ(asio::use_service<DeadlineQueue>(io).size(), 0u);
}

TEST_F(DeadlineTest, SetAgainAfterExpiryExpiresAgain) {
  deadline_->set_after(1ms);
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 1; }));
  deadline_->set_after(1ms);
  EXPECT_FALSE(deadline_->expired());
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 2; }));
  EXPECT_TRUE(deadline_->expired());
}

TEST_F(DeadlineTest, MovingLaterDoesNotFireAtTheEarlierTime) {
  deadline_->set_after(20ms);  // arms the timer for 20 ms at once
  deadline_->set_after(10s);   // no handler runs in between: this test does not race the 20 ms
  mark_after(60ms);  // well after the old deadline
  ASSERT_TRUE(run_until(io_, [&] { return marked(); }));
  EXPECT_EQ(expirations_, 0);
  EXPECT_FALSE(deadline_->expired());
  // Still watched: moving it back in fires it.
  deadline_->set_after(20ms);
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 1; }));
  EXPECT_EQ(events_, (std::vector<std::string>{"marker", "expire"}));
}

TEST_F(DeadlineTest, MovingEarlierFiresAtTheEarlierTime) {
  deadline_->set_after(10s);
  io_.poll();  // the queue's timer waits for the 10 s deadline
  deadline_->set_after(20ms);
  mark_after(5s);  // long before the original deadline, long after the new one
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 1 || marked(); }));
  EXPECT_EQ(events_, (std::vector<std::string>{"expire"}));
  EXPECT_TRUE(deadline_->expired());
  marker_.cancel();
}

TEST_F(DeadlineTest, ClearPreventsFiring) {
  deadline_->set_after(20ms);  // armed at once; cleared before any handler can run
  deadline_->clear();
  EXPECT_EQ(deadline_->at(), Clock::time_point::max());
  mark_after(60ms);
  ASSERT_TRUE(run_until(io_, [&] { return marked(); }));
  EXPECT_EQ(expirations_, 0);
  EXPECT_FALSE(deadline_->expired());
}

TEST_F(DeadlineTest, SetAfterExpiryClearsExpiredAndFiresAgain) {
  deadline_->set_after(20ms);
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 1; }));
  ASSERT_TRUE(deadline_->expired());
  deadline_->set_after(20ms);
  EXPECT_FALSE(deadline_->expired());
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 2; }));
  EXPECT_TRUE(deadline_->expired());
}

TEST_F(DeadlineTest, SetInThePastFiresPromptly) {
  io_.poll();
  deadline_->set(Clock::now() - 1s);
  mark_after(5s);
  ASSERT_TRUE(run_until(io_, [&] { return expirations_ == 1 || marked(); }));
  EXPECT_EQ(events_, (std::vector<std::string>{"expire"}));
  marker_.cancel();
}

TEST_F(DeadlineTest, StopPreventsFiringAndEndsTheWait) {
  deadline_->set_after(20ms);  // armed at once; stopped before any handler can run
  deadline_->stop();
  // The only pending work was the queue's wait: the loop runs dry instead of waiting forever.
  io_.run_for(test::kTestBound);
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(expirations_, 0);
  io_.restart();
}

TEST(DeadlineStopTest, StopBeforeTheWaitRanEndsIt) {
  asio::io_context io;
  int expirations = 0;
  auto deadline = std::make_unique<Deadline>(io.get_executor(), [&] { ++expirations; });
  deadline->set_after(1ms);
  deadline->stop();
  io.run_for(test::kTestBound);
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(expirations, 0);
}

}  // namespace
}  // namespace flexgate::net
