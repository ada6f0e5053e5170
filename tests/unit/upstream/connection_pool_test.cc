#include "upstream/connection_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;

class ConnectionPoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<UpstreamConnection> connection(std::size_t target_id) {
    return std::make_unique<UpstreamConnection>(io_.get_executor(), std::unique_ptr<char[]>(new char[kUpstreamBufferCapacity]),
                                                target_id);
  }
  // A connection with an open (unconnected) socket, so closing it is observable.
  std::unique_ptr<UpstreamConnection> open_connection(std::size_t target_id) {
    auto c = connection(target_id);
    c->stream.socket().open(net::tcp::v4());
    return c;
  }
  static bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

  asio::io_context io_;
  const net::Clock::time_point t0_ = net::Clock::now();
};

TEST_F(ConnectionPoolTest, EmptyPoolGivesNothing) {
  ConnectionPool pool(2);
  EXPECT_EQ(pool.take(0, t0_), nullptr);
  EXPECT_EQ(pool.take(1, t0_), nullptr);
  EXPECT_EQ(pool.take(99, t0_), nullptr) << "unknown target";
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(ConnectionPoolTest, TakeReturnsTheMostRecentlyPut) {
  ConnectionPool pool(1);
  auto a = connection(0);
  auto b = connection(0);
  auto* pa = a.get();
  auto* pb = b.get();
  pool.put(std::move(a), t0_, 60s, 8);
  pool.put(std::move(b), t0_ + 1ms, 60s, 8);
  EXPECT_EQ(pool.idle_count(), 2u);
  auto first = pool.take(0, t0_ + 2ms);
  auto second = pool.take(0, t0_ + 2ms);
  EXPECT_EQ(first.get(), pb);
  EXPECT_EQ(second.get(), pa);
  EXPECT_EQ(pool.take(0, t0_ + 2ms), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(ConnectionPoolTest, TargetsHaveSeparateIdleLists) {
  ConnectionPool pool(2);
  auto a = connection(0);
  auto b = connection(1);
  auto* pb = b.get();
  pool.put(std::move(a), t0_, 60s, 8);
  pool.put(std::move(b), t0_, 60s, 8);
  EXPECT_EQ(pool.take(1, t0_).get(), pb);
  EXPECT_EQ(pool.take(1, t0_), nullptr);
  EXPECT_NE(pool.take(0, t0_), nullptr);
}

TEST_F(ConnectionPoolTest, PutSetsTheIdleExpiryAndClearsTheBuffer) {
  ConnectionPool pool(1);
  auto c = connection(0);
  auto span = c->buffer.writable();
  span[0] = 'x';
  c->buffer.commit(1);
  pool.put(std::move(c), t0_, 250ms, 8);
  auto back = pool.take(0, t0_);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->expires_at, t0_ + 250ms);
  EXPECT_TRUE(back->buffer.empty());
}

TEST_F(ConnectionPoolTest, ExpiredConnectionsAreNotReturned) {
  ConnectionPool pool(1);
  pool.put(connection(0), t0_, 100ms, 8);
  EXPECT_NE(pool.take(0, t0_ + 99ms), nullptr) << "still fresh just before its expiry";

  auto c = open_connection(0);
  const int handle = c->stream.socket().native_handle();
  pool.put(std::move(c), t0_, 100ms, 8);
  EXPECT_EQ(pool.take(0, t0_ + 100ms), nullptr) << "expires exactly at its deadline";
  EXPECT_FALSE(fd_is_open(handle)) << "the expired connection is closed";
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(ConnectionPoolTest, TakeSkipsExpiredToReachAFreshOne) {
  ConnectionPool pool(1);
  auto fresh = connection(0);
  auto* pfresh = fresh.get();
  pool.put(std::move(fresh), t0_, 10s, 8);     // older, long timeout
  pool.put(connection(0), t0_ + 1ms, 1ms, 8);  // newer, short timeout
  EXPECT_EQ(pool.take(0, t0_ + 5ms).get(), pfresh);
}

TEST_F(ConnectionPoolTest, MaxIdleDropsTheOldest) {
  ConnectionPool pool(1);
  auto oldest = open_connection(0);
  const int oldest_fd = oldest->stream.socket().native_handle();
  auto middle = connection(0);
  auto newest = connection(0);
  auto* pmiddle = middle.get();
  auto* pnewest = newest.get();
  pool.put(std::move(oldest), t0_, 60s, 2);
  pool.put(std::move(middle), t0_, 60s, 2);
  pool.put(std::move(newest), t0_, 60s, 2);
  EXPECT_EQ(pool.idle_count(), 2u);
  EXPECT_FALSE(fd_is_open(oldest_fd));
  EXPECT_EQ(pool.take(0, t0_).get(), pnewest);
  EXPECT_EQ(pool.take(0, t0_).get(), pmiddle);
}

TEST_F(ConnectionPoolTest, MaxIdleZeroKeepsNothing) {
  ConnectionPool pool(1);
  auto c = open_connection(0);
  const int fd = c->stream.socket().native_handle();
  pool.put(std::move(c), t0_, 60s, 0);
  EXPECT_EQ(pool.idle_count(), 0u);
  EXPECT_FALSE(fd_is_open(fd));
}

// A target id beyond the pool's count comes from another config snapshot: pooling it could hand
// the connection to a different target's request, so it is closed instead.
TEST_F(ConnectionPoolTest, PutForAnUnknownTargetIsNotPooled) {
  ConnectionPool pool(1);
  pool.put(connection(5), t0_, 60s, 8);
  EXPECT_EQ(pool.take(5, t0_), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(ConnectionPoolTest, CloseExpiredKeepsOnlyTheLiveOnes) {
  ConnectionPool pool(2);
  auto live = connection(0);
  auto* plive = live.get();
  auto dead = open_connection(0);
  const int dead_fd = dead->stream.socket().native_handle();
  pool.put(std::move(live), t0_, 10s, 8);
  pool.put(std::move(dead), t0_, 1s, 8);  // newer but expires first
  pool.put(connection(1), t0_, 500ms, 8);
  pool.close_expired(t0_ + 1s);
  EXPECT_EQ(pool.idle_count(), 1u);
  EXPECT_FALSE(fd_is_open(dead_fd));
  EXPECT_EQ(pool.take(0, t0_ + 1s).get(), plive);
  EXPECT_EQ(pool.take(1, t0_), nullptr);
}

TEST_F(ConnectionPoolTest, CloseAllEmptiesEveryTarget) {
  ConnectionPool pool(3);
  auto c = open_connection(2);
  const int fd = c->stream.socket().native_handle();
  pool.put(connection(0), t0_, 60s, 8);
  pool.put(connection(1), t0_, 60s, 8);
  pool.put(std::move(c), t0_, 60s, 8);
  EXPECT_EQ(pool.idle_count(), 3u);
  pool.close_all();
  EXPECT_EQ(pool.idle_count(), 0u);
  EXPECT_FALSE(fd_is_open(fd));
  EXPECT_EQ(pool.take(0, t0_), nullptr);
}

TEST_F(ConnectionPoolTest, CarryOverMovesKeptTargetsToTheirNewIdsAndClosesTheRest) {
  ConnectionPool pool(3);
  auto kept = open_connection(2);
  auto dropped = open_connection(0);
  const int dropped_fd = dropped->stream.socket().native_handle();
  auto* kept_ptr = kept.get();
  pool.put(std::move(kept), t0_, 60s, 8);
  pool.put(std::move(dropped), t0_, 60s, 8);
  // The new snapshot has two targets: old 2 is new 0, old 0 is gone, old 1 is new 1.
  const std::vector<std::ptrdiff_t> new_id_of = {-1, 1, 0};
  ConnectionPool next = pool.carry_over(new_id_of, 2);
  EXPECT_EQ(pool.idle_count(), 0u);
  EXPECT_EQ(next.idle_count(), 1u);
  auto taken = next.take(0, t0_);
  EXPECT_EQ(taken.get(), kept_ptr);
  EXPECT_EQ(taken->target_id, 0u);
  EXPECT_FALSE(fd_is_open(dropped_fd));
}

// Idle connections hold no buffer memory: put() keeps the storage as a spare block, take() and
// open() use spare blocks before allocating.
TEST_F(ConnectionPoolTest, IdleConnectionsLendTheirBufferStorageToThePool) {
  ConnectionPool pool(1);
  auto a = connection(0);
  const char* storage = a->buffer.writable().data();
  a->buffer.commit(3);
  a->buffer.consume(3);
  pool.put(std::move(a), t0_, 60s, 8);
  EXPECT_EQ(pool.spare_buffers(), 1u);
  auto taken = pool.take(0, t0_ + 1ms);
  ASSERT_NE(taken, nullptr);
  ASSERT_TRUE(taken->buffer.has_storage());
  EXPECT_EQ(taken->buffer.writable().data(), storage) << "the spare block is reused";
  EXPECT_EQ(taken->buffer.capacity(), kUpstreamBufferCapacity);
  EXPECT_EQ(pool.spare_buffers(), 0u);

  pool.discard(std::move(taken));  // not reused: closed, its block kept
  EXPECT_EQ(pool.spare_buffers(), 1u);
  auto opened = pool.open(io_.get_executor(), 0);
  EXPECT_EQ(opened->buffer.writable().data(), storage);
  EXPECT_EQ(pool.spare_buffers(), 0u);
}

TEST_F(ConnectionPoolTest, SpareBlocksUnusedForAWholeIntervalAreFreed) {
  ConnectionPool pool(1);
  for (int i = 0; i < 3; ++i) pool.put(connection(0), t0_, 60s, 8);
  EXPECT_EQ(pool.spare_buffers(), 3u);
  // The first trim only starts the interval: the blocks may still be needed.
  EXPECT_EQ(pool.trim_spare_buffers(), 0u);
  // One block is taken during the interval, and given back: the other two were never needed.
  auto taken = pool.take(0, t0_ + 1ms);
  pool.put(std::move(taken), t0_ + 2ms, 60s, 8);
  EXPECT_EQ(pool.trim_spare_buffers(), 2u);
  EXPECT_EQ(pool.spare_buffers(), 1u);
  // Connections still pooled get storage again when taken, even once their blocks were freed.
  auto again = pool.take(0, t0_ + 3ms);
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->buffer.has_storage());
}

}  // namespace
}  // namespace flexgate::upstream
