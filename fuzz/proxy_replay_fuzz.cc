// libFuzzer target: the whole proxy. The input is one or more client connections' bytes (split at
// kConnectionSeparator, at most kMaxConnections), each sent over a real loopback TCP connection to a
// real proxy::Session (the production request lifecycle: parse, normalize, route, policies, body
// limits, upstream pool, body forwarding, local replies, log) whose upstream is an in-process fake
// server answering a fixed valid response. Everything runs on one io_context in this thread, driven
// until every connection has ended, so an input replays the same way every time.
//
// Invariants checked beyond ASan/UBSan:
// - what the gateway forwards upstream is a request head our strict parser accepts, with a
//   well-framed body (the gateway never relays an ambiguous or malformed message);
// - what the client receives parses as a sequence of valid responses (1xx interim ones allowed);
// - no field a request's Connection fields nominate (hop-by-hop) reaches the origin (requests and
//   forwarded copies are paired by the X-Correlation-ID the client finds on its response);
// - every connection ends (no hang: a stuck lifecycle aborts the run) and no socket or event
//   descriptor outlives its input (upstream pool included).
// The connections of one input are served one after another by one Worker, so later connections
// reuse the upstream keep-alive pool left by earlier ones; the Worker is new for every input.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "http/chunked.h"
#include "http/parser.h"
#include "net/asio.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "policy/loadshed/load_shedder.h"
#include "proxy/runtime.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace {

using namespace flexgate;
using net::tcp;

#define FUZZ_CHECK(cond, what)                                  \
  do {                                                          \
    if (!(cond)) {                                              \
      std::fprintf(stderr, "proxy_replay_fuzz: %s\n", (what)); \
      std::abort();                                             \
    }                                                           \
  } while (0)

constexpr std::string_view kConnectionSeparator = "||NEXT||";
constexpr std::size_t kMaxConnections = 4;

// Small limits and short timeouts: an input is bounded in bytes and in time.
std::string config_text(std::uint16_t upstream_port) {
  const std::string url = "http://127.0.0.1:" + std::to_string(upstream_port);
  return "proxy:\n"
         "  host: 127.0.0.1\n"
         "  port: 0\n"
         "  workers: 1\n"
         "  headerTimeout: 2s\n"
         "  maxBodySize: 4kb\n"
         "  maxHeadSize: 4kb\n"
         "  maxUriSize: 1kb\n"
         "  maxHeaderCount: 32\n"
         "  timeouts: {connect: 1s, firstByte: 2s, request: 3s, idle: 2s}\n"
         "upstreams:\n"
         "  - name: fake\n"
         "    url: \"" + url + "\"\n"
         "    retries: 1\n"
         "  - name: other\n"
         "    url: \"" + url + "\"\n"
         "routes:\n"
         "  - path: \"/*\"\n"
         "    upstream: fake\n"
         "  - path: \"/api/*\"\n"
         "    upstream: fake\n"
         "    stripPrefix: true\n"
         "    methods: [GET, POST, PUT, DELETE, PATCH]\n"
         "  - path: \"/users/:id\"\n"
         "    upstream: other\n"
         "    rewrite: \"/people/${path.id}\"\n"
         "    preserveHost: true\n"
         "  - path: \"/json/*\"\n"
         "    upstream: fake\n"
         "    maxBodySize: 1kb\n"
         "    validate: {contentTypes: [application/json]}\n"
         "  - path: \"/small/*\"\n"
         "    upstream: fake\n"
         "    maxBodySize: 16\n"
         "  - path: \"/deny/*\"\n"
         "    upstream: fake\n"
         "    denyFrom: [\"127.0.0.0/8\"]\n"
         "  - path: \"/admin/*\"\n"
         "    host: admin.test\n"
         "    upstream: fake\n"
         "logging:\n"
         "  level: error\n"
         "  accessLog: false\n";
}

struct Env {
  asio::io_context context{1};
  tcp::acceptor upstream_acceptor{context};
  tcp::acceptor proxy_acceptor{context};
  std::unique_ptr<observe::MetricsRegistry> metrics;
  std::unique_ptr<policy::LoadShedder> shedder;
  std::atomic<bool> stopping{false};
  std::shared_ptr<const proxy::Runtime> runtime;
  int upstream_connections_open = 0;
  // Field names (lower case) of every request the origin received in this input, by the
  // X-Correlation-ID the gateway gave it (the client finds the same id on its response).
  // A client may reuse an id (the gateway adopts a valid one), so each id keeps every request.
  std::map<std::string, std::vector<std::vector<std::string>>> forwarded_fields;
  std::size_t baseline_sockets = 0;
};

