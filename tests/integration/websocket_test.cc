// WebSocket through the real binary (issue #10): a minimal WebSocket echo upstream written here
// (handshake with its own SHA-1 + base64, frame parsing, unmasked echoes, close handshake) behind
// a `websocket: true` route. Echo both ways (a masked text frame, a 100 KiB binary message, frames
// sent with the handshake, frames the upstream sends with its 101), half-close in both
// directions, the idle timeout (and that the request deadline does not cut a tunnel), refusals
// (route without websocket: true, malformed handshakes, auth), h2c never honoured, a wrong
// Sec-WebSocket-Accept, the access line, the metrics, no descriptor left behind, and the drain.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/parser.h"
#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"
#include "support/test_pki.h"
#include "support/tls_client.h"

namespace flexgate::testing {
namespace {

constexpr std::uint8_t kContinuation = 0x0;
constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kBinary = 0x2;
constexpr std::uint8_t kClose = 0x8;
constexpr std::uint8_t kPing = 0x9;
constexpr std::uint8_t kPong = 0xA;

// Sec-WebSocket-Accept, computed here independently of the gateway's code.
std::string accept_for(const std::string& key) {
  const std::string input = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr);
  unsigned char encoded[64];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<char*>(encoded), static_cast<std::size_t>(length));
}

// One frame (RFC 6455 5.2). Client frames are masked (5.3), server frames are not.
std::string frame(std::uint8_t opcode, const std::string& payload, bool masked, bool fin = true) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  if (payload.size() < 126) {
    out += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((payload.size() >> shift) & 0xFF);
  }
  if (!masked) return out + payload;
  const char key[4] = {'\x37', '\xfa', '\x21', '\x3d'};
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ key[i % 4]);
  return out;
}

std::string client_frame(std::uint8_t opcode, const std::string& payload, bool fin = true) {
  return frame(opcode, payload, /*masked=*/true, fin);
}

struct Frame {
  std::uint8_t opcode = 0;
  bool fin = false;
  bool masked = false;
  std::string payload;  // unmasked
};

// The frame at the start of `bytes`; nullopt while incomplete (`consumed` is set when complete).
std::optional<Frame> parse_frame(const std::string& bytes, std::size_t& consumed) {
  if (bytes.size() < 2) return std::nullopt;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  Frame out;
  out.fin = (byte(0) & 0x80) != 0;
  out.opcode = byte(0) & 0x0F;
  out.masked = (byte(1) & 0x80) != 0;
  std::uint64_t length = byte(1) & 0x7F;
  std::size_t at = 2;
  if (length == 126) {
    if (bytes.size() < 4) return std::nullopt;
    length = (std::uint64_t{byte(2)} << 8) | byte(3);
    at = 4;
  } else if (length == 127) {
    if (bytes.size() < 10) return std::nullopt;
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | byte(i);
    at = 10;
  }
  char key[4] = {0, 0, 0, 0};
  if (out.masked) {
    if (bytes.size() < at + 4) return std::nullopt;
    for (int i = 0; i < 4; ++i) key[i] = bytes[at + i];
    at += 4;
  }
  if (bytes.size() < at + length) return std::nullopt;
  out.payload = bytes.substr(at, length);
  if (out.masked) {
    for (std::size_t i = 0; i < out.payload.size(); ++i)
      out.payload[i] = static_cast<char>(out.payload[i] ^ key[i % 4]);
  }
  consumed = at + length;
  return out;
}

// Polls `fd` for input up to `timeout`; false on timeout or error.
bool readable(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  return ::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0;
}

// ─── the upstream: a minimal WebSocket echo server ──────────────────────────────────────────

