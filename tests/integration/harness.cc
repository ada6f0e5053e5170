#include "integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "http/chunked.h"
#include "http/parser.h"

namespace flexgate::testing {
namespace {

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::uint16_t port_from_listening_line(const std::string& line) {
  auto json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.contains("port")) return 0;
  if (json["port"].is_string()) return static_cast<std::uint16_t>(std::stoi(json["port"].get<std::string>()));
  return json["port"].get<std::uint16_t>();
}

}  // namespace

// ─── ChildProcess ───────────────────────────────────────────────────────────────────────────

ChildProcess::ChildProcess(std::vector<std::string> argv, long max_open_files) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
  char stderr_template[] = "/tmp/flexgate-test-stderr-XXXXXX";
  int stderr_fd = ::mkstemp(stderr_template);
  stderr_path_ = stderr_template;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(stderr_fd, STDERR_FILENO);
    if (max_open_files > 0) {
      rlimit limit{static_cast<rlim_t>(max_open_files), static_cast<rlim_t>(max_open_files)};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(stderr_fd);
  stdout_fd_ = pipe_fds[0];
  reader_ = std::thread([this] { read_stdout(); });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !wait_exit(0ms)) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (reader_.joinable()) reader_.join();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
}

void ChildProcess::read_stdout() {
  std::string pending;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    pending.append(chunk, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::lock_guard lock(mutex_);
      lines_.push_back(pending.substr(0, newline));
      pending.erase(0, newline + 1);
      changed_.notify_all();
    }
  }
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::size_t checked = 0;
  std::optional<std::string> found;
  changed_.wait_for(lock, timeout, [&] {
    for (; checked < lines_.size(); ++checked) {
      if (lines_[checked].find(needle) != std::string::npos) {
        found = lines_[checked];
        return true;
      }
    }
    return eof_;
  });
  return found;
}

std::optional<std::string> ChildProcess::wait_for_line_matching(const std::function<bool(const std::string&)>& matches,
                                                                std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::size_t checked = 0;
  std::optional<std::string> found;
  changed_.wait_for(lock, timeout, [&] {
    for (; checked < lines_.size(); ++checked) {
      if (matches(lines_[checked])) {
        found = lines_[checked];
        return true;
      }
    }
    return eof_;
  });
  return found;
}

std::optional<nlohmann::json> wait_for_access_log(ChildProcess& process, const std::string& correlation_id,
                                                  std::chrono::milliseconds timeout) {
  std::optional<nlohmann::json> record;
  process.wait_for_line_matching(
      [&](const std::string& line) {
        if (line.find(correlation_id) == std::string::npos) return false;
        auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_discarded() || !json.is_object() || json.value("type", "") != "access" ||
            json.value("correlationId", "") != correlation_id) {
          return false;
        }
        record = std::move(json);
        return true;
      },
      timeout);
  return record;
}

std::vector<std::string> ChildProcess::lines() {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string ChildProcess::stderr_text() {
  std::ifstream in(stderr_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void ChildProcess::signal(int signal_number) {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  // A pidfd becomes readable when the process exits: an event to wait on, not a polling loop.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    ::close(pidfd);
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  return exit_code_;
}

// ─── processes ──────────────────────────────────────────────────────────────────────────────

EchoServer start_echo_server() {
  EchoServer echo;
  echo.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{FLEXGATE_BINARY, "echo-server", "--listen", "127.0.0.1:0", "--workers", "1"});
  auto line = echo.process->wait_for_line("\"listening\"");
  EXPECT_TRUE(line.has_value()) << "echo server did not start: " << echo.process->stderr_text();
  if (line) echo.port = port_from_listening_line(*line);
  return echo;
}

std::string write_temp_file(const std::string& content, const std::string& suffix) {
  std::string path_template = "/tmp/flexgate-test-XXXXXX" + suffix;
  std::vector<char> path(path_template.begin(), path_template.end());
  path.push_back('\0');
  int fd = ::mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0) return {};
  ::close(fd);
  std::ofstream(path.data()) << content;
  return path.data();
}

Gateway start_gateway(const std::string& yaml, long max_open_files) {
  Gateway gateway;
  gateway.config_path = write_temp_file(yaml);
  gateway.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{FLEXGATE_BINARY, "run", "-c", gateway.config_path}, max_open_files);
  // Generous: an ASan build starting on two loaded cores can take seconds.
  auto line = gateway.process->wait_for_line("\"listening\"", 30s);
  EXPECT_TRUE(line.has_value()) << "flexgate did not start: " << gateway.process->stderr_text();
  if (line) gateway.port = port_from_listening_line(*line);
  return gateway;
}

