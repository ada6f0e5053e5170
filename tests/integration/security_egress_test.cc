// The egress (SSRF) guard through the real binary: upstream names resolved through a real DNS
// server (dnsmasq, answering only what the test wrote) to blocked addresses, several addresses of
// which one is blocked, CNAMEs, answers that change between lookups; literal and oddly spelled
// blocked hosts and allowedHosts at load; absolute-form targets and Host headers.
//
// "Blocked" upstreams are real listeners (ScriptedUpstream bound to 127.0.0.2; all of 127/8 is
// loopback on Linux) listed in security.blockedIPs, so "never connected to" is observed, not
// assumed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "support/free_port.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

// ─── a real DNS server (the parts of tests/unit/net/dnsmasq_fixture.h needed here) ────────────
// The unit fixture waits for readiness with net::DnsResolver, which integration_tests does not
// link; this copy asks with a minimal UDP client instead.

// The A records of `name` from the DNS server at 127.0.0.1:`port`; nullopt when there is no
// answer within `timeout` or the answer is an error (NXDOMAIN, REFUSED).
std::optional<std::vector<std::string>> query_a(std::uint16_t port, const std::string& name,
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

// dnsmasq as a child process on a free loopback UDP port, answering only from its own files:
// `records` (config lines such as "cname=a.test,b.test") and a hosts file ("127.0.0.2 a.test"),
// replaceable with reload_hosts(). Other names under .test are NXDOMAIN, names outside REFUSED.
class Dnsmasq {
 public:
  static std::unique_ptr<Dnsmasq> start(const std::vector<std::string>& records, const std::string& hosts,
                                        std::string& error) {
    std::string binary;
    for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
      if (::access(path, X_OK) == 0) binary = path;
    }
    if (binary.empty()) {
      error = "dnsmasq is not installed (apt-get install dnsmasq-base; scripts/install-deps.sh installs it)";
      return nullptr;
    }
    std::string dir = (std::filesystem::temp_directory_path() / "flexgate-dnsmasq-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      error = "mkdtemp failed";
      return nullptr;
    }
    std::unique_ptr<Dnsmasq> server(new Dnsmasq(binary, dir));
    server->write_file("hosts", hosts);
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (server->launch(records, error)) return server;
      if (error.find("in use") == std::string::npos) return nullptr;
    }
    return nullptr;
  }

  ~Dnsmasq() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

  // Replaces the hosts file and makes dnsmasq re-read it (SIGHUP; also clears its cache). Returns
  // once `name` answers `expected` (bounded), so the change is visible to the next lookup.
  bool reload_hosts(const std::string& hosts, const std::string& name, const std::vector<std::string>& expected) {
    write_file("hosts.new", hosts);
    std::filesystem::rename(std::filesystem::path(dir_) / "hosts.new", std::filesystem::path(dir_) / "hosts");
    ::kill(pid_, SIGHUP);
    auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < limit) {
      auto answer = query_a(port_, name, std::chrono::milliseconds(200));
      if (answer && *answer == expected) return true;
      // dnsmasq handles the signal between queries; each query is a wait for its event.
    }
    return false;
  }

  std::string log() const { return read_file("stderr.log") + read_file("dnsmasq.log"); }

 private:
  static constexpr const char* kProbeName = "ready.dnsmasq.test";

  Dnsmasq(std::string binary, std::string dir) : binary_(std::move(binary)), dir_(std::move(dir)) {}

  bool launch(const std::vector<std::string>& records, std::string& error) {
    port_ = free_udp_and_tcp_port();
    if (port_ == 0) {
      error = "no free loopback port";
      return false;
    }
    std::ostringstream config;
    config << "port=" << port_ << "\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
           << "local=/test/\nlocal-ttl=30\naddn-hosts=" << dir_ << "/hosts\npid-file=\nlog-queries\n"
           << "log-facility=" << dir_ << "/dnsmasq.log\nhost-record=" << kProbeName << ",127.0.0.1\n";
    for (const auto& line : records) config << line << "\n";
    write_file("dnsmasq.conf", config.str());
    write_file("stderr.log", "");
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
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a crashed test
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
    // Until dnsmasq binds, each query fails at once (connection refused) or times out.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < limit) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error = "dnsmasq exited (status " + std::to_string(status) + "): " + log();
        return false;
      }
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

// ─── helpers ────────────────────────────────────────────────────────────────────────────────



