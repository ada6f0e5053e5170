#pragma once
// An in-process byte stream between two ends on one io_context (one worker thread, no locks):
// what one end writes the other reads, through a bounded buffer per direction (a full one makes
// the writer wait: backpressure), with half-close both ways. It carries a request multiplexed on
// an HTTP/2 connection to the Session that serves it as HTTP/1.1, and back, where a socket pair
// cost a dozen syscalls per request (socketpair, fcntl, epoll_ctl, send, recv, shutdown, close).
// net::Stream wraps an end, so the Session's reads and writes do not know the difference.
// The other end may be served without a coroutine: a PipeListener is told synchronously when the
// peer wrote or took bytes, and reads in place (readable(), consume()): no buffer of its own, no
// copy, no timer.

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "net/asio.h"
#include "net/io_result.h"

namespace flexgate::net {

struct PipeState;

// What an end served by plain callbacks is told, synchronously, from inside the peer's call (so it
// must not destroy the peer's end from there).
class PipeListener {
 public:
  virtual ~PipeListener() = default;
  virtual void on_pipe_readable() = 0;  // bytes arrived for this end, or the peer's sending side ended
  virtual void on_pipe_writable() = 0;  // the peer took bytes (room again), or stopped reading
};

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

  // Serves this end by callbacks instead of read_some()/write_rest() waits; nullptr detaches.
  // close() detaches it first: a closed end's listener is never called again.
  void set_listener(PipeListener* listener);
  // Bytes this end can read now, in place: all of them, or when they wrap around the end of the
  // pipe's ring the first part (consume() it, then call again). consume() drops the first `n`.
  std::string_view readable() const;
  void consume(std::size_t n);
  // The peer will write nothing more and every byte it wrote was read.
  bool at_eof() const;

  void shutdown_send();     // the peer reads what was written, then eof
  void shutdown_receive();  // this end's reads see eof; the peer's writes fail
  void close();             // both, and this end's pending operations fail at once
  bool is_open() const { return !closed_; }
  std::size_t available() const;  // bytes this end can read without waiting

 private:
  // write_now() of the bytes after the first `skip`; `bytes` counts only those it wrote.
  IoResult write_after(std::span<const asio::const_buffer> buffers, std::size_t skip);

  std::shared_ptr<PipeState> state_;
  int side_;  // reads channel side_, writes channel 1 - side_
  bool closed_ = false;
};

// A connected pair of ends; each direction buffers up to `capacity` bytes.
std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_pipe(const net::Executor& executor,
                                                                        std::size_t capacity = 64 * 1024);

}  // namespace flexgate::net
