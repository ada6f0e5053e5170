#pragma once
// The server side of one HTTP/2 connection, sans-I/O: bytes in (receive), bytes out (output),
// events to a Handler. nghttp2 does the framing, HPACK, flow control and RFC 9113 message checks;
// this adds what a gateway needs on top: limits (concurrent streams, header list size, a reset
// rate for CVE-2023-44487, CONTINUATION frames per header block), the strict checks before a
// request may become HTTP/1.1 (pseudo-headers, connection-specific fields, whitespace), and flow
// control tied to the consumer: a request body's window opens only as the consumer takes bytes
// (consume()), and a response body is pulled only as fast as the client's window allows.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace flexgate::http2 {

// Limits of one connection.
struct Limits {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t max_header_list_size = 16 * 1024;  // decoded field bytes of one header block
  std::uint32_t initial_window_size = 256 * 1024;  // per stream, for request bodies
  std::uint64_t max_resets_per_second = 100;       // client RST_STREAMs (and our stream errors)
  std::uint64_t max_continuations = 8;             // CONTINUATION frames in one header block
};

// A request as the client sent it, checked: pseudo-headers separated out, fields in order with
// lowercase names (HTTP/2 has no other), cookies as separate fields.
struct Request {
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  std::vector<std::pair<std::string, std::string>> fields;
  bool end_stream = false;          // no body follows
  std::int64_t content_length = -1; // from content-length, -1 when absent
};

// A response field as respond() takes it: views, valid for the call (nghttp2 copies them).
struct FieldView {
  std::string_view name;
  std::string_view value;
};

// What the connection reports, in the order it happens.
class Handler {
 public:
  virtual ~Handler() = default;
  // A complete, valid request head on a new stream; `request` is valid for the call only (its
  // storage is reused for the next stream's head).
  virtual void on_request(std::int32_t stream_id, const Request& request) = 0;
  // Request body bytes (call ServerSession::consume() once they are taken).
  virtual void on_body(std::int32_t stream_id, std::span<const std::uint8_t> data) = 0;
  // Trailer fields after the request body (a HEADERS frame after DATA): lowercase names, checked
  // like the head's (no pseudo-header, no connection-specific field). on_request_end follows.
  virtual void on_request_trailers(std::int32_t /*stream_id*/,
                                   std::vector<std::pair<std::string, std::string>>&& /*fields*/) {}
  // The request body ended (END_STREAM), or the request had none.
  virtual void on_request_end(std::int32_t stream_id) = 0;
  // The stream is gone (done, reset by either side); no more calls for it.
  virtual void on_stream_closed(std::int32_t stream_id, std::uint32_t error_code) = 0;
  // Response body bytes for `stream_id`: copy at most `room` into `out`; return how many and set
  // `end` when the body is complete. Returning 0 without `end` pauses the stream until
  // ServerSession::resume() is called.
  virtual std::size_t read_response_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room, bool& end) = 0;
  // Asked once, right after read_response_body() reported the end: trailer fields (lowercase
  // names) to send as a last HEADERS frame carrying END_STREAM, or nullptr / empty for none.
  virtual const std::vector<std::pair<std::string, std::string>>* response_trailers(std::int32_t /*stream_id*/) {
    return nullptr;
  }
};

class ServerSession {
 public:
  ServerSession(Handler& handler, const Limits& limits);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Feeds bytes from the client. An error means the connection is beyond saving (protocol error,
  // flood): send output() (a GOAWAY), then close.
  std::error_code receive(std::span<const char> bytes);
  // Bytes to send now (empty when there are none); valid until the next call on this object.
  std::span<const std::uint8_t> output();
  bool wants_read() const;
  bool wants_write() const;

  // Answers `stream_id`: status and fields (lowercase names; connection-specific ones are left
  // out), with a body pulled from the handler when `has_body`.
  void respond(std::int32_t stream_id, int status, std::span<const FieldView> fields, bool has_body);
  void respond(std::int32_t stream_id, int status, std::initializer_list<FieldView> fields, bool has_body) {
    respond(stream_id, status, std::span<const FieldView>(fields.begin(), fields.size()), has_body);
  }
  // The handler has response body bytes again for a paused stream.
  void resume(std::int32_t stream_id);
  // `bytes` of request body were taken: opens the stream's and the connection's windows again.
  void consume(std::int32_t stream_id, std::size_t bytes);
  // Resets one stream (e.g. the upstream failed mid-body).
  void reset(std::int32_t stream_id, std::uint32_t error_code);
  // Graceful shutdown: GOAWAY with the last stream id; streams in flight finish.
  void shut_down();

  // Why receive() failed, for the log.
  const std::string& failure() const { return failure_; }

 private:
  struct Callbacks;
  struct Pending;  // a header block being received
  friend struct Callbacks;

  Handler& handler_;
  Limits limits_;
  nghttp2_session* session_ = nullptr;
  std::vector<std::unique_ptr<Pending>> pending_;
  std::vector<std::unique_ptr<Pending>> spare_;  // done with, kept for the next streams' heads
  std::string failure_;
  // Reset-rate accounting (CVE-2023-44487): resets in the current one-second window.
  std::int64_t reset_window_start_ms_ = 0;
  std::uint64_t resets_in_window_ = 0;
  bool flood_ = false;
};

}  // namespace flexgate::http2