// Accepts connections, answers each handshake with 101 (the right Sec-WebSocket-Accept, the first
// offered subprotocol) and a "welcome" text frame in the same write, then echoes every data frame
// unmasked with its opcode. A ping gets a pong. A Close frame, or the text "close-please", makes it
// send a Close frame and shut down its write side; it closes the socket once the peer has closed
// too. It counts the connections its peer closed (EOF), and any client frame that was not masked.
class WebSocketEchoUpstream {
 public:
  WebSocketEchoUpstream() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::listen(listen_fd_, 64);
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { serve(); });
  }

  ~WebSocketEchoUpstream() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& handler : handlers_) {
      if (handler.joinable()) handler.join();
    }
  }

  std::uint16_t port() const { return port_; }

  std::vector<std::string> handshakes() {
    std::lock_guard lock(mutex_);
    return handshakes_;
  }

  // Waits until `count` connections were closed by the gateway (EOF seen).
  bool wait_peer_closes(std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return peer_closes_ >= count; });
  }

  std::size_t unmasked_frames() {
    std::lock_guard lock(mutex_);
    return unmasked_frames_;
  }

 private:
  void serve() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      handlers_.emplace_back([this, fd] { handle(fd); });
    }
  }

  // Reads more into `buffer`; false on EOF, error or stop.
  bool read_more(int fd, std::string& buffer) {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
      }
      if (readable(fd, 100ms)) break;
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  void handle(int fd) {
    std::string buffer;
    bool open = true;
    while (open && buffer.find("\r\n\r\n") == std::string::npos) open = read_more(fd, buffer);
    if (open) {
      const std::size_t head_end = buffer.find("\r\n\r\n") + 4;
      const std::string head = buffer.substr(0, head_end);
      buffer.erase(0, head_end);
      {
        std::lock_guard lock(mutex_);
        handshakes_.push_back(head);
      }
      std::string answer =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          accept_for(raw_header(head, "Sec-WebSocket-Key")) + "\r\n";
      const std::string protocols = raw_header(head, "Sec-WebSocket-Protocol");
      if (!protocols.empty())
        answer += "Sec-WebSocket-Protocol: " + protocols.substr(0, protocols.find(',')) + "\r\n";
      answer += "X-Upstream: ws-echo\r\n\r\n" + frame(kText, "welcome", /*masked=*/false);
      open = send_all(fd, answer);
    }
    bool closing = false;  // our Close frame went out and our write side is shut
    while (open) {
      std::size_t consumed = 0;
      if (auto received = parse_frame(buffer, consumed)) {
        buffer.erase(0, consumed);
        if (!received->masked) {
          std::lock_guard lock(mutex_);
          ++unmasked_frames_;
        }
        if (closing) continue;
        if (received->opcode == kClose ||
            (received->opcode == kText && received->payload == "close-please")) {
          send_all(fd, frame(kClose, std::string("\x03\xe8", 2), /*masked=*/false));  // 1000
          ::shutdown(fd, SHUT_WR);
          closing = true;
        } else if (received->opcode == kPing) {
          send_all(fd, frame(kPong, received->payload, /*masked=*/false));
        } else if (received->opcode == kText || received->opcode == kBinary ||
                   received->opcode == kContinuation) {
          send_all(fd, frame(received->opcode, received->payload, /*masked=*/false, received->fin));
        }
        continue;
      }
      open = read_more(fd, buffer);
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    ++peer_closes_;
    changed_.notify_all();
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> handshakes_;
  std::size_t peer_closes_ = 0;
  std::size_t unmasked_frames_ = 0;
  bool stopping_ = false;
};

// ─── the client ─────────────────────────────────────────────────────────────────────────────

const std::string kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 1.3

// A handshake request for `target` (extra lines end in CRLF).
std::string handshake(const std::string& target, const std::string& cid, const std::string& extra = "",
                      const std::string& key = kKey) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: chat.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         key +
         "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
         "Origin: http://chat.example\r\nX-Correlation-ID: " +
         cid + "\r\n" + extra + "\r\n";
}

// A raw client that counts every byte it sends and receives (the access line must say the same).
class WsClient {
 public:
  explicit WsClient(std::uint16_t port) : fd_(connect_loopback(port)) {}
  ~WsClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool send(const std::string& bytes) {
    sent_ += bytes.size();
    return send_all(fd_, bytes);
  }
  bool send_frame(std::uint8_t opcode, const std::string& payload) {
    return send(client_frame(opcode, payload));
  }

  // The response head (and a Content-Length body); what follows stays buffered for read_frame().
  std::optional<Response> read_head(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    http::ResponseHead head;
    http::ParseOutcome outcome;
    for (;;) {
      outcome = http::parse_response_head(buffer_, http::Limits{}, http::Method::kGet, head);
      if (outcome.status == http::ParseStatus::kComplete) break;
      if (outcome.status == http::ParseStatus::kError || !fill(deadline)) return std::nullopt;
    }
    Response response;
    response.status = head.status;
    for (const auto& field : head.fields) response.headers.emplace_back(field.name, field.value);
    const std::size_t length = head.framing == http::BodyFraming::kContentLength ? head.content_length : 0;
    buffer_.erase(0, outcome.consumed);
    while (buffer_.size() < length && fill(deadline)) {
    }
    response.body = buffer_.substr(0, std::min(length, buffer_.size()));
    response.complete = response.body.size() == length;
    buffer_.erase(0, response.body.size());
    return response;
  }

