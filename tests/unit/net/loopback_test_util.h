#pragma once
// Helpers for tests that need real sockets: a connected loopback TCP pair, and running an
// io_context until a condition holds (with a generous bound so a bug fails instead of hanging).

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "net/asio.h"
#include "net/socket_io.h"

namespace flexgate::net::test {

// Upper bound for any wait in a test; reaching it means the behaviour under test is broken.
inline constexpr std::chrono::seconds kTestBound{20};

// Runs handlers until `done()` is true. Returns false if the bound passed first.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto limit = std::chrono::steady_clock::now() + kTestBound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    io.run_one_for(std::chrono::milliseconds(100));
    if (io.stopped()) io.restart();  // out of work for now; more may be posted by a waiter
  }
  return true;
}

// Runs `task` on `io` to completion and returns its value (fails the test on timeout).
template <class T>
T run_task(asio::io_context& io, Task<T> task) {
  // Shared with the completion handler, which may outlive this call if the task hangs.
  struct State {
    std::optional<T> result;
    std::exception_ptr failure;
  };
  auto state = std::make_shared<State>();
  asio::co_spawn(io, std::move(task), [state](std::exception_ptr e, T value) {
    state->failure = e;
    state->result = std::move(value);
  });
  EXPECT_TRUE(run_until(io, [&] { return state->result.has_value(); })) << "task did not finish";
  if (state->failure) std::rethrow_exception(state->failure);
  return state->result.value_or(T{});
}

// Both ends of a connected loopback TCP connection, in non-blocking mode.
struct SocketPair {
  tcp::socket client;
  tcp::socket server;
};

inline SocketPair make_socket_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  prepare_socket(client);
  prepare_socket(server);
  return {std::move(client), std::move(server)};
}

// Shrinks the kernel send buffer so a few hundred KB cannot be written in one call. (A tiny
// receive buffer as well would make the transfer crawl on zero-window probes.)
inline void shrink_send_buffer(tcp::socket& socket) {
  socket.set_option(asio::socket_base::send_buffer_size(8192));
}

// Deterministic, position-dependent test bytes (so a reorder or a drop is visible).
inline std::string pattern_bytes(std::size_t size, unsigned seed = 0) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed * 7 + i / 251) & 0xff);
  return out;
}

// Reads from `socket` until end of stream (or an error), appending to `out`.
inline Task<std::error_code> read_to_end(tcp::socket& socket, std::string& out) {
  char chunk[8192];
  for (;;) {
    auto read = co_await read_some(socket, std::span<char>(chunk, sizeof(chunk)));
    if (read.error) co_return read.error == asio::error::eof ? std::error_code{} : read.error;
    out.append(chunk, read.bytes);
  }
}

}  // namespace flexgate::net::test
