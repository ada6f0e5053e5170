#include "net/dns_resolver.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "dnsmasq_fixture.h"

namespace flexgate::net {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// The zone every test resolves against (see Dnsmasq for what the fixture adds).
const std::vector<std::string> kRecords = {
    "address=/blocked.test/169.254.169.254",  // a metadata address egress rules must block
    "host-record=multi.test,127.0.0.1",       // two A records, one of them blocked
    "host-record=multi.test,169.254.169.254",
    "host-record=mixed.test,127.0.0.3,::1",  // A and AAAA
    "host-record=v6.test,::1",               // AAAA only
    "host-record=target.test,127.0.0.2",
    "cname=alias.test,target.test,10",  // CNAME with a 10 s TTL, target at the default 30 s
    "host-record=zero-ttl.test,127.0.0.4,0",
};
const std::string kHosts = "127.0.0.5 changing.test\n";

std::set<std::string> strings(const std::vector<ip::address>& addresses) {
  std::set<std::string> out;
  for (const auto& address : addresses) out.insert(address.to_string());
  return out;
}

// A UDP socket on loopback that receives queries and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // Whether a datagram has arrived (consumes one).
  bool received_query() const {
    char buffer[512];
    return ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::find_dnsmasq().empty())
      FAIL() << "dnsmasq is not installed (make test installs dnsmasq-base)";
    std::string error;
    dnsmasq_ = test::Dnsmasq::start(kRecords, kHosts, error);
    ASSERT_NE(dnsmasq_, nullptr) << error;
  }

  std::unique_ptr<DnsResolver> resolver(DnsOptions options = {}) {
    if (options.servers.empty()) options.servers = {dnsmasq_->server()};
    std::string error;
    auto made = DnsResolver::create(options, error);
    EXPECT_NE(made, nullptr) << error;
    return made;
  }

  std::unique_ptr<test::Dnsmasq> dnsmasq_;
};

TEST_F(DnsResolverTest, ResolvesANameToABlockedAddress) {
  auto answer = resolver()->resolve("blocked.test");
  ASSERT_TRUE(answer.ok()) << answer.error << "\n" << dnsmasq_->log();
  EXPECT_EQ(strings(answer.addresses), (std::set<std::string>{"169.254.169.254"}));
  EXPECT_EQ(answer.ttl, milliseconds(test::kDnsmasqLocalTtl * 1000));
}

TEST_F(DnsResolverTest, ReturnsEveryAddressOfAName) {
  auto answer = resolver()->resolve("multi.test");
  ASSERT_TRUE(answer.ok()) << answer.error;
  EXPECT_EQ(strings(answer.addresses), (std::set<std::string>{"127.0.0.1", "169.254.169.254"}));
  EXPECT_EQ(answer.addresses.size(), 2u) << "no duplicates";
}

TEST_F(DnsResolverTest, QueriesBothFamilies) {
  auto r = resolver();
  auto mixed = r->resolve("mixed.test");
  ASSERT_TRUE(mixed.ok()) << mixed.error;
  EXPECT_EQ(strings(mixed.addresses), (std::set<std::string>{"127.0.0.3", "::1"}));
  auto v6 = r->resolve("v6.test");
  ASSERT_TRUE(v6.ok()) << v6.error;
  EXPECT_EQ(strings(v6.addresses), (std::set<std::string>{"::1"}));
}

TEST_F(DnsResolverTest, FollowsACnameAndKeepsTheShortestTtlOfTheChain) {
  auto answer = resolver()->resolve("alias.test");
  ASSERT_TRUE(answer.ok()) << answer.error;
  EXPECT_EQ(strings(answer.addresses), (std::set<std::string>{"127.0.0.2"}));
  EXPECT_EQ(answer.ttl, 10s) << "the CNAME's 10 s, not the target's " << test::kDnsmasqLocalTtl << " s";
}

