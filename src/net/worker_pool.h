#pragma once
// One event loop per worker thread, shared nothing: each worker owns an io_context that only its
// thread runs. Other threads talk to a worker only by posting to its loop.

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "net/asio.h"

namespace flexgate::net {

// A worker thread and the event loop it runs.
class WorkerLoop {
 public:
  WorkerLoop();
  asio::io_context& context() { return context_; }

 private:
  friend class WorkerPool;
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
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
  // Lets the loops finish once they run out of work (graceful).
  void release();
  // Stops every loop now.
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