  std::optional<Frame> read_frame(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::size_t consumed = 0;
      if (auto parsed = parse_frame(buffer_, consumed)) {
        buffer_.erase(0, consumed);
        return parsed;
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // Reads until the gateway ends the connection: true for an orderly close (EOF) within `timeout`.
  bool wait_eof(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  std::size_t sent() const { return sent_; }
  std::size_t received() const { return received_; }
  bool connected() const { return fd_ >= 0; }
  const std::string& buffered() const { return buffer_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readable(fd_, left)) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = n == 0;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    received_ += static_cast<std::size_t>(n);
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  std::size_t sent_ = 0;
  std::size_t received_ = 0;
  bool eof_ = false;
};

// `raw` with the first `from` replaced by `to`.
std::string edited_line(std::string raw, const std::string& from, const std::string& to) {
  const std::size_t at = raw.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) raw.replace(at, from.size(), to);
  return raw;
}

// Open descriptors of a process (its sockets included).
std::size_t open_fds(int pid) {
  std::size_t count = 0;
  std::error_code ignored;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ignored);
       it != std::filesystem::directory_iterator(); it.increment(ignored)) {
    ++count;
  }
  return count;
}

const std::string kWebsocketRoute = "  - path: \"/ws/*\"\n    upstream: echo\n    websocket: true\n";

// The 101 a client must see: the switch, the upstream's accept for the client's key, the chosen
// subprotocol and the gateway's correlation id.
void expect_switched(const std::optional<Response>& response, const std::string& cid) {
  ASSERT_TRUE(response.has_value()) << "no response to the handshake";
  ASSERT_EQ(response->status, 101) << response->body;
  EXPECT_EQ(lower(response->header("Upgrade")), "websocket");
  EXPECT_EQ(lower(response->header("Connection")), "upgrade");
  EXPECT_EQ(response->header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(response->header("Sec-WebSocket-Protocol"), "chat");
  EXPECT_EQ(response->header("X-Upstream"), "ws-echo");
  EXPECT_EQ(response->header("X-Correlation-ID"), cid);
  EXPECT_EQ(response->header("Content-Length"), "");
  EXPECT_EQ(response->header("Transfer-Encoding"), "");
}

// ─── tests ──────────────────────────────────────────────────────────────────────────────────

TEST(WebSocket, EchoBothWaysThroughTheGateway) {
  WebSocketEchoUpstream upstream;
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute));
  const std::string cid = next_cid("ws-echo");
  WsClient client(gateway.port);
  ASSERT_TRUE(client.connected());
  client.send(handshake("/ws/chat?room=1", cid));
  expect_switched(client.read_head(), cid);

  // The upstream's first frame came in the same write as its 101.
  auto welcome = client.read_frame();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->opcode, kText);
  EXPECT_EQ(welcome->payload, "welcome");

  // A masked text frame, echoed unmasked.
  ASSERT_TRUE(client.send_frame(kText, "hello, tunnel"));
  auto echoed = client.read_frame();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->opcode, kText);
  EXPECT_TRUE(echoed->fin);
  EXPECT_FALSE(echoed->masked);
  EXPECT_EQ(echoed->payload, "hello, tunnel");

  // A 100 KiB binary message (64-bit length), every byte intact both ways.
  std::string big(100 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + i / 7) & 0xFF);
  ASSERT_TRUE(client.send_frame(kBinary, big));
  auto big_echo = client.read_frame();
  ASSERT_TRUE(big_echo);
  EXPECT_EQ(big_echo->opcode, kBinary);
  EXPECT_EQ(big_echo->payload.size(), big.size());
  EXPECT_TRUE(big_echo->payload == big);

  // Several frames in one write, a fragmented message, a ping: all in order.
  ASSERT_TRUE(client.send(client_frame(kText, "one") + client_frame(kText, "tw", /*fin=*/false) +
                          client_frame(kContinuation, "o") + client_frame(kPing, "p")));
  for (const auto& [opcode, payload] : std::vector<std::pair<std::uint8_t, std::string>>{
           {kText, "one"}, {kText, "tw"}, {kContinuation, "o"}, {kPong, "p"}}) {
    auto next = client.read_frame();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->opcode, opcode);
    EXPECT_EQ(next->payload, payload);
  }

  // The close handshake: our Close, the upstream's Close, then the end of the connection.
  ASSERT_TRUE(client.send_frame(kClose, std::string("\x03\xe8", 2)));
  auto close = client.read_frame();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, kClose);
  EXPECT_TRUE(client.wait_eof());
  client.shutdown_write();
  EXPECT_TRUE(upstream.wait_peer_closes(1));
  EXPECT_EQ(upstream.unmasked_frames(), 0u) << "the gateway must pass the client's frames untouched";

  // What the upstream was asked: the handshake with this hop's Connection/Upgrade, the
  // end-to-end Sec-WebSocket-* fields and the gateway's own fields.
  const auto handshakes = upstream.handshakes();
  ASSERT_EQ(handshakes.size(), 1u);
  const std::string& seen = handshakes[0];
  EXPECT_EQ(seen.substr(0, seen.find("\r\n")), "GET /ws/chat?room=1 HTTP/1.1");
  EXPECT_EQ(lower(raw_header(seen, "Connection")), "upgrade");
  EXPECT_EQ(lower(raw_header(seen, "Upgrade")), "websocket");
  EXPECT_EQ(raw_header(seen, "Sec-WebSocket-Key"), kKey);
  EXPECT_EQ(raw_header(seen, "Sec-WebSocket-Version"), "13");
  EXPECT_EQ(raw_header(seen, "Sec-WebSocket-Protocol"), "chat, superchat");
  EXPECT_EQ(raw_header(seen, "Origin"), "http://chat.example");
  EXPECT_EQ(raw_header(seen, "X-Correlation-ID"), cid);
  EXPECT_EQ(raw_header(seen, "X-Forwarded-For"), "127.0.0.1");

  // The access line: status 101, the whole tunnel, every byte both ways, and how it ended (the
  // upstream closed first, after the close handshake).
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log) << "no access line for the tunnel";
  EXPECT_EQ((*log)["status"], 101);
  EXPECT_EQ((*log)["route"], "/ws/*");
  EXPECT_EQ((*log)["bytesIn"].get<std::size_t>(), client.sent());
  EXPECT_EQ((*log)["bytesOut"].get<std::size_t>(), client.received());
  EXPECT_GT(client.sent(), big.size());
  EXPECT_GT(client.received(), big.size());
  EXPECT_EQ((*log)["tunnelEnd"], "upstream_closed");
  EXPECT_FALSE(log->contains("error")) << log->dump();
}

