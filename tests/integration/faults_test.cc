// Faults with real processes and sockets. For each: the gateway keeps serving another client
// (a healthy upstream on its own route) during and after the fault, answers the documented status,
// its descriptor count (/proc/<pid>/fd) comes back to the baseline exactly once the connections
// are gone (polled with a deadline), its RSS stays within a generous bound, and it is still alive.
//
// Faults covered elsewhere (not repeated here): upstream refusing connections, closing or resetting
// before answering, malformed/truncated responses (upstream_failures_test.cc and the raw-byte
// cases in tests/conformance/upstream_cases.json); slow upstream → 504, single slowloris
// connection, idle keep-alive (timeouts_test.cc); Redis killed and restarted
// (ratelimit_redis_test.cc: KilledRedisFallsBackLocallyAndRecoversWithoutA5xx); stalled reader
// with flat memory (streaming_test.cc).

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "support/dnsmasq.h"

namespace flexgate::testing {
namespace {

std::size_t fd_count(int pid) {
  std::size_t count = 0;
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

long status_kib(int pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// Generous: the point is "no growth per faulty connection", not a tight memory budget (ASan
// builds run the same tests).
constexpr long kRssSlackKib = 64 * 1024;

// A gateway with two upstreams: `victim` (the faulty one, catch-all route) and `healthy` (the
// echo server, route /healthy/*). Upstream connections are not pooled, so once every client is
// gone the gateway holds exactly its baseline descriptors.
struct FaultBed {
  EchoServer healthy;
  Gateway gateway;
  std::size_t baseline_fds = 0;
  long baseline_rss_kib = 0;

  FaultBed(const std::string& victim_url, const std::string& proxy_extra = "", const std::string& victim_extra = "",
           const std::string& top_extra = "", long max_open_files = 0) {
    healthy = start_echo_server();
    std::string yaml = "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n" + proxy_extra +
                       "upstreams:\n  - name: victim\n    url: \"" + victim_url + "\"\n    pool:\n      maxIdle: 0\n" +
                       victim_extra + "  - name: healthy\n    url: \"http://127.0.0.1:" + std::to_string(healthy.port) +
                       "\"\n    pool:\n      maxIdle: 0\n" +
                       "routes:\n  - path: \"/healthy/*\"\n    upstream: healthy\n  - path: \"/*\"\n    upstream: victim\n" +
                       top_extra + "logging:\n  level: info\n";
    gateway = start_gateway(yaml, max_open_files);
    if (gateway.port == 0) return;
    // Warm up (lazily created descriptors), then take the baseline once nothing is in flight.
    EXPECT_EQ(request(gateway.port, "GET", "/healthy/warmup").status, 200);
    std::size_t before = 0;
    eventually([&] {
      std::size_t now = fd_count(pid());
      bool stable = now == before;
      before = now;
      return stable;
    }, 2s);
    baseline_fds = fd_count(pid());
    baseline_rss_kib = status_kib(pid(), "VmRSS");
  }
  int pid() const { return gateway.process->pid(); }
  bool alive() { return !gateway.process->wait_exit(0ms).has_value(); }
  int healthy_status() { return request(gateway.port, "GET", "/healthy/ping").status; }

  // Alive, serving, back to the baseline descriptors, RSS within the slack.
  void expect_recovered() {
    EXPECT_TRUE(alive()) << gateway.process->stderr_text();
    EXPECT_EQ(healthy_status(), 200);
    EXPECT_TRUE(eventually([&] { return fd_count(pid()) == baseline_fds; }))
        << "descriptors: " << fd_count(pid()) << " now, " << baseline_fds << " at the baseline";
    EXPECT_LT(status_kib(pid(), "VmRSS"), baseline_rss_kib + kRssSlackKib);
  }
};

// A TCP upstream on 127.0.0.1 that accepts and then, per connection: never answers (kSilent:
// holds it open, reading nothing), or reads the request head and resets (kReset).
class MisbehavingUpstream {
 public:
  enum class Mode { kSilent, kReset };
  explicit MisbehavingUpstream(Mode mode) : mode_(mode) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::listen(listen_fd_, 128);
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~MisbehavingUpstream() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
    for (int fd : held_) ::close(fd);
  }
  std::uint16_t port() const { return port_; }
  std::size_t accepted() const { return accepted_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      ++accepted_;
      if (mode_ == Mode::kSilent) {
        held_.push_back(fd);
        continue;
      }
      std::string head;
      char chunk[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 5000) <= 0) break;
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) break;
        head.append(chunk, static_cast<std::size_t>(n));
      }
      linger option{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
      ::close(fd);
    }
  }

