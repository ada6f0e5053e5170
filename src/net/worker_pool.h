#pragma once
// One event loop per worker thread, shared nothing: each worker owns an io_context that only its
// thread runs. Other threads talk to a worker only through its mailbox (WorkerLoop::post).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/asio.h"

namespace flexgate::net {

// A worker thread and the event loop it runs.
//
// The loop runs without any lock of Asio's own (ASIO_CONCURRENCY_HINT_UNSAFE: no scheduler mutex
// on each turn of the loop, ~200 instructions per proxied request). So nothing but the loop's
// thread may touch context() once start() has run; other threads hand work over with post(): a
// locked queue the loop empties when an eventfd it reads says there is mail.
class WorkerLoop {
 public:
  WorkerLoop();
  ~WorkerLoop();
  WorkerLoop(const WorkerLoop&) = delete;
  WorkerLoop& operator=(const WorkerLoop&) = delete;

  // Only for the loop's own thread, or any thread before the loop starts or after it ended.
  asio::io_context& context() { return context_; }
  // Runs `work` on the loop's thread; safe from any thread. Work posted after the loop ended (or
  // was released) is destroyed with the loop, never run.
  void post(std::function<void()> work);

 private:
  friend class WorkerPool;
  void read_mail();
  void deliver_mail();
  void close_mailbox();

  const int mail_fd_;  // the eventfd other threads write to; -1 if none could be made (see post)
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  asio::posix::basic_stream_descriptor<asio::io_context::executor_type> mail_signal_;
  std::uint64_t mail_count_ = 0;  // the eventfd's counter lands here; only the loop reads it
  bool mailbox_closed_ = false;   // the loop's own: set by release()
  std::mutex mail_mutex_;
  std::vector<std::function<void()>> mail_;        // guarded by mail_mutex_
  std::vector<std::function<void()>> delivering_;  // the loop's own: the batch being run
  std::atomic<bool> started_{false};  // start() ran: stop() must go through the mailbox
  std::thread thread_;
};

// The set of worker loops; start() spawns the threads, stop() ends their loops.
class WorkerPool {
 public:
  explicit WorkerPool(unsigned count);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(loops_.size()); }
  WorkerLoop& loop(unsigned index) { return *loops_[index]; }

  // Runs each loop on its own thread. `on_thread_start(index)` runs first on that thread.
  void start(const std::function<void(unsigned)>& on_thread_start = {});
  // Lets the loops finish once they run out of work (graceful). Any thread.
  void release();
  // Stops every loop now (what is running finishes first). Any thread.
  void stop();
  void join();

 private:
  std::vector<std::unique_ptr<WorkerLoop>> loops_;
};

// Number of CPUs usable by this process (at least 1): the affinity mask, capped by a cgroup v2
// CPU quota (a container's CPU limit) when there is one.
unsigned available_cpus();
// The affinity mask alone.
unsigned available_cpus_by_affinity();

}  // namespace flexgate::net
