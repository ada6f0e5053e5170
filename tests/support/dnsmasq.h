#pragma once
// A real DNS server for tests: dnsmasq (Debian's dnsmasq-base) as a child process on a free
// loopback port, configured from a private temp dir, answering only what the test wrote. Used by
// the resolver unit tests and the egress integration tests.

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

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/free_port.h"

namespace flexgate::testing {

// The A records of `name` from the DNS server at 127.0.0.1:`port`; nullopt when there is no
// answer within `timeout` or the answer is an error (NXDOMAIN, REFUSED).
inline std::optional<std::vector<std::string>> query_a(std::uint16_t port, const std::string& name,
                                                std::chrono::milliseconds timeout) {
  static std::atomic<std::uint16_t> next_id{0x4242};
  const std::uint16_t id = next_id++;
  std::string packet = {static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    packet += static_cast<char>(dot - start);
    packet += name.substr(start, dot - start);
    start = dot + 1;
  }
  packet += std::string("\0\0\1\0\1", 5);  // root, QTYPE A, QCLASS IN

  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::optional<std::vector<std::string>> result;
  if (::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&server), sizeof server) ==
      static_cast<ssize_t>(packet.size())) {
    pollfd pfd{fd, POLLIN, 0};
    unsigned char reply[1500];
    ssize_t n = ::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0 ? ::recv(fd, reply, sizeof reply, 0) : -1;
    if (n >= 12 && reply[0] == (id >> 8) && reply[1] == (id & 0xff) && (reply[3] & 0x0f) == 0) {
      const std::size_t answers = (reply[6] << 8) | reply[7];
      std::size_t at = 12;
      auto skip_name = [&]() {
        while (at < static_cast<std::size_t>(n)) {
          unsigned char length = reply[at];
          if ((length & 0xc0) == 0xc0) {
            at += 2;
            return;
          }
          at += 1 + length;
          if (length == 0) return;
        }
      };
      skip_name();
      at += 4;  // QTYPE, QCLASS
      std::vector<std::string> addresses;
      for (std::size_t i = 0; i < answers && at < static_cast<std::size_t>(n); ++i) {
        skip_name();
        if (at + 10 > static_cast<std::size_t>(n)) break;
        const unsigned type = (reply[at] << 8) | reply[at + 1];
        const std::size_t length = (reply[at + 8] << 8) | reply[at + 9];
        at += 10;
        if (type == 1 && length == 4 && at + 4 <= static_cast<std::size_t>(n)) {
          char text[INET_ADDRSTRLEN];
          ::inet_ntop(AF_INET, reply + at, text, sizeof text);
          addresses.emplace_back(text);
        }
        at += length;
      }
      result = std::move(addresses);
    }
  }
  ::close(fd);
  return result;
}

// TTL, in seconds, of every record the fixture serves unless a record sets its own.
inline constexpr int kDnsmasqLocalTtl = 30;