TEST_F(DnsResolverTest, SeesANewAnswerAfterTheServerChangesIt) {
  auto r = resolver();
  auto first = r->resolve("changing.test");
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(strings(first.addresses), (std::set<std::string>{"127.0.0.5"}));

  dnsmasq_->reload_hosts("169.254.169.254 changing.test\n");
  // dnsmasq reloads on SIGHUP asynchronously; ask until the new answer shows (bounded). Nothing is
  // cached on our side, so the first answer after the reload must already be the new one.
  DnsAnswer second;
  const auto limit = std::chrono::steady_clock::now() + 10s;
  do {
    second = r->resolve("changing.test");
    ASSERT_TRUE(second.ok()) << second.error;
  } while (strings(second.addresses) == strings(first.addresses) && std::chrono::steady_clock::now() < limit);
  EXPECT_EQ(strings(second.addresses), (std::set<std::string>{"169.254.169.254"})) << dnsmasq_->log();
}

TEST_F(DnsResolverTest, UnknownNameIsNxdomain) {
  auto answer = resolver()->resolve("no-such-name.test");
  EXPECT_EQ(answer.error, "NXDOMAIN");
  EXPECT_TRUE(answer.addresses.empty());
}

TEST_F(DnsResolverTest, RefusedQueryIsAnError) {
  // The fixture has no upstream, so dnsmasq REFUSES names outside its zone.
  auto answer = resolver()->resolve("example.com");
  EXPECT_FALSE(answer.ok());
  EXPECT_TRUE(answer.addresses.empty());
}

TEST_F(DnsResolverTest, AbsoluteNameWithTrailingDotResolves) {
  auto answer = resolver()->resolve("multi.test.");
  ASSERT_TRUE(answer.ok()) << answer.error;
  EXPECT_EQ(answer.addresses.size(), 2u);
}

TEST_F(DnsResolverTest, TtlIsClampedToMinTtl) {
  auto zero = resolver()->resolve("zero-ttl.test");
  ASSERT_TRUE(zero.ok()) << zero.error;
  EXPECT_EQ(zero.ttl, 1000ms) << "TTL 0 raised to the default minTtl";

  DnsOptions options;
  options.min_ttl = 60s;
  auto raised = resolver(options)->resolve("multi.test");
  ASSERT_TRUE(raised.ok()) << raised.error;
  EXPECT_EQ(raised.ttl, 60s);
}

TEST_F(DnsResolverTest, TtlIsClampedToMaxTtl) {
  DnsOptions options;
  options.max_ttl = 5s;
  auto answer = resolver(options)->resolve("multi.test");
  ASSERT_TRUE(answer.ok()) << answer.error;
  EXPECT_EQ(answer.ttl, 5s);
}

TEST_F(DnsResolverTest, FailsOverFromASilentServerToTheNextOne) {
  SilentServer silent;
  DnsOptions options;
  options.servers = {silent.server(), dnsmasq_->server()};
  options.timeout = 3000ms;
  auto r = resolver(options);
  const auto start = std::chrono::steady_clock::now();
  auto answer = r->resolve("blocked.test");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(answer.ok()) << answer.error;
  EXPECT_EQ(strings(answer.addresses), (std::set<std::string>{"169.254.169.254"}));
  EXPECT_TRUE(silent.received_query()) << "the first server is asked first";
  EXPECT_LT(elapsed, 3000ms);
}

TEST_F(DnsResolverTest, OneResolverServesManyLookups) {
  auto r = resolver();
  for (int i = 0; i < 50; ++i) {
    auto answer = r->resolve(i % 2 == 0 ? "multi.test" : "alias.test");
    ASSERT_TRUE(answer.ok()) << i << ": " << answer.error;
  }
  EXPECT_EQ(r->resolve("no-such-name.test").error, "NXDOMAIN");
}

// ─── Without dnsmasq ──────────────────────────────────────────────────────────────────────────