std::pair<int, std::string> run_flexgate(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::string command = FLEXGATE_BINARY;
  for (const auto& arg : args) command += " '" + arg + "'";
  std::string input_path;
  if (!stdin_text.empty()) {
    input_path = write_temp_file(stdin_text, ".txt");
    command += " < '" + input_path + "'";
  }
  command += " 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  int status = ::pclose(pipe);
  if (!input_path.empty()) ::unlink(input_path.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// ─── Response / Connection ──────────────────────────────────────────────────────────────────

std::string Response::header(const std::string& name) const {
  std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (lower(key) == wanted) return value;
  }
  return "";
}

nlohmann::json Response::json() const { return nlohmann::json::parse(body, nullptr, false); }

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

Connection::Connection(std::uint16_t port) : fd_(connect_loopback(port)) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

bool Connection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void Connection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool Connection::fill(std::chrono::milliseconds timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[65536];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  received_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<Response> Connection::read_response(bool head_request, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  http::ResponseHead head;
  http::ParseOutcome outcome;
  http::Limits limits;
  limits.max_head_bytes = 1 << 20;
  for (;;) {
    outcome = http::parse_response_head(buffer_, limits, head_request ? http::Method::kHead : http::Method::kGet, head);
    if (outcome.status == http::ParseStatus::kComplete) {
      if (head.status >= 100 && head.status < 200) {
        buffer_.erase(0, outcome.consumed);
        continue;
      }
      break;
    }
    if (outcome.status == http::ParseStatus::kError) return std::nullopt;
    if (!fill(std::chrono::milliseconds(remaining_ms(deadline)))) return std::nullopt;
  }
  Response response;
  response.status = head.status;
  for (const auto& field : head.fields) response.headers.emplace_back(field.name, field.value);
  auto framing = head.framing;
  auto length = head.content_length;
  buffer_.erase(0, outcome.consumed);
  switch (framing) {
    case http::BodyFraming::kNone:
      response.complete = true;
      break;
    case http::BodyFraming::kContentLength:
      while (buffer_.size() < length) {
        if (!fill(std::chrono::milliseconds(remaining_ms(deadline)))) break;
      }
      response.complete = buffer_.size() >= length;
      response.body = buffer_.substr(0, std::min<std::size_t>(length, buffer_.size()));
      buffer_.erase(0, response.body.size());
      break;
    case http::BodyFraming::kChunked: {
      http::ChunkedDecoder decoder;
      for (;;) {
        std::size_t used = 0;
        bool done = false;
        bool error = false;
        while (used < buffer_.size()) {
          auto step = decoder.next(std::string_view(buffer_).substr(used));
          used += step.consumed;
          if (step.kind == http::ChunkedDecoder::Kind::kData) response.body.append(step.data);
          if (step.kind == http::ChunkedDecoder::Kind::kDone) done = true;
          if (step.kind == http::ChunkedDecoder::Kind::kError) error = true;
          if (done || error || step.kind == http::ChunkedDecoder::Kind::kNeedMore) break;
        }
        buffer_.erase(0, used);
        if (done) {
          response.complete = true;
          break;
        }
        if (error || !fill(std::chrono::milliseconds(remaining_ms(deadline)))) break;
      }
      break;
    }
    case http::BodyFraming::kUntilClose:
      while (fill(std::chrono::milliseconds(remaining_ms(deadline)))) {
      }
      response.body = buffer_;
      buffer_.clear();
      response.complete = true;
      break;
  }
  return response;
}

std::string Connection::read_until_close(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fill(std::chrono::milliseconds(remaining_ms(deadline)))) {
  }
  std::string all = buffer_;
  buffer_.clear();
  return all;
}

bool Connection::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, remaining_ms(deadline));
    if (ready <= 0) return false;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    received_.append(chunk, static_cast<std::size_t>(n));
  }
}

Connection::End Connection::wait_end(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, remaining_ms(deadline));
    if (ready <= 0) return End::kOpen;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n == 0) return End::kClosed;
    if (n < 0) return errno == ECONNRESET ? End::kReset : End::kClosed;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    received_.append(chunk, static_cast<std::size_t>(n));
  }
}

Response request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  Connection connection(port);
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& [name, value] : headers) raw += name + ": " + value + "\r\n";
  if (!body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "Connection: close\r\n\r\n" + body;
  connection.send(raw);
  auto response = connection.read_response(method == "HEAD");
  return response.value_or(Response{});
}

// ─── ScriptedUpstream ───────────────────────────────────────────────────────────────────────

