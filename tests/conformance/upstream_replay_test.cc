// Raw-byte conformance of upstream responses: every case in upstream_cases.json has a scripted
// upstream write exact bytes in answer to the first request, then keep the connection, close it,
// or reset it (optionally only once the client has received the response head, to make "bytes
// already sent" deterministic, and then write more bytes). Checks what the client got (status,
// body, a clean end or an aborted connection, fields it must not see), that the gateway keeps
// serving (a second request on a new client connection gets the upstream's next, healthy answer,
// never bytes left over from the faulty one), and whether the upstream connection was reused.
//
// Case fields: request (text; default GET /first), response or response_hex, after
// ("keep" | "close" | "reset"), then {response, after} (written once the client has the head),
// status, end ("clean" | "aborted"), body, client_must_contain, client_must_not_contain (case-
// insensitive substrings of every byte the client got), upstream_reuse (true/false).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

struct Step {
  std::string bytes;
  std::string after = "keep";
};

struct UpstreamCase {
  std::string id;
  std::string title;
  std::string request = "GET /first HTTP/1.1\r\nHost: a\r\n\r\n";
  Step first;
  std::optional<Step> then;
  int status = 502;
  std::string end = "clean";
  std::optional<std::string> body;
  std::vector<std::string> client_must_contain;
  std::vector<std::string> client_must_not_contain;
  std::optional<bool> upstream_reuse;
};

void PrintTo(const UpstreamCase& c, std::ostream* out) { *out << c.id << " (" << c.title << ")"; }

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

Step step_from(const nlohmann::json& item) {
  Step step;
  step.bytes = item.contains("response_hex") ? hex_decode(item.value("response_hex", "")) : item.value("response", "");
  step.after = item.value("after", "keep");
  return step;
}

std::vector<UpstreamCase> load_upstream_cases() {
  std::ifstream in(std::string(FLEXGATE_SOURCE_DIR) + "/tests/conformance/upstream_cases.json");
  auto json = nlohmann::json::parse(in, nullptr, false);
  std::vector<UpstreamCase> cases;
  if (!json.is_array()) return cases;
  for (const auto& item : json) {
    UpstreamCase c;
    c.id = item.value("id", "");
    c.title = item.value("title", "");
    c.request = item.value("request", c.request);
    c.first = step_from(item);
    if (item.contains("then")) c.then = step_from(item["then"]);
    c.status = item.value("status", 502);
    c.end = item.value("end", "clean");
    if (item.contains("body")) c.body = item["body"].get<std::string>();
    if (item.contains("client_must_contain")) {
      for (const auto& value : item["client_must_contain"]) c.client_must_contain.push_back(value.get<std::string>());
    }
    if (item.contains("client_must_not_contain")) {
      for (const auto& value : item["client_must_not_contain"]) c.client_must_not_contain.push_back(value.get<std::string>());
    }
    if (item.contains("upstream_reuse")) c.upstream_reuse = item["upstream_reuse"].get<bool>();
    cases.push_back(std::move(c));
  }
  return cases;
}

constexpr std::string_view kSecondAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond";

// The scripted upstream: answers a request for /second (on any connection) with kSecondAnswer,
// and any other request with the case's bytes. Counts accepted connections and the connections
// the gateway closed.
class RawUpstream {
 public:
  explicit RawUpstream(const UpstreamCase& c) : case_(c) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::listen(listen_fd_, 16);
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { serve(); });
  }
  ~RawUpstream() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      gate_open_ = true;
      changed_.notify_all();
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& handler : handlers_) handler.join();
  }
  std::uint16_t port() const { return port_; }
  void open_gate() {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }
  std::size_t accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  // Waits until the step written after the gate is on the wire (so the gateway has it before
  // the next request: a late byte that arrives after a connection was reused cannot be told from
  // an answer, by any proxy).
  bool wait_then_done(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return then_done_; });
  }
    bool wait_peer_closes(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return peer_closes_ >= count; });
  }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++accepted_;
      handlers_.emplace_back([this, fd] { handle(fd); });
    }
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  static void send_all(int fd, std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  static void reset(int fd) {
    linger option{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
    ::close(fd);
  }

  // Reads one request head (the requests here have no body). "" when the peer closed.
  std::string read_head(int fd, std::string& buffer) {
    char chunk[16384];
    for (;;) {
      auto end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer.substr(0, end + 4);
        buffer.erase(0, end + 4);
        return head;
      }
      pollfd pfd{fd, POLLIN, 0};
      int ready = ::poll(&pfd, 1, 100);
      if (stopping()) return "";
      if (ready <= 0) continue;
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return "";
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Writes a step; false when the connection is gone (closed or reset here).
  bool perform(int fd, const Step& step) {
    send_all(fd, step.bytes);
    if (step.after == "close") {
      ::close(fd);
      return false;
    }
    if (step.after == "reset") {
      reset(fd);
      return false;
    }
    return true;
  }

  void handle(int fd) {
    std::string buffer;
    for (;;) {
      std::string head = read_head(fd, buffer);
      if (head.empty()) break;
      if (head.find(" /second") != std::string::npos) {
        send_all(fd, kSecondAnswer);
        continue;
      }
      if (!perform(fd, case_.first)) return;
      if (case_.then) {
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [&] { return gate_open_; });
          if (stopping_) break;
        }
        const bool open = perform(fd, *case_.then);
        {
          std::lock_guard lock(mutex_);
          then_done_ = true;
          changed_.notify_all();
        }
        if (!open) return;
      }
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    if (!stopping_) ++peer_closes_;
    changed_.notify_all();
  }

  const UpstreamCase& case_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t accepted_ = 0;
  std::size_t peer_closes_ = 0;
  bool gate_open_ = false;
  bool then_done_ = false;
  bool stopping_ = false;
};

// Waits (without consuming) until the client socket holds a complete response head.
bool wait_for_head(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char peek[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t n = ::recv(fd, peek, sizeof(peek), MSG_PEEK);
    if (n <= 0) return false;
    if (std::string_view(peek, static_cast<std::size_t>(n)).find("\r\n\r\n") != std::string_view::npos) return true;
    // More is on its way: poll again only when the peeked size grows.
    for (ssize_t seen = n; seen == n;) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd again{fd, POLLIN, 0};
      ::poll(&again, 1, 10);
      n = ::recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
      if (n <= 0) return false;
    }
  }
}