// Open sockets and event descriptors: what the gateway could leak. Pipes and files are left out:
// libFuzzer's symbolizer (NEW_FUNC lines) opens pipes of its own that stay open.
std::size_t open_socket_count(bool print) {
  std::size_t count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) {
      char link[256] = {};
      const std::string path = std::string("/proc/self/fd/") + entry->d_name;
      if (readlink(path.c_str(), link, sizeof link - 1) <= 0) continue;
      const std::string_view target(link);
      if (!target.starts_with("socket:") && !target.starts_with("anon_inode:")) continue;
      ++count;
      if (print) std::fprintf(stderr, "fd %s -> %s\n", entry->d_name, link);
    }
    closedir(dir);
  }
  return count;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

// Reads a request head and its body the way an origin would, with the strict parser: a message the
// gateway forwards must always pass.
net::Task<void> serve_upstream_connection(Env& env, tcp::socket socket) {
  ++env.upstream_connections_open;
  auto head = std::make_unique<http::RequestHead>();
  http::Limits limits;
  limits.max_head_bytes = 64 * 1024;
  limits.max_target_bytes = 16 * 1024;
  limits.max_header_fields = http::kMaxHeaderFieldsCapacity;
  std::string buffer;
  char chunk[16 * 1024];
  // Reads more into `buffer`; false at EOF or error (the gateway closed or aborted).
  auto read_more = [&]() -> net::Task<bool> {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::use_task);
    if (ec || n == 0) co_return false;
    buffer.append(chunk, n);
    co_return true;
  };
  for (;;) {
    http::ParseOutcome outcome = http::parse_request_head(buffer, limits, *head);
    while (outcome.status == http::ParseStatus::kPartial) {
      if (!co_await read_more()) goto done;
      outcome = http::parse_request_head(buffer, limits, *head);
    }
    FUZZ_CHECK(outcome.status == http::ParseStatus::kComplete, "the gateway forwarded a request head the strict parser refuses");
    const bool head_request = head->method == http::Method::kHead;
    const bool chunked_reply = head->target.find("chunked") != std::string_view::npos;
    const bool close_reply = head->target.find("close") != std::string_view::npos;
    if (const http::HeaderField* id = head->fields.find(http::HeaderToken::kXCorrelationId)) {
      std::vector<std::string>& names = env.forwarded_fields[std::string(id->value)].emplace_back();
      for (const http::HeaderField& f : head->fields) names.push_back(lower(f.name));
    }
    const http::BodyFraming framing = head->framing;
    const std::uint64_t length = head->content_length;
    buffer.erase(0, outcome.consumed);  // the head's views are dead from here on
    if (framing == http::BodyFraming::kContentLength) {
      while (buffer.size() < length) {
        if (!co_await read_more()) goto done;
      }
      buffer.erase(0, length);
    } else if (framing == http::BodyFraming::kChunked) {
      http::ChunkedDecoder decoder;
      for (;;) {
        const http::ChunkedDecoder::Step step = decoder.next(buffer);
        FUZZ_CHECK(step.kind != http::ChunkedDecoder::Kind::kError, "the gateway forwarded a malformed chunked body");
        buffer.erase(0, step.consumed);
        if (step.kind == http::ChunkedDecoder::Kind::kDone) break;
        if (step.kind == http::ChunkedDecoder::Kind::kNeedMore && !co_await read_more()) goto done;
      }
    }
    std::string_view reply;
    if (close_reply) {
      reply = head_request ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nuntil close";
    } else if (chunked_reply) {
      reply = head_request ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                             "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
    } else {
      reply = head_request ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
    }
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(reply), net::use_task);
    if (ec || close_reply) break;
  }
done:
  std::error_code ignored;
  socket.close(ignored);
  --env.upstream_connections_open;
}

net::Task<void> upstream_accept_loop(Env& env) {
  for (;;) {
    auto [ec, socket] = co_await env.upstream_acceptor.async_accept(net::use_task);
    if (ec) continue;
    asio::co_spawn(env.context, serve_upstream_connection(env, std::move(socket)), asio::detached);
  }
}

Env& env() {
  static Env* instance = [] {
    auto* e = new Env;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    e->upstream_acceptor.open(loopback.protocol());
    e->upstream_acceptor.bind(loopback);
    e->upstream_acceptor.listen();
    e->proxy_acceptor.open(loopback.protocol());
    e->proxy_acceptor.bind(loopback);
    e->proxy_acceptor.listen();
    auto loaded = config::load_config_text(config_text(e->upstream_acceptor.local_endpoint().port()), "fuzz.yml");
    if (!loaded.ok()) {
      for (const auto& error : loaded.errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
      std::abort();
    }
    e->metrics = std::make_unique<observe::MetricsRegistry>(1);
    std::vector<std::string> errors;
    e->runtime = proxy::Runtime::build(std::move(*loaded.config), errors, nullptr, e->metrics.get());
    if (!e->runtime) {
      for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.c_str());
      std::abort();
    }
    observe::configure_logging(e->runtime->config());
    policy::LoadShedder::Options options;
    e->shedder = std::make_unique<policy::LoadShedder>(options);
    asio::co_spawn(e->context, upstream_accept_loop(*e), asio::detached);
    return e;
  }();
  return *instance;
}

