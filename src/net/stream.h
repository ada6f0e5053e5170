#pragma once
// A connection's byte stream: a TCP socket, with a TLS session on top once a handshake succeeded
// (net/tls.h). The proxy reads and writes through net/socket_io.h's Stream overloads, which take
// the plain socket path when there is no TLS: one branch, nothing else, on the plaintext path.

#include <memory>
#include <string>

#include "net/asio.h"

using SSL = struct ssl_st;

namespace flexgate::net {

// Frees an OpenSSL SSL object.
struct SslDeleter {
  void operator()(SSL* ssl) const;
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

class PipeEnd;

// A TCP socket plus, when the connection speaks TLS, its OpenSSL session (on the socket's fd,
// which stays non-blocking: OpenSSL's "want read/write" maps onto a reactor wait). Or one end of
// an in-process pipe (net/memory_pipe.h) standing in for a socket: an HTTP/2 stream served as
// HTTP/1.1. plain() is the one test the plaintext TCP path makes.
class Stream {
 public:
  explicit Stream(tcp::socket socket) : socket_(std::move(socket)) {}
  explicit Stream(const net::Executor& executor) : socket_(executor) {}
  Stream(const net::Executor& executor, std::shared_ptr<PipeEnd> pipe);
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  ~Stream();

  tcp::socket& socket() { return socket_; }
  const tcp::socket& socket() const { return socket_; }
  auto get_executor() { return socket_.get_executor(); }
  bool is_open() const;
  // A TCP socket without TLS: the path where socket_io calls the kernel directly.
  bool plain() const { return !tls_ && !pipe_; }
  PipeEnd* pipe() const { return pipe_.get(); }
  // Bytes readable now without waiting (0 on error).
  std::size_t available();
  // shutdown(2) of the socket, or the same on a pipe end.
  void shutdown(tcp::socket::shutdown_type what);

  // The TLS session, or nullptr on a plaintext connection.
  SSL* tls() const { return tls_.get(); }
  void set_tls(SslPtr tls) { tls_ = std::move(tls); }

  // Closes the socket now (a pending operation fails with operation_aborted). A TLS stream that
  // finished its handshake first sends close_notify if the socket takes it without waiting.
  void close();
  // shutdown(both) then close(): the peer sees an orderly end of a plaintext stream.
  void shutdown_and_close();
  // Half-close: no more bytes go out (a TLS stream first sends close_notify, best effort); reads
  // go on until the peer closes its side too. For tunnels, where each direction ends on its own.
  void shutdown_write();

  // Scratch for coalescing a gather write into one TLS record (tls_write_now).
  std::string& tls_write_scratch() { return tls_write_scratch_; }

 private:
  tcp::socket socket_;
  SslPtr tls_;
  std::shared_ptr<PipeEnd> pipe_;
  std::string tls_write_scratch_;
};

}  // namespace flexgate::net
