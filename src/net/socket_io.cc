#include "net/socket_io.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <type_traits>

namespace flexgate::net {

void prepare_socket(tcp::socket& socket) {
  std::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.set_option(tcp::no_delay(true), ignored);
}

Task<IoResult> read_some(tcp::socket& socket, std::span<char> buffer) {
  assert(!buffer.empty());
  std::error_code ec;
  std::size_t n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  if (ec != asio::error::would_block && ec != asio::error::try_again) co_return IoResult{ec, n};
  // Nothing yet: queue a read with the reactor. Not async_wait(): Asio re-registers the
  // descriptor with epoll_ctl() on every wait, while a queued read costs no syscall. The socket
  // is drained, so Asio need not try the recv() a second time before it queues the read.
  forget_readable_after_short_read(socket, 1, 2);
  auto [read_ec, bytes] = co_await socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_task);
  co_return IoResult{read_ec, bytes};
}

namespace {

// Asio keeps, per socket, whether an epoll edge was seen that no read has answered yet
// (descriptor_state::try_speculative_) and recv()s at once while it is set. It sets the flag on
// every readable edge and clears it only at EOF, so each read after a reactor-completed one starts
// with a recv() that fails with EAGAIN. Asio offers no way to clear it; an explicit instantiation
// may name private members ([temp.spec.general]/6), which lets the two helpers below reach it.
using Reactor = asio::detail::epoll_reactor;
static_assert(std::is_same_v<asio::detail::reactor, Reactor>, "the readiness flag is the epoll reactor's");
using SocketBase = asio::basic_socket<asio::ip::tcp, Executor>;
using SocketImpl = asio::detail::io_object_impl<asio::detail::reactive_socket_service<asio::ip::tcp>, Executor>;
using ReadinessFlags = bool[Reactor::max_ops];

struct SocketImplTag {
  friend constexpr SocketImpl SocketBase::*member_of(SocketImplTag);
};
struct ReadinessFlagsTag {
  friend constexpr ReadinessFlags Reactor::descriptor_state::*member_of(ReadinessFlagsTag);
};
struct StateReactorTag {
  friend constexpr Reactor* Reactor::descriptor_state::*member_of(StateReactorTag);
};
template <auto Member, class Tag>
struct PrivateMember {
  friend constexpr decltype(Member) member_of(Tag) { return Member; }
};
template struct PrivateMember<&SocketBase::impl_, SocketImplTag>;
template struct PrivateMember<&Reactor::descriptor_state::try_speculative_, ReadinessFlagsTag>;
template struct PrivateMember<&Reactor::descriptor_state::reactor_, StateReactorTag>;

bool* readable_flag(tcp::socket& socket) {
  Reactor::descriptor_state* state = (socket.*member_of(SocketImplTag{})).get_implementation().reactor_data_;
  return state == nullptr ? nullptr : &(state->*member_of(ReadinessFlagsTag{}))[Reactor::read_op];
}

}  // namespace

namespace detail {

ReactorHandle reactor_handle(tcp::socket& socket) {
  auto& impl = (socket.*member_of(SocketImplTag{})).get_implementation();
  // An open socket's descriptor state names its reactor; use_service() would lock the context's
  // service registry and search it on every wait. A closed socket's wait still needs the reactor
  // (it completes with bad_descriptor through it).
  Reactor::descriptor_state* state = impl.reactor_data_;
  Reactor* reactor = state != nullptr ? state->*member_of(StateReactorTag{})
                                      : &asio::use_service<Reactor>(socket.get_executor().context());
  return {reactor, &impl.reactor_data_, impl.socket_};
}

void start_wait_readable(const ReactorHandle& handle, asio::detail::reactor_op* op) {
  // allow_speculative: with the flag set the wait completes at once (bytes may be there); with it
  // clear the operation is only queued, and the descriptor's epoll registration is left alone.
  handle.reactor->start_op(Reactor::read_op, handle.descriptor, *handle.data, op, /*is_continuation=*/false,
                           /*allow_speculative=*/true);
}

void cancel_wait_readable(const ReactorHandle& handle, void* key) {
  handle.reactor->cancel_ops_by_key(handle.descriptor, *handle.data, Reactor::read_op, key);
}

}  // namespace detail

