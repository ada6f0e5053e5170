#pragma once
// The client side of one HTTP/2 connection to an upstream, sans-I/O: bytes in (receive), bytes
// out (output), events to a ClientHandler. nghttp2 does the framing, HPACK, flow control and the
// RFC 9113 checks of what the upstream sends (a malformed response is a stream error, reported as
// a closed stream without a response); this adds a header list limit, interim (1xx) responses
// dropped, trailers told apart from the head, flow control tied to the consumer (a response
// body's window opens only as the consumer takes bytes: consume()), and which failed streams are
// safe to send again (refused, or above a GOAWAY's last stream id: the upstream never saw them).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace flexgate::http2 {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// Limits of one upstream connection.
struct ClientLimits {
  std::uint32_t max_header_list_size = 64 * 1024;  // decoded field bytes of one response header block
  std::uint32_t initial_window_size = 256 * 1024;  // per stream, for response bodies
  std::uint64_t max_continuations = 8;             // CONTINUATION frames in one header block
};

// A request to send: pseudo-headers and fields (lowercase names, no connection-specific ones).
struct OutgoingRequest {
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  FieldList fields;
};

// A final response head as the upstream sent it, checked by nghttp2.
struct ResponseHead {
  int status = 0;
  FieldList fields;
  std::int64_t content_length = -1;  // -1 when absent
  bool end_stream = false;            // the HEADERS frame ended the stream: no body, no trailers
};

// What the connection reports about each stream, in order.
class ClientHandler {
 public:
  virtual ~ClientHandler() = default;
  // The final response head (interim 1xx responses are not reported).
  virtual void on_response(std::int32_t stream_id, ResponseHead head) = 0;
  // Response body bytes (call ClientSession::consume() once they are taken).
  virtual void on_response_body(std::int32_t stream_id, std::span<const std::uint8_t> data) = 0;
  // Trailers: a header block after the body.
  virtual void on_trailers(std::int32_t stream_id, FieldList trailers) = 0;
  // The response is complete (END_STREAM).
  virtual void on_response_end(std::int32_t stream_id) = 0;
  // The stream is gone; after a complete response error_code is 0. `retryable`: the upstream did
  // not process it (REFUSED_STREAM, or above the last stream id of a GOAWAY).
  virtual void on_stream_closed(std::int32_t stream_id, std::uint32_t error_code, bool retryable) = 0;
  // Request body bytes: copy at most `room` into `out`; set `end` when the body is complete.
  // Returning 0 without `end` pauses the stream until ClientSession::resume().
  virtual std::size_t read_request_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room, bool& end) = 0;
};

// One HTTP/2 connection to an upstream, client side, without I/O (see the top of this file).
class ClientSession {
 public:
  ClientSession(ClientHandler& handler, const ClientLimits& limits);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Feeds bytes from the upstream. An error means the connection is beyond saving: send
  // output() (a GOAWAY), then close. Some connection errors (a frame too large...) only queue a
  // GOAWAY: once it is sent, wants_read() and wants_write() are both false.
  std::error_code receive(std::span<const char> bytes);
  // Bytes to send now (empty when there are none); valid until the next call on this object.
  std::span<const std::uint8_t> output();
  bool wants_read() const;
  bool wants_write() const;

  // Opens a stream for `request`, with a body pulled from the handler when `has_body`. Returns
  // the stream id, or a negative value when no stream can be opened (see can_open_stream()).
  std::int32_t submit(const OutgoingRequest& request, bool has_body);
  // Whether a new stream may be opened now: no GOAWAY received, the stream ids are not used up,
  // and fewer streams are open than the upstream's SETTINGS_MAX_CONCURRENT_STREAMS.
  bool can_open_stream() const { return stream_capacity() > 0; }
  // How many more streams may be opened now (0 after a GOAWAY).
  std::size_t stream_capacity() const;
  std::size_t open_streams() const { return open_streams_; }
  // The upstream's SETTINGS arrived: it speaks HTTP/2.
  bool settings_received() const { return settings_received_; }
  bool goaway_received() const { return goaway_received_; }
  // The request body has bytes again for a paused stream.
  void resume(std::int32_t stream_id);
  // `bytes` of response body were taken: opens the stream's and the connection's windows again.
  void consume(std::int32_t stream_id, std::size_t bytes);
  // Resets one stream (its consumer went away).
  void reset(std::int32_t stream_id, std::uint32_t error_code);
  // Graceful end: GOAWAY; streams in flight finish.
  void shut_down();

  // Why receive() failed, for the log.
  const std::string& failure() const { return failure_; }

 private:
  struct Callbacks;
  struct StreamState;  // a response being received
  friend struct Callbacks;

  ClientHandler& handler_;
  ClientLimits limits_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<StreamState>> streams_;
  std::size_t open_streams_ = 0;
  bool goaway_received_ = false;
  bool settings_received_ = false;
  std::int32_t goaway_last_stream_id_ = 0;
  std::string failure_;
};

}  // namespace flexgate::http2
