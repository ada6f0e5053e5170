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
#include "net/io_result.h"
#include "net/memory_pipe.h"
#include "net/stream.h"

namespace flexgate::net {

// Non-blocking mode and TCP_NODELAY for a freshly accepted or connected socket.
void prepare_socket(tcp::socket& socket);

// Reads at least one byte (or fails). `buffer` must be non-empty.
Task<IoResult> read_some(tcp::socket& socket, std::span<char> buffer);

// Reads through the reactor without trying a recv() first. For reads that cannot succeed yet,
// like a response right after its request was sent: it saves the failing recv() that
// read_some() would try first. Not a coroutine itself: no frame of its own per read.
inline auto read_after_wait(tcp::socket& socket, std::span<char> buffer) {
  return socket.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_task);
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