namespace {

// recvmsg(2) and sendmsg(2) through syscall(2). glibc's own wrappers are cancellation points: in a
// multi-threaded process each call is bracketed by pthread async-cancel bookkeeping (~45
// instructions, callgrind), and the gateway never cancels a thread.
ssize_t receive_message(int fd, msghdr* message, int flags) {
  for (;;) {
    const long n = ::syscall(SYS_recvmsg, fd, message, flags);
    if (n >= 0 || errno != EINTR) return static_cast<ssize_t>(n);
  }
}

ssize_t send_message(int fd, const msghdr* message) {
  for (;;) {
    const long n = ::syscall(SYS_sendmsg, fd, message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0 || errno != EINTR) return static_cast<ssize_t>(n);
  }
}

}  // namespace

std::error_code errno_code(int error) {
  if (error == EAGAIN || error == EWOULDBLOCK) return asio::error::would_block;
  return {error, asio::error::get_system_category()};
}

bool enable_read_queue_hint(tcp::socket& socket) {
  const int one = 1;
  return ::setsockopt(socket.native_handle(), SOL_TCP, TCP_INQ, &one, sizeof one) == 0;
}

IoResult read_now_with_hint(tcp::socket& socket, std::span<char> buffer) {
  bool* flag = readable_flag(socket);
  iovec part{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t n = receive_message(socket.native_handle(), &message, MSG_DONTWAIT);
  if (n < 0) {
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      if (flag != nullptr) *flag = false;  // nothing left, not even a FIN: the next bytes bring an edge
      return IoResult{asio::error::would_block, 0};
    }
    return IoResult{errno_code(error), 0};
  }
  // TCP_INQ: what is left after this read, a received FIN counting as one. Zero means the socket
  // is drained and no FIN waits behind the bytes, so nothing is lost by waiting for an edge.
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) {
      int left = 0;
      std::memcpy(&left, CMSG_DATA(c), sizeof left);
      if (left == 0 && n > 0 && flag != nullptr) *flag = false;
    }
  }
  if (n == 0) return IoResult{asio::error::eof, 0};
  return IoResult{std::error_code(), static_cast<std::size_t>(n)};
}

