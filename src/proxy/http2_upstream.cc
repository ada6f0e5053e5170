#include "proxy/http2_upstream.h"

#include <algorithm>
#include <array>

#include "core/byte_buffer.h"
#include "http/chunked.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/socket_io.h"
#include "proxy/http2_output.h"

namespace flexgate::proxy {
namespace {

// Request body bytes buffered per stream before the pipe is read again (the upstream's window
// drains them): the bound that ties a slow upstream to its client.
constexpr std::size_t kMaxBufferedBody = 64 * 1024;
constexpr std::size_t kPipeReadBuffer = 64 * 1024 + 16 * 1024;
constexpr std::uint32_t kCancel = 0x8;  // RST_STREAM CANCEL: the Session gave up on the stream

// Request fields that do not cross to HTTP/2 (RFC 9113 8.2.2): the hop-by-hop ones are already
// gone (the Session dropped them), Host becomes :authority, and the framing is HTTP/2's own.
bool dropped_request_field(const http::HeaderField& field, const http::RequestHead& head) {
  if (http::is_connection_specific(field, head)) return true;
  return field.token == http::HeaderToken::kHost || http::iequals(field.name, "transfer-encoding") ||
         http::iequals(field.name, "expect") || http::iequals(field.name, "keep-alive") ||
         http::iequals(field.name, "proxy-connection") || http::iequals(field.name, "te");
}

std::string lowercase(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void wait_forever(net::SteadyTimer& timer) { timer.expires_at(net::SteadyTimer::time_point::max()); }

}  // namespace

// One request bridged from a Session's pipe to a stream.
struct Http2UpstreamConnection::Bridge {
  Bridge(net::Stream pipe_end, std::shared_ptr<Http2StreamFate> stream_fate)
      : pipe(std::move(pipe_end)),
        fate(std::move(stream_fate)),
        wake_pump(pipe.get_executor()),
        wake_writer(pipe.get_executor()),
        from_pipe(kPipeReadBuffer) {
    wait_forever(wake_pump);
    wait_forever(wake_writer);
  }

