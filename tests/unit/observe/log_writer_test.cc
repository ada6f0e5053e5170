#include "observe/log_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "observe/log.h"
#include "stdout_capture.h"

namespace flexgate::observe {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "flexgate-log-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t newline; (newline = text.find('\n', start)) != std::string::npos; start = newline + 1) {
    lines.push_back(text.substr(start, newline - start));
  }
  EXPECT_EQ(start, text.size()) << "the output ends in the middle of a line";
  return lines;
}

// "<tag> <index> xxxx…" padded to exactly `width` bytes with the newline.
std::string numbered_line(std::string_view tag, int index, std::size_t width) {
  std::string line = std::string(tag) + ' ' + std::to_string(index) + ' ';
  line.resize(width - 1, 'x');
  line += '\n';
  return line;
}

LogOutput file_output(const std::string& path, std::uint64_t max_size = 0, unsigned max_files = 5) {
  LogOutput output;
  output.path = path;
  output.max_size = max_size;
  output.max_files = max_files;
  return output;
}

// The read end of a pipe drained into a string by a thread, until the write end is closed.
class PipeReader {
 public:
  PipeReader() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_fd_ = fds[0];
      write_fd_ = fds[1];
    }
  }
  ~PipeReader() {
    close_write_end();
    if (thread_.joinable()) thread_.join();
    if (read_fd_ >= 0) ::close(read_fd_);
  }
  int write_fd() const { return write_fd_; }
  void start_reading() {
    thread_ = std::thread([this] {
      char chunk[4096];
      for (ssize_t n; (n = ::read(read_fd_, chunk, sizeof chunk)) != 0;) {
        if (n < 0) {
          if (errno == EINTR) continue;
          break;
        }
        text_.append(chunk, static_cast<std::size_t>(n));
      }
    });
  }
  void close_write_end() {
    if (write_fd_ >= 0) ::close(write_fd_);
    write_fd_ = -1;
  }
  // Everything written, once the write end is closed.
  std::string finish() {
    close_write_end();
    if (thread_.joinable()) thread_.join();
    return text_;
  }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::thread thread_;
  std::string text_;
};

TEST(LogWriterTest, LinesFromManyThreadsArriveWholeAndInOrderPerThread) {
  TempDir dir;
  const std::string path = dir.file("all.log");
  constexpr int kThreads = 8;
  constexpr int kLines = 4000;
  {
    // Each thread's buffer holds all its lines: nothing may be dropped, whatever the scheduling.
    LogWriter writer(LogWriterOptions{.thread_buffer_bytes = 1 << 20}, file_output(path));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        const std::string tag = "t" + std::to_string(t);
        for (int i = 0; i < kLines; ++i) {
          // Lengths vary so that lines straddle the end of the ring at every offset.
          ASSERT_TRUE(writer.submit(numbered_line(tag, i, 20 + static_cast<std::size_t>(i % 97))));
        }
      });
    }
    for (auto& thread : threads) thread.join();
    writer.flush();
    EXPECT_EQ(writer.lines_dropped(), 0u);
  }
  const std::vector<std::string> lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    std::istringstream fields(line);
    std::string tag;
    int index = -1;
    fields >> tag >> index;
    ASSERT_EQ(tag.size(), 2u) << line;
    const int t = tag[1] - '0';
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    ASSERT_EQ(index, next[t]) << "thread " << t << " out of order: " << line;
    ++next[t];
    ASSERT_EQ(line + '\n', numbered_line(tag, index, 20 + static_cast<std::size_t>(index % 97)))
        << "cut line";
  }
}

