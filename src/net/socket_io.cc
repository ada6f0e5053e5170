#include "net/socket_io.h"

#include <algorithm>
#include <cassert>

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
  // descriptor with epoll_ctl() on every wait, while a queued read costs no syscall.
  auto [read_ec, bytes] = co_await socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_task);
  co_return IoResult{read_ec, bytes};
}

Task<IoResult> read_after_wait(tcp::socket& socket, std::span<char> buffer) {
  auto [read_ec, bytes] = co_await socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_task);
  co_return IoResult{read_ec, bytes};
}

Task<IoResult> write_all(tcp::socket& socket, std::span<const asio::const_buffer> buffers) {
  // Writes a window of at most kWindow buffers per sendmsg (IOV-sized batches) and advances
  // through the caller's list; `offset` is how much of buffers[next] is already written.
  constexpr std::size_t kWindow = 16;
  std::size_t next = 0;
  std::size_t offset = 0;
  std::size_t written = 0;
  for (;;) {
    while (next < buffers.size() && offset == buffers[next].size()) {
      ++next;
      offset = 0;
    }
    if (next == buffers.size()) co_return IoResult{{}, written};
    std::array<asio::const_buffer, kWindow> window;
    std::size_t count = 0;
    for (std::size_t i = next; i < buffers.size() && count < kWindow; ++i) {
      asio::const_buffer b = buffers[i];
      if (i == next) b += offset;
      if (b.size() > 0) window[count++] = b;
    }
    std::error_code ec;
    std::size_t n = socket.write_some(std::span(window.data(), count), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // The socket buffer is full: let the reactor write when it drains (no per-wait epoll_ctl,
      // unlike async_wait).
      auto [write_ec, bytes] = co_await socket.async_write_some(std::span(window.data(), count), use_task);
      ec = write_ec;
      n = bytes;
    }
    if (ec) co_return IoResult{ec, written};
    written += n;
    while (n > 0) {
      std::size_t left = buffers[next].size() - offset;
      std::size_t take = std::min(n, left);
      offset += take;
      n -= take;
      if (offset == buffers[next].size()) {
        ++next;
        offset = 0;
      }
    }
  }
}

Task<IoResult> write_all(tcp::socket& socket, std::string_view bytes) {
  asio::const_buffer one(bytes.data(), bytes.size());
  co_return co_await write_all(socket, std::span<const asio::const_buffer>(&one, 1));
}

Task<std::error_code> connect(tcp::socket& socket, const tcp::endpoint& endpoint) {
  std::error_code ec;
  if (!socket.is_open()) {
    socket.open(endpoint.protocol(), ec);
    if (ec) co_return ec;
  }
  auto [connect_ec] = co_await socket.async_connect(endpoint, use_task);
  if (connect_ec) co_return connect_ec;
  prepare_socket(socket);
  co_return std::error_code{};
}

}  // namespace flexgate::net