// wss:// end to end: the client speaks TLS to the gateway, which tunnels to an https:// upstream
// (a second gateway terminating TLS in front of the echo upstream). Frames cross both TLS hops
// intact, including one much larger than a TLS record.
TEST(WebSocket, EchoOverTlsOnBothHops) {
  TestPki pki;
  const CertPaths server = pki.issue("server", "localhost", {"localhost"}, {"127.0.0.1"});
  const std::string tls = "  tls:\n    cert: " + server.cert + "\n    key: " + server.key + "\n";
  WebSocketEchoUpstream upstream;
  auto backend = start_gateway(gateway_config(upstream.port(), kWebsocketRoute, tls));
  auto front = start_gateway("proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n" + tls +
                             "upstreams:\n  - name: echo\n    url: \"https://127.0.0.1:" +
                             std::to_string(backend.port) + "\"\n    tls:\n      ca: " + pki.ca() +
                             "\n      serverName: localhost\nroutes:\n" + kWebsocketRoute +
                             "logging:\n  level: info\n");
  TlsClient::Options options;
  options.ca = pki.ca();
  TlsClient client(front.port, options);
  ASSERT_TRUE(client.connected()) << client.error();
  const std::string cid = next_cid("wss-echo");
  ASSERT_TRUE(client.send(handshake("/ws/secure", cid)));
  expect_switched(client.read_response(), cid);

  auto next_frame = [&client]() -> std::optional<Frame> {
    for (;;) {
      std::size_t consumed = 0;
      if (auto parsed = parse_frame(client.buffered(), consumed)) {
        client.buffered().erase(0, consumed);
        return parsed;
      }
      if (!client.fill()) return std::nullopt;
    }
  };
  auto welcome = next_frame();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->payload, "welcome");

  ASSERT_TRUE(client.send(client_frame(kText, "over tls")));
  auto echoed = next_frame();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->opcode, kText);
  EXPECT_EQ(echoed->payload, "over tls");

  std::string big(200 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 31 + i / 13) & 0xFF);
  ASSERT_TRUE(client.send(client_frame(kBinary, big)));
  auto big_echo = next_frame();
  ASSERT_TRUE(big_echo);
  EXPECT_EQ(big_echo->opcode, kBinary);
  EXPECT_TRUE(big_echo->payload == big);

  ASSERT_TRUE(client.send(client_frame(kClose, std::string("\x03\xe8", 2))));
  auto close = next_frame();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, kClose);
  EXPECT_EQ(upstream.unmasked_frames(), 0u);
  // The upstream's end travels back through both gateways as a TLS close, then ours goes out.
  while (client.fill()) {
  }
  client.shutdown_write();
  EXPECT_TRUE(upstream.wait_peer_closes(1));

  // The front gateway logged the tunnel as a 101 with its bytes.
  auto log = wait_for_access_log(*front.process, cid);
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)["status"], 101);
  EXPECT_GT((*log)["bytesIn"].get<std::size_t>(), big.size());
  EXPECT_GT((*log)["bytesOut"].get<std::size_t>(), big.size());
  EXPECT_EQ((*log)["tunnelEnd"], "upstream_closed");
  EXPECT_FALSE(log->contains("error")) << log->dump();
}

