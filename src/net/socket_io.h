#pragma once
// Socket I/O that tries the non-blocking call inline first and waits on the reactor only when the
// kernel says "would block": one syscall for the common case instead of a reactor round trip.
// Sockets must be in non-blocking mode (prepare_socket). Errors are values, never exceptions.

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>

#include "net/asio.h"

namespace flexgate::net {

// Result of one I/O call: bytes moved and the error (eof is asio::error::eof).
struct IoResult {
  std::error_code error;
  std::size_t bytes = 0;
};

// Non-blocking mode and TCP_NODELAY for a freshly accepted or connected socket.
void prepare_socket(tcp::socket& socket);

// Reads at least one byte (or fails). `buffer` must be non-empty.
Task<IoResult> read_some(tcp::socket& socket, std::span<char> buffer);

// Reads through the reactor without trying a recv() first. For reads that cannot succeed yet,
// like a response right after its request was sent: it saves the failing recv() that
// read_some() would try first.
Task<IoResult> read_after_wait(tcp::socket& socket, std::span<char> buffer);

// Writes every byte of every buffer (gather write, in order).
Task<IoResult> write_all(tcp::socket& socket, std::span<const asio::const_buffer> buffers);
Task<IoResult> write_all(tcp::socket& socket, std::string_view bytes);

// Connects (non-blocking) to `endpoint`; `socket` is opened as needed.
Task<std::error_code> connect(tcp::socket& socket, const tcp::endpoint& endpoint);

}  // namespace flexgate::net