  Mode mode_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> accepted_{0};
  std::vector<int> held_;
};

std::string correlated_get(const std::string& target, const std::string& id, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: a\r\nX-Correlation-ID: " + id + "\r\n" + extra + "\r\n";
}

// ─── upstream faults ────────────────────────────────────────────────────────────────────────

TEST(Faults, UpstreamKilledMidResponseAbortsTheClientAndOthersAreServed) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  timeout: 60s\n");
  ASSERT_NE(bed.gateway.port, 0);
  Connection client(bed.gateway.port);
  client.send(correlated_get("/bytes/1000000000", "fault-killed-mid-response", "Connection: close\r\n"));
  // Some of the body has arrived: the response is under way.
  char chunk[65536];
  std::uint64_t received = 0;
  while (received < (1u << 20)) {
    ssize_t n = ::recv(client.fd(), chunk, sizeof(chunk), 0);
    ASSERT_GT(n, 0);
    received += static_cast<std::uint64_t>(n);
  }
  EXPECT_EQ(bed.healthy_status(), 200);  // served during the download
  victim.process->signal(SIGKILL);
  ASSERT_TRUE(victim.process->wait_exit(10s).has_value());
  // The client sees the connection end before the announced 1e9 bytes: a truncation.
  for (;;) {
    ssize_t n = ::recv(client.fd(), chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received += static_cast<std::uint64_t>(n);
  }
  EXPECT_LT(received, 1000000000u);
  // The dead upstream is now refused: 502, and the other route still works.
  EXPECT_EQ(request(bed.gateway.port, "GET", "/after").status, 502);
  bed.expect_recovered();
}

TEST(Faults, UpstreamThatAcceptsAndNeverAnswersIs504ForEveryWaitingClient) {
  MisbehavingUpstream victim(MisbehavingUpstream::Mode::kSilent);
  FaultBed bed(victim.url(), "", "    timeout: 500ms\n");
  ASSERT_NE(bed.gateway.port, 0);
  std::vector<std::unique_ptr<Connection>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<Connection>(bed.gateway.port));
    clients.back()->send(correlated_get("/hang", "fault-silent-" + std::to_string(i), "Connection: close\r\n"));
  }
  EXPECT_TRUE(eventually([&] { return victim.accepted() >= 10; }));
  EXPECT_EQ(bed.healthy_status(), 200);  // served while ten requests hang
  for (auto& client : clients) {
    auto response = client->read_response(false, 10s);
    ASSERT_TRUE(response);
    EXPECT_TRUE(IsJsonError(*response, 504));
  }
  clients.clear();
  bed.expect_recovered();  // every hung upstream socket was closed by the gateway
}

TEST(Faults, UpstreamThatResetsEveryConnectionIs502WithoutLeaks) {
  MisbehavingUpstream victim(MisbehavingUpstream::Mode::kReset);
  FaultBed bed(victim.url());
  ASSERT_NE(bed.gateway.port, 0);
  for (int i = 0; i < 50; ++i) {
    auto response = request(bed.gateway.port, "GET", "/reset-" + std::to_string(i));
    EXPECT_TRUE(IsJsonError(response, 502));
  }
  EXPECT_EQ(victim.accepted(), 50u);
  bed.expect_recovered();
}

TEST(Faults, SlowUpstreamWithinItsTimeoutDoesNotHoldUpOtherClients) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "", "    timeout: 30s\n");
  ASSERT_NE(bed.gateway.port, 0);
  std::vector<std::unique_ptr<Connection>> slow;
  for (int i = 0; i < 5; ++i) {
    slow.push_back(std::make_unique<Connection>(bed.gateway.port));
    slow.back()->send(correlated_get("/delay/1500", "fault-slow-" + std::to_string(i), "Connection: close\r\n"));
  }
  // One worker: while five requests wait on the slow upstream, others are answered.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(bed.healthy_status(), 200);
  for (auto& client : slow) {
    auto response = client->read_response(false, 20s);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  slow.clear();
  bed.expect_recovered();
}

