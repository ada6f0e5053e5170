#pragma once
// Kernel pipes that carry a body from one TCP socket to another with splice(2): the pages move
// by reference, socket to pipe to socket, instead of being copied into the gateway and back out
// (two copies of every byte, the bulk of a large body's CPU cost). Sans coroutines: each call
// does one splice() now and says what happened; the body forwarder does the waiting.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/asio.h"
#include "net/io_result.h"

namespace flexgate::net {

// One pipe and how many bytes it holds (spliced in, not yet out).
class SplicePipe {
 public:
  SplicePipe(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}
  ~SplicePipe();
  SplicePipe(const SplicePipe&) = delete;
  SplicePipe& operator=(const SplicePipe&) = delete;

  std::size_t held() const { return held_; }

  // Up to `max` bytes from the socket into the pipe: the bytes moved, eof, an error, or
  // would_block() (the socket is drained: its readiness flag is cleared, as by receive_now).
  IoResult fill_from(tcp::socket& socket, std::size_t max);
  // What the pipe holds (or part of it) into the socket: the bytes moved, an error, or
  // would_block() (the socket's send buffer is full).
  IoResult drain_to(tcp::socket& socket);

 private:
  int read_fd_;
  int write_fd_;
  std::size_t held_ = 0;
};

// A worker's spare pipes (one thread, no locks). A pipe is taken for one body and comes back
// when it is empty; one that still holds bytes (its body failed midway) is closed instead, so a
// pipe handed out never carries another body's bytes.
class SplicePipes : public std::enable_shared_from_this<SplicePipes> {
 public:
  // The most pipes kept for reuse; more in use at once are made and closed as needed.
  static constexpr std::size_t kMaxSpare = 8;

  // Returns `pipe` to `pool` when it is empty and the pool is still there, else closes it.
  struct Return {
    std::weak_ptr<SplicePipes> pool;
    void operator()(SplicePipe* pipe) const;
  };
  using Lease = std::unique_ptr<SplicePipe, Return>;

  // A pipe for one body, or nullptr when none can be made (EMFILE: the caller copies instead).
  Lease take();

  // Closes the spares when none was taken since the last call: a worker calls it now and then,
  // so pipes kept for a burst of large bodies are given back once the burst is over.
  void close_idle_spares();

  std::uint64_t made() const { return made_; }  // pipes created so far (tests, for reuse)
  std::size_t spare() const { return spare_.size(); }

 private:
  std::vector<std::unique_ptr<SplicePipe>> spare_;
  std::uint64_t made_ = 0;
  bool taken_since_close_idle_ = false;
};

}  // namespace flexgate::net
