#pragma once
// The log pipeline: threads queue finished lines into their own bounded buffer and one writer
// thread writes them out, so a slow or stuck output (a full pipe, a slow disk) never stalls a
// worker. A line that does not fit is dropped and counted, never waited for; lines are written
// whole (a line is queued in one piece and the writer only writes whole lines). Lines of one
// thread keep their order; lines of different threads are ordered by their timestamps, not by
// their position in the output.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace flexgate::observe {

// Where the writer sends lines.
struct LogOutput {
  std::string path;            // a file (appended to, created 0644); "" = the descriptor `fd`
  int fd = STDOUT_FILENO;      // used when `path` is empty; not owned (looked up at each write)
  std::uint64_t max_size = 0;  // file only: rotate before the file passes this; 0 = never
  unsigned max_files = 5;      // file only: rotated files kept, FILE.1 (newest) … FILE.N

  bool operator==(const LogOutput&) const = default;
};

// Sizes of a LogWriter's buffers.
struct LogWriterOptions {
  std::size_t thread_buffer_bytes = 256 * 1024;  // per thread that logs (allocated on its first line)
  // How often a busy writer collects lines: a line waits at most this long in its buffer, unless
  // the buffer passes half full first (its producer then wakes the writer). Long enough that a
  // sparse stream (a sampled access log) is written in ten batches a second instead of waking
  // the writer line by line (each batch costs the writer a timed futex wait, the futex wake of
  // the mutex that wait hands back contended, and the write); short enough that `tail -f` looks
  // live.
  std::chrono::milliseconds batch_interval{100};
};

class LogRing;

// One writer thread and the buffers that feed it. The process uses one (see write_line in log.h
// and the functions below); tests make their own to stall it or point it at a file.
class LogWriter {
 public:
  explicit LogWriter(LogWriterOptions options = {}, LogOutput output = {});
  // Writes what is queued and stops the thread (waits as long as the output takes).
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues one line (a missing final '\n' is added). Never blocks on the output: false when the
  // calling thread's buffer is full (the line is dropped and counted). After stop() lines are
  // written synchronously instead.
  bool submit(std::string_view line);

  // Returns once every line queued (and every output change requested) before the call is
  // written, or when `timeout` passes first (false).
  void flush();
  bool flush_for(std::chrono::milliseconds timeout);

  // Output changes run on the writer thread: lines queued before the call go to the old output,
  // lines queued after it (by this thread, or by others after they saw it) to the new one.
  // set_output keeps an open file when only the rotation limits change.
  void set_output(LogOutput output);
  // Closes and reopens the file (after an external logrotate moved it away); no-op for a descriptor.
  void reopen();

  // Writes what is queued and ends the thread. False when the output stayed stuck for `timeout`
  // (the thread is left to finish; lines queued later stay queued). Lines queued concurrently
  // with stop() may be lost; later ones are written synchronously by the calling thread.
  bool stop(std::chrono::milliseconds timeout);

  std::uint64_t lines_dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Failed opens, writes and renames of the output (each failure streak is reported on stderr once).
  std::uint64_t output_errors() const;

 private:
  class Sink;
  // An output change, with where each ring stood when it was asked for.
  struct Control {
    std::optional<LogOutput> output;  // nullopt: reopen
    std::vector<std::pair<std::shared_ptr<LogRing>, std::uint64_t>> cuts;
  };

  LogRing* ring_for_this_thread();
  void wake_if_idle();
  void hurry();
  void request(std::unique_lock<std::mutex>& lock);
  void add_control(std::optional<LogOutput> output);
  void run();
  bool any_ring_has_data() const;  // mutex_ held
  bool write_synchronously(std::string_view line);

  const std::uint64_t id_;
  const LogWriterOptions options_;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> idle_{false};             // the writer is about to sleep or sleeping
  std::atomic<bool> hurry_requested_{false};  // a producer's buffer passed half full: write now
  std::atomic<bool> stopped_{false};          // the thread has ended: submit() writes synchronously

  mutable std::mutex mutex_;  // everything below; producers take it only to register or to wake
  std::condition_variable wake_cv_;
  std::condition_variable done_cv_;
  std::vector<std::shared_ptr<LogRing>> rings_;
  bool wake_pending_ = false;
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_done_ = 0;
  std::vector<Control> controls_;  // in request order
  // Bumped with each control: a drain that sees it move stops, so no line queued after a control
  // reaches the output before the control is applied.
  std::atomic<std::uint64_t> control_epoch_{0};
  bool stop_requested_ = false;
  bool exited_ = false;

  std::mutex stop_mutex_;       // one stop() at a time (it joins the thread)
  std::mutex sync_mutex_;       // the sink after stop()
  std::unique_ptr<Sink> sink_;  // used by the writer thread only, then under sync_mutex_
  std::thread thread_;
};

// ─── the process-wide pipeline (started on first use; stdout until configured) ──────────────

// The writer behind write_line (log.h) and the functions below; never destroyed.
LogWriter& process_log_writer();

// Sends lines to `output` from now on (waits up to 2 s for the switch; see LogWriter::set_output).
void set_log_output(const LogOutput& output);
// Returns once everything queued before the call is written.
void flush_logs();
// Closes and reopens the log file (SIGUSR1, after an external logrotate).
void reopen_log_output();
// Writes what is queued (waiting up to 5 s for a stuck output) and stops the writer thread;
// later lines are written synchronously. Call before the process exits; normal exit (return from
// main, exit()) calls it too, std::_Exit and abort do not.
void shutdown_logging();
// Lines dropped because their thread's buffer was full.
std::uint64_t log_lines_dropped();
// Failed opens, writes and renames of the log output.
std::uint64_t log_output_errors();

}  // namespace flexgate::observe
