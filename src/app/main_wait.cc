#include "app/main_wait.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

namespace flexgate::app {
namespace {

constexpr std::chrono::milliseconds kFallbackTick{100};

timespec to_timespec(std::chrono::milliseconds duration) {
  const auto ms = std::max<std::chrono::milliseconds::rep>(duration.count(), 0);
  return timespec{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000 * 1000)};
}

}  // namespace

MainWait::MainWait(const sigset_t& signals) : signals_(signals) {
  signal_fd_ = ::signalfd(-1, &signals_, SFD_NONBLOCK | SFD_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (signal_fd_ < 0 || wake_fd_ < 0) {
    // The fallback: sigtimedwait() on a tick, which notices wakes and file changes by polling.
    if (signal_fd_ >= 0) ::close(signal_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    signal_fd_ = wake_fd_ = -1;
  }
}

MainWait::~MainWait() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void MainWait::wake() {
  if (wake_fd_ < 0) return;  // the fallback's tick notices
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);  // only EAGAIN at 2^64-1 wakes
}

int MainWait::wait(std::optional<std::chrono::milliseconds> timeout, int watched_fd) {
  if (signal_fd_ < 0) {
    const timespec tick = to_timespec(timeout ? std::min(*timeout, kFallbackTick) : kFallbackTick);
    siginfo_t info;
    return ::sigtimedwait(&signals_, &info, &tick);
  }
  std::array<pollfd, 3> fds{pollfd{signal_fd_, POLLIN, 0}, pollfd{wake_fd_, POLLIN, 0}, pollfd{watched_fd, POLLIN, 0}};
  const nfds_t count = watched_fd >= 0 ? 3 : 2;
  timespec limit{};
  if (timeout) limit = to_timespec(*timeout);
  if (::ppoll(fds.data(), count, timeout ? &limit : nullptr, nullptr) <= 0) return -1;  // timeout or EINTR
  if ((fds[1].revents & POLLIN) != 0) {
    std::uint64_t wakes = 0;
    [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &wakes, sizeof wakes);
  }
  if ((fds[0].revents & POLLIN) != 0) {
    signalfd_siginfo info{};
    if (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      return static_cast<int>(info.ssi_signo);
    }
  }
  return -1;
}

}  // namespace flexgate::app
