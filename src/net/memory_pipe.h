#pragma once
// An in-process byte stream between two ends on one io_context (one worker thread, no locks):
// what one end writes the other reads, through a bounded buffer per direction (a full one makes
// the writer wait: backpressure), with half-close both ways. It carries a request multiplexed on
// an HTTP/2 connection to the Session that serves it as HTTP/1.1, and back, where a socket pair
// cost a dozen syscalls per request (socketpair, fcntl, epoll_ctl, send, recv, shutdown, close).
// net::Stream wraps an end, so the Session's reads and writes do not know the difference.

#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "net/asio.h"
#include "net/io_result.h"

namespace flexgate::net {

struct PipeState;

// One end of a pipe (make_pipe). Destroying it closes it.
class PipeEnd {
 public:
  PipeEnd(std::shared_ptr<PipeState> state, int side) : state_(std::move(state)), side_(side) {}
  ~PipeEnd();
  PipeEnd(const PipeEnd&) = delete;
  PipeEnd& operator=(const PipeEnd&) = delete;

  // Reads at least one byte; eof once the peer shut its sending side (or closed) and every byte
  // before that was read; operation_aborted when this end is closed meanwhile.
  Task<IoResult> read_some(std::span<char> buffer);
  // Copies what fits now: all of `buffers` (no error), would_block() with the bytes taken so
  // far, or broken_pipe when the peer no longer reads.
  IoResult write_now(std::span<const asio::const_buffer> buffers);
  // Writes every byte after the first `skip`, waiting for room as needed.
  Task<IoResult> write_rest(std::span<const asio::const_buffer> buffers, std::size_t skip);

  void shutdown_send();     // the peer reads what was written, then eof
  void shutdown_receive();  // this end's reads see eof; the peer's writes fail
  void close();             // both, and this end's pending operations fail at once
  bool is_open() const { return !closed_; }
  std::size_t available() const;  // bytes this end can read without waiting

 private:
  std::shared_ptr<PipeState> state_;
  int side_;  // reads channel side_, writes channel 1 - side_
  bool closed_ = false;
};

// A connected pair of ends; each direction buffers up to `capacity` bytes.
std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_pipe(const net::Executor& executor,
                                                                        std::size_t capacity = 64 * 1024);

}  // namespace flexgate::net
