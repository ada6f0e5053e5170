#include "proxy/http2_connection.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "http/parser.h"
#include "net/memory_pipe.h"
#include "net/socket_io.h"
#include "observe/log.h"
#include "proxy/http2_output.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace flexgate::proxy {
namespace {

constexpr std::uint32_t kInternalError = 0x2;

// Request fields that do not cross to HTTP/1.1: HTTP/2 has no such fields (nghttp2 refuses
// connection-specific ones), and Host is made from :authority; `expect` is answered by HTTP/2
// flow control itself.
bool dropped_request_field(std::string_view name) {
  return name == "host" || name == "expect" || name == "te" || name == "http2-settings";
}

// Response fields that do not cross to HTTP/2 (RFC 9113 8.2.2).
bool dropped_response_field(std::string_view name) {
  return http::iequals(name, "connection") || http::iequals(name, "keep-alive") ||
         http::iequals(name, "proxy-connection") || http::iequals(name, "transfer-encoding") ||
         http::iequals(name, "upgrade");
}

void append_lowercase(std::string& out, std::string_view name) {
  for (const char c : name) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
}

std::string lowercase(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  append_lowercase(out, name);
  return out;
}

// The decoded trailer fields that may cross to HTTP/2 (the Session filtered them already; this
// keeps the HTTP/2 rules here whatever it sent).
void take_trailers(const http::ChunkedDecoder& decoder, std::vector<std::pair<std::string, std::string>>& out) {
  std::string_view section = decoder.trailer_section();
  http::HeaderField field;
  while (http::next_trailer_field(section, field)) {
    if (http::is_forbidden_trailer(field, {}) || dropped_response_field(field.name)) continue;
    out.emplace_back(lowercase(field.name), std::string(field.value));
  }
}

http::Method method_of(std::string_view method) {
  if (method == "HEAD") return http::Method::kHead;
  if (method == "GET") return http::Method::kGet;
  return http::Method::kOther;
}

}  // namespace

struct Http2Connection::StreamState final : net::PipeListener {
  StreamState(Http2Connection& owner, std::int32_t stream_id, std::shared_ptr<net::PipeEnd> our_end)
      : connection(owner), id(stream_id), pipe(std::move(our_end)) {
    pipe->set_listener(this);
  }
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;
  ~StreamState() override { pipe->close(); }  // detaches this listener; the Session sees its pipe close

  void on_pipe_readable() override { connection.pump_response(*this); }
  void on_pipe_writable() override { connection.feed_request(*this); }

  Http2Connection& connection;
  std::int32_t id;
  std::shared_ptr<net::PipeEnd> pipe;  // our end of the in-process pipe; a Session serves the other
  http::Method method = http::Method::kOther;
  // Request side: bytes the pipe had no room for yet, and how many of them are body bytes whose
  // window opens once they are in.
  std::string to_session;
  std::size_t body_bytes_pending = 0;
  bool chunked_request = false;
  bool last_chunk_written = false;  // the request's last chunk (with its trailers) went in
  // Response side: the body stays in the pipe until nghttp2 pulls it into a DATA frame.
  http::BodyFraming framing = http::BodyFraming::kNone;
  http::ChunkedDecoder decoder;
  std::uint64_t remaining = 0;  // of a Content-Length body
  bool until_close = false;
  bool body_ended = false;
  bool deferred = false;  // nghttp2 found no body bytes and waits for resume()
  std::vector<std::pair<std::string, std::string>> trailers;  // a chunked response's, lowercase names
  bool responded = false;
  bool failed = false;
  bool closed = false;  // the HTTP/2 stream or the connection is gone
};

Http2Connection::Http2Connection(Worker& worker, net::Stream& client, DownstreamOrigin origin,
                                 const http2::Limits& limits)
    : worker_(worker),
      client_(client),
      origin_(std::move(origin)),
      session_(*this, limits),
      writer_wake_(worker.context()),
      writer_done_(worker.context()) {
  writer_wake_.expires_at(net::SteadyTimer::time_point::max());
}

Http2Connection::~Http2Connection() = default;

net::Task<void> Http2Connection::run(std::string_view already_read) {
  // Both loops end before this returns: nothing runs on this object once it is gone (the streams'
  // pipes are closed when the reader ends, which detaches their listeners).
  writer_running_ = true;
  asio::co_spawn(worker_.context(), write_loop(), [this](const std::exception_ptr&) {
    writer_running_ = false;
    writer_done_.cancel();
  });
  co_await read_loop(already_read);
  while (writer_running_) {
    writer_done_.expires_at(net::SteadyTimer::time_point::max());
    (void)co_await writer_done_.async_wait(net::use_task);
  }
}

