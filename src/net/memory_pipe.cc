#include "net/memory_pipe.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace flexgate::net {

// One direction: bytes written by one end for the other. A waiting coroutine parks on a timer
// that never expires; cancel() wakes it (it looks again at the state).
struct PipeChannel {
  explicit PipeChannel(const net::Executor& executor) : reader_wake(executor), writer_wake(executor) {}

  std::string bytes;       // unread bytes from read_at on (the storage is kept between uses)
  std::size_t read_at = 0;
  bool writer_done = false;  // no more bytes will come: eof after the last one
  bool reader_gone = false;  // nobody reads any more: writes fail
  bool reader_waiting = false;
  bool writer_waiting = false;
  net::SteadyTimer reader_wake;
  net::SteadyTimer writer_wake;

  std::size_t pending() const { return bytes.size() - read_at; }
  void wake_reader() {
    if (reader_waiting) reader_wake.cancel();
  }
  void wake_writer() {
    if (writer_waiting) writer_wake.cancel();
  }
};

struct PipeState {
  PipeState(const net::Executor& executor, std::size_t channel_capacity)
      : capacity(channel_capacity), channels{PipeChannel(executor), PipeChannel(executor)} {}
  std::size_t capacity;
  std::array<PipeChannel, 2> channels;
};

namespace {

Task<void> park(net::SteadyTimer& timer, bool& waiting) {
  waiting = true;
  timer.expires_at(net::SteadyTimer::time_point::max());
  (void)co_await timer.async_wait(use_task);
  waiting = false;
}

}  // namespace

PipeEnd::~PipeEnd() { close(); }

Task<IoResult> PipeEnd::read_some(std::span<char> buffer) {
  PipeChannel& in = state_->channels[static_cast<std::size_t>(side_)];
  for (;;) {
    if (closed_) co_return IoResult{asio::error::operation_aborted, 0};
    if (in.pending() > 0) {
      const std::size_t n = std::min(in.pending(), buffer.size());
      std::memcpy(buffer.data(), in.bytes.data() + in.read_at, n);
      in.read_at += n;
      if (in.read_at == in.bytes.size()) {
        in.bytes.clear();
        in.read_at = 0;
      }
      in.wake_writer();
      co_return IoResult{{}, n};
    }
    if (in.writer_done || in.reader_gone) co_return IoResult{asio::error::eof, 0};
    co_await park(in.reader_wake, in.reader_waiting);
  }
}

IoResult PipeEnd::write_now(std::span<const asio::const_buffer> buffers) {
  PipeChannel& out = state_->channels[static_cast<std::size_t>(1 - side_)];
  if (closed_) return IoResult{asio::error::bad_descriptor, 0};
  if (out.reader_gone || out.writer_done) return IoResult{asio::error::broken_pipe, 0};
  std::size_t total = 0;
  for (const auto& buffer : buffers) total += buffer.size();
  if (out.read_at > 0 && out.bytes.size() + total > state_->capacity) {
    out.bytes.erase(0, out.read_at);  // room at the front: bounded memory per direction
    out.read_at = 0;
  }
  std::size_t written = 0;
  for (const auto& buffer : buffers) {
    const std::size_t room = state_->capacity - std::min(state_->capacity, out.pending());
    const std::size_t n = std::min(room, buffer.size());
    out.bytes.append(static_cast<const char*>(buffer.data()), n);
    written += n;
    if (n < buffer.size()) break;
  }
  if (written > 0) out.wake_reader();
  if (written < total) return IoResult{asio::error::would_block, written};
  return IoResult{{}, written};
}

Task<IoResult> PipeEnd::write_rest(std::span<const asio::const_buffer> buffers, std::size_t skip) {
  PipeChannel& out = state_->channels[static_cast<std::size_t>(1 - side_)];
  // The buffers after the first `skip` bytes.
  std::array<asio::const_buffer, 64> rest{};
  for (;;) {
    std::size_t count = 0;
    std::size_t to_skip = skip;
    for (const auto& buffer : buffers) {
      if (to_skip >= buffer.size()) {
        to_skip -= buffer.size();
        continue;
      }
      if (count == rest.size()) break;  // the remainder goes on the next round
      rest[count++] = asio::buffer(static_cast<const char*>(buffer.data()) + to_skip, buffer.size() - to_skip);
      to_skip = 0;
    }
    if (count == 0) co_return IoResult{{}, skip};
    const IoResult written = write_now(std::span<const asio::const_buffer>(rest.data(), count));
    skip += written.bytes;
    if (written.error && !written.would_block()) co_return IoResult{written.error, skip};
    if (!written.error) continue;  // this round went whole; a later one may be left
    co_await park(out.writer_wake, out.writer_waiting);
    if (closed_) co_return IoResult{asio::error::operation_aborted, skip};
  }
}

void PipeEnd::shutdown_send() {
  PipeChannel& out = state_->channels[static_cast<std::size_t>(1 - side_)];
  out.writer_done = true;
  out.wake_reader();
}

void PipeEnd::shutdown_receive() {
  PipeChannel& in = state_->channels[static_cast<std::size_t>(side_)];
  in.reader_gone = true;
  in.bytes.clear();
  in.read_at = 0;
  in.wake_reader();  // a read of this end pending: it sees eof
  in.wake_writer();  // the peer's pending write: it fails
}

void PipeEnd::close() {
  if (closed_) return;
  shutdown_send();
  shutdown_receive();
  closed_ = true;
  // This end's own waits end now, with operation_aborted.
  PipeChannel& out = state_->channels[static_cast<std::size_t>(1 - side_)];
  out.wake_writer();
}

std::size_t PipeEnd::available() const {
  return closed_ ? 0 : state_->channels[static_cast<std::size_t>(side_)].pending();
}

std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_pipe(const net::Executor& executor,
                                                                        std::size_t capacity) {
  auto state = std::make_shared<PipeState>(executor, capacity);
  return {std::make_shared<PipeEnd>(state, 0), std::make_shared<PipeEnd>(state, 1)};
}

}  // namespace flexgate::net
