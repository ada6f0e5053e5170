#include "net/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "net/socket_io.h"

namespace flexgate::net {
namespace {

ssize_t splice_now(int from, int to, std::size_t max) {
  for (;;) {
    const ssize_t n = ::splice(from, nullptr, to, nullptr, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0 || errno != EINTR) return n;
  }
}

}  // namespace

SplicePipe::~SplicePipe() {
  ::close(read_fd_);
  ::close(write_fd_);
}

IoResult SplicePipe::fill_from(tcp::socket& socket, std::size_t max) {
  const ssize_t n = splice_now(socket.native_handle(), write_fd_, max);
  if (n < 0) {
    const std::error_code error = errno_code(errno);
    if (error == asio::error::would_block) forget_readable(socket);  // the next bytes bring an edge
    return IoResult{error, 0};
  }
  if (n == 0) return IoResult{asio::error::eof, 0};
  held_ += static_cast<std::size_t>(n);
  return IoResult{{}, static_cast<std::size_t>(n)};
}

IoResult SplicePipe::drain_to(tcp::socket& socket) {
  const ssize_t n = splice_now(read_fd_, socket.native_handle(), held_);
  if (n < 0) return IoResult{errno_code(errno), 0};
  held_ -= static_cast<std::size_t>(n);
  return IoResult{{}, static_cast<std::size_t>(n)};
}

SplicePipes::Lease SplicePipes::take() {
  taken_since_close_idle_ = true;
  if (!spare_.empty()) {
    SplicePipe* pipe = spare_.back().release();
    spare_.pop_back();
    return Lease(pipe, Return{weak_from_this()});
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return Lease(nullptr, Return{});
  ++made_;
  return Lease(new SplicePipe(fds[0], fds[1]), Return{weak_from_this()});
}

void SplicePipes::close_idle_spares() {
  if (!taken_since_close_idle_) spare_.clear();
  taken_since_close_idle_ = false;
}

void SplicePipes::Return::operator()(SplicePipe* pipe) const {
  std::unique_ptr<SplicePipe> owned(pipe);
  if (owned->held() != 0) return;  // a failed body's bytes: never handed to the next one
  if (const auto held = pool.lock(); held && held->spare_.size() < kMaxSpare) held->spare_.push_back(std::move(owned));
}

}  // namespace flexgate::net
