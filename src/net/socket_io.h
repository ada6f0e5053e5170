#pragma once
// Socket I/O that tries the non-blocking call inline first and waits on the reactor only when the
// kernel says "would block": one syscall for the common case instead of a reactor round trip.
// Sockets must be in non-blocking mode (prepare_socket). Errors are values, never exceptions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "net/asio.h"
#include "net/io_result.h"
#include "net/memory_pipe.h"
#include "net/stream.h"

namespace flexgate::net {

// Non-blocking mode and TCP_NODELAY for a freshly accepted or connected socket.
void prepare_socket(tcp::socket& socket);

// Reads at least one byte (or fails). `buffer` must be non-empty.
Task<IoResult> read_some(tcp::socket& socket, std::span<char> buffer);

// One recv() now, never waiting: the bytes read, eof, or would_block(). It clears the readiness
// flag below when it finds the socket drained (EAGAIN, or fewer bytes than `buffer` holds).
IoResult receive_now(tcp::socket& socket, std::span<char> buffer);

// Whether the reactor has seen `socket` turn readable since it was last drained: Asio's per-socket
// "try a speculative read" flag, which an epoll edge sets and a short read_after_wait() clears.
// False means a recv() now would almost surely fail with EAGAIN. Only for sockets of a
// single-threaded io_context, from its thread (the flag is read without the reactor's lock).
bool reactor_saw_readable(tcp::socket& socket);

// Clears the readiness flag below: the caller's own syscall found the socket drained (EAGAIN),
// so the next bytes bring an edge and a wait_readable() must wait for it.
void forget_readable(tcp::socket& socket);

// The error for an errno value; EAGAIN is asio::error::would_block (IoResult::would_block()).
std::error_code errno_code(int error);

// After a short read (fewer bytes than `capacity`) the socket was drained: the next bytes bring a
// new edge, which sets the flag again when the reactor next polls. Only valid before that poll.
void forget_readable_after_short_read(tcp::socket& socket, std::size_t read, std::size_t capacity);

// Asks the kernel to tell each read how much is left to read (TCP_INQ: a control message on
// recvmsg, counting a received FIN as a byte). With it, a read that empties the socket says so,
// and the next read waits for an edge instead of trying a recv() that fails with EAGAIN. One
// setsockopt per connection; false (and the old behaviour) where the kernel has no TCP_INQ.
bool enable_read_queue_hint(tcp::socket& socket);

// Whether to try a recv() on a drained socket before waiting for the reactor: a hit saves the
// reactor round (an epoll_wait), a miss costs a recv() that fails with EAGAIN, so trying pays only
// while the peer is ahead more often than not (its next request already there, as from a client
// that answers at once, or under a slowed-down gateway). A hit counts +1 and a miss -1, within
// +-kLimit; reads are tried while the count is not negative. Below zero only every probe_every()-th
// read tries, to notice the peer getting quicker: a slow peer costs at most that one recv(). Each
// probe that misses doubles the interval (kFirstProbeEvery up to kMaxProbeEvery); a hit resets it.
class ReadGuess {
 public:
  // True when this read should be tried now.
  bool try_now() {
    if (score_ >= 0) return true;
    if (++waits_ < probe_every_) return false;
    waits_ = 0;
    return true;
  }
  // What the read that try_now() allowed found. A read tried while the score was negative was a
  // probe.
  void learn(bool found_bytes) {
    const bool was_probe = score_ < 0;
    if (found_bytes) {
      if (score_ < kLimit) ++score_;
      probe_every_ = kFirstProbeEvery;
    } else {
      if (score_ > -kLimit) --score_;
      if (was_probe && probe_every_ < kMaxProbeEvery) probe_every_ *= 2;
    }
  }
  // Reads waited between two probes now.
  std::uint16_t probe_every() const { return probe_every_; }

  static constexpr std::int8_t kLimit = 8;
  static constexpr std::uint16_t kFirstProbeEvery = 32;
  static constexpr std::uint16_t kMaxProbeEvery = 1024;

