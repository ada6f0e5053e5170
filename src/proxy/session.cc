// The downstream connection loop: read a head, run the lifecycle, repeat while keep-alive holds.

#include "proxy/session.h"

#include "http/parser.h"
#include "net/address.h"
#include "net/socket_io.h"
#include "observe/log.h"
#include "proxy/worker.h"

namespace flexgate::proxy {
namespace {

// Large enough for the biggest allowed head plus room to stream bodies in big reads.
std::size_t client_buffer_capacity(const Runtime& runtime) {
  return std::max<std::size_t>(64 * 1024, runtime.config().proxy.max_head_size + 4096);
}

// The client read buffer on storage from the worker's spare blocks.
ByteBuffer take_client_buffer(Worker& worker) {
  const std::size_t capacity = client_buffer_capacity(*worker.runtime());
  return ByteBuffer(worker.take_client_buffer(capacity), capacity);
}

ErrorKind error_kind_for(http::ParseError error) {
  switch (http::status_for(error)) {
    case 413: return ErrorKind::kPayloadTooLarge;
    case 414: return ErrorKind::kUriTooLong;
    case 431: return ErrorKind::kHeaderFieldsTooLarge;
    case 501: return ErrorKind::kNotImplemented;
    case 505: return ErrorKind::kVersionNotSupported;
    default: return ErrorKind::kBadRequest;
  }
}

}  // namespace

Session::Session(Worker& worker, net::tcp::socket socket, policy::LoadShedder::Ticket admission)
    : worker_(worker),
      connection_admission_(std::move(admission)),
      client_(std::move(socket)),
      deadline_(worker.deadlines(), [this] { on_deadline(); }),
      client_buffer_(take_client_buffer(worker)) {
  std::error_code ec;
  auto remote = client_.socket().remote_endpoint(ec);
  if (!ec) {
    client_address_ = remote.address().to_string();
    peer_ip_ = net::to_ip_address(remote.address());
  }
  worker_.add_session(this);
}

Session::Session(Worker& worker, net::Stream stream, policy::LoadShedder::Ticket admission,
                 const DownstreamOrigin* origin)
    : worker_(worker),
      connection_admission_(std::move(admission)),
      client_(std::move(stream)),
      deadline_(worker.deadlines(), [this] { on_deadline(); }),
      client_buffer_(take_client_buffer(worker)) {
  client_address_ = origin->address;
  peer_ip_ = origin->ip;
  downstream_tls_ = origin->tls;
  tls_client_identity_ = origin->tls_identity;
  http2_stream_ = true;
  worker_.add_session(this);
}

Session::~Session() {
  const std::size_t capacity = client_buffer_.capacity();
  if (client_buffer_.has_storage()) worker_.give_client_buffer(client_buffer_.release_storage(), capacity);
  worker_.remove_session(this);
}

net::Task<void> Session::run() {
  auto self = shared_from_this();
  if (!http2_stream_) net::prepare_socket(client_.socket());  // a stream's pipe has no socket
  if (!http2_stream_ && !co_await tls_handshake_phase()) closing_ = true;
  if (!closing_ && client_.tls() != nullptr && net::tls_alpn(client_.tls()) == "h2") {
    co_await serve_http2({});
    closing_ = true;
  }
  while (!closing_) {
    const ReadHeadResult head = co_await read_request_head();
    if (head == ReadHeadResult::kHttp2Preface) {
      const std::string already_read(client_buffer_.readable());
      client_buffer_.clear();
      co_await serve_http2(already_read);
      break;
    }
    if (head != ReadHeadResult::kRequest) break;
    bool keep_alive = co_await handle_request();
    ++requests_served_;
    if (!keep_alive || worker_.draining()) break;
  }
  deadline_.stop();
  release_upstream(false);
  close_client();
}

net::Task<void> Session::serve_http2(std::string_view already_read) {
  const std::shared_ptr<const Runtime> runtime = worker_.runtime();
  const config::ProxySettings& proxy_settings = runtime->config().proxy;
  http2::Limits limits;
  limits.max_concurrent_streams = proxy_settings.http2.max_concurrent_streams;
  limits.max_header_list_size = static_cast<std::uint32_t>(std::min<std::uint64_t>(proxy_settings.max_head_size, 1u << 24));
  limits.initial_window_size = static_cast<std::uint32_t>(proxy_settings.http2.initial_window_size);
  limits.max_resets_per_second = proxy_settings.http2.max_resets_per_second;
  DownstreamOrigin origin{client_address_, peer_ip_, downstream_tls_, tls_client_identity_};
  // The connection's own deadline is off: each stream's Session keeps its own timeouts.
  deadline_.clear();
  state_ = State::kBusy;
  http2_ = std::make_unique<Http2Connection>(worker_, client_, std::move(origin), limits);
  if (closing_ || worker_.draining()) http2_->close_if_idle();
  co_await http2_->run(already_read);
  http2_.reset();
}

net::Task<bool> Session::tls_handshake_phase() {
  // The snapshot's TLS context is taken now: a reload's new certificates serve new connections,
  // and this one keeps the context it started with (the SSL object holds a reference).
  const std::shared_ptr<const Runtime> runtime = worker_.runtime();
  const auto& server_tls = runtime->server_tls();
  if (!server_tls) co_return true;
  net::SslPtr tls = server_tls->new_session();
  if (!tls) co_return false;
  // A client must finish the handshake within the header timeout, like a request head.
  set_timeout(TimeoutKind::kClientHead, net::Clock::now() + runtime->config().proxy.header_timeout);
  state_ = State::kReadingHead;
  net::start_tls(client_, std::move(tls), /*server=*/true);
  std::error_code error = co_await net::tls_handshake(client_);
  if (deadline_.expired()) error = asio::error::operation_aborted;
  if (error) {
    const std::string_view reason = net::handshake_failure_reason(error);
    worker_.metrics().record_tls_handshake(observe::TlsSide::kDownstream, observe::tls_result_from_label(reason));
    observe::log_event(config::LogLevel::kInfo, "tls_handshake_failed",
                       {{"side", "downstream"}, {"client", client_address_}, {"reason", reason},
                        {"error", error.message()}});
    if (reason == "plain_http") {
      // Say so in plain HTTP, like nginx: a client that forgot https:// sees why (best effort).
      static constexpr std::string_view kPlainHttpReply =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 86\r\nConnection: close\r\n\r\n"
          "{\"error\":\"Bad Request\",\"message\":\"plain HTTP request sent to the TLS port; use https\"}";
      std::error_code ignored;
      client_.socket().write_some(asio::buffer(kPlainHttpReply.data(), kPlainHttpReply.size()), ignored);
    }
    co_return false;
  }
  worker_.metrics().record_tls_handshake(observe::TlsSide::kDownstream, observe::TlsResult::kOk);
  // A verified client certificate names the client (rate-limit keys, logs, ${auth.client}) unless
  // the route authenticates it otherwise.
  tls_client_identity_ = net::tls_peer_identity(client_.tls());
  downstream_tls_ = true;
  state_ = State::kIdle;
  co_return true;
}

void Session::set_timeout(TimeoutKind kind, net::Clock::time_point at) {
  timeout_kind_ = kind;
  deadline_.set(at);
}

void Session::arm_head_timeout(std::chrono::milliseconds header_timeout) {
  if (timeout_kind_ != TimeoutKind::kClientHead) set_timeout(TimeoutKind::kClientHead, ctx_.started + header_timeout);
}

void Session::on_deadline() {
  // Closing the socket fails the pending (or next) operation on it at once; the phase that was
  // waiting sees deadline_.expired() and answers for the timeout kind.
  switch (timeout_kind_) {
    case TimeoutKind::kClientIdle:
      close_client();
      break;
    case TimeoutKind::kClientHead:
      worker_.metrics().record_timeout(observe::TimeoutKind::kClientHead);
      close_client();
      break;
    case TimeoutKind::kUpstreamConnect:
    case TimeoutKind::kUpstreamResponse:
      if (upstream_) {
        std::error_code ignored;
        upstream_->stream.close();
      }
      break;
    case TimeoutKind::kRequest:
      if (upstream_) {
        std::error_code ignored;
        upstream_->stream.close();
      }
      // Once the response has started there is nothing left to tell the client.
      if (ctx_.response_started || !upstream_) close_client();
      break;
    case TimeoutKind::kTunnelIdle:
      worker_.metrics().record_timeout(observe::TimeoutKind::kWebsocketIdle);
      end_tunnel("idle_timeout", /*close_both=*/true);
      break;
    case TimeoutKind::kNone:
      break;
  }
}

void Session::close_client() { client_.shutdown_and_close(); }

void Session::close_if_idle() {
  closing_ = true;
  if (http2_) {
    http2_->close_if_idle();  // GOAWAY; streams in flight finish
    return;
  }
  // Between requests, or a new connection that has not sent a byte: nothing is lost by closing.
  // Bytes already waiting in the kernel are a request the client sent before the drain: serve it
  // (with Connection: close) instead of dropping it.
  if (state_ == State::kBusy || !client_buffer_.empty()) return;
  if (client_.available() == 0) close_client();
}

void Session::abort() {
  closing_ = true;
  if (http2_) http2_->abort();
  if (tunnel_open_) {
    // A WebSocket tunnel has no "between requests": the drain deadline ends it here.
    end_tunnel("aborted", /*close_both=*/true);
    return;
  }
  if (upstream_) {
    std::error_code ignored;
    upstream_->stream.close();
  }
  close_client();
}

net::Task<Session::ReadHeadResult> Session::read_request_head() {
  // Held for the whole read: a reload may swap the worker's snapshot while this waits for bytes.
  const std::shared_ptr<const Runtime> runtime = worker_.runtime();
  const auto& proxy_settings = runtime->config().proxy;
  const http::Limits& limits = runtime->limits();
  // After a proxied response the clock was read as its last byte left, and nothing has waited
  // since: the idle timeout runs from then.
  auto now = ctx_.end_time();
  bool fresh_connection = requests_served_ == 0;
  // A new connection must send its head within the header timeout (slowloris); a kept-alive one
  // may sit idle for the idle timeout before its next request starts.
  if (client_buffer_.empty() && !fresh_connection) {
    state_ = State::kIdle;
    // The idle timeout of the route the last request took (timeouts.idle), else proxy's.
    set_timeout(TimeoutKind::kClientIdle, now + (idle_timeout_.count() > 0 ? idle_timeout_ : proxy_settings.idle_timeout));
  } else {
    state_ = State::kReadingHead;
    set_timeout(TimeoutKind::kClientHead, now + proxy_settings.header_timeout);
  }
  ctx_.reset();
  ctx_.started = now;
  const bool h2c = fresh_connection && !http2_stream_ && proxy_settings.http2.h2c;
  for (;;) {
    // HTTP/2 with prior knowledge (proxy.http2.h2c): the preface instead of a request line. A
    // prefix of it is not parsed yet: more bytes decide.
    bool maybe_preface = false;
    if (h2c && !client_buffer_.empty()) {
      static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      const std::string_view bytes = client_buffer_.readable();
      const std::size_t compared = std::min(bytes.size(), kPreface.size());
      if (bytes.substr(0, compared) == kPreface.substr(0, compared)) {
        if (compared == kPreface.size()) co_return ReadHeadResult::kHttp2Preface;
        maybe_preface = true;
      }
    }
    if (!client_buffer_.empty() && !maybe_preface) {
      auto outcome = http::parse_request_head(client_buffer_.readable(), limits, request_);
      if (outcome.status == http::ParseStatus::kComplete) {
        request_head_size_ = outcome.consumed;
        head_consumed_ = false;
        worker_.metrics().request_started();
        state_ = State::kBusy;
        co_return ReadHeadResult::kRequest;
      }
      if (outcome.status == http::ParseStatus::kError) {
        // Nothing after the fault is ever interpreted: answer and close.
        arm_head_timeout(proxy_settings.header_timeout);
        state_ = State::kBusy;
        worker_.metrics().request_started();
        switch (http::status_for(outcome.error)) {
          case 431: worker_.metrics().record_rejection(observe::Rejection::kLimitsHeadTooLarge); break;
          case 414: worker_.metrics().record_rejection(observe::Rejection::kLimitsUriTooLong); break;
          case 413: worker_.metrics().record_rejection(observe::Rejection::kLimitsBodyTooLarge); break;
          default: break;
        }
        ctx_.runtime = worker_.runtime();
        identify_request();
        ctx_.method = "-";
        fail(error_kind_for(outcome.error), http::to_string(outcome.error));
        ctx_.local_reply.close = true;
        co_await send_local_reply();
        log_phase();
        co_return ReadHeadResult::kClosed;
      }
    }
    if (state_ == State::kReadingHead) arm_head_timeout(proxy_settings.header_timeout);
    // Between requests the next one is rarely there yet: read at once only if the reactor saw
    // bytes arrive, else wait for the edge rather than try a recv() that would fail. The read
    // queue hint (enabled once a connection proves kept alive) tells a read that drained the
    // socket from one that left bytes or a FIN behind: a FIN that came with the last request
    // brings no edge of its own, so only then may the next read skip its recv().
    net::IoResult read;
    if (!client_.plain()) {
      read = co_await net::read_some(client_, client_buffer_.writable());  // OpenSSL may hold bytes
    } else {
      if (!fresh_connection && !read_hint_tried_) {
        read_hint_tried_ = true;
        net::enable_read_queue_hint(client_.socket());
      }
      for (;;) {
        // With the socket drained at the last read, a recv() now finds the next request only if
        // the client was quicker than this response's tail: guessed per connection (guess_read).
        const bool drained = !net::reactor_saw_readable(client_.socket());
        if (!drained || read_guess_.try_now()) {
          read = net::read_now_with_hint(client_.socket(), client_buffer_.writable());
          if (drained) read_guess_.learn(!read.would_block());
          if (!read.would_block()) break;
        }
        auto [wait_error] = co_await net::wait_readable(client_.socket());
        if (wait_error) {
          read = net::IoResult{wait_error, 0};
          break;
        }
      }
    }
    if (read.error || read.bytes == 0) co_return ReadHeadResult::kClosed;
    const std::size_t read_bytes = read.bytes;
    if (state_ == State::kIdle) {
      // The header timeout runs from this first byte; it is armed only if the head needs another
      // read (arm_head_timeout): a head that arrives whole never moves the deadline earlier, which
      // would cost a timer cancel and re-arm per request.
      state_ = State::kReadingHead;
      ctx_.started = net::Clock::now();
    }
    client_buffer_.commit(read_bytes);
  }
}

}  // namespace flexgate::proxy
