#include "net/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "loopback_test_util.h"

namespace flexgate::net {
namespace {

// Joins `pool` but gives up (stopping the loops) if that takes longer than the test bound.
::testing::AssertionResult join_within_bound(WorkerPool& pool) {
  auto joined = std::async(std::launch::async, [&] { pool.join(); });
  if (joined.wait_for(test::kTestBound) == std::future_status::ready) return ::testing::AssertionSuccess();
  pool.stop();
  joined.wait();
  return ::testing::AssertionFailure() << "join() did not return";
}

TEST(WorkerPoolTest, CreatesTheRequestedNumberOfLoops) {
  WorkerPool pool(3);
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_NE(&pool.loop(0).context(), &pool.loop(1).context());
}

TEST(WorkerPoolTest, StartRunsTheCallbackOnceOnEachOfNThreads) {
  constexpr unsigned kWorkers = 3;
  WorkerPool pool(kWorkers);
  std::mutex mutex;
  std::vector<std::pair<unsigned, std::thread::id>> started;
  pool.start([&](unsigned index) {
    std::lock_guard lock(mutex);
    started.emplace_back(index, std::this_thread::get_id());
  });
  // A round trip through every loop proves each thread has passed its start callback.
  std::vector<std::future<void>> ran;
  for (unsigned i = 0; i < kWorkers; ++i) {
    auto done = std::make_shared<std::promise<void>>();
    ran.push_back(done->get_future());
    pool.loop(i).post([done] { done->set_value(); });
  }
  for (auto& f : ran) ASSERT_EQ(f.wait_for(test::kTestBound), std::future_status::ready);
  pool.stop();
  ASSERT_TRUE(join_within_bound(pool));

  ASSERT_EQ(started.size(), kWorkers);
  std::set<unsigned> indices;
  std::set<std::thread::id> threads;
  for (const auto& [index, id] : started) {
    indices.insert(index);
    threads.insert(id);
    EXPECT_NE(id, std::this_thread::get_id());
  }
  EXPECT_EQ(indices, (std::set<unsigned>{0, 1, 2}));
  EXPECT_EQ(threads.size(), kWorkers);
}

TEST(WorkerPoolTest, WorkPostedToALoopRunsOnThatLoopsThread) {
  constexpr unsigned kWorkers = 2;
  WorkerPool pool(kWorkers);
  std::vector<std::thread::id> start_thread(kWorkers);
  pool.start([&](unsigned index) { start_thread[index] = std::this_thread::get_id(); });
  for (unsigned i = 0; i < kWorkers; ++i) {
    std::promise<std::thread::id> ran_on;
    auto future = ran_on.get_future();
    pool.loop(i).post([&] { ran_on.set_value(std::this_thread::get_id()); });
    ASSERT_EQ(future.wait_for(test::kTestBound), std::future_status::ready);
    EXPECT_EQ(future.get(), start_thread[i]) << "loop " << i;  // start_thread[i] written before run()
  }
  pool.stop();
  ASSERT_TRUE(join_within_bound(pool));
}

TEST(WorkerPoolTest, LoopsRunWithoutAsiosSchedulerLock) {
  WorkerPool pool(1);
  // The point of the mailbox: no mutex on each turn of a worker's loop.
  EXPECT_EQ(asio::use_service<asio::detail::scheduler>(pool.loop(0).context()).concurrency_hint(),
            ASIO_CONCURRENCY_HINT_UNSAFE);
}

TEST(WorkerPoolTest, WorkPostedFromManyThreadsAtOnceRunsOnceEachOnTheLoop) {
  constexpr int kPosters = 4;
  constexpr int kPostsEach = 2000;
  WorkerPool pool(1);
  std::thread::id loop_thread;
  pool.start([&](unsigned) { loop_thread = std::this_thread::get_id(); });
  int ran = 0;  // plain int: only the loop's thread touches it (TSan would say otherwise)
  bool all_on_loop = true;
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&] {
      for (int k = 0; k < kPostsEach; ++k) {
        pool.loop(0).post([&] {
          ++ran;
          all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
        });
      }
    });
  }
  for (auto& poster : posters) poster.join();
  // Posted after every other post returned, so it runs after all of them.
  std::promise<int> seen;
  pool.loop(0).post([&] { seen.set_value(ran); });
  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(test::kTestBound), std::future_status::ready);
  EXPECT_EQ(future.get(), kPosters * kPostsEach);
  pool.stop();
  ASSERT_TRUE(join_within_bound(pool));
  EXPECT_TRUE(all_on_loop);
}

TEST(WorkerPoolTest, LoopsKeepRunningWhileIdle) {
  WorkerPool pool(1);
  pool.start();
  // The loop has no work yet; it must still be alive to run what is posted later.
  std::promise<void> first, second;
  pool.loop(0).post([&] { first.set_value(); });
  ASSERT_EQ(first.get_future().wait_for(test::kTestBound), std::future_status::ready);
  pool.loop(0).post([&] { second.set_value(); });
  ASSERT_EQ(second.get_future().wait_for(test::kTestBound), std::future_status::ready);
  pool.stop();
  ASSERT_TRUE(join_within_bound(pool));
}

TEST(WorkerPoolTest, ReleaseLetsLoopsFinishTheirWorkThenEnd) {
  constexpr unsigned kWorkers = 2;
  WorkerPool pool(kWorkers);
  std::atomic<int> done{0};
  // Posted before start: run once the threads start, before the release takes effect.
  for (unsigned i = 0; i < kWorkers; ++i) {
    for (int k = 0; k < 100; ++k) pool.loop(i).post([&] { ++done; });
  }
  pool.start();
  pool.release();
  ASSERT_TRUE(join_within_bound(pool));
  EXPECT_EQ(done.load(), 200);
}

TEST(WorkerPoolTest, StopEndsLoopsThatStillHaveTimersPending) {
  WorkerPool pool(2);
  std::vector<std::unique_ptr<net::SteadyTimer>> timers;
  for (unsigned i = 0; i < pool.size(); ++i) {
    timers.push_back(std::make_unique<net::SteadyTimer>(pool.loop(i).context(), std::chrono::hours(1)));
    timers.back()->async_wait([](std::error_code) {});
  }
  pool.start();
  pool.stop();
  ASSERT_TRUE(join_within_bound(pool));
}

TEST(WorkerPoolTest, DestructorStopsAndJoinsARunningPool) {
  {
    WorkerPool pool(2);
    pool.start();
  }  // would hang here if the destructor did not stop the loops
  SUCCEED();
}

TEST(WorkerPoolTest, AvailableCpusIsAtLeastOne) {
  EXPECT_GE(available_cpus(), 1u);
}

}  // namespace
}  // namespace flexgate::net