TEST(WebSocket, FramesSentWithTheHandshakeArriveAfterTheSwitch) {
  WebSocketEchoUpstream upstream;
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute));
  const std::string cid = next_cid("ws-early");
  WsClient client(gateway.port);
  // An eager client: its first frame in the same write as the handshake.
  client.send(handshake("/ws/early", cid) + client_frame(kText, "early bird"));
  expect_switched(client.read_head(), cid);
  auto welcome = client.read_frame();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->payload, "welcome");
  auto echoed = client.read_frame();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->payload, "early bird");
  // The upstream saw the handshake alone as the request, the frame after it.
  ASSERT_EQ(upstream.handshakes().size(), 1u);
  EXPECT_EQ(upstream.handshakes()[0].find("early bird"), std::string::npos);
}

TEST(WebSocket, ClientCloseReachesTheUpstreamAndNoDescriptorIsLeft) {
  WebSocketEchoUpstream upstream;
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute, "  workers: 1\n"));
  const int pid = gateway.process->pid();
  // Descriptors after the first tunnel is over (its sockets are closed before its access line is
  // written): the later tunnels must leave the count where it was.
  std::size_t idle_fds = 0;
  for (int round = 0; round < 4; ++round) {
    if (round == 1) idle_fds = open_fds(pid);
    const std::string cid = next_cid("ws-client-close");
    {
      WsClient client(gateway.port);
      client.send(handshake("/ws/leak", cid));
      expect_switched(client.read_head(), cid);
      ASSERT_TRUE(client.read_frame());  // welcome
      ASSERT_TRUE(client.send_frame(kText, "ping " + std::to_string(round)));
      auto echoed = client.read_frame();
      ASSERT_TRUE(echoed);
      EXPECT_EQ(echoed->payload, "ping " + std::to_string(round));
      // The client goes away without a close handshake: the upstream sees the end of its input
      // (the gateway shut its write side down), closes, and the client sees that end too.
      client.shutdown_write();
      ASSERT_TRUE(upstream.wait_peer_closes(static_cast<std::size_t>(round) + 1));
      EXPECT_TRUE(client.wait_eof());
    }
    auto log = wait_for_access_log(*gateway.process, cid);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)["status"], 101);
    EXPECT_EQ((*log)["tunnelEnd"], "client_closed");
  }
  EXPECT_TRUE(eventually([&] { return open_fds(pid) <= idle_fds; }))
      << "descriptors: " << open_fds(pid) << " now, " << idle_fds << " before the tunnels";
}