IoResult receive_now(tcp::socket& socket, std::span<char> buffer) {
  long n = 0;
  do {
    // recvfrom(2) through syscall(2), like receive_message.
    n = ::syscall(SYS_recvfrom, socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT, nullptr, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const std::error_code error = errno_code(errno);
    if (error == asio::error::would_block) {
      if (bool* flag = readable_flag(socket)) *flag = false;  // drained: the next bytes bring an edge
    }
    return IoResult{error, 0};
  }
  if (n == 0) return IoResult{asio::error::eof, 0};
  forget_readable_after_short_read(socket, static_cast<std::size_t>(n), buffer.size());
  return IoResult{{}, static_cast<std::size_t>(n)};
}

namespace {

// receive_now(), with "nothing there yet" as nullopt (receive_now clears the flag then).
std::optional<IoResult> receive_now_unless_drained(tcp::socket& socket, std::span<char> buffer) {
  const IoResult read = receive_now(socket, buffer);
  if (read.would_block()) return std::nullopt;
  return read;
}

}  // namespace

std::optional<IoResult> read_now_if_readable(tcp::socket& socket, std::span<char> buffer) {
  if (!reactor_saw_readable(socket)) return std::nullopt;
  return receive_now_unless_drained(socket, buffer);
}

std::optional<IoResult> read_now_if_ahead(tcp::socket& socket, std::span<char> buffer, ReadGuess& guess) {
  if (reactor_saw_readable(socket)) return receive_now_unless_drained(socket, buffer);  // guess not taught
  if (!guess.try_now()) return std::nullopt;
  const IoResult read = receive_now(socket, buffer);  // clears the flag when nothing is there
  guess.learn(!read.would_block());
  if (read.would_block()) return std::nullopt;
  return read;
}

bool reactor_saw_readable(tcp::socket& socket) {
  const bool* flag = readable_flag(socket);
  return flag == nullptr || *flag;
}

void forget_readable(tcp::socket& socket) {
  if (bool* flag = readable_flag(socket)) *flag = false;
}

void forget_readable_after_short_read(tcp::socket& socket, std::size_t read, std::size_t capacity) {
  if (read == 0 || read >= capacity) return;
  if (bool* flag = readable_flag(socket)) *flag = false;
}

namespace {

// Where a gather write stands: buffers[next] is written up to `offset`.
struct WriteCursor {
  std::span<const asio::const_buffer> buffers;
  std::size_t next = 0;
  std::size_t offset = 0;

  WriteCursor(std::span<const asio::const_buffer> all, std::size_t skip) : buffers(all) { advance(skip); }

  void advance(std::size_t n) {
    for (;;) {
      while (next < buffers.size() && offset == buffers[next].size()) {
        ++next;
        offset = 0;
      }
      if (n == 0 || next == buffers.size()) return;
      const std::size_t take = std::min(n, buffers[next].size() - offset);
      offset += take;
      n -= take;
    }
  }

  bool done() const { return next == buffers.size(); }

  // At most kWindow of the remaining buffers (one sendmsg's worth); returns how many.
  static constexpr std::size_t kWindow = 16;
  std::size_t window(std::array<asio::const_buffer, kWindow>& out) const {
    std::size_t count = 0;
    for (std::size_t i = next; i < buffers.size() && count < kWindow; ++i) {
      asio::const_buffer b = buffers[i];
      if (i == next) b += offset;
      if (b.size() > 0) out[count++] = b;
    }
    return count;
  }
};

// One sendmsg() of `buffers` (at most WriteCursor::kWindow of them, `total` bytes in all): the
// bytes the kernel took, or why it took none. Writing nothing is no syscall, as in Asio.
IoResult send_gather(tcp::socket& socket, std::span<const asio::const_buffer> buffers, std::size_t total) {
  assert(buffers.size() <= WriteCursor::kWindow);
  if (total == 0) return {};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): only [0, buffers.size()) is written and sent
  std::array<iovec, WriteCursor::kWindow> parts;
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iovec is shared with readv; sendmsg only reads
    parts[i] = iovec{const_cast<void*>(buffers[i].data()), buffers[i].size()};
  }
  msghdr message{};
  message.msg_iov = parts.data();
  message.msg_iovlen = buffers.size();
  const ssize_t n = send_message(socket.native_handle(), &message);
  if (n < 0) return IoResult{errno_code(errno), 0};
  return IoResult{{}, static_cast<std::size_t>(n)};
}

// write_now() after the first `skip` bytes went out: sendmsg() until done or the socket is full.
IoResult write_more_now(tcp::socket& socket, std::span<const asio::const_buffer> buffers, std::size_t skip) {
  WriteCursor cursor(buffers, skip);
  std::size_t written = skip;
  std::array<asio::const_buffer, WriteCursor::kWindow> window;
  while (!cursor.done()) {
    const std::size_t count = cursor.window(window);
    const std::span<const asio::const_buffer> part(window.data(), count);
    const IoResult sent = send_gather(socket, part, asio::buffer_size(part));
    if (sent.error) return IoResult{sent.error, written};
    written += sent.bytes;
    cursor.advance(sent.bytes);
  }
  return IoResult{{}, written};
}

}  // namespace

IoResult write_now(tcp::socket& socket, std::span<const asio::const_buffer> buffers) {
  // The usual case: one sendmsg() takes the whole gather list (empty parts are harmless iovecs).
  if (buffers.size() <= WriteCursor::kWindow) {
    const std::size_t total = asio::buffer_size(buffers);
    const IoResult sent = send_gather(socket, buffers, total);
    if (sent.error || sent.bytes == total) return sent;
    return write_more_now(socket, buffers, sent.bytes);
  }
  return write_more_now(socket, buffers, 0);
}