net::Task<void> Http2Connection::read_loop(std::string_view already_read) {
  if (!already_read.empty() && session_.receive(std::span<const char>(already_read.data(), already_read.size()))) {
    observe::log_event(config::LogLevel::kInfo, "http2_connection_error",
                       {{"client", origin_.address}, {"error", session_.failure()}});
    closing_ = true;
  }
  wake_writer();
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): each read fills what it reports
  std::array<char, 16384> buffer;
  while (!closing_ && session_.wants_read()) {
    const net::IoResult read = co_await net::read_some(client_, buffer);
    if (read.error || read.bytes == 0) break;
    if (session_.receive(std::span<const char>(buffer.data(), read.bytes))) {
      observe::log_event(config::LogLevel::kInfo, "http2_connection_error",
                         {{"client", origin_.address}, {"error", session_.failure()}});
      wake_writer();
      break;
    }
    wake_writer();
  }
  // The client is gone or broke the protocol: end every stream (their Sessions see the pipe close).
  closing_ = true;
  end_streams();
  // Let the writer send what is queued (a GOAWAY), then stop it.
  done_ = true;
  wake_writer();
}

net::Task<void> Http2Connection::write_loop() {
  for (;;) {
    for (const std::int32_t stream_id : failed_streams_) session_.reset(stream_id, kInternalError);
    failed_streams_.clear();
    collect_http2_output(session_, output_);
    if (!output_.empty()) {
      const net::IoResult written = co_await net::write_all(client_, output_);
      if (written.error) {
        closing_ = true;
        client_.close();
        co_return;
      }
      continue;
    }
    if (done_ || (closing_ && streams_.empty() && !session_.wants_write())) {
      client_.shutdown_and_close();
      co_return;
    }
    writer_wake_.expires_at(net::SteadyTimer::time_point::max());
    (void)co_await writer_wake_.async_wait(net::use_task);
    // The handlers already queued run first (more streams' frames, WINDOW_UPDATEs): one write for all.
    (void)co_await asio::post(writer_wake_.get_executor(), net::use_task);
  }
}

void Http2Connection::wake_writer() { writer_wake_.cancel(); }

Http2Connection::StreamState* Http2Connection::find(std::int32_t stream_id) {
  auto found = streams_.find(stream_id);
  return found != streams_.end() ? found->second.get() : nullptr;
}

void Http2Connection::on_request(std::int32_t stream_id, const http2::Request& request) {
  if (closing_) {
    session_.reset(stream_id, 0x7 /* REFUSED_STREAM: safe to retry */);
    return;
  }
  auto [session_end, our_end] = net::make_pipe(worker_.context().get_executor());
  auto owned = std::make_unique<StreamState>(*this, stream_id, std::move(our_end));
  StreamState& stream = *owned;
  stream.method = method_of(request.method);

  // The strict HTTP/1.1 form of the request; the Session parses it with the same limits as any.
  // It is made in a buffer the connection keeps and goes straight into the empty pipe.
  std::string& head = request_head_;
  head.clear();
  std::size_t head_size = 96 + request.method.size() + request.path.size() + request.authority.size();
  for (const auto& [name, value] : request.fields) head_size += name.size() + value.size() + 4;
  head.reserve(head_size);
  head.append(request.method).append(" ").append(request.path).append(" HTTP/1.1\r\nHost: ");
  head.append(request.authority).append("\r\n");
  std::string cookies;
  for (const auto& [name, value] : request.fields) {
    if (dropped_request_field(name)) continue;
    if (name == "cookie") {  // RFC 9113 8.2.3: one field again for HTTP/1.1
      if (!cookies.empty()) cookies += "; ";
      cookies += value;
      continue;
    }
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!cookies.empty()) head.append("cookie: ").append(cookies).append("\r\n");
  if (!request.end_stream && request.content_length < 0) {
    head.append("Transfer-Encoding: chunked\r\n");
    stream.chunked_request = true;
  }
  head.append("Connection: close\r\n\r\n");

  const std::array<asio::const_buffer, 1> bytes{asio::buffer(std::as_const(head))};
  const net::IoResult written = stream.pipe->write_now(bytes);  // the Session reads it when it runs
  if (written.bytes < head.size()) stream.to_session.assign(head, written.bytes);  // a head beyond the pipe's room
  streams_.emplace(stream_id, std::move(owned));
  auto session = std::make_shared<Session>(worker_, net::Stream(worker_.context().get_executor(), std::move(session_end)),
                                           policy::LoadShedder::Ticket{}, &origin_);
  feed_request(stream);  // what did not fit, if anything
  asio::co_spawn(worker_.context(), session->run(), asio::detached);
}