struct ClientOutcome {
  std::string received;
  bool reader_done = false;
};

net::Task<void> client_write(tcp::socket& socket, std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()), net::use_task);
  std::error_code ignored;
  if (!ec) socket.shutdown(tcp::socket::shutdown_send, ignored);  // EOF: the gateway sees the end
}

net::Task<void> client_read(tcp::socket& socket, ClientOutcome& out) {
  char chunk[16 * 1024];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::use_task);
    if (ec || n == 0) break;
    out.received.append(chunk, n);
  }
  out.reader_done = true;
}

net::Task<void> accept_session(Env& env, proxy::Worker& worker) {
  auto [ec, socket] = co_await env.proxy_acceptor.async_accept(net::use_task);
  FUZZ_CHECK(!ec, "accept failed");
  auto session = std::make_shared<proxy::Session>(worker, std::move(socket), env.shedder->admit_connection());
  asio::co_spawn(env.context, session->run(), asio::detached);
}

// Runs the loop until `done()`; a loop with nothing to do for 10 s is a hang (the longest timeout
// configured is 3 s).
template <class Done>
void run_until(Env& env, Done done) {
  while (!done()) {
    if (env.context.run_one_for(std::chrono::seconds(10)) == 0 && !done()) {
      FUZZ_CHECK(false, "hang: the gateway neither answered nor closed");
    }
  }
}

// What the client side knows of each request it sent, in order, as the gateway parses them: the
// method (HEAD responses have no body) and the fields its Connection fields nominate (hop-by-hop:
// they must not reach the origin). Stops at the first head that is not complete.
struct SentRequest {
  http::Method method = http::Method::kGet;
  std::vector<std::string> nominated;  // lower case
};

std::vector<SentRequest> sent_requests(std::string_view sent) {
  std::vector<SentRequest> methods;
  static http::RequestHead head;
  http::Limits limits;  // larger than the gateway's: only the method matters here
  while (!sent.empty()) {
    const http::ParseOutcome outcome = http::parse_request_head(sent, limits, head);
    if (outcome.status != http::ParseStatus::kComplete) break;
    SentRequest request;
    request.method = head.method;
    for (const http::HeaderField& f : head.fields) {
      if (http::connection_nominates(head.fields, f.name)) request.nominated.push_back(lower(f.name));
    }
    methods.push_back(std::move(request));
    std::size_t skip = outcome.consumed;
    if (head.framing == http::BodyFraming::kContentLength) {
      if (head.content_length > sent.size() - skip) break;
      skip += head.content_length;
    } else if (head.framing == http::BodyFraming::kChunked) {
      http::ChunkedDecoder decoder;
      std::string_view rest = sent.substr(skip);
      bool done = false;
      while (!done) {
        const auto step = decoder.next(rest);
        rest.remove_prefix(step.consumed);
        if (step.kind == http::ChunkedDecoder::Kind::kDone) done = true;
        if (step.kind == http::ChunkedDecoder::Kind::kError || step.kind == http::ChunkedDecoder::Kind::kNeedMore) break;
      }
      if (!done) break;
      skip = sent.size() - rest.size();
    }
    sent.remove_prefix(skip);
  }
  return methods;
}

// Every complete response head the client got must parse; bodies are skipped by their framing.
// The fields the gateway writes itself: a client naming them in Connection drops its own copy only.
bool gateway_field(std::string_view name) {
  for (std::string_view own : {"host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-correlation-id",
                               "traceparent", "content-length", "transfer-encoding", "connection"}) {
    if (name == own) return true;
  }
  return false;
}