 private:
  std::int8_t score_ = 0;
  std::uint16_t waits_ = 0;                       // reads waited since the last try, score negative
  std::uint16_t probe_every_ = kFirstProbeEvery;  // doubled by each probe that misses
};

// The first read of a reply right after its request, recv()ed at once when the reactor already
// saw the socket readable, or while `guess` says the peer usually answers before the caller gets
// here (a slowed-down or saturated gateway, a quick peer on the other core): a hit saves the
// reactor round, a miss costs a recv() that fails with EAGAIN. Only the guessed reads teach the
// guess. nullopt when nothing was read: the readiness flag is clear then, so the caller waits
// with read_when_readable(), which needs no check of its own.
std::optional<IoResult> read_now_if_ahead(tcp::socket& socket, std::span<char> buffer, ReadGuess& guess);

// recv()s at once when the reactor has seen the socket turn readable since its last drain.
// nullopt when the flag was clear or the read found nothing (the flag is clear then either way).
std::optional<IoResult> read_now_if_readable(tcp::socket& socket, std::span<char> buffer);

// A client read for keep-alive connections with enable_read_queue_hint(): recvmsg() at once; the
// reactor's readiness flag is cleared when the read reports nothing left, neither bytes nor a
// FIN, and after an EAGAIN. Without the hint only an EAGAIN clears it. Callers consult the flag
// (reactor_saw_readable) first to decide whether a read is worth a syscall.
IoResult read_now_with_hint(tcp::socket& socket, std::span<char> buffer);

namespace detail {

// A socket's place in Asio's epoll reactor (net/socket_io.cc reads it from the socket).
struct ReactorHandle {
  asio::detail::epoll_reactor* reactor = nullptr;
  asio::detail::epoll_reactor::per_descriptor_data* data = nullptr;  // the socket's own member
  int descriptor = -1;
};
ReactorHandle reactor_handle(tcp::socket& socket);
// Queues `op` as the socket's read operation; it completes on the next readable edge, or at once
// while the readiness flag is set. No epoll_ctl().
void start_wait_readable(const ReactorHandle& handle, asio::detail::reactor_op* op);
void cancel_wait_readable(const ReactorHandle& handle, void* key);

// Per-operation cancellation of a wait_readable(), as Asio's async_wait() has it.
struct WaitReadableCancellation {
  explicit WaitReadableCancellation(const ReactorHandle& reactor) : handle(reactor) {}
  ReactorHandle handle;
  void operator()(asio::cancellation_type_t type) {
    if (!!(type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                   asio::cancellation_type::total))) {
      cancel_wait_readable(handle, this);
    }
  }
};

// Queues a wait for the socket to turn readable with the reactor directly, allowed to complete at
// once from the readiness flag: Asio's async_wait() would re-register the descriptor with
// epoll_ctl() on every wait.
struct InitiateWaitReadable {
  template <class Handler>
  void operator()(Handler&& handler, tcp::socket* socket) const {
    using Op = asio::detail::reactive_wait_op<std::decay_t<Handler>, Executor>;
    auto slot = asio::get_associated_cancellation_slot(handler);
    typename Op::ptr p = {asio::detail::addressof(handler), Op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) Op(std::error_code(), handler, socket->get_executor());
    const ReactorHandle handle = reactor_handle(*socket);
    if (slot.is_connected()) p.p->cancellation_key_ = &slot.template emplace<WaitReadableCancellation>(handle);
    start_wait_readable(handle, p.p);
    p.v = p.p = nullptr;
  }
};

// read_after_wait's wait: once the socket is readable, one recv() (receive_now) and the
// completion, or another wait when the edge brought nothing to read. Asio runs it straight from
// the reactor's perform step, before the reactor polls again, so clearing the readiness flag
// after a short read loses no edge.
template <class Handler>
struct ReadWhenReadable {
  Handler handler;
  tcp::socket* socket = nullptr;
  std::span<char> buffer;

  // The handler's own (read_after_wait completes a coroutine, which has one): asking with the
  // socket's executor as the fallback would copy that executor on every call.
  using executor_type = asio::associated_executor_t<Handler>;
  executor_type get_executor() const noexcept { return asio::get_associated_executor(handler); }
  using allocator_type = asio::associated_allocator_t<Handler>;
  allocator_type get_allocator() const noexcept { return asio::get_associated_allocator(handler); }
  using cancellation_slot_type = asio::associated_cancellation_slot_t<Handler>;
  cancellation_slot_type get_cancellation_slot() const noexcept { return asio::get_associated_cancellation_slot(handler); }

  void operator()(std::error_code error) {
    if (error) {
      std::move(handler)(error, std::size_t{0});
      return;
    }
    const IoResult read = receive_now(*socket, buffer);
    if (read.would_block()) {
      tcp::socket* const waiting = socket;
      InitiateWaitReadable{}(std::move(*this), waiting);  // (this copy was moved off its operation)
      return;
    }
    std::move(handler)(read.error, read.bytes);
  }
};

// Waits for the readable edge, then reads: for a caller that has just seen the flag clear.
struct InitiateReadWhenReadable {
  template <class Handler>
  void operator()(Handler&& handler, tcp::socket* socket, std::span<char> buffer) const {
    // A wait and our own recv() rather than Asio's queued read: its recv() goes through glibc's
    // cancellation bookkeeping and Asio's generic receive path.
    InitiateWaitReadable{}(ReadWhenReadable<std::decay_t<Handler>>{std::forward<Handler>(handler), socket, buffer},
                           socket);
  }
};

struct InitiateReadAfterWait {
  template <class Handler>
  void operator()(Handler&& handler, tcp::socket* socket, std::span<char> buffer) const {
    // An edge came since the last drain: bytes are likely waiting, read them now.
    if (const std::optional<IoResult> read = read_now_if_readable(*socket, buffer)) {
      asio::post(socket->get_executor(), [done = std::forward<Handler>(handler), read = *read]() mutable {
        std::move(done)(read.error, read.bytes);
      });
      return;
    }
    // The flag is clear now, so the wait is only queued: no syscall until the edge.
    InitiateReadWhenReadable{}(std::forward<Handler>(handler), socket, buffer);
  }
};

}  // namespace detail