TEST(Faults, DnsThatTimesOutKeepsTheLastAddresses) {
  auto healthy_upstream = start_echo_server();
  std::string dns_error;
  // TTL 1 s: the gateway asks again every second.
  auto dns = Dnsmasq::start({"host-record=victim.test,127.0.0.1,1"}, "", dns_error);
  if (!dns) GTEST_SKIP() << dns_error;
  const std::uint16_t dns_port = dns->port();
  FaultBed bed("http://victim.test:" + std::to_string(healthy_upstream.port), "", "",
               "dns:\n  servers: [\"127.0.0.1:" + std::to_string(dns_port) + "\"]\n  timeout: 300ms\n  minTtl: 1s\n");
  ASSERT_NE(bed.gateway.port, 0);
  EXPECT_EQ(request(bed.gateway.port, "GET", "/before").status, 200);
  // The DNS server stops answering: a UDP socket on its port that reads nothing.
  dns.reset();
  int silent = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(dns_port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_TRUE(eventually([&] { return ::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0; }));
  // The refresh times out and is logged; the gateway keeps serving with the addresses it had.
  EXPECT_TRUE(bed.gateway.process->wait_for_line("dns_refresh_failed", 20s).has_value());
  EXPECT_EQ(request(bed.gateway.port, "GET", "/during").status, 200);
  ::close(silent);
  bed.expect_recovered();
}

// ─── client faults ──────────────────────────────────────────────────────────────────────────

TEST(Faults, ClientDisconnectingMidUploadIsLogged499AndLeaksNothing) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  maxBodySize: 1gb\n  timeout: 60s\n");
  ASSERT_NE(bed.gateway.port, 0);
  for (int i = 0; i < 5; ++i) {
    const std::string id = "fault-upload-" + std::to_string(i);
    {
      Connection client(bed.gateway.port);
      ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: a\r\nX-Correlation-ID: " + id +
                              "\r\nContent-Length: 100000000\r\n\r\n"));
      std::string block(1 << 16, 'u');
      for (int sent = 0; sent < 16; ++sent) ASSERT_TRUE(client.send(block));
      EXPECT_EQ(bed.healthy_status(), 200);  // served mid-upload
    }  // closed with 99 MB still to come
    auto record = wait_for_access_log(*bed.gateway.process, id);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ((*record)["status"], 499);
  }
  bed.expect_recovered();
}

TEST(Faults, ClientDisconnectingMidDownloadLeaksNothing) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  timeout: 60s\n");
  ASSERT_NE(bed.gateway.port, 0);
  for (int i = 0; i < 5; ++i) {
    const std::string id = "fault-download-" + std::to_string(i);
    {
      Connection client(bed.gateway.port);
      client.send(correlated_get("/bytes/1000000000", id));
      char chunk[65536];
      std::size_t received = 0;
      while (received < (1u << 20)) {
        ssize_t n = ::recv(client.fd(), chunk, sizeof(chunk), 0);
        ASSERT_GT(n, 0);
        received += static_cast<std::size_t>(n);
      }
    }  // closed with unread data: the gateway's next write fails
    EXPECT_TRUE(wait_for_access_log(*bed.gateway.process, id).has_value());
  }
  bed.expect_recovered();
  EXPECT_LT(status_kib(bed.pid(), "VmHWM"), bed.baseline_rss_kib + kRssSlackKib);
}

TEST(Faults, ManySlowlorisConnectionsAreCutOffAndOthersAreServed) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  headerTimeout: 1s\n");
  ASSERT_NE(bed.gateway.port, 0);
  std::vector<std::unique_ptr<Connection>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<Connection>(bed.gateway.port));
    slow.back()->send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow-" + std::to_string(i) + ": ");
  }
  EXPECT_EQ(bed.healthy_status(), 200);
  // Trickling more header bytes does not extend the header deadline.
  for (auto& connection : slow) connection->send("a");
  for (auto& connection : slow) EXPECT_TRUE(connection->wait_closed(15s));
  slow.clear();
  bed.expect_recovered();
}

