#include "net/worker_pool.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace flexgate::net {

namespace {

// Without an eventfd (the process is out of descriptors at start) the loop keeps the scheduler's
// lock and post() falls back to asio::post, which is safe from any thread then.
int concurrency_hint(int mail_fd) { return mail_fd >= 0 ? ASIO_CONCURRENCY_HINT_UNSAFE : ASIO_CONCURRENCY_HINT_UNSAFE_IO; }

}  // namespace

WorkerLoop::WorkerLoop()
    : mail_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      context_(concurrency_hint(mail_fd_)),
      guard_(context_.get_executor()),
      mail_signal_(context_) {
  if (mail_fd_ < 0) return;
  mail_signal_.assign(mail_fd_);  // owns and closes it from now on
  read_mail();
}

WorkerLoop::~WorkerLoop() = default;

void WorkerLoop::post(std::function<void()> work) {
  if (mail_fd_ < 0) {
    asio::post(context_, std::move(work));
    return;
  }
  {
    std::lock_guard lock(mail_mutex_);
    mail_.push_back(std::move(work));
  }
  // After the push: the loop either takes this work with the batch it is about to swap out, or
  // finds the counter non-zero on its next read. The descriptor stays open until the loop is
  // destroyed, so a late write only bumps a counter nobody reads.
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(mail_fd_, &one, sizeof one);
}

// A read, not async_wait: Asio's epoll reactor is edge-triggered and tries a read at once, so a
// write that came before the read was queued is never missed; reading resets the counter.
void WorkerLoop::read_mail() {
  mail_signal_.async_read_some(asio::buffer(&mail_count_, sizeof mail_count_),
                               [this](std::error_code ec, std::size_t) {
                                 if (ec) return;  // cancelled: the loop is being destroyed
                                 deliver_mail();
                                 if (!mailbox_closed_) read_mail();
                               });
}

void WorkerLoop::deliver_mail() {
  {
    std::lock_guard lock(mail_mutex_);
    delivering_.swap(mail_);
  }
  for (auto& work : delivering_) work();
  delivering_.clear();
}

// On the loop's thread, from a delivery (so no read is pending): no more reads, so the loop can
// end once it runs out of other work.
void WorkerLoop::close_mailbox() { mailbox_closed_ = true; }

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
    loop->started_.store(true, std::memory_order_release);
    loop->thread_ = std::thread([loop, i, on_thread_start] {
      if (on_thread_start) on_thread_start(i);
      loop->context_.run();
    });
  }
}

void WorkerPool::release() {
  for (auto& loop : loops_) {
    loop->post([l = loop.get()] {
      l->guard_.reset();
      l->close_mailbox();  // the rest of this batch still runs; later mail does not
    });
  }
}

void WorkerPool::stop() {
  for (auto& loop : loops_) {
    if (loop->started_.load(std::memory_order_acquire)) {
      loop->post([l = loop.get()] { l->context_.stop(); });
    } else {
      loop->context_.stop();  // never started: no thread runs it
    }
  }
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