TEST(DnsResolverNoServerTest, ServerThatNeverRepliesTimesOutWithinTheBudget) {
  SilentServer silent;
  DnsOptions options;
  options.servers = {silent.server()};
  options.timeout = 300ms;
  std::string error;
  auto r = DnsResolver::create(options, error);
  ASSERT_NE(r, nullptr) << error;
  const auto start = std::chrono::steady_clock::now();
  auto answer = r->resolve("anything.test");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(answer.error, "timeout after 300 ms");
  EXPECT_TRUE(answer.addresses.empty());
  EXPECT_TRUE(silent.received_query());
  EXPECT_GE(elapsed, 250ms) << "c-ares' own retry schedule spans the budget";
  EXPECT_LT(elapsed, 2000ms);
}

TEST(DnsResolverNoServerTest, ClosedPortFailsFastWithoutWaitingForTheTimeout) {
  const std::uint16_t port = flexgate::testing::free_udp_and_tcp_port();  // nothing listens there now
  DnsOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  options.timeout = 5000ms;
  std::string error;
  auto r = DnsResolver::create(options, error);
  ASSERT_NE(r, nullptr) << error;
  const auto start = std::chrono::steady_clock::now();
  auto answer = r->resolve("anything.test");
  EXPECT_FALSE(answer.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4000ms) << answer.error;
}

TEST(DnsResolverNoServerTest, IpLiteralsAndLocalhostSendNoQuery) {
  SilentServer silent;
  DnsOptions options;
  options.servers = {silent.server()};
  options.timeout = 5000ms;  // any query would make these take seconds
  std::string error;
  auto r = DnsResolver::create(options, error);
  ASSERT_NE(r, nullptr) << error;
  const auto start = std::chrono::steady_clock::now();

  auto v4 = r->resolve("10.1.2.3");
  ASSERT_TRUE(v4.ok()) << v4.error;
  EXPECT_EQ(strings(v4.addresses), (std::set<std::string>{"10.1.2.3"}));
  EXPECT_EQ(v4.ttl, 0ms) << "a literal never changes";
  auto v6 = r->resolve("2001:db8::1");
  ASSERT_TRUE(v6.ok()) << v6.error;
  EXPECT_EQ(strings(v6.addresses), (std::set<std::string>{"2001:db8::1"}));
  for (const char* name : {"localhost", "LocalHost", "localhost."}) {
    auto local = r->resolve(name);
    ASSERT_TRUE(local.ok()) << name << ": " << local.error;
    EXPECT_EQ(strings(local.addresses), (std::set<std::string>{"127.0.0.1", "::1"})) << name;
    EXPECT_EQ(local.ttl, 0ms);
  }

  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  EXPECT_FALSE(silent.received_query());
}

TEST(DnsResolverNoServerTest, EmptyNameIsAnError) {
  std::string error;
  auto r = DnsResolver::create(DnsOptions{.servers = {"127.0.0.1:9"}}, error);
  ASSERT_NE(r, nullptr) << error;
  EXPECT_EQ(r->resolve("").error, "empty host name");
}

TEST(DnsResolverNoServerTest, InvalidServersAreRejected) {
  for (const char* server :
       {"dns.example:53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "[::1", "[::1]x", "127.0.0.1:5a"}) {
    std::string error;
    auto r = DnsResolver::create(DnsOptions{.servers = {server}}, error);
    EXPECT_EQ(r, nullptr) << server;
    EXPECT_NE(error.find(server), std::string::npos) << error;
  }
}

TEST(DnsResolverNoServerTest, ServerFormsAccepted) {
  for (const char* server : {"127.0.0.1", "127.0.0.1:5353", "[::1]", "[::1]:5353", "::1"}) {
    std::string error;
    auto r = DnsResolver::create(DnsOptions{.servers = {server}}, error);
    EXPECT_NE(r, nullptr) << server << ": " << error;
  }
}

TEST(DnsResolverNoServerTest, NonPositiveTimeoutIsRejected) {
  std::string error;
  auto r = DnsResolver::create(DnsOptions{.servers = {"127.0.0.1"}, .timeout = 0ms}, error);
  EXPECT_EQ(r, nullptr);
  EXPECT_NE(error.find("timeout"), std::string::npos) << error;
}

}  // namespace
}  // namespace flexgate::net
