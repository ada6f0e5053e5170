// The WebSocket tunnel: the last phase of a handshake the upstream accepted (101). The proxy stops
// speaking HTTP on both connections and moves bytes untouched, each direction on its own, through
// the buffers the connections already have (no allocation per chunk), until:
//   - one side closes (EOF): the other side's write half is shut down and the other direction
//     goes on until it ends too (half-close, like TCP);
//   - one side fails (reset, write error): both are shut down at once;
//   - no byte moved either way for the route's timeouts.idle (flexgate_timeouts_total{kind=
//     "websocket_idle"});
//   - the drain deadline passes (Session::abort).
// The access line is written when the tunnel ends: status 101, the whole tunnel's duration, the
// bytes both ways, and how it ended ("tunnelEnd").

#include <array>

#include "net/socket_io.h"
#include "net/tls.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace flexgate::proxy {

net::Task<bool> Session::tunnel_phase() {
  observe::WorkerMetrics& metrics = worker_.metrics();
  // From the switch on only the idle timeout applies: the request deadline never cuts a tunnel.
  set_timeout(TimeoutKind::kTunnelIdle, net::Clock::now() + ctx_.timeouts->idle);
  build_response_head(/*chunked_to_client=*/false, /*close=*/false, /*upgrade=*/true);
  ByteBuffer& from_upstream = upstream_->buffer;
  from_upstream.consume(upstream_head_size_);
  ctx_.status = 101;
  ctx_.response_started = true;
  // The 101 head and whatever the upstream sent right behind it (its first frames): one write.
  const std::size_t early = from_upstream.readable_size();
  const std::array<asio::const_buffer, 2> parts{asio::buffer(head_out_.view()),
                                                asio::buffer(from_upstream.readable().data(), early)};
  metrics.record_websocket_bytes(observe::TunnelDirection::kToClient, early);
  net::IoResult written = net::write_now(client_, parts);
  if (written.would_block()) written = co_await net::write_rest(client_, parts, written.bytes);
  ctx_.bytes_out = written.bytes;
  if (written.error) {
    if (ctx_.tunnel_end.empty()) ctx_.tunnel_end = "error";
    release_upstream(false);
    co_return false;
  }
  from_upstream.consume(early);
  // The handshake was the request: it is counted now (its latency is the handshake's), and the
  // tunnel holds no request slot. Open tunnels are bounded by proxy.maxConnections, shown by
  // flexgate_websocket_connections.
  count_request();
  ctx_.admission.release();
  ctx_.concurrency.release();
  metrics.add_websocket_tunnels(1);
  tunnel_open_ = true;
  {
    using namespace asio::experimental::awaitable_operators;
    co_await (pump(observe::TunnelDirection::kToUpstream) && pump(observe::TunnelDirection::kToClient));
  }
  tunnel_open_ = false;
  metrics.add_websocket_tunnels(-1);
  set_timeout(TimeoutKind::kNone, net::Clock::time_point::max());
  release_upstream(false);  // never pooled: it speaks WebSocket now
  close_client();
  co_return false;
}

net::Task<void> Session::pump(observe::TunnelDirection direction) {
  const bool to_upstream = direction == observe::TunnelDirection::kToUpstream;
  net::Stream& from = to_upstream ? client_ : upstream_->stream;
  net::Stream& to = to_upstream ? upstream_->stream : client_;
  // The bytes the client sent behind its handshake are still in its buffer: they go first.
  ByteBuffer& buffer = to_upstream ? client_buffer_ : upstream_->buffer;
  std::uint64_t& counted = to_upstream ? ctx_.bytes_in : ctx_.bytes_out;
  observe::WorkerMetrics& metrics = worker_.metrics();
  const std::chrono::milliseconds idle = ctx_.timeouts->idle;
  for (;;) {
    if (!buffer.empty()) {
      const std::string_view bytes = buffer.readable();
      // Counted as handed over, before the write: whoever has seen the bytes can see the count.
      metrics.record_websocket_bytes(direction, bytes.size());
      net::IoResult written = net::write_now(to, bytes);
      if (written.would_block()) written = co_await net::write_rest(to, bytes, written.bytes);
      if (written.error) {
        end_tunnel("error", /*close_both=*/true);
        co_return;
      }
      buffer.consume(bytes.size());
      counted += bytes.size();
      deadline_.set(net::Clock::now() + idle);  // a later deadline is a plain store
    }
    // The buffer is empty here, so the read gets all of it.
    const net::IoResult read = co_await net::read_some(from, buffer.writable());
    if (!read.error && read.bytes > 0) {
      buffer.commit(read.bytes);
      deadline_.set(net::Clock::now() + idle);
      continue;
    }
    // A TLS peer that closes without close_notify has still closed: the WebSocket close handshake
    // inside the tunnel is what tells a clean end, not the transport.
    const bool closed = read.error == asio::error::eof || read.error == net::TlsErrc::kTruncated ||
                        (!read.error && read.bytes == 0);
    if (!closed) {
      end_tunnel("error", /*close_both=*/true);
      co_return;
    }
    end_tunnel(to_upstream ? "client_closed" : "upstream_closed", /*close_both=*/false);
    to.shutdown_write();  // the other direction goes on until its own end
    co_return;
  }
}

void Session::end_tunnel(std::string_view reason, bool close_both) {
  if (ctx_.tunnel_end.empty()) ctx_.tunnel_end = reason;  // the first end is the one logged
  if (!close_both) return;
  // shutdown(), not close(): the descriptors and TLS sessions stay valid while the other pump may
  // still be about to touch them; a pending read sees EOF, a pending write fails, and both pumps
  // end. tunnel_phase() closes everything once they have.
  if (upstream_ && upstream_->stream.is_open()) upstream_->stream.shutdown(net::tcp::socket::shutdown_both);
  if (client_.is_open()) client_.shutdown(net::tcp::socket::shutdown_both);
}

}  // namespace flexgate::proxy