// The dnsmasq binary, or "" when it is not installed (tests skip then).
inline std::string find_dnsmasq() {
  for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

// One running dnsmasq. Killed (SIGKILL) and its directory removed on destruction; the kernel also
// kills it if the test process dies first (PR_SET_PDEATHSIG), so no server outlives a crash.
class Dnsmasq {
  struct Key {  // only start() constructs, through make_unique
    explicit Key() = default;
  };

 public:
  // Starts dnsmasq answering for `records` (dnsmasq config lines such as
  // "host-record=a.test,127.0.0.1") and for `hosts` (hosts-file lines, replaceable with
  // reload_hosts()). Every other name under .test is NXDOMAIN; names outside .test are REFUSED
  // (no upstream). Returns once a query is answered, or nullptr with `error` set.
  static std::unique_ptr<Dnsmasq> start(const std::vector<std::string>& records, const std::string& hosts,
                                        std::string& error) {
    const std::string binary = find_dnsmasq();
    if (binary.empty()) {
      error = "dnsmasq is not installed (apt-get install dnsmasq-base)";
      return nullptr;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "flexgate-dnsmasq-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      error = "mkdtemp failed";
      return nullptr;
    }
    auto server = std::make_unique<Dnsmasq>(Key{}, binary, pattern);
    server->write_file("hosts", hosts);
    // A port taken before dnsmasq binds it makes dnsmasq exit: try another.
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (server->launch(records, error)) return server;
      if (error.find("in use") == std::string::npos) return nullptr;
    }
    return nullptr;
  }

  Dnsmasq(Key, std::string binary, std::string dir) : binary_(std::move(binary)), dir_(std::move(dir)) {}
  ~Dnsmasq() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  // For dns.servers / DnsOptions::servers.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // Replaces the hosts file and makes dnsmasq re-read it (SIGHUP re-reads addn-hosts and clears
  // the cache). The reload is asynchronous: callers wait until the new answer shows.
  void reload_hosts(const std::string& hosts) {
    write_file("hosts.new", hosts);
    std::error_code ignored;  // a failure shows as the old answer staying
    std::filesystem::rename(std::filesystem::path(dir_) / "hosts.new", std::filesystem::path(dir_) / "hosts",
                            ignored);
    ::kill(pid_, SIGHUP);
  }

  // reload_hosts(), then waits (bounded) until `name` answers `expected`, so the change is visible
  // to the next lookup.
  bool reload_hosts(const std::string& hosts, const std::string& name, const std::vector<std::string>& expected) {
    reload_hosts(hosts);
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < limit) {
      auto answer = query_a(port_, name, std::chrono::milliseconds(200));
      if (answer && *answer == expected) return true;
    }
    return false;
  }

  // Names queried so far (A and AAAA of one name count once, in first-query order), without the
  // fixture's own readiness probes: proves what a resolver did or did not ask.
  std::vector<std::string> queried_names() const {
    std::vector<std::string> names;
    std::istringstream lines(read_file("dnsmasq.log"));
    for (std::string line; std::getline(lines, line);) {
      // "... dnsmasq[123]: query[AAAA] name.test from 127.0.0.1"
      const std::size_t at = line.find("]: query[");
      if (at == std::string::npos) continue;
      const std::size_t start = line.find("] ", at + 3);
      const std::size_t end = line.find(" from ", start);
      if (start == std::string::npos || end == std::string::npos) continue;
      std::string name = line.substr(start + 2, end - start - 2);
      if (name == kProbeName) continue;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
    return names;
  }

  // Everything dnsmasq printed (startup errors, every query and answer), for failure messages.
  std::string log() const { return read_file("stderr.log"); }

 private:
  static constexpr const char* kProbeName = "ready.dnsmasq.test";  // answered once dnsmasq is up

  bool launch(const std::vector<std::string>& records, std::string& error) {
    port_ = free_udp_and_tcp_port();
    if (port_ == 0) {
      error = "no free UDP port";
      return false;
    }
    std::ostringstream config;
    config << "port=" << port_ << "\n"
           << "listen-address=127.0.0.1\n"
           << "bind-interfaces\n"  // only 127.0.0.1:port, not the wildcard address
           << "no-resolv\n"        // no upstream servers: it answers only from this file
           << "no-hosts\n"         // ignore /etc/hosts
           << "local=/test/\n"     // unknown names under .test are NXDOMAIN, never forwarded
           << "local-ttl=" << kDnsmasqLocalTtl << "\n"
           << "addn-hosts=" << dir_ << "/hosts\n"
           << "pid-file=\n"
           << "log-queries\n"
           << "log-facility=" << dir_ << "/dnsmasq.log\n"
           << "host-record=" << kProbeName << ",127.0.0.1\n";
    for (const auto& line : records) config << line << "\n";
    write_file("dnsmasq.conf", config.str());
    write_file("stderr.log", "");

    // --no-daemon: foreground, and no switch of user or capabilities. That matters: a credential
    // change clears PR_SET_PDEATHSIG, and dnsmasq would then outlive a crashed test.
    std::vector<std::string> args = {binary_, "--no-daemon", "--conf-file=" + dir_ + "/dnsmasq.conf"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string stderr_path = dir_ + "/stderr.log";
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) {
      error = "fork failed";
      return false;
    }
    if (pid_ == 0) {
      // Child: only async-signal-safe calls until exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      const int out = ::open(stderr_path.c_str(), O_WRONLY | O_APPEND);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return wait_until_answering(error);
  }

  // Queries until dnsmasq answers; bounded, and stops as soon as the child exits.
  bool wait_until_answering(std::string& error) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < limit) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error = "dnsmasq exited (status " + std::to_string(status) + "): " + log();
        return false;
      }
      // Until dnsmasq binds, each query fails at once (connection refused) or times out.
      if (query_a(port_, kProbeName, std::chrono::milliseconds(200))) return true;
    }
    error = "dnsmasq did not answer within 10 s: " + log();
    stop();
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  void write_file(const std::string& name, const std::string& content) const {
    std::ofstream(std::filesystem::path(dir_) / name, std::ios::trunc) << content;
  }

  std::string read_file(const std::string& name) const {
    std::ifstream in(std::filesystem::path(dir_) / name);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
  }

  std::string binary_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace flexgate::testing