  net::Stream pipe;  // our end of the in-process pipe; the Session writes the request into the other
  std::shared_ptr<Http2StreamFate> fate;
  std::int32_t id = -1;
  net::SteadyTimer wake_pump;    // the upstream took the buffered request body
  net::SteadyTimer wake_writer;  // response bytes for the pipe, or the stream's end
  ByteBuffer from_pipe;
  // Request side.
  http::BodyFraming request_framing = http::BodyFraming::kNone;
  std::uint64_t request_remaining = 0;  // content-length framing
  std::string request_body;             // decoded, waiting for the upstream's window
  std::size_t request_body_sent = 0;
  bool request_ended = false;
  // Response side: HTTP/1.1 bytes for the pipe, and how many of them are body bytes to consume().
  std::string to_pipe;
  std::size_t body_unconsumed = 0;
  http2::FieldList trailers;
  bool responded = false;
  bool chunked = false;
  bool response_ended = false;
  bool stream_closed = false;  // the HTTP/2 stream is gone
  bool done = false;           // the pipe is closed
};

Http2UpstreamConnection::Http2UpstreamConnection(const net::Executor& executor, std::size_t target_id,
                                                 std::string scheme, std::chrono::milliseconds idle_timeout)
    : stream_(executor),
      target_id_(target_id),
      scheme_(std::move(scheme)),
      idle_timeout_(std::max(idle_timeout, std::chrono::milliseconds(1))),
      session_(*this, http2::ClientLimits{}),
      writer_wake_(stream_.get_executor()),
      idle_timer_(stream_.get_executor()) {
  wait_forever(writer_wake_);
}

Http2UpstreamConnection::~Http2UpstreamConnection() = default;

void Http2UpstreamConnection::start(net::Stream stream) {
  if (closed_) {  // aborted while it was being opened
    stream.close();
    return;
  }
  stream_ = std::move(stream);
  auto self = shared_from_this();
  // The loops hold the connection: it lives until both have ended.
  asio::co_spawn(stream_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(stream_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
}

bool Http2UpstreamConnection::can_take_stream() const {
  return accepting() && session_.stream_capacity() > reserved_;
}

void Http2UpstreamConnection::bridge(net::Stream pipe, std::shared_ptr<Http2StreamFate> fate) {
  auto bridge = std::make_shared<Bridge>(std::move(pipe), std::move(fate));
  ++reserved_;
  ++idle_generation_;  // not idle any more
  idle_timer_.cancel();
  auto self = shared_from_this();
  asio::co_spawn(stream_.get_executor(), [self, bridge]() { return self->serve_request(bridge); }, asio::detached);
}

net::Task<void> Http2UpstreamConnection::read_loop() {
  std::array<char, 16384> buffer{};
  while (!closed_) {
    const net::IoResult read = co_await net::read_some(stream_, buffer);
    if (closed_) break;
    if (read.error || read.bytes == 0) {
      if (session_.settings_received()) {
        fail_all("upstream closed the HTTP/2 connection", false);
      } else {
        fail_all("upstream closed the connection without speaking HTTP/2", true);
      }
      break;
    }
    if (session_.receive(std::span<const char>(buffer.data(), read.bytes))) {
      fail_all(session_.settings_received() ? "upstream broke HTTP/2: " + session_.failure()
                                            : "upstream does not speak HTTP/2 (" + session_.failure() + ")",
               true);
      break;
    }
    wake_writer();
  }
}

net::Task<void> Http2UpstreamConnection::write_loop() {
  while (!closed_) {
    collect_http2_output(session_, output_);
    if (!output_.empty()) {
      const net::IoResult written = co_await net::write_all(stream_, output_);
      if (written.error) {
        // Before its SETTINGS the peer has not shown it speaks HTTP/2: an HTTP/1.1 server answers
        // the preface and closes, and whether our write or our read sees that first is timing.
        if (session_.settings_received()) {
          fail_all("upstream HTTP/2 connection failed: " + written.error.message(), false);
        } else {
          fail_all("upstream closed the connection without speaking HTTP/2 (" + written.error.message() + ")", true);
        }
        co_return;
      }
      continue;
    }
    if (!session_.wants_read() && !session_.wants_write()) {
      // nghttp2 is done with the connection: it sent the GOAWAY of a connection error, or the
      // upstream's GOAWAY left no stream to finish.
      fail_all(session_.settings_received() ? "upstream HTTP/2 connection ended"
                                            : "upstream does not speak HTTP/2 (no SETTINGS frame)",
               !session_.settings_received());
      co_return;
    }
    if (closing_ && streams_.empty() && reserved_ == 0) {
      closed_ = true;
      stream_.shutdown_and_close();
      co_return;
    }
    wait_forever(writer_wake_);
    (void)co_await writer_wake_.async_wait(net::use_task);
    // The handlers already queued run first (more streams' frames): one write for all.
    (void)co_await asio::post(writer_wake_.get_executor(), net::use_task);
  }
}

void Http2UpstreamConnection::wake_writer() { writer_wake_.cancel(); }

Http2UpstreamConnection::Bridge* Http2UpstreamConnection::find(std::int32_t stream_id) {
  auto found = streams_.find(stream_id);
  return found != streams_.end() ? found->second.get() : nullptr;
}

void Http2UpstreamConnection::fail_to_open(const std::string& reason) {
  fail_all(reason, false, /*retryable=*/true);
}

void Http2UpstreamConnection::fail_all(const std::string& reason, bool protocol_error, bool retryable) {
  if (closed_) return;
  closing_ = true;
  closed_ = true;
  // Streams not sent yet were not processed either; a peer that does not speak HTTP/2 would
  // refuse them again, though.
  failure_ = Http2StreamFate{true, !protocol_error, protocol_error, reason};
  for (auto& [id, bridge] : streams_) {
    if (!bridge->responded) {
      bridge->fate->failed = true;
      bridge->fate->protocol_error = protocol_error;
      bridge->fate->retryable = retryable;
      bridge->fate->reason = reason;
    }
    bridge->stream_closed = true;
    bridge->wake_writer.cancel();
    bridge->wake_pump.cancel();
  }
  streams_.clear();
  idle_timer_.cancel();
  stream_.close();
  writer_wake_.cancel();
}

void Http2UpstreamConnection::end_bridge(Bridge& bridge) {
  if (bridge.done) return;
  bridge.done = true;
  bridge.pipe.close();
  bridge.wake_pump.cancel();
  bridge.wake_writer.cancel();
}

void Http2UpstreamConnection::note_idle() {
  if (!streams_.empty() || reserved_ > 0 || closing_) return;
  const std::uint64_t generation = ++idle_generation_;
  idle_timer_.expires_after(idle_timeout_);
  std::weak_ptr<Http2UpstreamConnection> weak = weak_from_this();
  idle_timer_.async_wait([weak, generation](const std::error_code& error) {
    auto self = weak.lock();
    if (error || !self || self->idle_generation_ != generation) return;
    self->shut_down();  // idle for the upstream's pool.idleTimeout
  });
}

net::Task<void> Http2UpstreamConnection::serve_request(std::shared_ptr<Bridge> bridge) {
  // The head the Session wrote: strict HTTP/1.1 from our own serializer, parsed with room to spare.
  const http::Limits limits{kPipeReadBuffer, kPipeReadBuffer, http::kMaxHeaderFieldsCapacity};
  http::RequestHead head;
  http::ParseOutcome outcome{};
  for (;;) {
    outcome = http::parse_request_head(bridge->from_pipe.readable(), limits, head);
    if (outcome.status != http::ParseStatus::kPartial) break;
    const net::IoResult read = co_await net::read_some(bridge->pipe, bridge->from_pipe.writable());
    if (read.error || read.bytes == 0) break;
    bridge->from_pipe.commit(read.bytes);
  }
  --reserved_;
  if (outcome.status != http::ParseStatus::kComplete || closing_ || closed_) {
    // A connection that stopped taking streams meanwhile (GOAWAY, failure) never saw this one.
    if (outcome.status != http::ParseStatus::kComplete) {
      *bridge->fate = Http2StreamFate{true, false, false, "request could not be bridged to HTTP/2"};
    } else if (closed_) {
      *bridge->fate = failure_;
    } else {
      *bridge->fate = Http2StreamFate{true, true, false, "upstream HTTP/2 connection stopped taking streams"};
    }
    end_bridge(*bridge);
    note_idle();
    wake_writer();
    co_return;
  }
  http2::OutgoingRequest request;
  request.method.assign(head.method_text);
  request.scheme = scheme_;
  request.authority.assign(head.host);
  request.path.assign(head.target);
  request.fields.reserve(head.fields.count + 1);
  for (const http::HeaderField& field : head.fields) {
    if (!dropped_request_field(field, head)) request.fields.emplace_back(lowercase(field.name), std::string(field.value));
  }
  // This hop takes trailers (they go back as chunked trailers), and gRPC servers refuse a call
  // without "te: trailers" (the Session dropped the client's TE: it is hop-by-hop).
  request.fields.emplace_back("te", "trailers");
  bridge->request_framing = head.framing;
  bridge->request_remaining = head.content_length;
  const bool has_body = head.framing != http::BodyFraming::kNone;
  bridge->request_ended = !has_body;
  bridge->from_pipe.consume(outcome.consumed);
  bridge->id = session_.submit(request, has_body);
  if (bridge->id < 0) {
    bridge->fate->failed = true;
    bridge->fate->retryable = true;
    bridge->fate->reason = "upstream HTTP/2 connection has no stream left";
    end_bridge(*bridge);
    note_idle();
    co_return;
  }
  streams_.emplace(bridge->id, bridge);
  ++streams_served_;
  wake_writer();
  auto self = shared_from_this();
  asio::co_spawn(stream_.get_executor(), [self, bridge]() { return self->pump_request_body(bridge); },
                 asio::detached);
  co_await write_response(bridge);
}

net::Task<void> Http2UpstreamConnection::pump_request_body(std::shared_ptr<Bridge> bridge) {
  http::ChunkedDecoder decoder;
  ByteBuffer& buffer = bridge->from_pipe;
  auto pending = [&] { return bridge->request_body.size() - bridge->request_body_sent; };
  while (!bridge->done) {
    bool progressed = false;
    while (!bridge->request_ended && !buffer.empty() && pending() < kMaxBufferedBody) {
      const std::string_view bytes = buffer.readable();
      if (bridge->request_framing == http::BodyFraming::kChunked) {
        const auto step = decoder.next(bytes);
        if (step.kind == http::ChunkedDecoder::Kind::kError) {
          session_.reset(bridge->id, 0x2 /* INTERNAL_ERROR */);
          wake_writer();
          end_bridge(*bridge);
          co_return;
        }
        if (step.kind == http::ChunkedDecoder::Kind::kData) bridge->request_body.append(step.data);
        if (step.kind == http::ChunkedDecoder::Kind::kDone) bridge->request_ended = true;
        buffer.consume(step.consumed);
        progressed = true;
        if (step.kind == http::ChunkedDecoder::Kind::kNeedMore) break;
      } else {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(bridge->request_remaining, bytes.size()));
        bridge->request_body.append(bytes.substr(0, take));
        buffer.consume(take);
        bridge->request_remaining -= take;
        bridge->request_ended = bridge->request_remaining == 0;
        progressed = true;
      }
    }
    if (progressed && !bridge->stream_closed) {
      session_.resume(bridge->id);
      wake_writer();
    }
    if (!bridge->request_ended && pending() >= kMaxBufferedBody) {
      // Backpressure: the pipe is not read until the upstream's window takes what is buffered.
      wait_forever(bridge->wake_pump);
      (void)co_await bridge->wake_pump.async_wait(net::use_task);
      continue;
    }
    // Reading on after the request's end too: an EOF then means the Session gave up (a timeout,
    // its client went away), and the stream is cancelled.
    const net::IoResult read = co_await net::read_some(bridge->pipe, buffer.writable());
    if (bridge->done) co_return;
    if (read.error || read.bytes == 0) {
      if (!bridge->stream_closed) {
        session_.reset(bridge->id, kCancel);
        wake_writer();
      }
      end_bridge(*bridge);
      co_return;
    }
    buffer.commit(read.bytes);
    if (bridge->request_ended) buffer.clear();  // nothing follows a request on the pipe
  }
}

net::Task<void> Http2UpstreamConnection::write_response(std::shared_ptr<Bridge> bridge) {
  std::string writing;
  while (!bridge->done) {
    if (!bridge->to_pipe.empty()) {
      writing.swap(bridge->to_pipe);
      const std::size_t body_bytes = bridge->body_unconsumed;
      bridge->body_unconsumed = 0;
      const net::IoResult written = co_await net::write_all(bridge->pipe, writing);
      writing.clear();
      if (written.error) {
        if (!bridge->stream_closed) session_.reset(bridge->id, kCancel);
        break;
      }
      // The Session has the bytes: the stream's (and the connection's) window opens again.
      if (body_bytes > 0) session_.consume(bridge->id, body_bytes);
      wake_writer();
      continue;
    }
    if (bridge->response_ended || bridge->stream_closed) break;
    wait_forever(bridge->wake_writer);
    (void)co_await bridge->wake_writer.async_wait(net::use_task);
  }
  // A complete response ends with its framing; anything else reaches the Session as a close
  // before the response or mid-body, which it answers like any upstream failure.
  end_bridge(*bridge);
  wake_writer();
}

void Http2UpstreamConnection::on_response(std::int32_t stream_id, http2::ResponseHead head) {
  Bridge* bridge = find(stream_id);
  if (bridge == nullptr) return;
  bridge->responded = true;
  std::string& out = bridge->to_pipe;
  http::append_status_line(out, static_cast<std::uint16_t>(head.status));
  for (const auto& [name, value] : head.fields) http::append_field(out, name, value);
  // Without a length the body is chunked, which also carries trailers. A 204 or 304 has no
  // body, and the Session reads a HEAD response as bodiless whatever its fields say.
  const bool bodiless = head.status == 204 || head.status == 304;
  if (head.end_stream && head.content_length < 0 && !bodiless) {
    // Nothing follows the head (a gRPC "Trailers-Only" answer): said as a zero length, so the
    // client's side sends it back as one HEADERS frame that ends the stream, as it came.
    http::append_field(out, "Content-Length", "0");
  } else if (head.content_length < 0 && !bodiless) {
    http::append_field(out, "Transfer-Encoding", "chunked");
    bridge->chunked = true;
  }
  // One request per pipe: the Session never pools it.
  http::append_field(out, "Connection", "close");
  out.append(http::kCrlf);
  bridge->wake_writer.cancel();
}

void Http2UpstreamConnection::on_response_body(std::int32_t stream_id, std::span<const std::uint8_t> data) {
  Bridge* bridge = find(stream_id);
  if (bridge == nullptr || data.empty()) return;
  if (bridge->chunked) http::append_chunk_size(bridge->to_pipe, data.size());
  bridge->to_pipe.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (bridge->chunked) bridge->to_pipe.append(http::kCrlf);
  bridge->body_unconsumed += data.size();
  bridge->wake_writer.cancel();
}

void Http2UpstreamConnection::on_trailers(std::int32_t stream_id, http2::FieldList trailers) {
  if (Bridge* bridge = find(stream_id)) bridge->trailers = std::move(trailers);
}

void Http2UpstreamConnection::on_response_end(std::int32_t stream_id) {
  Bridge* bridge = find(stream_id);
  if (bridge == nullptr) return;
  if (bridge->chunked) {
    // The last chunk, then the trailers (gRPC's grpc-status travels here).
    bridge->to_pipe.append("0\r\n");
    for (const auto& [name, value] : bridge->trailers) http::append_field(bridge->to_pipe, name, value);
    bridge->to_pipe.append(http::kCrlf);
  }
  bridge->response_ended = true;
  bridge->wake_writer.cancel();
}

void Http2UpstreamConnection::on_stream_closed(std::int32_t stream_id, std::uint32_t error_code, bool retryable) {
  auto found = streams_.find(stream_id);
  if (found == streams_.end()) return;
  std::shared_ptr<Bridge> bridge = std::move(found->second);
  streams_.erase(found);
  bridge->stream_closed = true;
  if (!bridge->responded) {
    bridge->fate->failed = true;
    bridge->fate->retryable = retryable;
    bridge->fate->reason = retryable ? "upstream refused the HTTP/2 stream"
                                     : "upstream reset the HTTP/2 stream (error code " + std::to_string(error_code) + ")";
  }
  bridge->wake_writer.cancel();
  bridge->wake_pump.cancel();
  note_idle();
  if (closing_) wake_writer();
}

std::size_t Http2UpstreamConnection::read_request_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room,
                                                       bool& end) {
  Bridge* bridge = find(stream_id);
  if (bridge == nullptr) {
    end = true;
    return 0;
  }
  const std::size_t n = std::min(bridge->request_body.size() - bridge->request_body_sent, room);
  std::copy_n(bridge->request_body.data() + bridge->request_body_sent, n, out);
  bridge->request_body_sent += n;
  if (bridge->request_body_sent == bridge->request_body.size()) {
    bridge->request_body.clear();
    bridge->request_body_sent = 0;
    bridge->wake_pump.cancel();  // room again: read more from the pipe
  }
  end = bridge->request_ended && bridge->request_body.empty();
  return n;
}

void Http2UpstreamConnection::shut_down() {
  if (closing_) return;
  closing_ = true;
  session_.shut_down();
  wake_writer();
}

void Http2UpstreamConnection::abort() { fail_all("gateway closed the upstream HTTP/2 connection", false); }

std::shared_ptr<Http2UpstreamConnection> Http2Upstreams::find(std::size_t target_id) {
  forget_closed();
  for (const auto& connection : connections_) {
    if (connection->target_id() == target_id && connection->can_take_stream()) return connection;
  }
  return nullptr;
}

void Http2Upstreams::add(std::shared_ptr<Http2UpstreamConnection> connection) {
  connections_.push_back(std::move(connection));
}

void Http2Upstreams::carry_over(std::span<const std::ptrdiff_t> new_id_of) {
  for (const auto& connection : connections_) {
    const std::size_t old_id = connection->target_id();
    const std::ptrdiff_t new_id = old_id < new_id_of.size() ? new_id_of[old_id] : -1;
    if (new_id >= 0) {
      connection->set_target_id(static_cast<std::size_t>(new_id));
    } else {
      connection->shut_down();  // a removed or changed target: finish its streams, then close
    }
  }
  // Shut-down ones take no stream any more; their loops keep them alive until they close.
  std::erase_if(connections_, [](const auto& connection) { return !connection->accepting(); });
}

void Http2Upstreams::close_all(bool now) {
  for (const auto& connection : connections_) {
    if (now) {
      connection->abort();
    } else {
      connection->shut_down();
    }
  }
  connections_.clear();
}

std::size_t Http2Upstreams::open_connections() const {
  return static_cast<std::size_t>(
      std::count_if(connections_.begin(), connections_.end(), [](const auto& c) { return !c->closed(); }));
}

void Http2Upstreams::forget_closed() {
  std::erase_if(connections_, [](const auto& connection) { return connection->closed(); });
}

}  // namespace flexgate::proxy
