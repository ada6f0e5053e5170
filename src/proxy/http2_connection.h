#pragma once
// An HTTP/2 client connection. http2::ServerSession does the protocol; each stream then runs
// through the very same request lifecycle as HTTP/1.1: the checked request is written as a strict
// HTTP/1.1 message into one end of an in-process pipe (net/memory_pipe.h) and an ordinary Session
// serves the other end, so routing, every policy, transformations, retries, logs and metrics apply
// unchanged. The response comes back the same way, is parsed by the HTTP/1 codec as the Session
// writes it and goes out as HEADERS and DATA (and a chunked response's trailer fields as a last
// HEADERS frame). Request trailers cross as the trailer section of a chunked request body.
//
// This side of each pipe runs on callbacks (net::PipeListener), not coroutines: a stream costs
// the Session and the pipe, nothing more.
//
// Backpressure both ways: a request body's window opens only as the pipe takes the bytes (the
// Session reads them), and response body bytes stay in the pipe, making the Session's writes
// wait, until nghttp2 pulls them into DATA frames as the client's window allows: each byte is
// copied once, from the pipe into its frame.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/chunked.h"
#include "http/message.h"
#include "http2/server_session.h"
#include "net/asio.h"
#include "net/ip_address.h"
#include "net/memory_pipe.h"
#include "net/stream.h"

namespace flexgate::proxy {

class Worker;

// Who is on the other side of a connection, for a Session that serves an HTTP/2 stream: the
// client's address and TLS facts come from the HTTP/2 connection, not from the pipe.
struct DownstreamOrigin {
  std::string address;
  net::IpAddress ip;
  bool tls = false;
  std::string tls_identity;
};

class Http2Connection final : public http2::Handler {
 public:
  Http2Connection(Worker& worker, net::Stream& client, DownstreamOrigin origin, const http2::Limits& limits);
  ~Http2Connection() override;

  // Serves the connection until it ends. `already_read`: bytes read before HTTP/2 was chosen
  // (the h2c preface and what followed it).
  net::Task<void> run(std::string_view already_read);
  // Drain: GOAWAY now; the connection closes once its streams are done.
  void close_if_idle();
  // Closes everything now.
  void abort();

  // http2::Handler
  void on_request(std::int32_t stream_id, const http2::Request& request) override;
  void on_body(std::int32_t stream_id, std::span<const std::uint8_t> data) override;
  void on_request_trailers(std::int32_t stream_id,
                           std::vector<std::pair<std::string, std::string>>&& fields) override;
  void on_request_end(std::int32_t stream_id) override;
  void on_stream_closed(std::int32_t stream_id, std::uint32_t error_code) override;
  std::size_t read_response_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room, bool& end) override;
  const std::vector<std::pair<std::string, std::string>>* response_trailers(std::int32_t stream_id) override;

 private:
  struct StreamState;

  net::Task<void> read_loop(std::string_view already_read);
  net::Task<void> write_loop();
  // The request bytes the pipe had no room for yet go in (the window opens as they do).
  void feed_request(StreamState& stream);
  // The Session wrote: its response head is parsed and submitted, or nghttp2, waiting for body
  // bytes, is told to pull again.
  void pump_response(StreamState& stream);
  void take_response_head(StreamState& stream);
  // Copies up to `room` body bytes, decoded, from the pipe into a DATA frame being written; the
  // Session's writes wait while the client's window keeps the bytes in the pipe.
  std::size_t pull_body(StreamState& stream, std::uint8_t* out, std::size_t room);
  // No complete response: the stream is reset (by the writer, outside nghttp2's callbacks).
  void fail(StreamState& stream);
  void end_streams();
  void wake_writer();
  StreamState* find(std::int32_t stream_id);

  Worker& worker_;
  net::Stream& client_;
  DownstreamOrigin origin_;
  http2::ServerSession session_;
  std::unordered_map<std::int32_t, std::unique_ptr<StreamState>> streams_;
  std::vector<std::int32_t> failed_streams_;  // to reset with INTERNAL_ERROR
  std::string request_head_;          // each stream's request head while it is made
  http::ResponseHead response_head_;  // each stream's response head while it is parsed
  // The fields of the response being submitted: lowercase names, values viewing the pipe (kept
  // between responses, so a response allocates nothing for them).
  std::string response_names_;
  std::vector<http2::FieldView> response_fields_;
  net::SteadyTimer writer_wake_;
  net::SteadyTimer writer_done_;  // run() waits on it for the writer to end
  bool writer_running_ = false;
  std::string output_;  // frames being written to the client
  bool closing_ = false;
  bool done_ = false;
};

}  // namespace flexgate::proxy
