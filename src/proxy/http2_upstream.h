#pragma once
// HTTP/2 to upstreams (`upstreams[].protocol: h2 | h2c`), multiplexed: one worker keeps a few
// connections per target, each carrying many concurrent requests as streams.
//
// The request lifecycle does not change: for an HTTP/2 upstream the Session's upstream stream is
// one end of an in-process pipe (net/memory_pipe.h), and the other end is served by a bridge here, the mirror
// image of Http2Connection. The bridge parses the Session's strict HTTP/1.1 request (the http/
// codec), submits it as one stream on a shared connection (http2::ClientSession does the
// protocol), and writes the HTTP/2 response back as HTTP/1.1: content-length when known, else
// chunked, with the response's trailers as chunked trailers. Routing, every policy, retries,
// timeouts, the access log and metrics apply as to any upstream.
//
// Backpressure both ways: a request body is read from the pipe only as the upstream's window
// takes it (a bounded buffer per stream), and a response body's window opens only as the Session
// reads it from the pipe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "http2/client_session.h"
#include "net/asio.h"
#include "net/stream.h"

namespace flexgate::proxy {

// How a bridged stream ended without a response head: what the Session's 502 says, and whether
// sending the request again is safe.
struct Http2StreamFate {
  bool failed = false;          // the stream ended before a response head
  bool retryable = false;       // the upstream never processed it (REFUSED_STREAM, above a GOAWAY)
  bool protocol_error = false;  // the upstream broke HTTP/2, or does not speak it
  std::string reason;
};

// One multiplexed HTTP/2 connection to a target.
class Http2UpstreamConnection final : public http2::ClientHandler,
                                      public std::enable_shared_from_this<Http2UpstreamConnection> {
 public:
  // A connection being opened: it takes streams at once (they wait in nghttp2 for the socket),
  // so a burst of requests shares one connection instead of racing to open many.
  // `scheme`: :scheme of every request.
  Http2UpstreamConnection(const net::Executor& executor, std::size_t target_id, std::string scheme,
                          std::chrono::milliseconds idle_timeout);
  ~Http2UpstreamConnection() override;
  Http2UpstreamConnection(const Http2UpstreamConnection&) = delete;
  Http2UpstreamConnection& operator=(const Http2UpstreamConnection&) = delete;

  // The connection is open (and TLS with ALPN h2 done for `h2`): starts reading and writing.
  void start(net::Stream stream);
  // Opening it failed: the streams waiting for it fail, retryable (nothing was sent).
  void fail_to_open(const std::string& reason);
  // Whether one more request may be bridged now (open, no GOAWAY, under the peer's limit).
  bool can_take_stream() const;
  // Bridges the HTTP/1.1 request a Session writes into the other end of `pipe`; `fate` says how
  // it ended if no response head came.
  void bridge(net::Stream pipe, std::shared_ptr<Http2StreamFate> fate);
  std::size_t target_id() const { return target_id_; }
  void set_target_id(std::size_t target_id) { target_id_ = target_id; }
  bool closed() const { return closed_; }
  // Not shut down: takes streams as long as the peer's limit allows.
  bool accepting() const { return !closing_ && !closed_; }
  std::size_t streams_served() const { return streams_served_; }
  // GOAWAY: no new streams; the connection closes once its streams are done.
  void shut_down();
  // Closes now; streams in flight fail.
  void abort();

  // http2::ClientHandler
  void on_response(std::int32_t stream_id, http2::ResponseHead head) override;
  void on_response_body(std::int32_t stream_id, std::span<const std::uint8_t> data) override;
  void on_trailers(std::int32_t stream_id, http2::FieldList trailers) override;
  void on_response_end(std::int32_t stream_id) override;
  void on_stream_closed(std::int32_t stream_id, std::uint32_t error_code, bool retryable) override;
  std::size_t read_request_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room, bool& end) override;

 private:
  struct Bridge;

  net::Task<void> read_loop();
  net::Task<void> write_loop();
  net::Task<void> serve_request(std::shared_ptr<Bridge> bridge);
  net::Task<void> pump_request_body(std::shared_ptr<Bridge> bridge);
  net::Task<void> write_response(std::shared_ptr<Bridge> bridge);
  void fail_all(const std::string& reason, bool protocol_error, bool retryable = false);
  void end_bridge(Bridge& bridge);
  void note_idle();
  void wake_writer();
  Bridge* find(std::int32_t stream_id);

  net::Stream stream_;
  std::size_t target_id_;
  std::string scheme_;
  std::chrono::milliseconds idle_timeout_;
  http2::ClientSession session_;
  std::unordered_map<std::int32_t, std::shared_ptr<Bridge>> streams_;  // by stream id, once submitted
  std::size_t reserved_ = 0;  // bridges whose request is not submitted yet
  std::size_t streams_served_ = 0;
  net::SteadyTimer writer_wake_;
  net::SteadyTimer idle_timer_;
  std::uint64_t idle_generation_ = 0;  // a newer idle period cancels an older one's close
  std::string output_;
  Http2StreamFate failure_;  // why the connection failed, for streams not yet sent on it
  bool closing_ = false;  // GOAWAY sent or the connection failed: no new streams
  bool closed_ = false;
};

// One worker's HTTP/2 upstream connections (no locks: the worker's thread only).
class Http2Upstreams {
 public:
  // A connection to `target_id` that can take one more stream now, or nullptr.
  std::shared_ptr<Http2UpstreamConnection> find(std::size_t target_id);
  void add(std::shared_ptr<Http2UpstreamConnection> connection);
  // For a new snapshot: connections of targets that `new_id_of[old id]` maps (>= 0) keep serving
  // under their new id; the others finish their streams and close.
  void carry_over(std::span<const std::ptrdiff_t> new_id_of);
  // Shutdown: GOAWAY to every connection (`now`: close them at once).
  void close_all(bool now);
  std::size_t open_connections() const;

 private:
  void forget_closed();
  std::vector<std::shared_ptr<Http2UpstreamConnection>> connections_;  // few per worker: a flat list
};

}  // namespace flexgate::proxy