IoResult write_now(tcp::socket& socket, std::string_view bytes) {
  const asio::const_buffer one(bytes.data(), bytes.size());
  return write_now(socket, std::span<const asio::const_buffer>(&one, 1));
}

Task<IoResult> write_rest(tcp::socket& socket, std::span<const asio::const_buffer> buffers, std::size_t skip) {
  WriteCursor cursor(buffers, skip);
  std::size_t written = skip;
  std::array<asio::const_buffer, WriteCursor::kWindow> window;
  bool wait_first = true;  // the caller's write_now just found the socket full
  while (!cursor.done()) {
    const std::size_t count = cursor.window(window);
    std::error_code ec;
    std::size_t n = 0;
    if (!wait_first) n = socket.write_some(std::span(window.data(), count), ec);
    if (wait_first || ec == asio::error::would_block || ec == asio::error::try_again) {
      // The socket buffer is full: let the reactor write when it drains (no per-wait epoll_ctl,
      // unlike async_wait).
      wait_first = false;
      auto [write_ec, bytes] = co_await socket.async_write_some(std::span(window.data(), count), use_task);
      ec = write_ec;
      n = bytes;
    }
    if (ec) co_return IoResult{ec, written};
    written += n;
    cursor.advance(n);
  }
  co_return IoResult{{}, written};
}

Task<IoResult> write_rest(tcp::socket& socket, std::string_view bytes, std::size_t skip) {
  const asio::const_buffer one(bytes.data(), bytes.size());
  co_return co_await write_rest(socket, std::span<const asio::const_buffer>(&one, 1), skip);
}

Task<IoResult> write_all(tcp::socket& socket, std::span<const asio::const_buffer> buffers) {
  IoResult written = write_now(socket, buffers);
  if (written.would_block()) written = co_await write_rest(socket, buffers, written.bytes);
  co_return written;
}

Task<IoResult> write_all(tcp::socket& socket, std::string_view bytes) {
  IoResult written = write_now(socket, bytes);
  if (written.would_block()) written = co_await write_rest(socket, bytes, written.bytes);
  co_return written;
}

Task<IoResult> write_rest(Stream& stream, std::string_view bytes, std::size_t skip) {
  const asio::const_buffer one(bytes.data(), bytes.size());
  co_return co_await write_rest(stream, std::span<const asio::const_buffer>(&one, 1), skip);
}

Task<IoResult> write_all(Stream& stream, std::span<const asio::const_buffer> buffers) {
  IoResult written = write_now(stream, buffers);
  if (written.would_block()) written = co_await write_rest(stream, buffers, written.bytes);
  co_return written;
}

Task<IoResult> write_all(Stream& stream, std::string_view bytes) {
  IoResult written = write_now(stream, bytes);
  if (written.would_block()) written = co_await write_rest(stream, bytes, written.bytes);
  co_return written;
}

Task<std::error_code> connect(tcp::socket& socket, const tcp::endpoint& endpoint) {
  std::error_code ec;
  if (!socket.is_open()) {
    socket.open(endpoint.protocol(), ec);
    if (ec) co_return ec;
  }
  auto [connect_ec] = co_await socket.async_connect(endpoint, use_task);
  if (connect_ec) co_return connect_ec;
  // Waiting for the connect registered EPOLLOUT with the reactor for good, and with it every ACK
  // of a request woke the reactor for nothing while it waited for the response. Registering the
  // descriptor afresh (readable only) costs two epoll_ctl() once per connection.
  const tcp::socket::native_handle_type descriptor = socket.release(ec);
  if (ec) co_return ec;
  socket.assign(endpoint.protocol(), descriptor, ec);
  if (ec) {
    ::close(descriptor);
    co_return ec;
  }
  prepare_socket(socket);
  co_return std::error_code{};
}

}  // namespace flexgate::net