TEST(WebSocket, UpstreamCloseReachesTheClient) {
  WebSocketEchoUpstream upstream;
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute));
  const std::string cid = next_cid("ws-upstream-close");
  WsClient client(gateway.port);
  client.send(handshake("/ws/bye", cid));
  expect_switched(client.read_head(), cid);
  ASSERT_TRUE(client.read_frame());  // welcome
  ASSERT_TRUE(client.send_frame(kText, "close-please"));
  auto close = client.read_frame();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, kClose);
  EXPECT_TRUE(client.wait_eof()) << "the upstream's end must reach the client";
  // Half-close: the client's direction is still open until it closes too.
  ASSERT_TRUE(client.send_frame(kClose, std::string("\x03\xe8", 2)));
  client.shutdown_write();
  EXPECT_TRUE(upstream.wait_peer_closes(1));
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)["tunnelEnd"], "upstream_closed");
  EXPECT_EQ((*log)["bytesIn"].get<std::size_t>(), client.sent());
}

TEST(WebSocket, IdleTimeoutClosesTheTunnelButTheRequestDeadlineDoesNot) {
  WebSocketEchoUpstream upstream;
  // The request deadline is far shorter than the tunnel lives; only the idle timeout may end it.
  const std::string route = kWebsocketRoute + "    timeouts: { request: 300ms, idle: 700ms }\n";
  auto gateway = start_gateway(gateway_config(upstream.port(), route));
  const std::string cid = next_cid("ws-idle");
  WsClient client(gateway.port);
  client.send(handshake("/ws/idle", cid));
  expect_switched(client.read_head(), cid);
  ASSERT_TRUE(client.read_frame());  // welcome
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    // Time passing is the point here (not a synchronisation): 5 x 250 ms outlives the request
    // deadline, each gap stays under the idle timeout.
    std::this_thread::sleep_for(250ms);
    ASSERT_TRUE(client.send_frame(kText, "tick " + std::to_string(i)));
    auto echoed = client.read_frame(2s);
    ASSERT_TRUE(echoed) << "the tunnel was cut after " << i << " ticks";
    EXPECT_EQ(echoed->payload, "tick " + std::to_string(i));
  }
  EXPECT_GT(std::chrono::steady_clock::now() - started, 1s);
  // Silence: the idle timeout closes both sides.
  const auto silent = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.wait_eof(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - silent, 600ms);
  EXPECT_TRUE(upstream.wait_peer_closes(1));
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)["status"], 101);
  EXPECT_EQ((*log)["tunnelEnd"], "idle_timeout");
  EXPECT_GT((*log)["durationMs"].get<double>(), 1500.0);
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_timeouts_total{kind=\"websocket_idle\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_timeouts_total{kind=\"request\"}"), 0);
}

TEST(WebSocket, MetricsShowTheTunnel) {
  WebSocketEchoUpstream upstream;
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute));
  std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_websocket_connections"), 0);
  EXPECT_EQ(metric_sample(metrics, "flexgate_websocket_bytes_total{direction=\"to_upstream\"}"), 0);
  const std::string cid = next_cid("ws-metrics");
  WsClient client(gateway.port);
  const std::string head = handshake("/ws/metrics", cid);
  client.send(head);
  expect_switched(client.read_head(), cid);
  ASSERT_TRUE(client.read_frame());                                         // welcome: 9 bytes
  const std::string message = client_frame(kText, std::string(1000, 'm'));  // 1008 bytes
  ASSERT_TRUE(client.send(message));
  ASSERT_TRUE(client.read_frame());  // 1004 bytes back (unmasked)

  metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_websocket_connections"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_websocket_bytes_total{direction=\"to_upstream\"}"),
            message.size());
  EXPECT_EQ(metric_sample(metrics, "flexgate_websocket_bytes_total{direction=\"to_client\"}"), 9 + 1004)
      << metrics;
  // The handshake is counted as a request (101) when the switch happens; the tunnel is not in flight.
  EXPECT_EQ(
      metric_sample(metrics, "flexgate_http_requests_total{method=\"GET\",route=\"/ws/*\",status=\"101\"}"),
      1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_http_requests_in_flight"), 1);  // the scrape itself

  client.shutdown_write();
  EXPECT_TRUE(client.wait_eof());
  ASSERT_TRUE(wait_for_access_log(*gateway.process, cid));
  metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_websocket_connections"), 0);
  EXPECT_EQ(
      metric_sample(metrics, "flexgate_http_requests_total{method=\"GET\",route=\"/ws/*\",status=\"101\"}"),
      1);
}

