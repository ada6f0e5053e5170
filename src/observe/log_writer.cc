#include "observe/log_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/errno_text.h"

namespace flexgate::observe {

// A single-producer, single-consumer ring of bytes: the owning thread appends whole lines, the
// writer thread takes everything committed. Positions count bytes ever written, so head == tail
// is empty and tail - head is the fill, without a wasted slot.
class LogRing {
 public:
  explicit LogRing(std::size_t capacity)
      : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

  // Producer: appends `a` then `b` as one unit, or nothing when they do not fit.
  bool push(std::string_view a, std::string_view b) {
    const std::size_t size = a.size() + b.size();
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (size > capacity_ - (tail - cached_head_)) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (size > capacity_ - (tail - cached_head_)) return false;
    }
    copy_in(tail, a);
    copy_in(tail + a.size(), b);
    // seq_cst: paired with the writer's idle_ store and tail loads (see wake_if_idle).
    tail_.store(tail + size, std::memory_order_seq_cst);
    return true;
  }

  // Producer: whether the ring is more than half full (looks at the writer's progress only when
  // the last look says so, so a ring being drained in time costs no shared load).
  bool over_half_full() {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ <= capacity_ / 2) return false;
    cached_head_ = head_.load(std::memory_order_acquire);
    return tail - cached_head_ > capacity_ / 2;
  }

  // Consumer: appends the committed bytes up to position `limit` to `out` and frees the space.
  bool pop_into(std::string& out, std::uint64_t limit = UINT64_MAX) {
    const std::uint64_t tail = std::min(tail_.load(std::memory_order_acquire), limit);
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (tail <= head) return false;
    const std::size_t size = static_cast<std::size_t>(tail - head);
    const std::size_t at = static_cast<std::size_t>(head % capacity_);
    const std::size_t first = std::min(size, capacity_ - at);
    out.append(data_.get() + at, first);
    out.append(data_.get(), size - first);
    head_.store(tail, std::memory_order_release);
    return true;
  }

  // Where the producer stands: every line committed so far ends at or before it.
  std::uint64_t committed() const { return tail_.load(std::memory_order_acquire); }

  bool has_data() const {
    return tail_.load(std::memory_order_seq_cst) != head_.load(std::memory_order_relaxed);
  }

  std::atomic<bool> owner_gone{false};   // the producing thread has exited
  std::atomic<bool> writer_gone{false};  // the LogWriter has been destroyed

 private:
  void copy_in(std::uint64_t position, std::string_view bytes) {
    if (bytes.empty()) return;  // an empty view may have a null data(): memcpy must not see it
    const std::size_t at = static_cast<std::size_t>(position % capacity_);
    const std::size_t first = std::min(bytes.size(), capacity_ - at);
    std::memcpy(data_.get() + at, bytes.data(), first);
    if (bytes.size() > first) std::memcpy(data_.get(), bytes.data() + first, bytes.size() - first);
  }

  std::unique_ptr<char[]> data_;
  const std::size_t capacity_;
  std::uint64_t cached_head_ = 0;  // producer's last look at head_
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
};

namespace {

std::atomic<std::uint64_t> g_next_writer_id{1};

// The rings of the calling thread, one per LogWriter it has logged to; marked owner_gone when the
// thread exits so the writer frees them once drained.
struct ThreadRings {
  struct Entry {
    std::uint64_t writer_id;
    std::shared_ptr<LogRing> ring;
  };
  std::vector<Entry> entries;
  std::uint64_t last_writer = 0;  // one-entry cache for the common case: one writer per process
  LogRing* last_ring = nullptr;
  ~ThreadRings();
};

// Trivially destructible, so it can still be read after ThreadRings is gone (a line logged from
// a destructor that runs after this thread's thread_locals): such lines take the shared ring.
thread_local bool t_rings_gone = false;
thread_local ThreadRings t_rings;

ThreadRings::~ThreadRings() {
  for (Entry& entry : entries) entry.ring->owner_gone.store(true, std::memory_order_release);
  t_rings_gone = true;
}

constexpr std::string_view kNewline = "\n";

std::string_view missing_newline(std::string_view line) {
  return line.ends_with('\n') ? std::string_view() : kNewline;
}

// The longest prefix of `text` made of whole lines and at most `room` bytes (0 if none).
std::size_t whole_lines_within(std::string_view text, std::uint64_t room) {
  if (room == 0) return 0;
  const std::size_t cut =
      text.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(room, text.size()))).rfind('\n');
  return cut == std::string_view::npos ? 0 : cut + 1;
}

}  // namespace

// ─── Sink: the output, owned by the writer thread ───────────────────────────────────────────

