#include "app/echo_server.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <span>
#include <string>

#include "core/byte_buffer.h"
#include "core/json.h"
#include "http/chunked.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/asio.h"
#include "net/listener.h"
#include "net/socket_io.h"
#include "net/worker_pool.h"

namespace flexgate::app {
namespace {

using net::Task;
using net::tcp;
using net::use_task;

// Large enough that a 16 KiB POST or a deep pipeline arrives in one read.
constexpr std::size_t kReadBufferBytes = 64 * 1024;
// Pipelined responses are batched into one write until this much is pending.
constexpr std::size_t kFlushThreshold = 64 * 1024;
// /bytes and /chunked bodies are slices of this block; its size is a multiple of the pattern's,
// so byte i of any body is kEchoPattern[i % 64] however the body is cut.
constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::size_t kMaxChunkBytes = 16 * 1024;
// write_all takes at most 16 buffers per call.
constexpr std::size_t kMaxGather = 16;
constexpr std::uint64_t kMaxDelayMs = 10 * 60 * 1000;
static_assert(kBlockBytes % kEchoPattern.size() == 0 && kBlockBytes % kMaxChunkBytes == 0);

const std::array<char, kBlockBytes>& pattern_block() {
  static const std::array<char, kBlockBytes> block = [] {
    std::array<char, kBlockBytes> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = kEchoPattern[i % kEchoPattern.size()];
    return bytes;
  }();
  return block;
}

// --- routing ---------------------------------------------------------------------------------

enum class Route : std::uint8_t { kEcho, kStatus, kDelay, kBytes, kChunked, kClose, kBadParameter };

struct Action {
  Route route = Route::kEcho;
  std::uint64_t number = 0;  // status, milliseconds or byte count
};

// The path of an origin-form or absolute-form target, without the query.
std::string_view path_of(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    std::size_t authority = target.find("://") + 3;
    std::size_t slash = target.find_first_of("/?", authority);
    target = slash == std::string_view::npos || target[slash] == '?' ? std::string_view("/")
                                                                     : target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

bool parse_number(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

Action route_for(std::string_view path) {
  struct Prefix {
    std::string_view text;
    Route route;
  };
  static constexpr std::array<Prefix, 4> kPrefixes{{
      {"/status/", Route::kStatus},
      {"/delay/", Route::kDelay},
      {"/bytes/", Route::kBytes},
      {"/chunked/", Route::kChunked},
  }};
  if (path == "/close") return {Route::kClose, 0};
  for (const Prefix& prefix : kPrefixes) {
    if (!path.starts_with(prefix.text)) continue;
    Action action{prefix.route, 0};
    bool valid = parse_number(path.substr(prefix.text.size()), action.number);
    if (prefix.route == Route::kStatus) {
      // 101 would promise a protocol switch the echo server cannot make.
      valid = valid && action.number >= 100 && action.number <= 599 && action.number != 101;
    } else if (prefix.route == Route::kDelay) {
      valid = valid && action.number <= kMaxDelayMs;
    }
    return valid ? action : Action{Route::kBadParameter, 0};
  }
  return {Route::kEcho, 0};
}

// --- response heads ----------------------------------------------------------------------------

enum class BodyKind : std::uint8_t { kLength, kChunked, kNone, kUntilClose };

// What a response needs to know about its request once the head's views are gone.
struct RequestFacts {
  Action action;
  http::BodyFraming framing = http::BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool keep_alive = true;
  bool http10 = false;
  bool head_method = false;
  bool expect_continue = false;
};

void append_uint(std::string& out, std::uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  (void)ec;  // 24 bytes always fit a uint64
  out.append(digits, end);
}

void append_response_head(std::string& out, std::uint16_t status, std::string_view content_type,
                          BodyKind kind, std::uint64_t length, const RequestFacts& facts) {
  http::append_status_line(out, status);
  if (!content_type.empty()) http::append_field(out, "Content-Type", content_type);
  switch (kind) {
    case BodyKind::kLength:
      out += "Content-Length: ";
      append_uint(out, length);
      out += http::kCrlf;
      break;
    case BodyKind::kChunked:
      http::append_field(out, "Transfer-Encoding", "chunked");
      break;
    case BodyKind::kNone:
    case BodyKind::kUntilClose:
      break;
  }
  if (!facts.keep_alive || kind == BodyKind::kUntilClose) {
    http::append_field(out, "Connection", "close");
  } else if (facts.http10) {
    http::append_field(out, "Connection", "keep-alive");
  }
  out += http::kCrlf;
}

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// --- one connection ----------------------------------------------------------------------------

// Serves one client connection, requests strictly in order. Buffers are allocated once and reused,
// so the small-GET path allocates nothing per request.
class EchoConnection {
 public:
  explicit EchoConnection(tcp::socket socket) : socket_(std::move(socket)), input_(kReadBufferBytes) {
    output_.reserve(4096);
    body_.reserve(2048);
  }

  Task<void> run();

 private:
  enum class BodyRead : std::uint8_t { kOk, kIoError, kMalformed };

  // Handles the request whose head (`head_bytes` long) was just parsed. False: the connection is
  // finished (closed or failed).
  Task<bool> serve(std::size_t head_bytes);
  Task<BodyRead> read_body(const RequestFacts& facts, std::uint64_t& body_size);
  Task<bool> read_more_body(bool& continue_sent);
  void begin_echo(const http::RequestHead& head);
  void append_echo(std::uint16_t status, std::uint64_t body_size, const RequestFacts& facts);
  void append_status(const RequestFacts& facts, std::uint64_t body_size);
  void append_error(std::uint16_t status, std::string_view error, const RequestFacts& facts);
  Task<bool> send_pattern(std::uint64_t size);
  Task<bool> send_bytes(const RequestFacts& facts);
  Task<bool> send_chunked(const RequestFacts& facts);
  Task<bool> flush();
  Task<void> reply_malformed(http::ParseError error);
  void close();

  tcp::socket socket_;
  ByteBuffer input_;
  std::string output_;  // response bytes not yet written (several when requests are pipelined)
  std::string body_;    // the echo JSON under construction
  std::string joined_;  // scratch for repeated header values
  http::RequestHead head_;
  http::Limits limits_;
  http::ChunkedDecoder chunked_;
  http::ParseError body_error_ = http::ParseError::kNone;  // why read_body said kMalformed
  std::array<char, 16> short_chunk_size_{};  // size line of a short final chunk, alive during its write
};

Task<void> EchoConnection::run() {
  for (;;) {
    if (!input_.empty()) {
      http::ParseOutcome outcome = http::parse_request_head(input_.readable(), limits_, head_);
      if (outcome.status == http::ParseStatus::kError) {
        co_await reply_malformed(outcome.error);
        co_return;
      }
      if (outcome.status == http::ParseStatus::kComplete) {
        if (!co_await serve(outcome.consumed)) co_return;
        if (output_.size() >= kFlushThreshold && !co_await flush()) co_return;
        continue;
      }
    }
    // No complete request buffered: send what is batched before waiting for the client.
    if (!output_.empty() && !co_await flush()) co_return;
    std::span<char> space = input_.writable();
    if (space.empty()) {  // a head as large as the buffer; the parser's limit should catch it first
      co_await reply_malformed(http::ParseError::kHeadTooLarge);
      co_return;
    }
    net::IoResult read = co_await net::read_some(socket_, space);
    if (read.error) co_return;  // eof or reset between requests: nothing to answer
    input_.commit(read.bytes);
  }
}

Task<bool> EchoConnection::serve(std::size_t head_bytes) {
  const http::RequestHead& head = head_;
  RequestFacts facts;
  facts.action = route_for(path_of(head.target));
  facts.framing = head.framing;
  facts.content_length = head.content_length;
  facts.keep_alive = head.keep_alive && facts.action.route != Route::kClose;
  facts.http10 = head.version_minor == 0;
  facts.head_method = head.method == http::Method::kHead;
  facts.expect_continue = head.expect_continue && !facts.http10;
  const Route route = facts.action.route;
  const bool interim = route == Route::kStatus && facts.action.number < 200;
  if (route == Route::kEcho || route == Route::kDelay || route == Route::kClose || interim) begin_echo(head);
  // From here on the head's views are dead: reading the body reuses the buffer.
  input_.consume(head_bytes);

  std::uint64_t body_size = 0;
  BodyRead body = co_await read_body(facts, body_size);
  if (body == BodyRead::kIoError) co_return false;
  if (body == BodyRead::kMalformed) {
    co_await reply_malformed(body_error_);
    co_return false;
  }

  switch (route) {
    case Route::kEcho:
    case Route::kClose:
      append_echo(200, body_size, facts);
      break;
    case Route::kStatus:
      append_status(facts, body_size);
      break;
    case Route::kDelay: {
      // Earlier pipelined answers go out now rather than after the wait.
      if (!output_.empty() && !co_await flush()) co_return false;
      net::SteadyTimer timer(socket_.get_executor(), std::chrono::milliseconds(facts.action.number));
      auto [wait_ec] = co_await timer.async_wait(use_task);
      if (wait_ec) co_return false;
      append_echo(200, body_size, facts);
      break;
    }
    case Route::kBytes:
      if (!co_await send_bytes(facts)) co_return false;
      break;
    case Route::kChunked:
      if (!co_await send_chunked(facts)) co_return false;
      if (facts.http10) facts.keep_alive = false;  // the body ran until close
      break;
    case Route::kBadParameter:
      append_error(400, "bad_parameter", facts);
      break;
  }
  if (facts.keep_alive) co_return true;
  if (!output_.empty()) co_await flush();
  close();
  co_return false;
}

Task<EchoConnection::BodyRead> EchoConnection::read_body(const RequestFacts& facts,
                                                         std::uint64_t& body_size) {
  bool continue_sent = !facts.expect_continue;
  if (facts.framing == http::BodyFraming::kContentLength) {
    std::uint64_t remaining = facts.content_length;
    for (;;) {
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, input_.readable_size()));
      input_.consume(take);  // bytes after the body are the next pipelined request: kept
      remaining -= take;
      if (remaining == 0) break;
      if (!co_await read_more_body(continue_sent)) co_return BodyRead::kIoError;
    }
    body_size = facts.content_length;
  } else if (facts.framing == http::BodyFraming::kChunked) {
    chunked_.reset();
    for (;;) {
      if (input_.empty()) {
        if (!co_await read_more_body(continue_sent)) co_return BodyRead::kIoError;
        continue;
      }
      http::ChunkedDecoder::Step step = chunked_.next(input_.readable());
      if (step.kind == http::ChunkedDecoder::Kind::kError) {
        body_error_ = step.error;
        co_return BodyRead::kMalformed;
      }
      input_.consume(step.consumed);
      if (step.kind == http::ChunkedDecoder::Kind::kDone) break;
    }
    body_size = chunked_.body_bytes();
  }
  co_return BodyRead::kOk;
}

// Reads more of a body once the buffer is exhausted; the first time, answers Expect: 100-continue.
Task<bool> EchoConnection::read_more_body(bool& continue_sent) {
  if (!continue_sent) {
    continue_sent = true;
    output_ += "HTTP/1.1 100 Continue\r\n\r\n";
    if (!co_await flush()) co_return false;
  }
  net::IoResult read = co_await net::read_some(socket_, input_.writable());
  if (read.error) co_return false;
  input_.commit(read.bytes);
  co_return true;
}

// Writes {"method":..,"path":..,"headers":{..} into body_; append_echo closes it once the body
// size is known.
void EchoConnection::begin_echo(const http::RequestHead& head) {
  body_.clear();
  body_ += "{\"method\":";
  append_json_string(body_, head.method_text);
  body_ += ",\"path\":";
  append_json_string(body_, head.target);
  body_ += ",\"headers\":{";
  const http::HeaderFields& fields = head.fields;
  bool first = true;
  for (std::size_t i = 0; i < fields.count; ++i) {
    const http::HeaderField& field = fields[i];
    auto same_name = [&](const http::HeaderField& other) { return http::iequals(other.name, field.name); };
    // A repeated name is written once, at its first occurrence, with every value joined.
    if (std::any_of(fields.begin(), fields.begin() + i, same_name)) continue;
    if (!first) body_ += ',';
    first = false;
    // Field names are tokens: nothing in them needs escaping.
    body_ += '"';
    for (char c : field.name) body_ += lower_ascii(c);
    body_ += "\":";
    const auto* later =
        std::find_if(fields.begin() + i + 1, fields.end(), same_name);
    if (later == fields.end()) {
      append_json_string(body_, field.value);
      continue;
    }
    joined_.assign(field.value);
    for (const auto* it = later; it != fields.end(); ++it) {
      if (!same_name(*it)) continue;
      joined_ += ", ";
      joined_ += it->value;
    }
    append_json_string(body_, joined_);
  }
  body_ += '}';
}

void EchoConnection::append_echo(std::uint16_t status, std::uint64_t body_size, const RequestFacts& facts) {
  body_ += ",\"bodySize\":";
  append_uint(body_, body_size);
  body_ += '}';
  append_response_head(output_, status, "application/json", BodyKind::kLength, body_.size(), facts);
  if (!facts.head_method) output_ += body_;
}

void EchoConnection::append_status(const RequestFacts& facts, std::uint64_t body_size) {
  auto status = static_cast<std::uint16_t>(facts.action.number);
  if (status < 200) {
    // An interim response, then the real one; HTTP/1.0 clients must not see a 1xx.
    if (!facts.http10) {
      http::append_status_line(output_, status);
      output_ += http::kCrlf;
    }
    append_echo(200, body_size, facts);
    return;
  }
  if (status == 204 || status == 304) {
    append_response_head(output_, status, {}, BodyKind::kNone, 0, facts);
    return;
  }
  body_.assign("{\"status\":");
  append_uint(body_, status);
  body_ += '}';
  append_response_head(output_, status, "application/json", BodyKind::kLength, body_.size(), facts);
  if (!facts.head_method) output_ += body_;
}

void EchoConnection::append_error(std::uint16_t status, std::string_view error, const RequestFacts& facts) {
  body_.assign("{\"error\":");
  append_json_string(body_, error);
  body_ += '}';
  append_response_head(output_, status, "application/json", BodyKind::kLength, body_.size(), facts);
  if (!facts.head_method) output_ += body_;
}

// Writes output_ (the head and any pipelined answers) then `size` pattern bytes as slices of the
// shared block, gathered 15 slices per write: memory stays flat for any size.
Task<bool> EchoConnection::send_pattern(std::uint64_t size) {
  const auto& block = pattern_block();
  std::array<asio::const_buffer, kMaxGather> buffers;
  std::size_t count = 0;
  buffers[count++] = asio::buffer(output_);
  std::uint64_t remaining = size;
  do {
    while (count < kMaxGather && remaining > 0) {
      auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kBlockBytes));
      buffers[count++] = asio::const_buffer(block.data(), take);
      remaining -= take;
    }
    net::IoResult written = co_await net::write_all(socket_, std::span(buffers.data(), count));
    if (written.error) co_return false;
    count = 0;
  } while (remaining > 0);
  output_.clear();
  co_return true;
}

