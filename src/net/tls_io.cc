// Reads and writes through a Stream's TLS session on its non-blocking socket: OpenSSL is tried
// inline first, and "want read / want write" becomes a reactor wait (net/socket_io.h's contract).

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <cerrno>

#include "net/socket_io.h"
#include "net/tls.h"

namespace flexgate::net {
namespace {

// Gather writes are coalesced up to this much into one SSL_write: fewer, fuller records. A buffer
// of at least kDirectWrite bytes goes to OpenSSL as it is (it makes full records from it).
constexpr std::size_t kCoalesceLimit = 64 * 1024;
constexpr std::size_t kDirectWrite = 16 * 1024;

// What a failed OpenSSL call means for the caller: wait for the socket, or an error.
struct TlsOutcome {
  std::error_code error;
  tcp::socket::wait_type wait = tcp::socket::wait_read;
  bool would_block = false;
};

TlsOutcome classify(SSL* ssl, int result) {
  const int reason = SSL_get_error(ssl, result);
  switch (reason) {
    case SSL_ERROR_WANT_READ: return {{}, tcp::socket::wait_read, true};
    case SSL_ERROR_WANT_WRITE: return {{}, tcp::socket::wait_write, true};
    case SSL_ERROR_ZERO_RETURN: return {asio::error::eof};
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        const int saved = errno;
        return {saved != 0 ? std::error_code(saved, std::system_category()) : make_error_code(TlsErrc::kTruncated)};
      }
      break;
    default:
      break;
  }
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return {make_error_code(TlsErrc::kTruncated)};
  return {std::error_code(ERR_GET_REASON(code), tls_category())};
}

// Writes from byte `done` of `buffers` until everything is written, an error, or the socket
// would block. Returns the total written (including `done`); sets `wait` when it would block.
IoResult write_from(Stream& stream, std::span<const asio::const_buffer> buffers, std::size_t done,
                    tcp::socket::wait_type& wait) {
  SSL* ssl = stream.tls();
  std::size_t index = 0;
  std::size_t offset = done;
  for (;;) {
    while (index < buffers.size() && offset >= buffers[index].size()) {
      offset -= buffers[index].size();
      ++index;
    }
    if (index == buffers.size()) return IoResult{{}, done};
    // The next chunk: this buffer's rest as it is when it is big or last, else coalesced with
    // what follows. A retry after "would block" rebuilds the same chunk (OpenSSL requires it).
    const char* data = static_cast<const char*>(buffers[index].data()) + offset;
    std::size_t length = buffers[index].size() - offset;
    if (length < kDirectWrite && index + 1 < buffers.size()) {
      std::string& scratch = stream.tls_write_scratch();
      scratch.assign(data, length);
      for (std::size_t next = index + 1; next < buffers.size() && scratch.size() < kCoalesceLimit; ++next) {
        const std::size_t take = std::min(buffers[next].size(), kCoalesceLimit - scratch.size());
        scratch.append(static_cast<const char*>(buffers[next].data()), take);
      }
      data = scratch.data();
      length = scratch.size();
    }
    ERR_clear_error();
    std::size_t written = 0;
    const int result = SSL_write_ex(ssl, data, length, &written);
    if (result != 1) {
      const TlsOutcome outcome = classify(ssl, result);
      if (outcome.would_block) {
        wait = outcome.wait;
        return IoResult{asio::error::would_block, done};
      }
      return IoResult{outcome.error, done};
    }
    done += written;
    offset += written;
  }
}

}  // namespace

Task<IoResult> tls_read_some(Stream& stream, std::span<char> buffer) {
  assert(!buffer.empty());
  SSL* ssl = stream.tls();
  for (;;) {
    ERR_clear_error();
    std::size_t read = 0;
    const int result = SSL_read_ex(ssl, buffer.data(), buffer.size(), &read);
    if (result == 1) co_return IoResult{{}, read};
    const TlsOutcome outcome = classify(ssl, result);
    if (!outcome.would_block) co_return IoResult{outcome.error, 0};
    auto [wait_error] = co_await stream.socket().async_wait(outcome.wait, use_task);
    if (wait_error) co_return IoResult{wait_error, 0};
  }
}

IoResult tls_write_now(Stream& stream, std::span<const asio::const_buffer> buffers) {
  tcp::socket::wait_type ignored = tcp::socket::wait_write;
  return write_from(stream, buffers, 0, ignored);
}

Task<IoResult> tls_write_rest(Stream& stream, std::span<const asio::const_buffer> buffers, std::size_t skip) {
  tcp::socket::wait_type wait = tcp::socket::wait_write;  // the caller's write_now found it full
  for (;;) {
    auto [wait_error] = co_await stream.socket().async_wait(wait, use_task);
    if (wait_error) co_return IoResult{wait_error, skip};
    const IoResult written = write_from(stream, buffers, skip, wait);
    if (!written.would_block()) co_return written;
    skip = written.bytes;
  }
}

bool idle_stream_is_clean(Stream& stream) {
  if (stream.tls() == nullptr) {
    char byte;
    const ssize_t n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  char byte;
  std::size_t read = 0;
  ERR_clear_error();
  const int result = SSL_read_ex(stream.tls(), &byte, 1, &read);
  if (result == 1) return false;  // unsolicited application data
  const bool clean = SSL_get_error(stream.tls(), result) == SSL_ERROR_WANT_READ;
  ERR_clear_error();
  return clean;
}

}  // namespace flexgate::net