class LogWriter::Sink {
 public:
  explicit Sink(LogOutput output) : output_(std::move(output)) { open(); }
  ~Sink() { close(); }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void configure(LogOutput output) {
    if (!output.path.empty() && output.path == output_.path) {
      output_ = std::move(output);  // same file, new limits: keep it open
      return;
    }
    close();
    output_ = std::move(output);
    failing_ = false;
    open();
  }

  void reopen() {
    if (output_.path.empty()) return;
    close();
    open();
  }

  // Writes whole lines, rotating the file between lines when the next ones would pass max_size.
  // A line longer than max_size gets a file of its own.
  void emit(std::string_view rest) {
    const bool to_file = !output_.path.empty();
    if (to_file && file_ < 0 && !open()) return;  // lost (counted and reported by open)
    while (!rest.empty()) {
      std::size_t take = rest.size();
      if (to_file && output_.max_size > 0 && size_ + take > output_.max_size) {
        take = whole_lines_within(rest, size_ < output_.max_size ? output_.max_size - size_ : 0);
        if (take == 0) {
          if (size_ > 0) {
            rotate();
            if (file_ < 0) return;
            continue;
          }
          const std::size_t newline = rest.find('\n');
          take = newline == std::string_view::npos ? rest.size() : newline + 1;
        }
      }
      if (!write_all(rest.substr(0, take))) return;  // the rest of this batch is lost
      size_ += take;
      rest.remove_prefix(take);
    }
  }

  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  int fd() const { return output_.path.empty() ? output_.fd : file_; }

  bool open() {
    if (output_.path.empty()) return true;
    file_ = ::open(output_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (file_ < 0) {
      fail("cannot open", errno);
      return false;
    }
    struct stat info {};
    size_ = ::fstat(file_, &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
    return true;
  }

  void close() {
    if (file_ >= 0) ::close(file_);
    file_ = -1;
    size_ = 0;
  }

  // FILE.(N-1) -> FILE.N … FILE -> FILE.1, then a new FILE. When FILE cannot be renamed the
  // current file is kept and counted as empty, so the next attempt comes max_size bytes later
  // instead of before every line.
  void rotate() {
    close();
    const std::string& path = output_.path;
    for (unsigned i = output_.max_files; i > 1; --i) {
      const std::string from = path + '.' + std::to_string(i - 1);
      if (::rename(from.c_str(), (path + '.' + std::to_string(i)).c_str()) != 0 && errno != ENOENT) {
        fail("cannot rotate " + from, errno);
      }
    }
    const bool renamed = ::rename(path.c_str(), (path + ".1").c_str()) == 0;
    if (!renamed && errno != ENOENT) fail("cannot rotate", errno);
    if (open() && !renamed) size_ = 0;
  }

  bool write_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd(), bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          // A non-blocking descriptor (shared with another process): this thread may wait.
          pollfd ready{fd(), POLLOUT, 0};
          ::poll(&ready, 1, -1);
          continue;
        }
        fail("cannot write", errno);
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    failing_ = false;
    return true;
  }

  // Counts every failure; reports the first of a streak on stderr (a full disk would otherwise
  // print once per batch).
  void fail(std::string_view what, int error) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (failing_) return;
    failing_ = true;
    std::string message = "flexgate: log output ";
    message += output_.path.empty()
                   ? (output_.fd == STDOUT_FILENO ? "stdout" : "fd " + std::to_string(output_.fd))
                   : output_.path;
    message += ": ";
    message += what;
    message += ": ";
    message += errno_text(error);
    message += "; log lines are lost until it works again\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, message.data(), message.size());
  }

  LogOutput output_;
  int file_ = -1;
  std::uint64_t size_ = 0;  // bytes in the current file
  bool failing_ = false;
  std::atomic<std::uint64_t> errors_{0};
};

// ─── LogWriter ──────────────────────────────────────────────────────────────────────────────

LogWriter::LogWriter(LogWriterOptions options, LogOutput output)
    : id_(g_next_writer_id.fetch_add(1, std::memory_order_relaxed)),
      options_(options),
      sink_(std::make_unique<Sink>(std::move(output))) {
  // A shared ring for threads whose thread_locals are already destroyed; producers take the mutex.
  rings_.push_back(std::make_shared<LogRing>(options_.thread_buffer_bytes));
  thread_ = std::thread([this] { run(); });
}

LogWriter::~LogWriter() {
  stop(std::chrono::milliseconds::max());
  if (thread_.joinable()) thread_.join();
  const std::lock_guard lock(mutex_);
  for (const auto& ring : rings_) ring->writer_gone.store(true, std::memory_order_release);
}

std::uint64_t LogWriter::output_errors() const {
  return sink_->errors();
}