Task<bool> EchoConnection::send_bytes(const RequestFacts& facts) {
  append_response_head(output_, 200, "application/octet-stream", BodyKind::kLength, facts.action.number,
                       facts);
  if (facts.head_method || facts.action.number == 0) co_return true;  // the head goes out with the next flush
  co_return co_await send_pattern(facts.action.number);
}

// Chunks of at most 16 KiB. HTTP/1.0 has no chunked coding: there the body runs until close.
Task<bool> EchoConnection::send_chunked(const RequestFacts& facts) {
  static constexpr std::string_view kFullChunkSize = "4000\r\n";
  static_assert(kMaxChunkBytes == 0x4000);
  const std::uint64_t total = facts.action.number;
  if (facts.http10) {
    append_response_head(output_, 200, "application/octet-stream", BodyKind::kUntilClose, 0, facts);
    if (facts.head_method || total == 0) co_return true;
    co_return co_await send_pattern(total);
  }
  append_response_head(output_, 200, "application/octet-stream", BodyKind::kChunked, 0, facts);
  if (facts.head_method) co_return true;
  const auto& block = pattern_block();
  std::array<asio::const_buffer, kMaxGather> buffers;
  std::size_t count = 0;
  buffers[count++] = asio::buffer(output_);
  std::uint64_t sent = 0;
  bool last_chunk_queued = false;
  while (!last_chunk_queued) {
    // Each chunk is three buffers: size line, data, CRLF.
    while (count + 3 <= kMaxGather && sent < total) {
      auto take = static_cast<std::size_t>(std::min<std::uint64_t>(total - sent, kMaxChunkBytes));
      if (take == kMaxChunkBytes) {
        buffers[count++] = asio::buffer(kFullChunkSize.data(), kFullChunkSize.size());
      } else {  // only the final chunk is short, so one size-line buffer is enough
        char* begin = short_chunk_size_.data();
        auto [end, ec] = std::to_chars(begin, begin + short_chunk_size_.size() - 2, take, 16);
        (void)ec;  // take < 0x4000 always fits
        *end++ = '\r';
        *end++ = '\n';
        buffers[count++] = asio::const_buffer(begin, static_cast<std::size_t>(end - begin));
      }
      buffers[count++] = asio::const_buffer(block.data() + sent % kBlockBytes, take);
      buffers[count++] = asio::buffer(http::kCrlf.data(), http::kCrlf.size());
      sent += take;
    }
    if (sent == total && count < kMaxGather) {
      buffers[count++] = asio::buffer(http::kLastChunk.data(), http::kLastChunk.size());
      last_chunk_queued = true;
    }
    net::IoResult written = co_await net::write_all(socket_, std::span(buffers.data(), count));
    if (written.error) co_return false;
    count = 0;
  }
  output_.clear();
  co_return true;
}