// A gateway config with one upstream `echo` at `url` (line 7 of the file, for position checks),
// a catch-all route, and the given security / dns sections.
std::string config_for_url(const std::string& url, const std::string& security = "", const std::string& dns = "") {
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 2\n"
         "upstreams:\n  - name: echo\n    url: \"" + url + "\"\n    connectTimeout: 2s\n"
         "routes:\n" + kCatchAllRoute + security + dns + "logging:\n  level: info\n";
}

std::string dns_section(const Dnsmasq& dns) { return "dns:\n  servers: [\"" + dns.server() + "\"]\n  timeout: 2s\n"; }

std::string blocked_ips(const std::string& list) { return "security:\n  blockedIPs: [" + list + "]\n"; }

// Two listeners on the same port: one on 127.0.0.2 (to be blocked), one on 127.0.0.3 (allowed).
struct UpstreamPair {
  std::unique_ptr<ScriptedUpstream> blocked;  // 127.0.0.2
  std::unique_ptr<ScriptedUpstream> allowed;  // 127.0.0.3
  std::uint16_t port = 0;
};
UpstreamPair start_upstream_pair() {
  UpstreamPair pair;
  for (int attempt = 0; attempt < 10 && pair.port == 0; ++attempt) {
    auto blocked = std::make_unique<ScriptedUpstream>([](const std::string&) { return kOk; }, false, "127.0.0.2");
    if (!blocked->listening()) continue;
    auto allowed =
        std::make_unique<ScriptedUpstream>([](const std::string&) { return kOk; }, false, "127.0.0.3", blocked->port());
    if (!allowed->listening()) continue;
    pair.port = blocked->port();
    pair.blocked = std::move(blocked);
    pair.allowed = std::move(allowed);
  }
  EXPECT_NE(pair.port, 0) << "cannot listen on 127.0.0.2 and 127.0.0.3 with one port";
  return pair;
}

// A refusal by the egress guard: 403 JSON, an "egress_blocked" event naming the address and
// reason, a 403 access log line with an error.
void expect_egress_refused(Gateway& gateway, const Response& response, const std::string& cid,
                           const std::string& address, const std::string& reason_part) {
  EXPECT_TRUE(IsJsonError(response, 403));
  EXPECT_EQ(response.header("X-Correlation-ID"), cid);
  auto event = gateway.process->wait_for_line_matching([&](const std::string& line) {
    return line.find("\"egress_blocked\"") != std::string::npos && line.find(cid) != std::string::npos;
  });
  ASSERT_TRUE(event.has_value()) << "no egress_blocked event for " << cid;
  auto json = nlohmann::json::parse(*event, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << *event;
  EXPECT_EQ(json["upstream"], "echo");
  ASSERT_TRUE(json.contains("reason")) << *event;
  std::string reason = json["reason"];
  EXPECT_NE(reason.find(address), std::string::npos) << reason;
  EXPECT_NE(reason.find(reason_part), std::string::npos) << reason;
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)["status"], 403);
  EXPECT_EQ((*log)["error"], "forbidden");
}

Response get(const Gateway& gateway, const std::string& target, const std::string& cid,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("X-Correlation-ID", cid);
  return request(gateway.port, "GET", target, headers);
}