LogRing* LogWriter::ring_for_this_thread() {
  if (t_rings_gone) return nullptr;
  ThreadRings& rings = t_rings;
  if (rings.last_writer == id_) return rings.last_ring;
  LogRing* found = nullptr;
  for (const auto& entry : rings.entries) {
    if (entry.writer_id == id_) found = entry.ring.get();
  }
  if (found == nullptr) {
    std::erase_if(rings.entries, [](const ThreadRings::Entry& entry) {
      return entry.ring->writer_gone.load(std::memory_order_acquire);
    });
    auto ring = std::make_shared<LogRing>(options_.thread_buffer_bytes);
    {
      const std::lock_guard lock(mutex_);
      rings_.push_back(ring);
    }
    found = ring.get();
    rings.entries.push_back({id_, std::move(ring)});
  }
  rings.last_writer = id_;
  rings.last_ring = found;
  return found;
}

bool LogWriter::submit(std::string_view line) {
  if (line.empty()) return true;
  if (stopped_.load(std::memory_order_acquire)) return write_synchronously(line);
  bool queued;
  bool filling = false;
  if (LogRing* ring = ring_for_this_thread()) {
    queued = ring->push(line, missing_newline(line));
    filling = queued && ring->over_half_full();
  } else {
    const std::lock_guard lock(mutex_);
    queued = rings_.front()->push(line, missing_newline(line));
  }
  if (!queued) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (filling) {
    hurry();
  } else {
    wake_if_idle();
  }
  return true;
}

// A ring past half full does not wait for the writer's next batch: lines coming faster than a
// batch interval can hold would otherwise be dropped. One wake per batch: the writer clears the
// flag when it starts a pass.
void LogWriter::hurry() {
  if (hurry_requested_.exchange(true, std::memory_order_acq_rel)) return;
  std::unique_lock lock(mutex_);
  request(lock);
}

// The writer sets idle_ and then looks at every tail; a producer stores its tail and then looks
// at idle_ (all seq_cst): either the writer sees the line or the producer sees idle_ and wakes it.
// A busy writer is never signalled, so a burst of lines costs no syscalls.
void LogWriter::wake_if_idle() {
  if (!idle_.load(std::memory_order_seq_cst)) return;
  std::unique_lock lock(mutex_);
  request(lock);
}

void LogWriter::request(std::unique_lock<std::mutex>&) {
  wake_pending_ = true;
  wake_cv_.notify_one();
}

void LogWriter::flush() {
  std::unique_lock lock(mutex_);
  if (exited_) return;
  const std::uint64_t target = ++flush_requested_;
  request(lock);
  done_cv_.wait(lock, [&] { return flush_done_ >= target || exited_; });
}

bool LogWriter::flush_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (exited_) return true;
  const std::uint64_t target = ++flush_requested_;
  request(lock);
  return done_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= target || exited_; });
}

void LogWriter::set_output(LogOutput output) {
  if (stopped_.load(std::memory_order_acquire)) {
    const std::lock_guard lock(sync_mutex_);
    sink_->configure(std::move(output));
    return;
  }
  add_control(std::move(output));
}

void LogWriter::add_control(std::optional<LogOutput> output) {
  std::unique_lock lock(mutex_);
  Control control{std::move(output), {}};
  control.cuts.reserve(rings_.size());
  for (const auto& ring : rings_) control.cuts.emplace_back(ring, ring->committed());
  controls_.push_back(std::move(control));
  control_epoch_.fetch_add(1, std::memory_order_release);
  request(lock);
}

void LogWriter::reopen() {
  if (stopped_.load(std::memory_order_acquire)) {
    const std::lock_guard lock(sync_mutex_);
    sink_->reopen();
    return;
  }
  add_control(std::nullopt);
}

bool LogWriter::stop(std::chrono::milliseconds timeout) {
  const std::lock_guard serial(stop_mutex_);
  {
    std::unique_lock lock(mutex_);
    if (!exited_) {
      stop_requested_ = true;
      request(lock);
      const auto ended = [&] { return exited_; };
      if (timeout == std::chrono::milliseconds::max()) {
        done_cv_.wait(lock, ended);
      } else if (!done_cv_.wait_for(lock, timeout, ended)) {
        return false;
      }
    }
  }
  if (thread_.joinable()) thread_.join();
  if (!stopped_.exchange(true, std::memory_order_acq_rel)) {
    // Lines and output changes that raced with the stop request: done now rather than never.
    const std::lock_guard sync(sync_mutex_);
    const std::lock_guard lock(mutex_);
    std::string rest;
    for (Control& control : controls_) {
      for (const auto& [ring, cut] : control.cuts) ring->pop_into(rest, cut);
      sink_->emit(rest);
      rest.clear();
      if (control.output) {
        sink_->configure(std::move(*control.output));
      } else {
        sink_->reopen();
      }
    }
    controls_.clear();
    for (const auto& ring : rings_) ring->pop_into(rest);
    sink_->emit(rest);
  }
  return true;
}