void check_responses(const Env& env, std::string_view received, std::string_view sent) {
  const std::vector<SentRequest> methods = sent_requests(sent);
  static http::ResponseHead head;
  http::Limits limits;
  limits.max_head_bytes = 64 * 1024;
  limits.max_header_fields = http::kMaxHeaderFieldsCapacity;
  std::size_t index = 0;
  while (!received.empty()) {
    const http::Method method = index < methods.size() ? methods[index].method : http::Method::kGet;
    const http::ParseOutcome outcome = http::parse_response_head(received, limits, method, head);
    if (outcome.status == http::ParseStatus::kPartial) return;  // cut short by a close: allowed
    FUZZ_CHECK(outcome.status == http::ParseStatus::kComplete, "the gateway sent a malformed response head");
    received.remove_prefix(outcome.consumed);
    if (head.status < 200) continue;  // interim (100 Continue): the final response follows
    // Hop-by-hop: nothing the request's Connection fields nominated reached the origin.
    if (const http::HeaderField* id = head.fields.find(http::HeaderToken::kXCorrelationId); id && index < methods.size()) {
      if (auto forwarded = env.forwarded_fields.find(std::string(id->value)); forwarded != env.forwarded_fields.end()) {
        // Flagged only when every request forwarded under this id carries the name: exact for the
        // usual one request per id, and never a false alarm when a client reuses an id.
        for (const std::string& nominated : methods[index].nominated) {
          if (gateway_field(nominated)) continue;
          const bool everywhere = std::all_of(forwarded->second.begin(), forwarded->second.end(), [&](const auto& names) {
            return std::find(names.begin(), names.end(), nominated) != names.end();
          });
          FUZZ_CHECK(!everywhere, "a field nominated by Connection (hop-by-hop) was forwarded");
        }
      }
    }
    ++index;
    if (head.framing == http::BodyFraming::kContentLength) {
      if (head.content_length > received.size()) return;
      received.remove_prefix(head.content_length);
    } else if (head.framing == http::BodyFraming::kChunked) {
      http::ChunkedDecoder decoder;
      for (;;) {
        const auto step = decoder.next(received);
        FUZZ_CHECK(step.kind != http::ChunkedDecoder::Kind::kError, "the gateway sent a malformed chunked body");
        received.remove_prefix(step.consumed);
        if (step.kind == http::ChunkedDecoder::Kind::kDone) break;
        if (step.kind == http::ChunkedDecoder::Kind::kNeedMore) return;
      }
    } else if (head.framing == http::BodyFraming::kUntilClose) {
      return;
    }
  }
}

// Connects the client. Each replayed connection leaves a local port in TIME_WAIT, and at thousands
// of inputs a second the host runs short of ports to connect from (CI saw a connect fail after
// 31,099 inputs); a loopback port in TIME_WAIT can be reused a second later, so a failed connect
// waits and tries again before it counts. The gateway has no part in a connect: the kernel
// completes it from the listen backlog, before anything is accepted.
std::error_code connect_client(tcp::socket& client, const tcp::endpoint& to) {
  constexpr int kAttempts = 30;
  std::error_code ec;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    client.connect(to, ec);
    if (!ec || attempt == kAttempts) break;  // the last failure counts at once, without a wait
    std::error_code ignored;
    client.close(ignored);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ec;
}

void replay_connection(Env& env, proxy::Worker& worker, std::string_view bytes) {
  tcp::socket client(env.context);
  std::error_code ec = connect_client(client, env.proxy_acceptor.local_endpoint());
  if (ec) std::fprintf(stderr, "proxy_replay_fuzz: connect: %s\n", ec.message().c_str());
  FUZZ_CHECK(!ec, "connect failed");
  asio::co_spawn(env.context, accept_session(env, worker), asio::detached);
  ClientOutcome out;
  bool writer_done = false;
  asio::co_spawn(env.context, client_write(client, bytes), [&](std::exception_ptr) { writer_done = true; });
  asio::co_spawn(env.context, client_read(client, out), asio::detached);
  run_until(env, [&] { return out.reader_done && writer_done && worker.session_count() == 0; });
  client.close(ec);
  // PROXY_REPLAY_DEBUG=1: print what each connection got back (for reading a reproducer).
  static const bool debug = std::getenv("PROXY_REPLAY_DEBUG") != nullptr;
  if (debug) std::fprintf(stderr, "--- connection: %zu bytes sent, got:\n%s\n", bytes.size(), out.received.c_str());
  check_responses(env, out.received, bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Env& e = env();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> connections;
  while (connections.size() + 1 < kMaxConnections) {
    const std::size_t cut = input.find(kConnectionSeparator);
    if (cut == std::string_view::npos) break;
    connections.push_back(input.substr(0, cut));
    input.remove_prefix(cut + kConnectionSeparator.size());
  }
  connections.push_back(input);

  {
    // A new worker per input: an empty upstream pool and fresh balancer state, so inputs replay alike.
    proxy::Worker worker(e.context, 0, e.runtime, *e.metrics, *e.shedder, e.stopping);
    for (std::string_view bytes : connections) replay_connection(e, worker, bytes);
    worker.pool().close_all();
    run_until(e, [&] { return e.upstream_connections_open == 0; });
    worker.release_io();
  }
  e.forwarded_fields.clear();
  e.context.poll();  // handlers released by the worker's teardown

  const std::size_t sockets = open_socket_count(false);
  if (e.baseline_sockets == 0) e.baseline_sockets = sockets;
  if (sockets > e.baseline_sockets) open_socket_count(true);  // name them, to tell which kind leaked
  FUZZ_CHECK(sockets <= e.baseline_sockets, "a socket or event descriptor outlived its input");
  return 0;
}
