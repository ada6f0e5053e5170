#pragma once
// One downstream connection: reads requests one after another (keep-alive, pipelining) and runs
// each through the request lifecycle. The lifecycle's phases are all in lifecycle.cc, in order:
//
//   read head ─► identify (correlation id) ─► normalize target ─► route (404/405)
//     ─► CORS (is it a preflight?)
//     ─► WebSocket (only with an Upgrade field: 403 off `websocket: true` routes, 400/426 for a
//        malformed handshake; any other Upgrade is dropped and the request served as HTTP/1.1)
//     ─► admission (503) ─► body limits (413)
//     ─► client policies: header hygiene, ip allow/deny (400/403) ─► a preflight is answered here (204)
//     ─► content type, auth, rate limit, validate (415/401/429/400) ─► choose upstream (503)
//     ─► forward target (stripPrefix / rewrite) ─► transform request (header templates; 500)
//     ─► connect: pool or new (502/504) ─► send request head + stream body
//     ─► read response head (502/504; one retry on a stale pooled connection)
//     ─► send response head + stream body ─► log (always)
//        or, for a body without a length (chunked): send head, then the body and the response at
//        once (full_duplex.cc: gRPC bidi streams, early answers) ─► log
//        or, for a WebSocket handshake the upstream answered 101 (Sec-WebSocket-Accept checked;
//        502 otherwise): send the 101 head ─► tunnel both ways until both ends close or the idle
//        timeout passes ─► log (status 101, the whole tunnel's duration and bytes)
//
// Every phase can answer locally (a LocalReply) and stop; the log phase always runs.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/byte_buffer.h"
#include "core/error.h"
#include "core/intrusive_list.h"
#include "http/chunked.h"
#include "http/head_buffer.h"
#include "http/message.h"
#include "net/asio.h"
#include "net/deadline.h"
#include "net/ip_address.h"
#include "net/socket_io.h"
#include "net/stream.h"
#include "observe/metrics.h"
#include "policy/loadshed/load_shedder.h"
#include "policy/request_view.h"
#include "proxy/body_forwarder.h"
#include "proxy/health.h"
#include "proxy/http2_connection.h"
#include "proxy/http2_upstream.h"
#include "proxy/local_reply.h"
#include "proxy/request_context.h"
#include "proxy/runtime.h"
#include "router/normalize.h"
#include "router/route_table.h"
#include "upstream/connection_pool.h"

namespace flexgate::proxy {

class Worker;

class Session : public std::enable_shared_from_this<Session>, public ListLinks<Session> {
 public:
  // `admission` holds this connection's slot of proxy.maxConnections for the session's life.
  Session(Worker& worker, net::tcp::socket socket, policy::LoadShedder::Ticket admission);
  // A Session serving one HTTP/2 stream (Http2Connection): `stream` is its end of the in-process
  // pipe; the client's address and TLS facts come from `origin`.
  Session(Worker& worker, net::Stream stream, policy::LoadShedder::Ticket admission,
          const DownstreamOrigin* origin);
  ~Session();

  // Serves the connection until it closes. Keeps the session alive while it runs.
  net::Task<void> run();

  // Drain: closes the connection if it is between requests; otherwise it closes after the
  // response in flight. Worker thread only.
  void close_if_idle();
  // Closes the connection now.
  void abort();

 private:
  enum class ReadHeadResult : std::uint8_t { kRequest, kClosed, kHttp2Preface };
  enum class State : std::uint8_t { kIdle, kReadingHead, kBusy };
  // Which timer is running, so an expiry maps to the right answer.
  enum class TimeoutKind : std::uint8_t {
    kNone,
    kClientIdle,
    kClientHead,
    kRequest,
    kUpstreamConnect,
    kUpstreamResponse,
    kTunnelIdle,  // a WebSocket tunnel moved no byte either way for the route's timeouts.idle
  };

  // Connection loop (session.cc).
  net::Task<bool> tls_handshake_phase();  // proxy.tls: before the first request
  // HTTP/2 on this connection (ALPN h2, or the h2c preface): serves it to its end.
  net::Task<void> serve_http2(std::string_view already_read);
  net::Task<ReadHeadResult> read_request_head();
  void on_deadline();
  void set_timeout(TimeoutKind kind, net::Clock::time_point at);
  // The header timeout of the head being read (from its first byte), unless already armed.
  void arm_head_timeout(std::chrono::milliseconds header_timeout);
  void close_client();