void Http2Connection::on_body(std::int32_t stream_id, std::span<const std::uint8_t> data) {
  StreamState* stream = find(stream_id);
  if (stream == nullptr || data.empty()) return;
  if (stream->chunked_request) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
    stream->to_session.append(size_line, static_cast<std::size_t>(n));
  }
  stream->to_session.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (stream->chunked_request) stream->to_session.append("\r\n");
  stream->body_bytes_pending += data.size();
  feed_request(*stream);
}

void Http2Connection::on_request_trailers(std::int32_t stream_id,
                                          std::vector<std::pair<std::string, std::string>>&& fields) {
  StreamState* stream = find(stream_id);
  // A request with a content-length has no chunked coding to carry trailers in HTTP/1.1: dropped.
  if (stream == nullptr || !stream->chunked_request) return;
  stream->to_session.append("0\r\n");
  for (const auto& [name, value] : fields) {
    stream->to_session.append(name).append(": ").append(value).append("\r\n");
  }
  stream->to_session.append("\r\n");
  stream->last_chunk_written = true;
  feed_request(*stream);
}

void Http2Connection::on_request_end(std::int32_t stream_id) {
  StreamState* stream = find(stream_id);
  if (stream == nullptr) return;
  if (stream->chunked_request && !stream->last_chunk_written) {
    stream->to_session.append("0\r\n\r\n");
    stream->last_chunk_written = true;
  }
  feed_request(*stream);
}

void Http2Connection::on_stream_closed(std::int32_t stream_id, std::uint32_t /*error_code*/) {
  auto found = streams_.find(stream_id);
  if (found == streams_.end()) return;
  // Erasing closes our end: a request still in progress is abandoned like a client that went
  // away (the upstream attempt ends, nothing is pooled that is unclean).
  streams_.erase(found);
  if (closing_) wake_writer();
}

std::size_t Http2Connection::read_response_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room,
                                                bool& end) {
  StreamState* stream = find(stream_id);
  if (stream == nullptr) {
    end = true;
    return 0;
  }
  const std::size_t n = pull_body(*stream, out, room);
  end = stream->body_ended;
  stream->deferred = n == 0 && !end;  // resumed when the Session writes more or ends (pump_response)
  return n;
}

const std::vector<std::pair<std::string, std::string>>* Http2Connection::response_trailers(std::int32_t stream_id) {
  const StreamState* stream = find(stream_id);
  return stream != nullptr ? &stream->trailers : nullptr;
}

void Http2Connection::feed_request(StreamState& stream) {
  if (stream.closed || stream.to_session.empty()) return;
  const std::array<asio::const_buffer, 1> bytes{asio::buffer(std::as_const(stream.to_session))};
  const net::IoResult written = stream.pipe->write_now(bytes);
  if (written.error && !written.would_block()) {
    // The Session stopped reading: it answered without the rest of the body, or went away. What
    // the client still sends is discarded, and its window opens again so that the upload can end
    // (a stream left waiting for a window would hold its slot until the client gave up).
    stream.to_session.clear();
  } else if (written.bytes < stream.to_session.size()) {
    stream.to_session.erase(0, written.bytes);  // the rest when the Session has read (on_pipe_writable)
    return;
  }
  stream.to_session.clear();
  if (stream.body_bytes_pending > 0) {
    session_.consume(stream.id, stream.body_bytes_pending);
    stream.body_bytes_pending = 0;
    wake_writer();
  }
}