bool LogWriter::write_synchronously(std::string_view line) {
  const std::lock_guard lock(sync_mutex_);
  if (line.ends_with('\n')) {
    sink_->emit(line);
  } else {
    std::string whole(line);
    whole += '\n';
    sink_->emit(whole);
  }
  return true;
}

bool LogWriter::any_ring_has_data() const {
  return std::any_of(rings_.begin(), rings_.end(), [](const auto& ring) { return ring->has_data(); });
}

// One pass: take the requests; for each output change, write what was queued before it to the
// old output and switch; drain every ring; write; answer the flushes asked before the pass began
// (their lines were in the rings by then). A pass cut short by a new control does not count.
void LogWriter::run() {
  pthread_setname_np(pthread_self(), "log-writer");  // what top -H and gdb show
  std::string batch;
  std::vector<std::shared_ptr<LogRing>> rings;
  std::vector<Control> controls;
  std::unique_lock lock(mutex_);
  for (;;) {
    const std::uint64_t flush_target = flush_requested_;
    const bool stopping = stop_requested_;
    controls.swap(controls_);
    const std::uint64_t epoch = control_epoch_.load(std::memory_order_relaxed);
    wake_pending_ = false;
    hurry_requested_.store(false, std::memory_order_release);
    rings = rings_;
    lock.unlock();

    bool wrote = false;
    for (Control& control : controls) {
      batch.clear();
      for (const auto& [ring, cut] : control.cuts) ring->pop_into(batch, cut);
      if (!batch.empty()) sink_->emit(batch);
      wrote = wrote || !batch.empty();
      if (control.output) {
        sink_->configure(std::move(*control.output));
      } else {
        sink_->reopen();
      }
    }
    controls.clear();
    // A line committed after a new control was asked for happens after the epoch moved, so
    // checking the epoch after reading a ring's tail keeps such lines for the next pass.
    batch.clear();
    bool interrupted = false;
    for (const auto& ring : rings) {
      const std::uint64_t limit = ring->committed();
      if (control_epoch_.load(std::memory_order_acquire) != epoch) {
        interrupted = true;
        break;
      }
      ring->pop_into(batch, limit);
    }
    if (!batch.empty()) sink_->emit(batch);
    wrote = wrote || !batch.empty();

    lock.lock();
    // A ring whose thread has exited goes once it is empty (the shared ring, first, never does).
    const LogRing* shared = rings_.front().get();
    std::erase_if(rings_, [&](const std::shared_ptr<LogRing>& ring) {
      return ring.get() != shared && ring->owner_gone.load(std::memory_order_acquire) && !ring->has_data();
    });
    if (interrupted) continue;
    if (flush_target > flush_done_) {
      flush_done_ = flush_target;
      done_cv_.notify_all();
    }
    if (stopping) break;
    if (wake_pending_) continue;
    if (wrote) {
      // Lines keep coming: gather them every batch_interval instead of going idle and being woken
      // for the next line (the wake would cost the producing worker a lock and a futex call per
      // line). flush(), stop() and output changes still wake the writer at once.
      wake_cv_.wait_for(lock, options_.batch_interval, [&] { return wake_pending_; });
      continue;
    }
    idle_.store(true, std::memory_order_seq_cst);
    if (any_ring_has_data()) {
      idle_.store(false, std::memory_order_relaxed);
      continue;
    }
    wake_cv_.wait(lock, [&] { return wake_pending_; });
    idle_.store(false, std::memory_order_relaxed);
  }
  exited_ = true;
  done_cv_.notify_all();
}

// ─── the process-wide writer ────────────────────────────────────────────────────────────────

namespace {
constexpr std::chrono::milliseconds kOutputSwitchWait{2000};
constexpr std::chrono::milliseconds kShutdownWait{5000};
}  // namespace

// Never destroyed: workers and destructors may log while the process exits. The writer thread
// is stopped (its lines written) by shutdown_logging, which exit() runs too.
LogWriter& process_log_writer() {
  union Holder {
    Holder() : writer() {
      std::atexit([] { shutdown_logging(); });
    }
    ~Holder() {}  // NOLINT(modernize-use-equals-default): `= default` is deleted for a union
    LogWriter writer;
  };
  static Holder holder;
  return holder.writer;
}

void set_log_output(const LogOutput& output) {
  LogWriter& writer = process_log_writer();
  writer.set_output(output);
  writer.flush_for(kOutputSwitchWait);
}

void flush_logs() {
  process_log_writer().flush();
}
void reopen_log_output() {
  process_log_writer().reopen();
}
void shutdown_logging() {
  process_log_writer().stop(kShutdownWait);
}
std::uint64_t log_lines_dropped() {
  return process_log_writer().lines_dropped();
}
std::uint64_t log_output_errors() {
  return process_log_writer().output_errors();
}

}  // namespace flexgate::observe