  // The lifecycle (lifecycle.cc). Returns whether the connection may serve another request.
  net::Task<bool> handle_request();
  void identify_request();
  // A gRPC request (by its content-type): remembers it and its grpc-timeout.
  void identify_grpc();
  // The upstream's grpc-status from its trailer section (after a chunked body).
  void note_grpc_trailers();
  bool normalize_target_phase();
  bool route_phase();
  void cors_phase();
  net::Task<bool> answer_preflight();
  // Runs only for a request with an Upgrade field (RequestHead::has_upgrade): the plain path never
  // pays for it. A WebSocket handshake continues on a `websocket: true` route; any other Upgrade
  // (h2c...) continues as plain HTTP/1.1 (the field is hop-by-hop and dropped).
  bool websocket_phase();
  bool admission_phase();
  // The policy chain (handle_request runs it in order); only body buffering and Redis suspend.
  bool client_policies_phase();
  bool content_type_phase();
  bool policies_need_body() const;
  net::Task<bool> policy_body_phase();
  bool auth_phase();
  bool rate_limited_route() const;
  bool rate_limit_is_remote();
  bool local_rate_limit_phase();
  net::Task<bool> remote_rate_limit_phase();
  bool conclude_rate_limit(observe::RateLimitStore store, std::size_t refused);
  bool validate_phase();
  bool body_limit_phase();
  bool choose_upstream_phase();
  bool forward_target_phase();
  bool transform_request_phase();
  // The ${client_ip} and ${correlation_id} of this request (what a header plan copies unrendered).
  policy::TemplateContext gateway_template_values() const;
  // Traffic control around each attempt (lifecycle.cc): pick a usable target of `chosen` through
  // its breaker and balancer; report how the attempt ended (balancer, breaker, outlier ejection).
  bool pick_target(const upstream::Upstream& chosen, bool retry);
  std::uint64_t request_hash_key(const config::HashOnSpec& hash_on) const;
  void finish_attempt(const std::optional<upstream::AttemptFailure>& failure);
  // A response head arrived: the attempt is reported (a 5xx as a failure, returned for a retry).
  std::optional<upstream::AttemptFailure> report_answered_attempt();
  void abandon_attempt();
  void note_breaker_transition(const upstream::Upstream& target, const upstream::BreakerTransition& transition);
  // The failure of an attempt that did not produce a response head, from the reply it set.
  std::optional<upstream::AttemptFailure> attempt_failure(bool connected) const;
  net::Task<bool> retry_attempt(const upstream::AttemptFailure& failure);
  bool try_concurrency_slot();
  bool pooled_connection_phase(bool allow_pooled);
  // Whether the idle connection just taken from the pool (upstream_) may carry this request.
  bool pooled_connection_usable();
  net::Task<bool> acquire_concurrency_slot();
  net::Task<bool> connect_phase(bool allow_pooled);
  net::Task<std::error_code> upstream_tls_handshake(const upstream::Target& target);
  // `protocol: h2 | h2c`: upstream_->stream becomes one end of an in-process pipe bridged to a
  // stream of `connection` (proxy/http2_upstream.h).
  void attach_http2_stream(const std::shared_ptr<Http2UpstreamConnection>& connection);
  bool request_streams_body() const;
  net::Task<bool> send_continue_if_awaited();  // the 100 a client waiting on Expect asked for
  net::Task<StreamResult> stream_request_phase();
  bool request_sent(const StreamResult& result, bool& retryable_failure);
  // The response head: read_response_head_phase() whole, or its pieces where the lifecycle awaits
  // the first read itself. A step parses what is buffered; kFailed has called fail().
  enum class ResponseHeadStep : std::uint8_t { kComplete, kNeedBytes, kFailed };
  net::Task<bool> read_response_head_phase(bool& retryable_failure);
  void begin_response_head(net::Clock::time_point request_sent);  // its timeouts, from `request_sent`
  // Where the first read of a response goes: the upstream buffer, capped when splicing may follow.
  std::span<char> first_response_read_space();
  ResponseHeadStep parse_response_head_step();
  ResponseHeadStep response_head_bytes(const net::IoResult& read, bool& retryable_failure);  // a read's result
  net::Task<bool> read_rest_of_response_head(bool& retryable_failure, bool first_read_waits);
  // First byte (from `request_sent`) and per try, within the request deadline.
  void arm_response_head_timeout(net::Clock::time_point request_sent);
  // A body of unknown length may be a conversation (gRPC bidi streaming, an upstream answering
  // as an upload goes): its response is read and forwarded while it is still being sent
  // (proxy/full_duplex.cc). The whole attempt; returns whether the connection may be kept.
  bool request_is_full_duplex() const;
  net::Task<bool> full_duplex_exchange_phase();
  struct DuplexAnswer;
  net::Task<StreamResult> duplex_request_half();
  net::Task<DuplexAnswer> duplex_response_half();
  void settle_unanswered_attempt();
  // The response: its head and how its body goes (prepare), then one gather write when the body
  // came whole with the head, else streaming; response_sent() settles the connection.
  struct ResponsePlan {
    bool close = false;
    bool chunked_to_client = false;
    bool whole_body = false;
    std::size_t body_length = 0;  // whole_body: the buffered body bytes after the head
  };
  ResponsePlan prepare_response_phase();
  std::array<asio::const_buffer, 2> whole_response_parts(const ResponsePlan& plan);
  StreamResult whole_response_written(const net::IoResult& written, const ResponsePlan& plan);
  net::Task<StreamResult> stream_response_phase(const ResponsePlan& plan);
  bool response_sent(const StreamResult& result, const ResponsePlan& plan);
  // The upstream answered a WebSocket handshake with a valid 101: forward it, then tunnel bytes
  // both ways (proxy/tunnel.cc). Returns false: the connection ends with the tunnel.
  net::Task<bool> tunnel_phase();
  net::Task<void> pump(observe::TunnelDirection direction);  // one direction, until it ends
  void end_tunnel(std::string_view reason, bool close_both);
  void count_request();  // the request's metrics (the log phase's, or earlier at a 101)
  void log_phase();
  void export_span();

