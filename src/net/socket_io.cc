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
  for (;;) {
    std::error_code ec;
    std::size_t n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) co_return IoResult{ec, n};
    auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, use_task);
    if (wait_ec) co_return IoResult{wait_ec, 0};
  }
}

Task<IoResult> write_all(tcp::socket& socket, std::span<const asio::const_buffer> buffers) {
  // Local copy of the buffer list so partial writes can advance it.
  constexpr std::size_t kMaxBuffers = 16;
  assert(buffers.size() <= kMaxBuffers);
  std::array<asio::const_buffer, kMaxBuffers> pending;
  std::size_t first = 0;
  std::size_t count = 0;
  std::size_t total = 0;
  for (const auto& b : buffers) {
    if (b.size() == 0) continue;
    pending[count++] = b;
    total += b.size();
  }
  std::size_t written = 0;
  while (first < count) {
    std::error_code ec;
    std::size_t n = socket.write_some(std::span(pending.data() + first, count - first), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_write, use_task);
      if (wait_ec) co_return IoResult{wait_ec, written};
      continue;
    }
    if (ec) co_return IoResult{ec, written};
    written += n;
    while (n > 0 && first < count) {
      std::size_t take = std::min(n, pending[first].size());
      pending[first] += take;
      n -= take;
      if (pending[first].size() == 0) ++first;
    }
  }
  co_return IoResult{{}, total};
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
