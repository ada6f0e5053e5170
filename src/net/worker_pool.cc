#include "net/worker_pool.h"

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

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

namespace {

// The CPU limit of this process's cgroup (v2 cpu.max "QUOTA PERIOD"), rounded up; 0 when there is
// none. In a container the affinity mask shows the node's CPUs, not the pod's limit.
unsigned cgroup_cpu_limit() {
  std::FILE* file = std::fopen("/sys/fs/cgroup/cpu.max", "r");
  if (file == nullptr) return 0;
  char quota[32] = {};
  char period_text[32] = {};
  int fields = std::fscanf(file, "%31s %31s", quota, period_text);
  std::fclose(file);
  const unsigned long long period = std::strtoull(period_text, nullptr, 10);
  if (fields != 2 || period == 0 || std::string_view(quota) == "max") return 0;
  unsigned long long limit = std::strtoull(quota, nullptr, 10);
  return static_cast<unsigned>((limit + period - 1) / period);
}

}  // namespace

unsigned available_cpus() {
  unsigned limit = cgroup_cpu_limit();
  unsigned affinity = available_cpus_by_affinity();
  return limit > 0 && limit < affinity ? limit : affinity;
}

unsigned available_cpus_by_affinity() {
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