ScriptedUpstream::ScriptedUpstream(Responder respond, bool close_after_response)
    : ScriptedUpstream(std::move(respond), close_after_response, "127.0.0.1", 0) {}

ScriptedUpstream::ScriptedUpstream(Responder respond, bool close_after_response, const std::string& bind_address,
                                   std::uint16_t port)
    : respond_(std::move(respond)), close_after_response_(close_after_response) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, bind_address.c_str(), &address.sin_addr) != 1) address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool bound = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::listen(listen_fd_, 64);
  socklen_t length = sizeof(address);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = bound ? ntohs(address.sin_port) : 0;
  acceptor_ = std::thread([this] { serve(); });
}

ScriptedUpstream::~ScriptedUpstream() {
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

void ScriptedUpstream::serve() {
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

void ScriptedUpstream::handle(int fd) {
  std::string buffer;
  char chunk[65536];
  auto read_more = [&]() {
    pollfd pfd{fd, POLLIN, 0};
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
      }
      int ready = ::poll(&pfd, 1, 100);
      if (ready < 0) return false;
      if (ready > 0) break;
    }
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  bool peer_closed = false;
  for (;;) {
    http::RequestHead head;
    http::ParseOutcome outcome;
    http::Limits limits;
    limits.max_head_bytes = 1 << 20;
    limits.max_header_fields = http::kMaxHeaderFieldsCapacity;  // the gateway adds its own fields
    for (;;) {
      outcome = http::parse_request_head(buffer, limits, head);
      if (outcome.status != http::ParseStatus::kPartial) break;
      if (!read_more()) {
        peer_closed = true;
        break;
      }
    }
    if (peer_closed || outcome.status == http::ParseStatus::kError) break;
    std::size_t total = outcome.consumed;
    if (head.framing == http::BodyFraming::kContentLength) {
      while (buffer.size() < total + head.content_length) {
        if (!read_more()) {
          peer_closed = true;
          break;
        }
      }
      total += head.content_length;
    } else if (head.framing == http::BodyFraming::kChunked) {
      http::ChunkedDecoder decoder;
      std::size_t used = total;
      for (;;) {
        bool done = false;
        while (used < buffer.size()) {
          auto step = decoder.next(std::string_view(buffer).substr(used));
          used += step.consumed;
          if (step.kind == http::ChunkedDecoder::Kind::kDone || step.kind == http::ChunkedDecoder::Kind::kError) {
            done = true;
            break;
          }
          if (step.kind == http::ChunkedDecoder::Kind::kNeedMore) break;
        }
        if (done) break;
        if (!read_more()) {
          peer_closed = true;
          break;
        }
      }
      total = used;
    }
    if (peer_closed) break;
    std::string raw = buffer.substr(0, total);
    buffer.erase(0, total);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(raw);
      changed_.notify_all();
    }
    std::string answer = respond_(raw);
    if (answer.empty()) break;
    std::size_t sent = 0;
    while (sent < answer.size()) {
      ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    if (close_after_response_ || answer.find("Connection: close") != std::string::npos) break;
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  if (peer_closed) ++peer_closes_;
  changed_.notify_all();
}

std::vector<std::string> ScriptedUpstream::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t ScriptedUpstream::connections_accepted() {
  std::lock_guard lock(mutex_);
  return accepted_;
}

bool ScriptedUpstream::wait_peer_closes(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return peer_closes_ >= count; });
}

bool ScriptedUpstream::wait_requests(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

::testing::AssertionResult IsJsonError(const Response& response, int status) {
  if (response.status != status) {
    return ::testing::AssertionFailure() << "status " << response.status << ", expected " << status
                                         << "; body: " << response.body;
  }
  if (response.header("Content-Type") != "application/json") {
    return ::testing::AssertionFailure() << "Content-Type '" << response.header("Content-Type") << "'";
  }
  auto body = response.json();
  if (body.is_discarded() || !body.is_object()) return ::testing::AssertionFailure() << "not JSON: " << response.body;
  for (const char* key : {"error", "message", "correlationId"}) {
    if (!body.contains(key) || !body[key].is_string()) {
      return ::testing::AssertionFailure() << "no string \"" << key << "\" in " << response.body;
    }
  }
  if (body["message"].get<std::string>().empty()) return ::testing::AssertionFailure() << "empty message";
  if (body["correlationId"] != response.header("X-Correlation-ID")) {
    return ::testing::AssertionFailure() << "correlationId differs from X-Correlation-ID: " << response.body;
  }
  return ::testing::AssertionSuccess();
}

std::string hex_decode(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char chunk[4096];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
  ::pclose(pipe);
  return out;
}

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 64) == 0 &&
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace flexgate::testing