class UpstreamConformance : public ::testing::TestWithParam<UpstreamCase> {};

TEST_P(UpstreamConformance, ClientVerdictAndConnectionReuse) {
  const UpstreamCase& c = GetParam();
  SCOPED_TRACE(c.id + ": " + c.title);
  RawUpstream upstream(c);
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n  headerTimeout: 2s\n",
                                              "    timeout: 5s\n"));
  ASSERT_NE(gateway.port, 0);
  {
    Connection client(gateway.port);
    ASSERT_TRUE(client.connected());
    client.send(c.request);
    if (c.then) {
      ASSERT_TRUE(wait_for_head(client.fd(), 5s)) << "no response head before the scripted fault";
      upstream.open_gate();
    }
    bool head_request = c.request.rfind("HEAD ", 0) == 0;
    auto response = client.read_response(head_request, 5s);
    ASSERT_TRUE(response.has_value()) << "no response head at all; got: " << client.received();
    EXPECT_EQ(response->status, c.status) << response->body;
    if (c.end == "aborted") {
      EXPECT_FALSE(response->complete) << "a truncated upstream body reached the client as a clean end";
      EXPECT_NE(client.wait_end(5s), Connection::End::kOpen) << "the client connection was not aborted";
    } else {
      EXPECT_TRUE(response->complete) << "the response did not end cleanly";
      if (c.body) {
        EXPECT_EQ(response->body, *c.body);
      }
      if (response->status == 502 && !c.body) {
        EXPECT_TRUE(IsJsonError(*response, 502));
      }
    }
    std::string seen = lowered(client.received());
    for (const auto& needle : c.client_must_contain) {
      EXPECT_NE(seen.find(lowered(needle)), std::string::npos) << "the client did not get '" << needle << "'";
    }
    for (const auto& needle : c.client_must_not_contain) {
      EXPECT_EQ(seen.find(lowered(needle)), std::string::npos) << "the client got '" << needle << "'";
    }
  }
  if (c.then) {
    ASSERT_TRUE(upstream.wait_then_done(5s));
  }
  // The gateway keeps serving, and nothing left over from the faulty answer leaks into the next.
  auto second = request(gateway.port, "GET", "/second");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "second");
  if (c.upstream_reuse.has_value()) {
    if (*c.upstream_reuse) {
      EXPECT_EQ(upstream.accepted(), 1u) << "a healthy keep-alive connection was not reused";
    } else {
      EXPECT_EQ(upstream.accepted(), 2u) << "the upstream connection was reused after a framing fault";
      if (c.first.after == "keep" && (!c.then || c.then->after == "keep")) {
        EXPECT_TRUE(upstream.wait_peer_closes(1, 5s)) << "the gateway did not close the faulty upstream connection";
      }
    }
  }
  EXPECT_FALSE(gateway.process->wait_exit(0ms).has_value()) << "the gateway exited";
}

INSTANTIATE_TEST_SUITE_P(Http1Upstream, UpstreamConformance, ::testing::ValuesIn(load_upstream_cases()),
                         [](const ::testing::TestParamInfo<UpstreamCase>& info) {
                           std::string name;
                           for (char ch : info.param.id) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return name;
                         });

}  // namespace
}  // namespace flexgate::testing