TEST(WebSocket, RouteWithoutWebsocketRefusesEveryUpgradeToIt) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  for (const bool full_handshake : {true, false}) {
    const std::string cid = next_cid("ws-off");
    // A valid handshake; then a request that is not even one (no Connection: Upgrade, no key) but
    // asks for websocket all the same: not served as plain HTTP either.
    const std::string raw =
        full_handshake
            ? handshake("/chat", cid)
            : "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nX-Correlation-ID: " + cid + "\r\n\r\n";
    Connection connection(gateway.port);
    connection.send(raw);
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    expect_refused(gateway, upstream, *response, 403, cid);
    EXPECT_EQ(response->header("Connection"), "close");
    EXPECT_NE(response->body.find("WebSocket upgrades are not enabled on this route"), std::string::npos);
    EXPECT_TRUE(connection.wait_closed());
    auto log = wait_for_access_log(*gateway.process, cid);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)["rejectedBy"], "websocket");
    EXPECT_EQ((*log)["rejectReason"], "not_allowed");
  }
  EXPECT_EQ(upstream.requests().size(), 0u);
  EXPECT_EQ(metric_sample(scrape(gateway.port),
                          "flexgate_policy_rejections_total{policy=\"websocket\",reason=\"not_allowed\"}"),
            2);
}

TEST(WebSocket, H2cIsNeverHonouredAndServedAsHttp11) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  // Even on a route that allows WebSocket.
  auto gateway = start_gateway(
      gateway_config(upstream.port(), "  - path: \"/*\"\n    upstream: echo\n    websocket: true\n"));
  const std::string cid = next_cid("h2c");
  Connection connection(gateway.port);
  connection.send(
      "GET /u HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Correlation-ID: " +
      cid + "\r\n\r\n");
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(connection.received().find("HTTP/1.1 101"), std::string::npos);
  EXPECT_EQ(response->header("Upgrade"), "");
  // Still HTTP/1.1 on the same connection.
  connection.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n");
  auto again = connection.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  auto seen = upstream_request_with(upstream, cid);
  ASSERT_TRUE(seen);
  EXPECT_FALSE(raw_has_header(*seen, "Upgrade")) << *seen;
  EXPECT_FALSE(raw_has_header(*seen, "HTTP2-Settings")) << *seen;
  EXPECT_EQ(lower(*seen).find("upgrade"), std::string::npos) << *seen;
}

TEST(WebSocket, WrongAcceptFromTheUpstreamIs502) {
  const std::vector<std::string> answers = {
      // A wrong accept.
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
      // No accept at all.
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      // A switch to another protocol.
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
  };
  for (const std::string& answer : answers) {
    ScriptedUpstream upstream([answer](const std::string&) { return answer; });
    auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute));
    const std::string cid = next_cid("ws-bad-accept");
    WsClient client(gateway.port);
    client.send(handshake("/ws/bad", cid) + client_frame(kText, "never tunneled"));
    auto response = client.read_head();
    ASSERT_TRUE(response);
    EXPECT_TRUE(IsJsonError(*response, 502)) << answer;
    EXPECT_EQ(response->header("Connection"), "close");
    EXPECT_EQ(response->header("Upgrade"), "");
    EXPECT_TRUE(client.wait_eof());
    EXPECT_TRUE(upstream.wait_peer_closes(1)) << "the upstream connection must be closed, never pooled";
    auto log = wait_for_access_log(*gateway.process, cid);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)["status"], 502);
    EXPECT_EQ((*log)["error"], "bad_upstream_response");
    for (const auto& raw : upstream.requests()) EXPECT_EQ(raw.find("never tunneled"), std::string::npos);
  }
}

TEST(WebSocket, UpstreamRefusalIsForwardedAndItsConnectionNotPooled) {
  ScriptedUpstream upstream([](const std::string& raw) {
    if (raw.find("Upgrade: websocket") != std::string::npos) {
      return std::string(
          "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno socket");
    }
    return kOk;
  });
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute, "  workers: 1\n"));
  const std::string cid = next_cid("ws-upstream-403");
  WsClient client(gateway.port);
  client.send(handshake("/ws/denied", cid));
  auto response = client.read_head();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(response->body, "no socket");  // the upstream's answer, not the gateway's
  EXPECT_TRUE(upstream.wait_peer_closes(1)) << "a handshake's upstream connection is never pooled";
  // The next request opens a new upstream connection.
  EXPECT_EQ(request(gateway.port, "GET", "/ws/plain").status, 200);
  EXPECT_EQ(upstream.connections_accepted(), 2u);
}

