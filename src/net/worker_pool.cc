#include "net/worker_pool.h"

#include <sched.h>

namespace flexgate::net {

// UNSAFE_IO: a worker's sockets and timers are only touched by its own thread; posting from the
// main thread (reload, shutdown) still takes the scheduler lock, so it stays safe.
WorkerLoop::WorkerLoop() : context_(ASIO_CONCURRENCY_HINT_UNSAFE_IO), guard_(context_.get_executor()) {}

WorkerPool::WorkerPool(unsigned count) {
  loops_.reserve(count);
  for (unsigned i = 0; i < count; ++i) loops_.push_back(std::make_unique<WorkerLoop>());
}

WorkerPool::~WorkerPool() {
  stop();
  join();
}

void WorkerPool::start(const std::function<void(unsigned)>& on_thread_start) {
  for (unsigned i = 0; i < loops_.size(); ++i) {
    WorkerLoop* loop = loops_[i].get();
    loop->thread_ = std::thread([loop, i, on_thread_start] {
      if (on_thread_start) on_thread_start(i);
      loop->context_.run();
    });
  }
}

void WorkerPool::release() {
  for (auto& loop : loops_) {
    asio::post(loop->context_, [l = loop.get()] { l->guard_.reset(); });
  }
}

void WorkerPool::stop() {
  for (auto& loop : loops_) loop->context_.stop();
}

void WorkerPool::join() {
  for (auto& loop : loops_) {
    if (loop->thread_.joinable()) loop->thread_.join();
  }
}

unsigned available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<unsigned>(count);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

}  // namespace flexgate::net
