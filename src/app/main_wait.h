#pragma once
// How the main thread sleeps between its jobs (signals, reload requests, config file changes,
// DNS refreshes, the end of a drain): one ppoll() on a signalfd, an eventfd other threads write
// to (wake) and the config watcher's inotify descriptor, with a timeout only when a job is due.
// An idle gateway's main thread makes no syscall at all. Where signalfd or eventfd cannot be
// made, it falls back to sigtimedwait() with a 100 ms tick.

#include <signal.h>

#include <chrono>
#include <optional>

namespace flexgate::app {

// The main thread's wait (see above). wake() may be called from any thread.
class MainWait {
 public:
  // `signals` must be blocked in every thread already.
  explicit MainWait(const sigset_t& signals);
  ~MainWait();
  MainWait(const MainWait&) = delete;
  MainWait& operator=(const MainWait&) = delete;

  // Sleeps until a signal (its number is returned), a wake(), `watched_fd` turning readable or
  // `timeout` (no timeout: forever); -1 for all but a signal. `watched_fd` < 0 is not watched.
  int wait(std::optional<std::chrono::milliseconds> timeout, int watched_fd);
  // Ends the current or next wait().
  void wake();

 private:
  sigset_t signals_;
  int signal_fd_ = -1;
  int wake_fd_ = -1;
};

}  // namespace flexgate::app