#define START_DNSMASQ(var, records, hosts)                 \
  std::string var##_error;                                 \
  auto var = Dnsmasq::start(records, hosts, var##_error);  \
  ASSERT_NE(var, nullptr) << var##_error

// ─── names resolving to blocked addresses ───────────────────────────────────────────────────

TEST(SecurityEgress, NameResolvingToCloudMetadataStartsButEveryRequestIs403) {
  START_DNSMASQ(dns, {}, "169.254.169.254 metadata.test\n");
  // Names are resolved at load but judged at connect: the gateway starts.
  auto gateway = start_gateway(config_for_url("http://metadata.test:80", "", dns_section(*dns)));
  ASSERT_NE(gateway.port, 0) << gateway.process->stderr_text();
  for (int i = 0; i < 2; ++i) {
    std::string cid = next_cid("metadata");
    auto response = get(gateway, "/latest/meta-data/iam/security-credentials/", cid);
    expect_egress_refused(gateway, response, cid, "169.254.169.254", "cloud metadata");
  }
}

TEST(SecurityEgress, NameResolvingToABlockedListenerIs403AndNeverConnects) {
  ScriptedUpstream internal([](const std::string&) { return kOk; }, false, "127.0.0.2");
  ASSERT_TRUE(internal.listening());
  START_DNSMASQ(dns, {}, "127.0.0.2 internal.test\n");
  auto gateway = start_gateway(config_for_url("http://internal.test:" + std::to_string(internal.port()),
                                              blocked_ips("\"127.0.0.2/32\""), dns_section(*dns)));
  ASSERT_NE(gateway.port, 0);
  std::string cid = next_cid("internal");
  expect_egress_refused(gateway, get(gateway, "/admin", cid), cid, "127.0.0.2", "blockedIPs");
  EXPECT_EQ(internal.connections_accepted(), 0u);
  EXPECT_TRUE(internal.requests().empty());
}

TEST(SecurityEgress, NameWithOneBlockedAddressUsesOnlyTheAllowedOne) {
  auto pair = start_upstream_pair();
  ASSERT_NE(pair.port, 0);
  // Both orders of the answer, so the blocked address comes first in at least one of them.
  for (const std::string hosts : {"127.0.0.2 multi.test\n127.0.0.3 multi.test\n",
                                  "127.0.0.3 multi.test\n127.0.0.2 multi.test\n"}) {
    SCOPED_TRACE(hosts);
    START_DNSMASQ(dns, {}, hosts);
    auto gateway = start_gateway(config_for_url("http://multi.test:" + std::to_string(pair.port),
                                                blocked_ips("\"127.0.0.2\""), dns_section(*dns)));
    ASSERT_NE(gateway.port, 0) << gateway.process->stderr_text();
    for (int i = 0; i < 4; ++i) {
      std::string cid = next_cid("multi");
      auto response = get(gateway, "/multi", cid);
      EXPECT_EQ(response.status, 200) << response.body;
      bool reached = false;
      for (const auto& raw : pair.allowed->requests()) reached = reached || raw.find(cid) != std::string::npos;
      EXPECT_TRUE(reached) << "request " << cid << " did not reach 127.0.0.3";
    }
  }
  EXPECT_EQ(pair.blocked->connections_accepted(), 0u) << "the gateway connected to the blocked address";
}

TEST(SecurityEgress, CnameToABlockedAddressIs403) {
  ScriptedUpstream internal([](const std::string&) { return kOk; }, false, "127.0.0.2");
  ASSERT_TRUE(internal.listening());
  START_DNSMASQ(dns, (std::vector<std::string>{"cname=alias.test,internal.test", "cname=meta-alias.test,metadata.test"}),
                "127.0.0.2 internal.test\n169.254.169.254 metadata.test\n");
  {
    auto gateway = start_gateway(config_for_url("http://alias.test:" + std::to_string(internal.port()),
                                                blocked_ips("\"127.0.0.0/30\""), dns_section(*dns)));
    ASSERT_NE(gateway.port, 0) << gateway.process->stderr_text();
    std::string cid = next_cid("cname");
    expect_egress_refused(gateway, get(gateway, "/x", cid), cid, "127.0.0.2", "blockedIPs");
  }
  {
    auto gateway = start_gateway(config_for_url("http://meta-alias.test", "", dns_section(*dns)));
    ASSERT_NE(gateway.port, 0) << gateway.process->stderr_text();
    std::string cid = next_cid("cname-meta");
    expect_egress_refused(gateway, get(gateway, "/x", cid), cid, "169.254.169.254", "cloud metadata");
  }
  EXPECT_EQ(internal.connections_accepted(), 0u);
}

TEST(SecurityEgress, AnswerChangedToABlockedAddressIsRefusedAfterReload) {
  auto pair = start_upstream_pair();
  ASSERT_NE(pair.port, 0);
  START_DNSMASQ(dns, {}, "127.0.0.3 rebind.test\n");
  std::string config = config_for_url("http://rebind.test:" + std::to_string(pair.port),
                                      blocked_ips("\"127.0.0.2/32\""), dns_section(*dns));
  auto gateway = start_gateway(config);
  ASSERT_NE(gateway.port, 0);

  std::string before = next_cid("rebind-before");
  ASSERT_EQ(get(gateway, "/r", before).status, 200);  // through 127.0.0.3; its connection is pooled
  EXPECT_EQ(pair.allowed->requests().size(), 1u);

  ASSERT_TRUE(dns->reload_hosts("127.0.0.2 rebind.test\n", "rebind.test", {"127.0.0.2"})) << dns->log();
  // The running snapshot still holds the addresses it checked and connects to: never 127.0.0.2.
  std::string between = next_cid("rebind-between");
  auto between_response = get(gateway, "/r", between);
  EXPECT_TRUE(between_response.status == 200 || between_response.status == 403) << between_response.status;
  EXPECT_EQ(pair.blocked->connections_accepted(), 0u);

  // SIGHUP re-reads the config and resolves again: the new answer is blocked.
  gateway.process->signal(SIGHUP);
  ASSERT_TRUE(gateway.process->wait_for_line("\"config_reloaded\"")) << gateway.process->stderr_text();
  std::string after = next_cid("rebind-after");
  expect_egress_refused(gateway, get(gateway, "/r", after), after, "127.0.0.2", "blockedIPs");

  // A gateway started now sees the new answer at load: it starts, and refuses at connect.
  auto restarted = start_gateway(config);
  ASSERT_NE(restarted.port, 0);
  std::string fresh = next_cid("rebind-fresh");
  expect_egress_refused(restarted, get(restarted, "/r", fresh), fresh, "127.0.0.2", "blockedIPs");
  EXPECT_EQ(pair.blocked->connections_accepted(), 0u);
}

// ─── literal hosts, allowedHosts: config errors ─────────────────────────────────────────────

// `flexgate validate` exits 1 with "FILE:7:10: upstreams[0].url: ..." (the url value) containing `message`, and
// `flexgate run` exits 1 without listening.
void expect_config_error_at_url(const std::string& yaml, const std::string& message) {
  std::string path = write_temp_file(yaml);
  auto [code, output] = run_flexgate({"validate", path});
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find(path + ":7:10: upstreams[0].url: "), std::string::npos) << output;
  EXPECT_NE(output.find(message), std::string::npos) << output;
  ChildProcess run({FLEXGATE_BINARY, "run", "-c", path});
  EXPECT_EQ(run.wait_exit(10s), 1);
  EXPECT_FALSE(run.wait_for_line("\"listening\"", 0ms).has_value());
  EXPECT_NE(run.stderr_text().find(path + ":7:10: upstreams[0].url: "), std::string::npos) << run.stderr_text();
}

