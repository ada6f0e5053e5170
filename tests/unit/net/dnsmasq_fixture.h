#pragma once
// A real DNS server for resolver tests: dnsmasq (Debian's dnsmasq-base) as a child process on a
// free loopback UDP port, configured from a private temp dir, answering only what the test wrote.

#include "support/free_port.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/dns_resolver.h"

namespace flexgate::net::test {

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
    port_ = flexgate::testing::free_udp_and_tcp_port();
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
    DnsOptions options;
    options.servers = {server()};
    options.timeout = std::chrono::milliseconds(200);
    auto resolver = DnsResolver::create(options, error);
    if (resolver == nullptr) return false;
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < limit) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error = "dnsmasq exited (status " + std::to_string(status) + "): " + log();
        return false;
      }
      // Until dnsmasq binds, each query fails at once with "connection refused".
      if (resolver->resolve(kProbeName).ok()) return true;
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

}  // namespace flexgate::net::test
