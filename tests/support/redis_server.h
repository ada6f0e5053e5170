#pragma once
// A real Redis for tests: redis-server as a child process on a free loopback port, without
// persistence, killed on destruction (and by the kernel if the test process dies first:
// PR_SET_PDEATHSIG). Readiness is event based: the fixture reads redis-server's log from a pipe
// until "Ready to accept connections" (or its exit), then checks PING. kill() / restart() on the
// same port simulate an outage; stop_responding() (SIGSTOP) a hung server.
//
// command() is a small blocking client (poll-bounded; replies read by hiredis' reader through
// policy::RedisReplyReader) for checks behind the code under test: PTTL, SCRIPT FLUSH, GET...

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/ratelimit/redis_protocol.h"
#include "support/free_port.h"

namespace flexgate::testing {

inline std::string find_redis_server() {
  for (const char* path :
       {"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

// Commands sent in one write on a fresh connection to 127.0.0.1:`port`, bounded by `timeout`;
// the reply to the last one, or nullopt when the replies are not all there in time.
inline std::optional<policy::RedisReply> redis_commands(
    std::uint16_t port, const std::vector<std::vector<std::string>>& commands,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto limit = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(limit - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
  };
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::nullopt;
  std::optional<policy::RedisReply> result;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc == 0 || errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (rc == 0 || (::poll(&pfd, 1, left_ms()) > 0 &&
                    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0)) {
      std::string request;
      for (const auto& args : commands) {
        std::vector<std::string_view> views(args.begin(), args.end());
        request += policy::encode_redis_command(views);
      }
      std::size_t replies = 0;
      std::size_t sent = 0;
      while (sent < request.size()) {
        pollfd out{fd, POLLOUT, 0};
        if (::poll(&out, 1, left_ms()) <= 0) break;
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      policy::RedisReplyReader::Limits limits;
      limits.max_elements = 1 << 20;  // KEYS may list many
      policy::RedisReplyReader reader(limits);
      policy::RedisReply reply;
      while (sent == request.size()) {
        const auto status = reader.next(reply);
        if (status == policy::RedisReplyReader::Status::kReply) {
          if (++replies == commands.size()) {
            result = std::move(reply);
            break;
          }
          continue;
        }
        if (status == policy::RedisReplyReader::Status::kError) break;
        pollfd in{fd, POLLIN, 0};
        if (::poll(&in, 1, left_ms()) <= 0) break;
        char buffer[4096];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        reader.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
      }
    }
  }
  ::close(fd);
  return result;
}

inline std::optional<policy::RedisReply> redis_command(std::uint16_t port,
                                                       const std::vector<std::string>& args) {
  return redis_commands(port, {args});
}

class RedisServer {
  struct Key {
    explicit Key() = default;
  };

 public:
  // Starts redis-server on a free port; `extra` are more command-line options
  // (e.g. {"--requirepass", "secret"}). nullptr with `error` set on failure.
  static std::unique_ptr<RedisServer> start(std::string& error, std::vector<std::string> extra = {}) {
    const std::string binary = find_redis_server();
    if (binary.empty()) {
      error = "redis-server is not installed (apt-get install redis-server)";
      return nullptr;
    }
    auto server = std::make_unique<RedisServer>(Key{}, binary, std::move(extra));
    for (int attempt = 0; attempt < 20; ++attempt) {
      server->port_ = free_udp_and_tcp_port();
      if (server->port_ == 0) {
        error = "no free port";
        return nullptr;
      }
      if (server->launch(error)) return server;
      if (error.find("in use") == std::string::npos) return nullptr;  // a port taken meanwhile: retry
    }
    return nullptr;
  }

  RedisServer(Key, std::string binary, std::vector<std::string> extra)
      : binary_(std::move(binary)), extra_(std::move(extra)) {}
  ~RedisServer() { kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }
  const std::string& log() const { return log_; }

  // SIGKILL and reap: connections are reset, the port refuses.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Starts again on the same port (empty: no persistence). Bounded; false with `error` set.
  bool restart(std::string& error) {
    kill();
    for (int attempt = 0; attempt < 50; ++attempt) {  // the port may still be held for a moment
      if (launch(error)) return true;
      if (error.find("in use") == std::string::npos) return false;
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 20);
    }
    return false;
  }
  // A hung server: the kernel still accepts connections, nothing is answered.
  void stop_responding() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

  std::optional<policy::RedisReply> command(const std::vector<std::string>& args) const {
    return redis_command(port_, args);
  }
  std::optional<policy::RedisReply> commands(const std::vector<std::vector<std::string>>& list) const {
    return redis_commands(port_, list);
  }

 private:
  bool launch(std::string& error) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      error = "pipe failed";
      return false;
    }
    std::vector<std::string> args = {binary_,
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--dir",
                                     "/tmp",
                                     "--logfile",
                                     ""};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      error = "fork failed";
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      return false;
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::dup2(pipe_fds[1], STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    // Read the log until it says ready, or ends (exited), within 10 s.
    log_.clear();
    bool ready = false;
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ready) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(limit - std::chrono::steady_clock::now());
      pollfd pfd{pipe_fds[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
      if (n <= 0) break;  // exited
      log_.append(buffer, static_cast<std::size_t>(n));
      ready = log_.find("Ready to accept connections") != std::string::npos;
    }
    // Redis logs very little after startup, far below the pipe's capacity; closing our end only
    // makes its later log writes fail (Redis ignores SIGPIPE).
    ::close(pipe_fds[0]);
    if (ready) {
      auto pong = redis_command(port_, {"PING"});  // PONG, or NOAUTH with --requirepass
      if (pong && (pong->text == "PONG" || pong->text.starts_with("NOAUTH"))) return true;
    }
    error = log_.find("in use") != std::string::npos ? "port in use" : "redis-server did not start: " + log_;
    kill();
    return false;
  }

  std::string binary_;
  std::vector<std::string> extra_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace flexgate::testing