TEST(SecurityEgress, LiteralBlockedUpstreamIsAConfigError) {
  for (const std::string url : {"http://169.254.169.254", "http://169.254.169.254:8080", "http://169.254.170.2",
                                "http://[fd00:ec2::254]", "http://100.100.100.200", "http://0.0.0.0:80",
                                "http://[::ffff:169.254.169.254]", "http://[::ffff:a9fe:a9fe]",
                                "http://[64:ff9b::a9fe:a9fe]"}) {
    SCOPED_TRACE(url);
    expect_config_error_at_url(config_for_url(url), "is blocked");
  }
  // blockedIPs applies at load to literals too.
  expect_config_error_at_url(config_for_url("http://127.0.0.2:8080", blocked_ips("\"127.0.0.0/8\"")), "is blocked");
}

TEST(SecurityEgress, AllowedHostsViolationIsAConfigError) {
  expect_config_error_at_url(
      config_for_url("http://127.0.0.1:8080", "security:\n  allowedHosts: [\"*.internal.corp\", \"10.1.2.3\"]\n"),
      "not in security.allowedHosts");
  expect_config_error_at_url(
      config_for_url("http://internal.corp:8080", "security:\n  allowedHosts: [\"*.internal.corp\"]\n"),
      "not in security.allowedHosts");  // the bare suffix does not match "*.suffix"
  auto [code, output] = run_flexgate(
      {"validate", write_temp_file(config_for_url("http://127.0.0.1:8080", "security:\n  allowedHosts: [\"127.0.0.1\"]\n"))});
  EXPECT_EQ(code, 0) << output;
}

TEST(SecurityEgress, OddNumericSpellingsOfBlockedAddressesAreConfigErrors) {
  // Spellings inet_aton (and so many resolvers) would turn into 169.254.169.254: refused as text.
  for (const std::string host : {"2852039166", "0xA9FEA9FE", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518",
                                 "169.16689662", "0251.254.169.254", "127.000.000.001", "0"}) {
    SCOPED_TRACE(host);
    expect_config_error_at_url(config_for_url("http://" + host + ":80"), "is not a valid IPv4 address");
  }
  // IPv6 spellings of the metadata address: valid literals, judged by the IPv4 they embed.
  for (const std::string host : {"[::ffff:169.254.169.254]", "[::FFFF:A9FE:A9FE]", "[0:0:0:0:0:ffff:169.254.169.254]",
                                 "[::169.254.169.254]", "[2002:a9fe:a9fe::1]", "[64:ff9b:1::a9fe:a9fe]"}) {
    SCOPED_TRACE(host);
    expect_config_error_at_url(config_for_url("http://" + host + ":80"), "cloud metadata");
  }
  for (const std::string host : {"[fe80::a9fe:a9fe%25eth0]", "169.254.169.254%2e", "169.254.169.254."}) {
    SCOPED_TRACE(host);
    expect_config_error_at_url(config_for_url("http://" + host + ":80"), "is not a valid");
  }
}