TEST(WebSocket, MalformedHandshakesAreRefusedAndNeverForwarded) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute));
  struct Case {
    std::string name;
    std::string raw;  // with CID in place of the correlation id
    int status;
  };
  const std::string base = handshake("/ws/x", "CID");
  const std::vector<Case> cases = {
      {"missing key", edited_line(base, "Sec-WebSocket-Key: " + kKey + "\r\n", ""), 400},
      {"short key", edited_line(base, kKey, "c2hvcnQ="), 400},
      {"missing version", edited_line(base, "Sec-WebSocket-Version: 13\r\n", ""), 400},
      {"old version", edited_line(base, "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), 426},
      {"no Connection: Upgrade", edited_line(base, "Connection: Upgrade\r\n", ""), 400},
      {"POST", edited_line(base, "GET /ws/x", "POST /ws/x"), 400},
      {"HTTP/1.0", edited_line(base, "HTTP/1.1\r\n", "HTTP/1.0\r\n"), 400},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string cid = next_cid("ws-malformed");
    Connection connection(gateway.port);
    connection.send(edited_line(c.raw, "CID", cid));
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    expect_refused(gateway, upstream, *response, c.status, cid);
    EXPECT_EQ(response->header("Connection"), "close");
    if (c.status == 426) {
      EXPECT_EQ(response->header("Sec-WebSocket-Version"), "13");
    }
    EXPECT_TRUE(connection.wait_closed());
  }
  EXPECT_EQ(upstream.requests().size(), 0u);
}

TEST(WebSocket, TheUpgradePassesAuth) {
  WebSocketEchoUpstream upstream;
  auto [code, digest] = run_flexgate({"hash-key", "ws-secret-key"});
  ASSERT_EQ(code, 0);
  if (!digest.empty() && digest.back() == '\n') digest.pop_back();
  const std::string extra =
      "security:\n  auth:\n    keys:\n      - key: \"" + digest + "\"\n        name: ws-client\n";
  auto gateway = start_gateway(
      gateway_config(upstream.port(),
                     "  - path: \"/ws/*\"\n    upstream: echo\n    websocket: true\n    auth: required\n") +
      extra);
  {
    const std::string cid = next_cid("ws-anon");
    Connection connection(gateway.port);
    connection.send(handshake("/ws/secure", cid));
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_TRUE(IsJsonError(*response, 401));
    EXPECT_EQ(response->header("Connection"), "close");
    EXPECT_TRUE(connection.wait_closed());
    EXPECT_TRUE(upstream.handshakes().empty());
  }
  const std::string cid = next_cid("ws-authed");
  WsClient client(gateway.port);
  client.send(handshake("/ws/secure", cid, "X-API-Key: ws-secret-key\r\n"));
  expect_switched(client.read_head(), cid);
  ASSERT_TRUE(client.read_frame());  // welcome
  ASSERT_TRUE(client.send_frame(kText, "authenticated"));
  auto echoed = client.read_frame();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->payload, "authenticated");
  ASSERT_EQ(upstream.handshakes().size(), 1u);
  EXPECT_FALSE(raw_has_header(upstream.handshakes()[0], "X-API-Key")) << "credentials end at the gateway";
  client.shutdown_write();
  EXPECT_TRUE(client.wait_eof());
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)["clientName"], "ws-client");
}

TEST(WebSocket, DrainClosesAnOpenTunnelAtTheDeadline) {
  WebSocketEchoUpstream upstream;
  auto gateway = start_gateway(gateway_config(upstream.port(), kWebsocketRoute, "  drainTimeout: 1s\n"));
  const std::string cid = next_cid("ws-drain");
  WsClient client(gateway.port);
  client.send(handshake("/ws/drain", cid));
  expect_switched(client.read_head(), cid);
  ASSERT_TRUE(client.read_frame());  // welcome
  gateway.process->signal(SIGTERM);
  ASSERT_TRUE(gateway.process->wait_for_line("\"draining\""));
  // Still tunneling while the drain waits...
  ASSERT_TRUE(client.send_frame(kText, "still here"));
  auto echoed = client.read_frame();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->payload, "still here");
  // ...and cut at the drain deadline, logged.
  EXPECT_TRUE(client.wait_eof(10s));
  EXPECT_TRUE(upstream.wait_peer_closes(1));
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)["status"], 101);
  EXPECT_EQ((*log)["tunnelEnd"], "aborted");
  EXPECT_EQ(gateway.process->wait_exit(10s), 0);
}

}  // namespace
}  // namespace flexgate::testing