TEST(LogWriterTest, AFullBufferDropsAndCountsInsteadOfBlocking) {
  PipeReader pipe;  // nobody reads until the end: the writer blocks in write(2) once the pipe is full
  LogOutput output;
  output.fd = pipe.write_fd();
  LogWriter writer(LogWriterOptions{.thread_buffer_bytes = 4096}, output);
  // 1 MiB: far more than the pipe (64 KiB), the ring and the writer's batch can hold.
  constexpr int kLines = 10000;
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < kLines; ++i) {
    if (writer.submit(numbered_line("line", i, 100))) {
      ++accepted;
    } else {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_EQ(accepted + refused, kLines);
  EXPECT_EQ(writer.lines_dropped(), static_cast<std::uint64_t>(refused));
  // A line longer than the buffer can never fit: dropped, not cut.
  EXPECT_FALSE(writer.submit(std::string(5000, 'y') + '\n'));
  EXPECT_EQ(writer.lines_dropped(), static_cast<std::uint64_t>(refused) + 1);

  pipe.start_reading();
  writer.flush();
  const std::vector<std::string> lines = split_lines(pipe.finish());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(accepted));
  int previous = -1;
  for (const std::string& line : lines) {
    std::istringstream fields(line);
    std::string tag;
    int index = -1;
    fields >> tag >> index;
    ASSERT_EQ(line + '\n', numbered_line("line", index, 100)) << "cut line";
    ASSERT_GT(index, previous) << "out of order";
    previous = index;
  }
}

// Reads `size` bytes from `fd`, blocking until they arrive (the writer writing is what the test
// waits for); "" when the fd has nothing for a minute or fails.
std::string read_bytes(int fd, std::size_t size) {
  std::string text;
  char chunk[4096];
  while (text.size() < size) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 60'000) != 1) return "";
    const ssize_t n = ::read(fd, chunk, std::min(sizeof chunk, size - text.size()));
    if (n <= 0) return "";
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return text;
}

TEST(LogWriterTest, ABufferPastHalfFullIsWrittenWithoutWaitingForTheNextBatch) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  {
    LogOutput output;
    output.fd = fds[1];
    // A batch interval the test would never see the end of: only the half-full wake writes.
    LogWriter writer(LogWriterOptions{.thread_buffer_bytes = 4096, .batch_interval = std::chrono::hours(1)},
                     output);
    // The idle writer is woken for the first line, writes it and then batches.
    ASSERT_TRUE(writer.submit(numbered_line("first", 0, 100)));
    ASSERT_EQ(read_bytes(fds[0], 100), numbered_line("first", 0, 100));
    std::string expected;
    for (int i = 0; i < 21; ++i) {  // 2,100 bytes: past half of 4,096
      expected += numbered_line("line", i, 100);
      ASSERT_TRUE(writer.submit(numbered_line("line", i, 100)));
    }
    EXPECT_EQ(read_bytes(fds[0], expected.size()), expected);
    EXPECT_EQ(writer.lines_dropped(), 0u);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

// A sampled access log is a sparse stream: each batch costs the writer three syscalls (a timed
// futex wait, the futex wake of the mutex that wait hands back contended, and the write), which
// `bench/cost.sh` counted as 0.14 per request with every policy on at 20 ms; 0.03 at 100 ms.
TEST(LogWriterTest, ASparseStreamIsCollectedTenTimesASecond) {
  EXPECT_EQ(LogWriterOptions{}.batch_interval, std::chrono::milliseconds(100));
}

TEST(LogWriterTest, OutputChangesAndFlushesWhileThreadsLogLoseNoLine) {
  TempDir dir;
  const std::string a = dir.file("a.log");
  const std::string b = dir.file("b.log");
  constexpr int kThreads = 4;
  constexpr int kLines = 3000;
  {
    LogWriter writer(LogWriterOptions{.thread_buffer_bytes = 1 << 20}, file_output(a));
    std::atomic<int> running{kThreads};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, &running, t] {
        for (int i = 0; i < kLines; ++i)
          ASSERT_TRUE(writer.submit(numbered_line("c" + std::to_string(t), i, 64)));
        --running;
      });
    }
    // Switch back and forth, reopen and flush for as long as the producers run.
    for (int round = 0; running.load() > 0; ++round) {
      // 768 KB in all: with 16 KiB files, 100 rotated files keep every line.
      writer.set_output(file_output(round % 2 == 0 ? b : a, round % 3 == 0 ? 16 * 1024 : 0, 100));
      writer.reopen();
      writer.flush();
    }
    for (auto& thread : threads) thread.join();
    writer.flush();
    EXPECT_EQ(writer.lines_dropped(), 0u);
  }
  std::size_t total = 0;
  std::set<std::string> seen;
  for (const std::string& base : {a, b}) {
    for (int n = 0; n <= 100; ++n) {
      const std::string file = n == 0 ? base : base + '.' + std::to_string(n);
      if (!fs::exists(file)) continue;
      for (const std::string& line : split_lines(read_file(file))) {
        ASSERT_EQ(line.size(), 63u) << file << ": " << line;
        ASSERT_TRUE(seen.insert(line).second) << "twice: " << line;
        ++total;
      }
    }
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kLines));
}

