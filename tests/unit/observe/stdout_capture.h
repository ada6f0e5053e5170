#pragma once
// Captures what the process writes to file descriptor 1 (the log sink) during a scope. Log lines
// are written by the log writer thread: the capture flushes it when it starts (earlier lines stay
// out) and when it finishes (every line queued in the scope is in).

#include <unistd.h>

#include <cstdio>
#include <string>

#include "observe/log_writer.h"

namespace flexgate::observe::test {

class StdoutCapture {
 public:
  StdoutCapture() {
    flush_logs();
    std::fflush(stdout);
    file_ = std::tmpfile();
    saved_ = ::dup(STDOUT_FILENO);
    ::dup2(::fileno(file_), STDOUT_FILENO);
  }
  ~StdoutCapture() {
    restore();
    std::fclose(file_);
  }
  StdoutCapture(const StdoutCapture&) = delete;
  StdoutCapture& operator=(const StdoutCapture&) = delete;

  // Stops capturing and returns everything written.
  std::string finish() {
    restore();
    std::string out;
    std::rewind(file_);
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof(chunk), file_)) > 0) out.append(chunk, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    flush_logs();
    std::fflush(stdout);
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

}  // namespace flexgate::observe::test
