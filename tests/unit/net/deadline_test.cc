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
    deadline_ = Deadline::start(io_.get_executor(), [this] {
      ++expirations_;
      events_.emplace_back("expire");
    });
  }
  void TearDown() override {
    deadline_->stop();
    std::weak_ptr<Deadline> weak = deadline_;
    deadline_.reset();
    // With the watchdog stopped the loop runs out of work and the deadline is freed.
    EXPECT_TRUE(run_until(io_, [&] { return weak.expired(); }));
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
  std::shared_ptr<Deadline> deadline_;
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

TEST(DeadlineWaits, OnlyOnceSetAndNotAfterItExpired) {
  // A deadline never set has no timer waiting (each HTTP/2 stream's Session has one): nothing
  // holds it but its owner. Once set, the wait holds it until it expires; after that it waits
  // again only when set again.
  asio::io_context io;
  int expirations = 0;
  auto deadline = Deadline::start(io.get_executor(), [&] { ++expirations; });
  std::weak_ptr<Deadline> weak = deadline;
  deadline->set_after(1ms);
  deadline.reset();
  EXPECT_FALSE(weak.expired());  // the pending wait holds it
  ASSERT_TRUE(run_until(io, [&] { return expirations == 1; }));
  io.restart();
  EXPECT_EQ(io.poll(), 0u);       // nothing left to run or wait for
  EXPECT_TRUE(weak.expired());    // so the last reference went with the wait
  EXPECT_TRUE(io.stopped());

  auto unset = Deadline::start(io.get_executor(), [&] { ++expirations; });
  std::weak_ptr<Deadline> weak_unset = unset;
  unset.reset();
  EXPECT_TRUE(weak_unset.expired());
  EXPECT_EQ(expirations, 1);
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
  io_.poll();  // the watchdog arms its timer for the 10 s deadline
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

TEST_F(DeadlineTest, StopPreventsFiringAndEndsTheWatchdog) {
  deadline_->set_after(20ms);  // armed at once; stopped before any handler can run
  deadline_->stop();
  // The only pending work was the watchdog: the loop runs dry instead of waiting forever.
  io_.run_for(test::kTestBound);
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(expirations_, 0);
  io_.restart();
}

TEST(DeadlineStartTest, StopBeforeTheWatchdogRanEndsIt) {
  asio::io_context io;
  int expirations = 0;
  auto deadline = Deadline::start(io.get_executor(), [&] { ++expirations; });
  deadline->set_after(1ms);
  deadline->stop();
  io.run_for(test::kTestBound);
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(expirations, 0);
}

}  // namespace
}  // namespace flexgate::net