TEST(LogWriterTest, AMissingNewlineIsAddedAndEmptyLinesAreIgnored) {
  TempDir dir;
  const std::string path = dir.file("n.log");
  LogWriter writer({}, file_output(path));
  EXPECT_TRUE(writer.submit("first"));
  EXPECT_TRUE(writer.submit(""));
  EXPECT_TRUE(writer.submit("second\n"));
  writer.flush();
  EXPECT_EQ(read_file(path), "first\nsecond\n");
}

TEST(LogWriterTest, AThreadThatExitsStillHasItsLinesWritten) {
  TempDir dir;
  const std::string path = dir.file("exit.log");
  LogWriter writer({}, file_output(path));
  for (int t = 0; t < 20; ++t)
    std::thread([&writer, t] { writer.submit("gone " + std::to_string(t) + "\n"); }).join();
  writer.flush();
  EXPECT_EQ(split_lines(read_file(path)).size(), 20u);
}

TEST(LogWriterTest, RotationRenamesAndKeepsMaxFiles) {
  TempDir dir;
  const std::string path = dir.file("gw.log");
  {
    LogWriter writer({}, file_output(path, /*max_size=*/1024, /*max_files=*/3));
    // Ten 100-byte lines fit in 1024 bytes, the eleventh would pass it: one file per ten lines.
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer.submit(numbered_line("r", i, 100)));
    writer.flush();
  }
  const auto expect_lines = [&](const std::string& file, int first) {
    const std::string text = read_file(file);
    EXPECT_LE(text.size(), 1024u) << file;
    const std::vector<std::string> lines = split_lines(text);
    ASSERT_EQ(lines.size(), 10u) << file;
    for (int i = 0; i < 10; ++i) EXPECT_EQ(lines[i] + '\n', numbered_line("r", first + i, 100)) << file;
  };
  expect_lines(path, 90);
  expect_lines(path + ".1", 80);
  expect_lines(path + ".2", 70);
  expect_lines(path + ".3", 60);
  EXPECT_FALSE(fs::exists(path + ".4"));
}

TEST(LogWriterTest, RotationCountsWhatTheFileAlreadyHeldAndGivesALongLineAFileOfItsOwn) {
  TempDir dir;
  const std::string path = dir.file("gw.log");
  std::ofstream(path) << std::string(999, 'o') << '\n';  // 1000 bytes from a previous run
  {
    LogWriter writer({}, file_output(path, 1024, 2));
    writer.submit(numbered_line("a", 0, 100));      // does not fit: rotates first
    writer.submit(numbered_line("long", 1, 3000));  // longer than maxSize: alone in a file
    writer.submit(numbered_line("b", 2, 100));
    writer.flush();
  }
  EXPECT_EQ(read_file(path + ".2"), numbered_line("a", 0, 100));
  EXPECT_EQ(read_file(path + ".1"), numbered_line("long", 1, 3000));
  EXPECT_EQ(read_file(path), numbered_line("b", 2, 100));
  EXPECT_FALSE(fs::exists(path + ".3")) << "the oldest file (the previous run's) is gone";
}

TEST(LogWriterTest, ReopenAfterTheFileWasMovedCreatesANewFile) {
  TempDir dir;
  const std::string path = dir.file("gw.log");
  LogWriter writer({}, file_output(path));
  writer.submit("before the move\n");
  writer.flush();
  fs::rename(path, path + ".moved");
  writer.submit("still into the moved file\n");
  writer.flush();
  EXPECT_FALSE(fs::exists(path));
  writer.reopen();
  writer.submit("into the new file\n");
  writer.flush();
  EXPECT_EQ(read_file(path + ".moved"), "before the move\nstill into the moved file\n");
  EXPECT_EQ(read_file(path), "into the new file\n");
}