TEST(SecurityEgress, V4MappedAaaaRecordOfABlockedAddressIs403AndNeverConnects) {
  // An AF_INET6 socket connecting to ::ffff:127.0.0.2 reaches 127.0.0.2: the guard must judge the
  // embedded IPv4 address against an IPv4 blockedIPs entry.
  ScriptedUpstream internal([](const std::string&) { return kOk; }, false, "127.0.0.2");
  ASSERT_TRUE(internal.listening());
  START_DNSMASQ(dns, {}, "::ffff:127.0.0.2 mapped.test\n");
  auto gateway = start_gateway(config_for_url("http://mapped.test:" + std::to_string(internal.port()),
                                              blocked_ips("\"127.0.0.0/8\""), dns_section(*dns)));
  ASSERT_NE(gateway.port, 0) << gateway.process->stderr_text();
  std::string cid = next_cid("mapped");
  expect_egress_refused(gateway, get(gateway, "/x", cid), cid, "127.0.0.2", "blockedIPs");
  EXPECT_EQ(internal.connections_accepted(), 0u);
  // The same spelling as a literal is refused at load.
  expect_config_error_at_url(config_for_url("http://[::ffff:127.0.0.2]:80", blocked_ips("\"127.0.0.0/8\"")),
                             "is blocked");
}

// ─── the request cannot choose the destination ──────────────────────────────────────────────

TEST(SecurityEgress, AbsoluteFormNamingAnotherHostIs400AndHostNeverPicksTheUpstream) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  // A decoy on another loopback address with the same port: a request steering by Host or by an
  // absolute-form target would land here.
  ScriptedUpstream decoy([](const std::string&) { return kOk; }, false, "127.0.0.2", upstream.port());
  ASSERT_TRUE(decoy.listening());
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute));
  ASSERT_NE(gateway.port, 0);
  std::string decoy_authority = "127.0.0.2:" + std::to_string(upstream.port());

  for (const std::string& target : std::vector<std::string>{"http://169.254.169.254/latest/meta-data/",
                                                             "http://" + decoy_authority + "/x", "http://evil.example/x"}) {
    SCOPED_TRACE(target);
    std::string cid = next_cid("absolute");
    Connection connection(gateway.port);
    connection.send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nX-Correlation-ID: " + cid + "\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_TRUE(IsJsonError(*response, 400));
    EXPECT_EQ(response->header("Connection"), "close");
    auto log = wait_for_access_log(*gateway.process, cid);
    ASSERT_TRUE(log.has_value());
    EXPECT_EQ((*log)["status"], 400);
    EXPECT_EQ((*log)["error"], "bad_request");
  }
  EXPECT_TRUE(upstream.requests().empty());

  // Host (and a consistent absolute-form target) only ever select among routes: the request goes
  // to the configured upstream, with the upstream's own Host.
  std::size_t forwarded = 0;
  for (const std::string& host : std::vector<std::string>{"169.254.169.254", decoy_authority, "evil.example:80"}) {
    SCOPED_TRACE(host);
    std::string cid = next_cid("host");
    Connection connection(gateway.port);
    connection.send("GET /h HTTP/1.1\r\nHost: " + host + "\r\nX-Correlation-ID: " + cid + "\r\nConnection: close\r\n\r\n");
    auto by_host = connection.read_response();
    ASSERT_TRUE(by_host.has_value());
    EXPECT_EQ(by_host->status, 200);
    std::string absolute_cid = next_cid("absolute-same");
    Connection absolute(gateway.port);
    absolute.send("GET http://" + host + "/a HTTP/1.1\r\nHost: " + host + "\r\nX-Correlation-ID: " + absolute_cid +
                  "\r\nConnection: close\r\n\r\n");
    auto by_absolute = absolute.read_response();
    ASSERT_TRUE(by_absolute.has_value());
    EXPECT_EQ(by_absolute->status, 200) << by_absolute->body;
    forwarded += 2;
  }
  auto seen = upstream.requests();
  EXPECT_EQ(seen.size(), forwarded);
  for (const auto& raw : seen) {
    EXPECT_NE(raw.find("\r\nHost: 127.0.0.1:" + std::to_string(upstream.port()) + "\r\n"), std::string::npos) << raw;
  }
  EXPECT_EQ(decoy.connections_accepted(), 0u) << "a request steered the gateway to another address";
}

}  // namespace
}  // namespace flexgate::testing