Task<bool> EchoConnection::flush() {
  net::IoResult written = co_await net::write_all(socket_, output_);
  output_.clear();
  co_return !written.error;
}

Task<void> EchoConnection::reply_malformed(http::ParseError error) {
  RequestFacts facts;
  facts.keep_alive = false;
  append_error(http::status_for(error), http::to_string(error), facts);
  co_await flush();
  close();
}

// Half-close, then drain what the client already sent: closing with unread bytes makes the kernel
// send a reset that can destroy the response still in flight.
void EchoConnection::close() {
  std::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  for (int i = 0; i < 16 && !ec; ++i) {
    input_.clear();
    std::span<char> space = input_.writable();
    socket_.read_some(asio::buffer(space.data(), space.size()), ec);
  }
  socket_.close(ec);
}

Task<void> serve_connection(tcp::socket socket) {
  EchoConnection connection(std::move(socket));
  co_await connection.run();
}

// Accepts inline first (the acceptor is non-blocking) and waits on the reactor only when the
// queue is empty.
Task<void> accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    std::error_code ec;
    tcp::socket socket = acceptor.accept(ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wait_ec] = co_await acceptor.async_wait(tcp::acceptor::wait_read, use_task);
      if (wait_ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      continue;
    }
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning on the same error.
      net::SteadyTimer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(use_task);
      continue;
    }
    net::prepare_socket(socket);
    asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket)), asio::detached);
  }
}

}  // namespace