void Http2Connection::take_response_head(StreamState& stream) {
  static constexpr http::Limits kLimits{64 * 1024, 8 * 1024, http::kMaxHeaderFieldsCapacity};
  net::PipeEnd& pipe = *stream.pipe;
  const std::string_view bytes = pipe.readable();
  if (bytes.empty()) return;
  http::ResponseHead& head = response_head_;  // read only until the consume() below
  const auto outcome = http::parse_response_head(bytes, kLimits, stream.method, head);
  if (outcome.status == http::ParseStatus::kPartial && bytes.size() < kLimits.max_head_bytes) return;
  if (outcome.status != http::ParseStatus::kComplete || head.status < 200) {
    fail(stream);
    return;
  }
  // Names are lowered into one buffer sized up front, so the views into it stay valid.
  std::size_t names_size = 0;
  for (const http::HeaderField& field : head.fields) names_size += field.name.size();
  response_names_.clear();
  response_names_.reserve(names_size);
  response_fields_.clear();
  for (const http::HeaderField& field : head.fields) {
    if (dropped_response_field(field.name)) continue;
    if (head.connection_names_fields && http::connection_nominates(head.fields, field.name)) continue;
    const std::size_t at = response_names_.size();
    append_lowercase(response_names_, field.name);
    response_fields_.push_back({std::string_view(response_names_).substr(at, field.name.size()), field.value});
  }
  // Content-Length: 0 is no body: a gRPC "Trailers-Only" answer must be one HEADERS frame
  // with END_STREAM, not HEADERS and an empty DATA.
  const bool has_body = head.framing == http::BodyFraming::kContentLength ? head.content_length > 0
                                                                          : head.framing != http::BodyFraming::kNone;
  stream.remaining = head.framing == http::BodyFraming::kContentLength ? head.content_length : 0;
  stream.until_close = head.framing == http::BodyFraming::kUntilClose;
  stream.framing = head.framing;
  stream.responded = true;
  stream.body_ended = !has_body;
  session_.respond(stream.id, head.status, response_fields_, has_body);
  pipe.consume(outcome.consumed);  // the fields above viewed these bytes
  wake_writer();
}

std::size_t Http2Connection::pull_body(StreamState& stream, std::uint8_t* out, std::size_t room) {
  if (stream.closed) return 0;  // the connection is going: its streams end with it
  net::PipeEnd& pipe = *stream.pipe;
  std::size_t n = 0;
  while (n < room && !stream.failed && !stream.body_ended) {
    const std::string_view bytes = pipe.readable();
    if (bytes.empty()) break;
    if (stream.framing == http::BodyFraming::kChunked) {
      // A prefix of at most the room left: the decoder never hands out more data than fits, and
      // it takes framing bytes in any pieces.
      const auto step = stream.decoder.next(bytes.substr(0, room - n));
      if (step.kind == http::ChunkedDecoder::Kind::kError) {
        fail(stream);
        break;
      }
      if (step.kind == http::ChunkedDecoder::Kind::kData) {
        std::memcpy(out + n, step.data.data(), step.data.size());
        n += step.data.size();
      }
      if (step.kind == http::ChunkedDecoder::Kind::kDone) {
        stream.body_ended = true;
        take_trailers(stream.decoder, stream.trailers);
      }
      pipe.consume(step.consumed);
    } else if (stream.until_close) {
      const std::size_t take = std::min(room - n, bytes.size());
      std::memcpy(out + n, bytes.data(), take);
      n += take;
      pipe.consume(take);
    } else {
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>({stream.remaining, room - n, bytes.size()}));
      std::memcpy(out + n, bytes.data(), take);
      n += take;
      stream.remaining -= take;
      if (stream.remaining == 0) stream.body_ended = true;
      pipe.consume(stream.body_ended ? bytes.size() : take);  // nothing may follow a Connection: close response
    }
  }
  if (stream.failed || stream.body_ended || !pipe.at_eof()) return n;
  // The Session closed its end before the body was complete: only a body that runs until the
  // close ends cleanly there.
  if (stream.until_close) {
    stream.body_ended = true;
  } else {
    fail(stream);
  }
  return n;
}

void Http2Connection::pump_response(StreamState& stream) {
  if (stream.closed || stream.failed) return;
  if (!stream.responded) {
    take_response_head(stream);
    // The Session closed its end before a complete head: nothing to answer with.
    if (!stream.responded && !stream.failed && stream.pipe->at_eof()) fail(stream);
    return;  // nghttp2 pulls the body (pull_body) as it writes the HEADERS and the window allows
  }
  if (stream.deferred) {
    stream.deferred = false;
    session_.resume(stream.id);  // its DATA waited for bytes, or for the end
    wake_writer();
  }
}

void Http2Connection::fail(StreamState& stream) {
  // The client sees the stream reset, never a clean end.
  if (stream.failed || stream.closed) return;
  stream.failed = true;
  failed_streams_.push_back(stream.id);
  wake_writer();
}

void Http2Connection::end_streams() {
  for (auto& [id, stream] : streams_) {
    stream->closed = true;
    stream->pipe->close();
  }
}

void Http2Connection::close_if_idle() {
  if (closing_) return;
  closing_ = true;
  session_.shut_down();
  wake_writer();
}

void Http2Connection::abort() {
  closing_ = true;
  done_ = true;
  end_streams();
  client_.close();
  wake_writer();
}

}  // namespace flexgate::proxy