  // Helpers.
  void fail(ErrorKind kind, std::string_view message);
  void fail_with(const policy::Verdict& verdict);
  void reject(observe::Rejection rejection, const policy::Verdict& verdict);
  net::Task<bool> serve_builtin(BuiltinEndpoint endpoint);
  void record_upstream_outcome(bool success);
  net::Task<bool> buffer_request_body();
  bool body_kept_for_retries() const;
  void consume_request_head();
  net::Task<bool> send_local_reply();
  void build_upstream_request_head();
  void build_response_head(bool chunked_to_client, bool close, bool upgrade = false);
  void release_upstream(bool reusable);
  bool request_is_idempotent() const;
  // The client asked to keep its connection and the gateway is not closing it (shutdown, drain).
  bool client_connection_may_continue() const;
  // After an answer the gateway writes itself: also closes when the request's body is still on
  // the wire (never read, it would be parsed as the next request).
  bool must_close_after_local_answer() const;

  Worker& worker_;
  policy::LoadShedder::Ticket connection_admission_;
  net::Stream client_;
  std::string client_address_;
  net::IpAddress peer_ip_;
  std::string tls_client_identity_;  // the verified client certificate's name, "" if none
  bool downstream_tls_ = false;      // the client's connection is TLS (directly or its HTTP/2 one)
  bool http2_stream_ = false;        // this Session serves one stream of an HTTP/2 connection
  std::unique_ptr<Http2Connection> http2_;  // this connection speaks HTTP/2
  // Joins worker_'s queue (in the constructors, where Worker is complete); set only when used.
  net::Deadline deadline_;
  TimeoutKind timeout_kind_ = TimeoutKind::kNone;
  State state_ = State::kIdle;
  bool closing_ = false;
  bool tls_failure_ = false;  // the last connect failed in the upstream TLS handshake
  bool tunnel_open_ = false;  // a WebSocket tunnel is running (abort() names how it ended)
  // What the two halves of a full-duplex exchange know of each other (proxy/full_duplex.cc).
  struct DuplexState {
    bool request_running = false;   // the request half has not ended yet
    bool response_head = false;     // the response head arrived
    bool response_running = false;  // the response half has not ended yet
    bool request_cut = false;    // the response half ended first and stopped the request half
    bool response_cut = false;   // the request half failed on the client's side and stopped the response half
  };
  DuplexState duplex_;
  std::uint64_t requests_served_ = 0;
  bool read_hint_tried_ = false;  // net::enable_read_queue_hint() was asked for the client socket
  net::ReadGuess read_guess_;     // whether a read of a drained client socket is worth trying
  std::chrono::milliseconds idle_timeout_{0};  // the last routed request's timeouts.idle; 0 = proxy's

  ByteBuffer client_buffer_;
  http::RequestHead request_;
  std::size_t request_head_size_ = 0;
  bool head_consumed_ = false;
  std::string head_copy_;  // the head, moved out of the read buffer when the body is buffered
  http::ResponseHead response_;
  std::size_t upstream_head_size_ = 0;
  http::ChunkedDecoder request_decoder_;
  http::ChunkedDecoder response_decoder_;
  // The request's and the response's Connection lists, kept for their trailers (which come after
  // the head's bytes are gone); filled only for a message whose Connection nominates fields.
  std::string request_connection_options_;
  std::string response_connection_options_;
  std::unique_ptr<upstream::UpstreamConnection> upstream_;
  std::shared_ptr<Http2StreamFate> http2_fate_;  // the bridged stream's end, for an h2/h2c upstream

  RequestContext ctx_;
  policy::RequestView policy_view_;  // what the policies see of the current request
  upstream::TargetMask usable_scratch_{0};
  http::HeadBuffer head_out_;  // upstream request head / client response head
  std::string log_scratch_;
};

}  // namespace flexgate::proxy