int run_echo_server(const EchoServerOptions& options) {
  const unsigned workers = options.workers == 0 ? net::available_cpus() : options.workers;
  tcp::endpoint endpoint;
  if (std::error_code ec = net::make_endpoint(options.host, options.port, endpoint)) {
    std::fprintf(stderr, "echo-server: bad address %s: %s\n", options.host.c_str(), ec.message().c_str());
    return 1;
  }
  (void)pattern_block();  // built once here, not raced for by the workers
  ::signal(SIGPIPE, SIG_IGN);
  // SIGINT/SIGTERM are blocked in every thread (workers inherit the mask) and taken by sigwait below.
  sigset_t stop_signals;
  sigset_t previous_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous_mask);

  int exit_code = 0;
  {
    net::WorkerPool pool(workers);
    std::uint16_t port = options.port;
    for (unsigned i = 0; i < workers && exit_code == 0; ++i) {
      tcp::acceptor acceptor(pool.loop(i).context());
      endpoint.port(port);
      std::error_code ec = net::open_listener(acceptor, endpoint);
      // With port 0 the first bind picks the port; the other workers join it via SO_REUSEPORT.
      if (!ec) port = acceptor.local_endpoint(ec).port();
      if (ec) {
        std::fprintf(stderr, "echo-server: cannot listen on %s:%u: %s\n", options.host.c_str(),
                     static_cast<unsigned>(port), ec.message().c_str());
        exit_code = 1;
        break;
      }
      asio::co_spawn(pool.loop(i).context(), accept_loop(std::move(acceptor)), asio::detached);
    }
    if (exit_code == 0) {
      pool.start();
      std::printf("{\"event\":\"listening\",\"service\":\"echo\",\"port\":%u}\n",
                  static_cast<unsigned>(port));
      std::fflush(stdout);
      int signal_number = 0;
      sigwait(&stop_signals, &signal_number);
    }
    pool.stop();
    pool.join();
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  return exit_code;
}

}  // namespace flexgate::app