TEST(Faults, SlowReadClientIsAbortedAtTheRequestTimeout) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  timeout: 1s\n");
  ASSERT_NE(bed.gateway.port, 0);
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < 5; ++i) {
    readers.push_back(std::make_unique<Connection>(bed.gateway.port));
    int small = 4096;
    ::setsockopt(readers.back()->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    readers.back()->send(correlated_get("/bytes/500000000", "fault-slow-read-" + std::to_string(i)));
  }
  EXPECT_EQ(bed.healthy_status(), 200);  // served while five clients read nothing
  // The gateway gives up on them by itself (the whole-request timeout): its descriptors for
  // them are gone while the clients still have not read a byte.
  EXPECT_TRUE(eventually([&] { return fd_count(bed.pid()) == bed.baseline_fds; }))
      << fd_count(bed.pid()) << " descriptors, baseline " << bed.baseline_fds;
  // (The kernel may still flush what the gateway had queued for them; the gateway holds nothing.)
  readers.clear();
  bed.expect_recovered();
}

TEST(Faults, SlowhttptestSlowlorisAndSlowReadAreBounded) {
  if (::access("/usr/bin/slowhttptest", X_OK) != 0) GTEST_SKIP() << "slowhttptest is not installed";
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  headerTimeout: 1s\n  timeout: 2s\n");
  ASSERT_NE(bed.gateway.port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(bed.gateway.port) + "/bytes/2000000";
  // -H slowloris, -X slow read; -l bounds each run (seconds); -r connections per second.
  for (const std::vector<std::string>& mode :
       {std::vector<std::string>{"-H", "-i", "1", "-x", "10"},
        std::vector<std::string>{"-X", "-k", "1", "-n", "1", "-w", "1", "-y", "1", "-z", "1"}}) {
    std::vector<std::string> argv{"/usr/bin/slowhttptest", "-c", "100", "-r", "50", "-l", "3", "-u", url};
    argv.insert(argv.end(), mode.begin(), mode.end());
    ChildProcess attack(argv);
    EXPECT_TRUE(eventually([&] { return bed.healthy_status() == 200; }, 5s));  // served during the attack
    ASSERT_TRUE(attack.wait_exit(60s).has_value()) << "slowhttptest did not stop";
    EXPECT_TRUE(bed.alive());
  }
  bed.expect_recovered();
}

// ─── resource exhaustion ────────────────────────────────────────────────────────────────────

TEST(Faults, DescriptorExhaustionBacksOffLogsAndRecovers) {
  auto victim = start_echo_server();
  FaultBed bed("http://127.0.0.1:" + std::to_string(victim.port), "  headerTimeout: 60s\n", "", "", /*max_open_files=*/64);
  ASSERT_NE(bed.gateway.port, 0);
  // Far more connections than descriptors: the kernel completes them into the backlog, the
  // gateway accepts until EMFILE, then backs off instead of spinning or crashing.
  std::vector<std::unique_ptr<Connection>> hogs;
  for (int i = 0; i < 120; ++i) {
    hogs.push_back(std::make_unique<Connection>(bed.gateway.port));
    if (!hogs.back()->connected()) hogs.pop_back();
  }
  EXPECT_TRUE(bed.gateway.process->wait_for_line("accept_failed", 15s).has_value())
      << "no accept_failed event while out of descriptors";
  EXPECT_TRUE(bed.alive());
  // At the limit, not past it (a few descriptors inherited above the limit at exec may remain).
  EXPECT_LE(fd_count(bed.pid()), 64u + 4u);
  // Descriptors come back as connections close; the gateway serves again.
  hogs.clear();
  EXPECT_TRUE(eventually([&] { return bed.healthy_status() == 200; }));
  EXPECT_EQ(request(bed.gateway.port, "GET", "/after").status, 200);
  bed.expect_recovered();
}

}  // namespace
}  // namespace flexgate::testing
