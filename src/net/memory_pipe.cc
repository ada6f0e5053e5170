#include "net/memory_pipe.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

namespace flexgate::net {

// One direction: bytes written by one end for the other, in a ring: `count` unread bytes from
// `head` on, wrapping at `size`. The storage grows (laid out again from 0) up to the pipe's
// capacity and is then kept, so a reader that takes bytes in pieces never makes the writer move
// the rest (a 64 KiB response read 16 KiB at a time was copied twice more by a flat buffer). A
// waiting coroutine parks on a timer that never expires; cancel() wakes it (it looks again at
// the state). The timers are made at the first wait: a stream whose ends never wait (the usual
// HTTP/2 request) makes none. An end with a listener is called instead.
struct PipeChannel {
  static constexpr std::size_t kFirstStorage = 1024;

  std::unique_ptr<char[]> storage;
  std::size_t size = 0;
  std::size_t head = 0;
  std::size_t count = 0;
  bool writer_done = false;  // no more bytes will come: eof after the last one
  bool reader_gone = false;  // nobody reads any more: writes fail
  bool reader_waiting = false;
  bool writer_waiting = false;
  std::optional<net::SteadyTimer> reader_wake;
  std::optional<net::SteadyTimer> writer_wake;
  PipeListener* reader_listener = nullptr;
  PipeListener* writer_listener = nullptr;

  std::size_t pending() const { return count; }
  // The unread bytes up to the end of the storage (all of them unless they wrap).
  std::string_view first_part() const { return {storage.get() + head, std::min(count, size - head)}; }
  void wake_reader() {
    if (reader_listener != nullptr) {
      reader_listener->on_pipe_readable();
    } else if (reader_waiting) {
      reader_wake->cancel();
    }
  }
  void wake_writer() {
    if (writer_listener != nullptr) {
      writer_listener->on_pipe_writable();
    } else if (writer_waiting) {
      writer_wake->cancel();
    }
  }
  void consume(std::size_t n) {
    assert(n <= count);
    count -= n;
    head = count == 0 ? 0 : (head + n) % size;
  }
  // Grows the storage to hold `more` bytes beside the unread ones, up to `capacity` in all.
  void reserve_for(std::size_t more, std::size_t capacity) {
    const std::size_t needed = std::min(capacity, count + more);
    if (needed <= size) return;
    const std::size_t new_size = std::min(capacity, std::max({needed, size * 2, kFirstStorage}));
    auto bigger = std::make_unique_for_overwrite<char[]>(new_size);
    copy_to(bigger.get(), count);
    storage = std::move(bigger);
    size = new_size;
    head = 0;
  }
  // Copies the first `n` unread bytes to `out` (they stay unread).
  void copy_to(char* out, std::size_t n) const {
    const std::size_t first = std::min(n, size - head);
    if (first > 0) std::memcpy(out, storage.get() + head, first);
    if (n > first) std::memcpy(out + first, storage.get(), n - first);
  }
  // Appends `n` bytes; there is room (reserve_for).
  void append(const char* data, std::size_t n) {
    assert(count + n <= size);
    const std::size_t tail = (head + count) % size;
    const std::size_t first = std::min(n, size - tail);
    std::memcpy(storage.get() + tail, data, first);
    if (n > first) std::memcpy(storage.get(), data + first, n - first);
    count += n;
  }
  void release() {
    storage.reset();
    size = head = count = 0;
  }
};

struct PipeState {
  PipeState(net::Executor pipe_executor, std::size_t channel_capacity)
      : executor(std::move(pipe_executor)), capacity(channel_capacity) {}
  net::Executor executor;
  std::size_t capacity;
  std::array<PipeChannel, 2> channels;
};

namespace {

Task<void> park(std::optional<net::SteadyTimer>& timer, const net::Executor& executor, bool& waiting) {
  if (!timer) timer.emplace(executor);
  waiting = true;
  timer->expires_at(net::SteadyTimer::time_point::max());
  (void)co_await timer->async_wait(use_task);
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
      in.copy_to(buffer.data(), n);
      in.consume(n);
      in.wake_writer();
      co_return IoResult{{}, n};
    }
    if (in.writer_done || in.reader_gone) co_return IoResult{asio::error::eof, 0};
    co_await park(in.reader_wake, state_->executor, in.reader_waiting);
  }
}

IoResult PipeEnd::write_now(std::span<const asio::const_buffer> buffers) { return write_after(buffers, 0); }

IoResult PipeEnd::write_after(std::span<const asio::const_buffer> buffers, std::size_t skip) {
  PipeChannel& out = state_->channels[static_cast<std::size_t>(1 - side_)];
  std::size_t total = 0;
  for (const auto& buffer : buffers) total += buffer.size();
  total -= std::min(total, skip);
  std::size_t written = 0;
  // A reader with a listener may take bytes while it is told of them: then more fit.
  for (;;) {
    if (closed_) return IoResult{asio::error::bad_descriptor, written};
    if (out.reader_gone || out.writer_done) return IoResult{asio::error::broken_pipe, written};
    const std::size_t room = state_->capacity - std::min(state_->capacity, out.pending());
    std::size_t left = std::min(room, total - written);
    std::size_t round = 0;
    if (left > 0) {
      out.reserve_for(left, state_->capacity);
      std::size_t before = skip + written;  // bytes of `buffers` already out
      for (const auto& buffer : buffers) {
        if (before >= buffer.size()) {
          before -= buffer.size();
          continue;
        }
        const std::size_t n = std::min(left, buffer.size() - before);
        out.append(static_cast<const char*>(buffer.data()) + before, n);
        round += n;
        left -= n;
        before = 0;
        if (left == 0) break;
      }
    }
    written += round;
    if (round > 0) out.wake_reader();
    if (written == total || round == 0 || out.reader_listener == nullptr) break;
  }
  if (written < total) return IoResult{asio::error::would_block, written};
  return IoResult{{}, written};
}

Task<IoResult> PipeEnd::write_rest(std::span<const asio::const_buffer> buffers, std::size_t skip) {
  PipeChannel& out = state_->channels[static_cast<std::size_t>(1 - side_)];
  for (;;) {
    const IoResult written = write_after(buffers, skip);
    skip += written.bytes;
    if (!written.error) co_return IoResult{{}, skip};
    if (!written.would_block()) co_return IoResult{written.error, skip};
    co_await park(out.writer_wake, state_->executor, out.writer_waiting);
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
  in.release();
  in.wake_reader();  // a read of this end pending: it sees eof
  in.wake_writer();  // the peer's pending write: it fails
}

void PipeEnd::set_listener(PipeListener* listener) {
  state_->channels[static_cast<std::size_t>(side_)].reader_listener = listener;
  state_->channels[static_cast<std::size_t>(1 - side_)].writer_listener = listener;
}

std::string_view PipeEnd::readable() const {
  if (closed_) return {};
  return state_->channels[static_cast<std::size_t>(side_)].first_part();
}

void PipeEnd::consume(std::size_t n) {
  PipeChannel& in = state_->channels[static_cast<std::size_t>(side_)];
  in.consume(n);
  if (n > 0) in.wake_writer();
}

bool PipeEnd::at_eof() const {
  const PipeChannel& in = state_->channels[static_cast<std::size_t>(side_)];
  return in.pending() == 0 && (in.writer_done || in.reader_gone);
}

void PipeEnd::close() {
  if (closed_) return;
  set_listener(nullptr);
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
