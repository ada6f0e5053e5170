#pragma once
// Integration-test harness: starts the real flexgate binary (and its echo upstream) as child
// processes on port 0, learns their ports from their "listening" lines, and talks raw TCP to
// them. Waits are on events (a line on stdout, bytes on a socket) with generous upper bounds.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace flexgate::testing {

using namespace std::chrono_literals;

// Polls `condition` until it holds or `timeout` passes: the one way these tests wait for the
// gateway's own loop (never a fixed sleep).
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A child process with its stdout captured line by line (stderr goes to a file).
class ChildProcess {
 public:
  // `max_open_files` > 0 sets RLIMIT_NOFILE in the child before exec (fd-exhaustion tests).
  explicit ChildProcess(std::vector<std::string> argv, long max_open_files = 0);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits for a stdout line containing `needle`; returns it (nullopt on timeout or exit).
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout = 10s);
  // Waits for a stdout line for which `matches` is true; returns it (nullopt on timeout or exit).
  std::optional<std::string> wait_for_line_matching(const std::function<bool(const std::string&)>& matches,
                                                    std::chrono::milliseconds timeout = 10s);
  // Every stdout line so far.
  std::vector<std::string> lines();
  std::string stderr_text();
  // Sends a signal; returns immediately.
  void signal(int signal_number);
  // Waits for exit; returns the exit code (or -signal), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
  int pid() const { return pid_; }

 private:
  void read_stdout();

  int pid_ = -1;
  int stdout_fd_ = -1;
  std::string stderr_path_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::optional<int> exit_code_;
};

// The echo upstream (`flexgate echo-server`) on a free port.
struct EchoServer {
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;
};
EchoServer start_echo_server();

// A running flexgate with a config written to a temp file.
struct Gateway {
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;
  std::string config_path;
};
// Starts `flexgate run` with `yaml` (which should use `port: 0`). Fails the test if it does not
// start listening.
Gateway start_gateway(const std::string& yaml, long max_open_files = 0);

// Runs the flexgate binary to completion; returns {exit code, stdout+stderr}.
std::pair<int, std::string> run_flexgate(const std::vector<std::string>& args, const std::string& stdin_text = "");

std::string write_temp_file(const std::string& content, const std::string& suffix = ".yml");

// Runs a shell command (curl, nghttp...); returns its stdout (stderr to /dev/null).
std::string run_command(const std::string& command);

// Waits for the JSON access-log line ("type":"access") of the request with `correlation_id`
// (send a sane X-Correlation-ID to know it in advance); nullopt on timeout or exit.
std::optional<nlohmann::json> wait_for_access_log(ChildProcess& process, const std::string& correlation_id,
                                                  std::chrono::milliseconds timeout = 10s);

// A parsed HTTP response as the client saw it.
struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool complete = false;  // framing said where the body ends and all of it arrived

  std::string header(const std::string& name) const;  // case-insensitive; "" if absent
  nlohmann::json json() const;
};

// A blocking TCP connection to 127.0.0.1:`port` with TCP_NODELAY: the fd, or -1.
int connect_loopback(std::uint16_t port);

// Sends every byte of `bytes` on the blocking socket `fd` (no SIGPIPE); false on any failure.
bool send_all(int fd, std::string_view bytes);

// A blocking TCP client for raw-byte tests.
class Connection {
 public:
  explicit Connection(std::uint16_t port);
  ~Connection();
  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // Reads one response (framing from the head; `head_request` for HEAD). nullopt if the
  // connection closed before a complete head.
  std::optional<Response> read_response(bool head_request = false, std::chrono::milliseconds timeout = 10s);
  // Reads until the peer closes; returns everything read (also what was buffered).
  std::string read_until_close(std::chrono::milliseconds timeout = 10s);
  // True when the peer closed the connection (EOF or reset) within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout = 10s);
  void shutdown_write();
  int fd() const { return fd_; }
  // Every byte received on this connection so far, whether or not a read_* call consumed it.
  const std::string& received() const { return received_; }
  // Like wait_closed(), but also tells a reset (ECONNRESET) from an orderly close (EOF):
  // kOpen when neither happened within `timeout`.
  enum class End { kOpen, kClosed, kReset };
  End wait_end(std::chrono::milliseconds timeout = 10s);

 private:
  bool fill(std::chrono::milliseconds timeout);
  int fd_ = -1;
  std::string buffer_;
  std::string received_;
};

// One request on a fresh connection.
Response request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = "");

// The value of the sample line that starts with `series` (name + labels), or -1.
inline double metric_sample(const std::string& exposition, const std::string& series) {
  std::size_t at = 0;
  while ((at = exposition.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') return std::stod(exposition.substr(at + series.size() + 1));
    ++at;
  }
  return -1;
}

// GET /metrics on the gateway: the exposition text (checks the status and content type).
inline std::string scrape(std::uint16_t port) {
  auto response = request(port, "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.header("Content-Type").find("text/plain"), std::string::npos);
  return response.body;
}

// A scripted upstream in this process: records every request it receives (raw bytes) and answers
// with `respond(raw_request)`; an empty answer closes the connection without responding.
// `close_after_response` closes each connection right after its first answer (without saying so).
class ScriptedUpstream {
 public:
  using Responder = std::function<std::string(const std::string& raw_request)>;
  explicit ScriptedUpstream(Responder respond, bool close_after_response = false);
  // The same, listening on `bind_address` (an IPv4 literal, e.g. "127.0.0.2": all of 127/8 is
  // loopback on Linux) and `port` (0 = a free one). listening() tells whether the bind worked.
  ScriptedUpstream(Responder respond, bool close_after_response, const std::string& bind_address,
                   std::uint16_t port = 0);
  bool listening() const { return port_ != 0; }
  ~ScriptedUpstream();
  std::uint16_t port() const { return port_; }
  std::vector<std::string> requests();
  std::size_t connections_accepted();
  // Waits until `count` connections were closed by the peer (the proxy).
  bool wait_peer_closes(std::size_t count, std::chrono::milliseconds timeout = 10s);
  // Waits until at least `count` requests were received.
  bool wait_requests(std::size_t count, std::chrono::milliseconds timeout = 10s);

 private:
  void serve();
  void handle(int fd);

  Responder respond_;
  bool close_after_response_ = false;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> requests_;
  std::size_t accepted_ = 0;
  std::size_t peer_closes_ = 0;
  bool stopping_ = false;
};

// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's backlog
// and requests sent on them are never answered, so they stay in flight at the gateway.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::uint16_t port() const { return port_; }  // 0 when it could not listen

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::string hex_decode(const std::string& hex);

// Checks a gateway's own error answer: `status`, Content-Type application/json, and a body
// {"error": <reason phrase>, "message": <non-empty>, "correlationId": <the X-Correlation-ID header>}.
::testing::AssertionResult IsJsonError(const Response& response, int status);

}  // namespace flexgate::testing
