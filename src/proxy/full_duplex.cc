// Full-duplex exchanges. A request body without a length (chunked; an HTTP/2 stream without
// content-length) may be a conversation: gRPC bidirectional streaming, an upstream that answers
// while an upload goes on. Its two directions travel at once, each half owning one direction of
// each connection:
//   request half:  client ──► upstream  (the body, re-chunked, then its trailers);
//   response half: upstream ──► client  (the head, then the body, as on the one-way path).
// Whichever half ends first decides for the other:
//   - the response ended first (an upstream may answer before the request's end, RFC 9112 9.3):
//     the rest of the body is not read, and both connections close after the response;
//   - the request failed on the client's side (gone, malformed or oversized chunks): that is the
//     request's outcome, and the upstream connection is shut so the response half stops too.
// A body of known length keeps the one-way path (send it, then read the answer): most uploads,
// with no second coroutine. Nothing of a streamed body can be sent again: no retry here.

#include "net/socket_io.h"
#include "proxy/session.h"

namespace flexgate::proxy {
namespace {

// A failure of the request half that is the client's doing (its connection, its framing), as
// opposed to the upstream no longer taking bytes.
bool client_side_failure(StreamOutcome outcome) {
  return outcome == StreamOutcome::kSourceClosed || outcome == StreamOutcome::kSourceError ||
         outcome == StreamOutcome::kBadFraming || outcome == StreamOutcome::kTooLarge;
}

}  // namespace

// What the response half brings back for the exchange to settle.
struct Session::DuplexAnswer {
  bool answered = false;  // a final response head arrived (the attempt was reported then)
  ResponsePlan plan;
  StreamResult delivered;  // how the response reached the client
};

bool Session::request_is_full_duplex() const {
  return request_.framing == http::BodyFraming::kChunked && !ctx_.body_buffered && !ctx_.websocket;
}

net::Task<bool> Session::full_duplex_exchange_phase() {
  duplex_ = DuplexState{};
  bool unused_retryable = false;
  // The head goes first and alone: the upstream may answer before any body byte (a gRPC server
  // sends its headers at once), and from here on each half owns one direction.
  if (!co_await send_continue_if_awaited()) {
    request_sent(StreamResult{StreamOutcome::kSourceError, {}, 0}, unused_retryable);
    settle_unanswered_attempt();
    co_return false;
  }
  net::IoResult written = net::write_now(upstream_->stream, head_out_.view());
  if (written.would_block()) {
    written = co_await net::write_rest(upstream_->stream, head_out_.view(), written.bytes);
  }
  if (written.error) {
    request_sent(StreamResult{StreamOutcome::kSinkError, written.error, 0}, unused_retryable);
    settle_unanswered_attempt();
    co_return false;
  }

  duplex_.request_running = true;
  duplex_.response_running = true;
  StreamResult sent;
  DuplexAnswer answer;
  {
    using namespace asio::experimental::awaitable_operators;
    std::tie(sent, answer) = co_await (duplex_request_half() && duplex_response_half());
  }

  ctx_.bytes_in += sent.body_bytes;
  const bool request_complete = sent.outcome == StreamOutcome::kDone;
  ctx_.body_unread = !request_complete;  // what the client still sends is never read: close after
  if (!request_complete && !duplex_.request_cut && client_side_failure(sent.outcome) && !deadline_.expired()) {
    // The client's failure is the request's outcome, not what it did to the response half.
    if (answer.answered) {
      release_upstream(false);
      close_client();  // a response already under way ends as a truncation
      co_return false;
    }
    ctx_.has_local_reply = false;
    request_sent(sent, unused_retryable);  // 400, 413, or a client gone (499): no answer then
    if (!answer.answered) abandon_attempt();
    co_return false;
  }
  if (!answer.answered) {
    // The response half set the reply (timeout, reset, bad response); the upstream is to blame.
    ctx_.local_reply.close = true;
    settle_unanswered_attempt();
    co_return false;
  }
  co_return response_sent(answer.delivered, answer.plan);  // pools the connection only after a whole exchange
}

net::Task<StreamResult> Session::duplex_request_half() {
  const StreamResult result =
      co_await forward_chunked_body(client_, client_buffer_, upstream_->stream, request_decoder_, {},
                                    TrailerFilter{request_connection_options_, nullptr});
  duplex_.request_running = false;
  if (result.outcome == StreamOutcome::kDone) {
    // The whole request is with the upstream: from now it has first-byte (and per-try) time.
    if (!duplex_.response_head && duplex_.response_running) arm_response_head_timeout(net::Clock::now());
  } else if (duplex_.response_running && !duplex_.request_cut && client_side_failure(result.outcome)) {
    // The exchange cannot end well: stop the response half (its read sees the close).
    duplex_.response_cut = true;
    upstream_->stream.shutdown(net::tcp::socket::shutdown_both);
  }
  co_return result;
}

net::Task<Session::DuplexAnswer> Session::duplex_response_half() {
  DuplexAnswer answer;
  bool unused_retryable = false;
  answer.answered = co_await read_response_head_phase(unused_retryable);
  if (answer.answered) {
    duplex_.response_head = true;
    (void)report_answered_attempt();  // a 5xx counts against the target; nothing is retried here
    answer.plan = prepare_response_phase();
    if (answer.plan.whole_body) {
      const std::array<asio::const_buffer, 2> parts = whole_response_parts(answer.plan);
      net::IoResult written = net::write_now(client_, parts);
      if (written.would_block()) written = co_await net::write_rest(client_, parts, written.bytes);
      answer.delivered = whole_response_written(written, answer.plan);
    } else {
      answer.delivered = co_await stream_response_phase(answer.plan);
    }
  }
  duplex_.response_running = false;
  if (duplex_.request_running && !duplex_.response_cut) {
    // The upstream ended the exchange before the request's end: the request half stops here
    // (its next read sees end of input, its next write fails); neither connection is reused.
    duplex_.request_cut = true;
    client_.shutdown(net::tcp::socket::shutdown_receive);
    upstream_->stream.shutdown(net::tcp::socket::shutdown_both);
  }
  co_return answer;
}

void Session::settle_unanswered_attempt() {
  release_upstream(false);  // after any fault the connection is never reused
  record_upstream_outcome(false);
  if (const auto failure = attempt_failure(/*connected=*/true)) {
    finish_attempt(failure);
  } else {
    abandon_attempt();
  }
}

}  // namespace flexgate::proxy