TEST(LogWriterTest, SetOutputWritesEarlierLinesToTheOldOutput) {
  TempDir dir;
  const std::string first = dir.file("first.log");
  const std::string second = dir.file("second.log");
  LogWriter writer({}, file_output(first));
  writer.submit("one\n");
  writer.set_output(file_output(second));
  writer.flush();
  writer.submit("two\n");
  writer.flush();
  EXPECT_EQ(read_file(first), "one\n");
  EXPECT_EQ(read_file(second), "two\n");
}

// Captures file descriptor 2 during a scope.
class StderrCapture {
 public:
  StderrCapture() {
    file_ = std::tmpfile();
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() {
    restore();
    std::fclose(file_);
  }
  std::string finish() {
    restore();
    std::string out;
    std::rewind(file_);
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, file_)) > 0;) out.append(chunk, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

TEST(LogWriterTest, AnOutputThatCannotBeOpenedIsReportedOnceAndCounted) {
  TempDir dir;
  const std::string path = dir.file("missing-dir/gw.log");
  StderrCapture capture;
  {
    LogWriter writer({}, file_output(path));
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(writer.submit("lost\n"));  // queued fine: the writer is the one that fails
      writer.flush();
    }
    EXPECT_GE(writer.output_errors(), 3u) << "the open is retried for every batch";
  }
  const std::string errors = capture.finish();
  EXPECT_NE(errors.find(path), std::string::npos) << errors;
  EXPECT_NE(errors.find("cannot open"), std::string::npos) << errors;
  EXPECT_EQ(split_lines(errors).size(), 1u) << "reported once:\n" << errors;
}

TEST(LogWriterTest, AfterStopLinesAreWrittenSynchronously) {
  TempDir dir;
  const std::string path = dir.file("stop.log");
  LogWriter writer({}, file_output(path));
  writer.submit("queued\n");
  EXPECT_TRUE(writer.stop(std::chrono::milliseconds::max()));
  EXPECT_EQ(read_file(path), "queued\n");
  writer.submit("after stop\n");
  EXPECT_EQ(read_file(path), "queued\nafter stop\n") << "no flush needed";
  writer.flush();  // returns at once
}

// ─── the process-wide writer (write_line, log_event) ────────────────────────────────────────

TEST(ProcessLogTest, WriteLineFromSeveralThreadsReachesStdoutWhole) {
  constexpr int kThreads = 4;
  constexpr int kLines = 200;  // well within each thread's buffer: nothing is dropped
  const std::uint64_t dropped_before = log_lines_dropped();
  test::StdoutCapture capture;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) write_line(numbered_line("p" + std::to_string(t), i, 80));
    });
  }
  for (auto& thread : threads) thread.join();
  const std::vector<std::string> lines = split_lines(capture.finish());
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLines));
  for (const std::string& line : lines) ASSERT_EQ(line.size(), 79u) << line;
  EXPECT_EQ(log_lines_dropped(), dropped_before);
}

TEST(ProcessLogTest, ConfigureLoggingSendsLinesToTheConfiguredFileAndBack) {
  TempDir dir;
  config::Config to_file;
  to_file.logging.output = "gw.log";
  to_file.logging.output_path = dir.file("gw.log");
  to_file.logging.rotation.max_size = 1 << 20;
  configure_logging(to_file);
  log_event(config::LogLevel::kWarn, "into_the_file");
  flush_logs();
  fs::rename(dir.file("gw.log"), dir.file("gw.log.old"));
  reopen_log_output();
  log_event(config::LogLevel::kWarn, "after_reopen");
  flush_logs();
  test::StdoutCapture capture;
  configure_logging(config::Config{});  // stdout again
  log_event(config::LogLevel::kWarn, "on_stdout");
  const std::string out = capture.finish();
  EXPECT_NE(read_file(dir.file("gw.log.old")).find("\"into_the_file\""), std::string::npos);
  EXPECT_NE(read_file(dir.file("gw.log")).find("\"after_reopen\""), std::string::npos);
  EXPECT_EQ(read_file(dir.file("gw.log")).find("on_stdout"), std::string::npos);
  EXPECT_NE(out.find("\"on_stdout\""), std::string::npos) << out;
}

}  // namespace
}  // namespace flexgate::observe