// Waits until the reactor sees `socket` turn readable (or the wait is cancelled or the socket
// closed); no syscall of its own. co_await gives (error). With read_now_with_hint() it reads a
// client's next request: read now, and when nothing is there, wait, then read again.
inline auto wait_readable(tcp::socket& socket) {
  return asio::async_initiate<decltype(use_task), void(std::error_code)>(detail::InitiateWaitReadable{}, use_task,
                                                                          &socket);
}

// Reads at least one byte (or fails), recv()ing at once only when the reactor has seen the socket
// turn readable since its last drain; otherwise the read waits on the reactor first. For the
// first read of a response right after its request, which cannot succeed yet: Asio alone would
// try a recv() that fails with EAGAIN before every such wait. Not a coroutine: no frame of its
// own per read. co_await gives (error, bytes).
// A short read clears the flag, but an EOF that arrived with those bytes brings no edge of its
// own: the read after this one must try recv() first (read_some), never wait on the flag.
inline auto read_after_wait(tcp::socket& socket, std::span<char> buffer) {
  return asio::async_initiate<decltype(use_task), void(std::error_code, std::size_t)>(detail::InitiateReadAfterWait{},
                                                                                      use_task, &socket, buffer);
}

// read_after_wait() without its look at the readiness flag, for a caller that has just found it
// clear (read_now_if_ahead() gave nullopt): the wait is queued at once. co_await gives
// (error, bytes).
inline auto read_when_readable(tcp::socket& socket, std::span<char> buffer) {
  return asio::async_initiate<decltype(use_task), void(std::error_code, std::size_t)>(
      detail::InitiateReadWhenReadable{}, use_task, &socket, buffer);
}

// Writes what the socket takes now, without waiting and without a coroutine frame: all of
// `buffers` (no error), a failure, or would_block() with `bytes` written so far. The hot path
// writes with this first and awaits write_rest() only when the socket buffer is full:
//   IoResult written = write_now(socket, parts);
//   if (written.would_block()) written = co_await write_rest(socket, parts, written.bytes);
IoResult write_now(tcp::socket& socket, std::span<const asio::const_buffer> buffers);
IoResult write_now(tcp::socket& socket, std::string_view bytes);

// Writes every byte of `buffers` after the first `skip` (already written), waiting for the socket
// to drain before its first write. The result's bytes count the skipped ones too.
Task<IoResult> write_rest(tcp::socket& socket, std::span<const asio::const_buffer> buffers, std::size_t skip);
Task<IoResult> write_rest(tcp::socket& socket, std::string_view bytes, std::size_t skip);

// Writes every byte of every buffer (gather write, in order): write_now, then write_rest.
Task<IoResult> write_all(tcp::socket& socket, std::span<const asio::const_buffer> buffers);
Task<IoResult> write_all(tcp::socket& socket, std::string_view bytes);

// The same on a Stream: the socket functions above when it is plaintext, else through its TLS
// session (the tls_* functions, tls_io.cc). Same contracts; bytes count plaintext.
Task<IoResult> tls_read_some(Stream& stream, std::span<char> buffer);
IoResult tls_write_now(Stream& stream, std::span<const asio::const_buffer> buffers);
Task<IoResult> tls_write_rest(Stream& stream, std::span<const asio::const_buffer> buffers, std::size_t skip);

inline Task<IoResult> read_some(Stream& stream, std::span<char> buffer) {
  if (stream.plain()) return read_some(stream.socket(), buffer);
  return stream.tls() ? tls_read_some(stream, buffer) : stream.pipe()->read_some(buffer);
}
inline IoResult write_now(Stream& stream, std::span<const asio::const_buffer> buffers) {
  if (stream.plain()) return write_now(stream.socket(), buffers);
  return stream.tls() ? tls_write_now(stream, buffers) : stream.pipe()->write_now(buffers);
}
inline IoResult write_now(Stream& stream, std::string_view bytes) {
  const asio::const_buffer one(bytes.data(), bytes.size());
  return write_now(stream, std::span<const asio::const_buffer>(&one, 1));
}
inline Task<IoResult> write_rest(Stream& stream, std::span<const asio::const_buffer> buffers, std::size_t skip) {
  if (stream.plain()) return write_rest(stream.socket(), buffers, skip);
  return stream.tls() ? tls_write_rest(stream, buffers, skip) : stream.pipe()->write_rest(buffers, skip);
}
Task<IoResult> write_rest(Stream& stream, std::string_view bytes, std::size_t skip);
Task<IoResult> write_all(Stream& stream, std::span<const asio::const_buffer> buffers);
Task<IoResult> write_all(Stream& stream, std::string_view bytes);

// True when an idle connection has nothing to read and is still open: nothing unsolicited came
// (a late or stray response) and the peer did not close. Consumes nothing on a plaintext socket
// (MSG_PEEK); on TLS it lets OpenSSL process what arrived (a session ticket is fine; any
// application byte means "not clean").
bool idle_stream_is_clean(Stream& stream);

// Connects (non-blocking) to `endpoint`; `socket` is opened as needed.
Task<std::error_code> connect(tcp::socket& socket, const tcp::endpoint& endpoint);

}  // namespace flexgate::net
