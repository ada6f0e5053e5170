// UpstreamSet::build resolving target names through `dns.servers`, against a real dnsmasq.

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "../net/dnsmasq_fixture.h"
#include "upstream/upstream_set.h"

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;

config::TargetSpec target(std::string host, std::uint16_t port) {
  config::TargetSpec spec;
  spec.host = std::move(host);
  spec.port = port;
  spec.url = "http://" + spec.host + ":" + std::to_string(port);
  return spec;
}

config::UpstreamSpec upstream(std::string name, std::vector<config::TargetSpec> targets) {
  config::UpstreamSpec spec;
  spec.name = std::move(name);
  spec.targets = std::move(targets);
  return spec;
}

std::set<std::string> endpoints(const Target& target) {
  std::set<std::string> out;
  for (const auto& endpoint : target.endpoints) {
    out.insert(endpoint.address().to_string() + " " + std::to_string(endpoint.port()));
  }
  return out;
}

class ResolveWithDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (net::test::find_dnsmasq().empty())
      FAIL() << "dnsmasq is not installed (make test installs dnsmasq-base)";
    std::string error;
    dnsmasq_ = net::test::Dnsmasq::start(
        {"host-record=multi.test,127.0.0.1", "host-record=multi.test,169.254.169.254",
         "host-record=api.test,127.0.0.2,::1", "host-record=target.test,127.0.0.3",
         "cname=alias.test,target.test,10"},
        "127.0.0.5 changing.test\n", error);
    ASSERT_NE(dnsmasq_, nullptr) << error;
    config_.dns.servers = {dnsmasq_->server()};
  }

  // Builds from config_ (which the set points into); errors land in errors_.
  std::unique_ptr<UpstreamSet> build(std::vector<config::UpstreamSpec> upstreams) {
    config_.upstreams = std::move(upstreams);
    errors_.clear();
    return UpstreamSet::build(config_, errors_);
  }

  std::unique_ptr<net::test::Dnsmasq> dnsmasq_;
  config::Config config_;
  std::vector<std::string> errors_;
};

TEST_F(ResolveWithDnsTest, TargetsGetEveryAddressFromTheConfiguredServer) {
  auto set = build(
      {upstream("api", {target("multi.test", 8080), target("api.test", 9000), target("alias.test", 80)})});
  ASSERT_TRUE(errors_.empty()) << errors_.front() << "\n" << dnsmasq_->log();
  const auto& targets = set->find("api")->targets;
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(endpoints(targets[0]), (std::set<std::string>{"127.0.0.1 8080", "169.254.169.254 8080"}));
  EXPECT_EQ(endpoints(targets[1]), (std::set<std::string>{"127.0.0.2 9000", "::1 9000"}));
  EXPECT_EQ(endpoints(targets[2]), (std::set<std::string>{"127.0.0.3 80"}));
  EXPECT_EQ(targets[0].ttl, std::chrono::milliseconds(net::test::kDnsmasqLocalTtl * 1000));
  EXPECT_EQ(targets[2].ttl, 10s) << "the CNAME's shorter TTL";
  EXPECT_EQ(targets[0].host_header, "multi.test:8080") << "names are kept for Host and logs";
}

TEST_F(ResolveWithDnsTest, TtlsAreClampedByTheDnsSettings) {
  config_.dns.min_ttl = 60s;
  auto raised = build({upstream("u", {target("multi.test", 80)})});
  ASSERT_TRUE(errors_.empty()) << errors_.front();
  EXPECT_EQ(raised->find("u")->targets[0].ttl, 60s);

  config_.dns.min_ttl = 0ms;
  config_.dns.max_ttl = 2s;
  auto lowered = build({upstream("u", {target("multi.test", 80)})});
  ASSERT_TRUE(errors_.empty()) << errors_.front();
  EXPECT_EQ(lowered->find("u")->targets[0].ttl, 2s);
}

TEST_F(ResolveWithDnsTest, IpLiteralsStayResolutionFreeWithTtlZero) {
  auto set = build({upstream("u", {target("127.0.0.9", 81), target("::1", 82)})});
  ASSERT_TRUE(errors_.empty()) << errors_.front();
  const auto& targets = set->find("u")->targets;
  EXPECT_EQ(endpoints(targets[0]), (std::set<std::string>{"127.0.0.9 81"}));
  EXPECT_EQ(endpoints(targets[1]), (std::set<std::string>{"::1 82"}));
  EXPECT_EQ(targets[0].ttl, 0ms);
  EXPECT_EQ(targets[1].ttl, 0ms);
  EXPECT_TRUE(dnsmasq_->queried_names().empty()) << dnsmasq_->log();
}

TEST_F(ResolveWithDnsTest, UnknownNameIsReportedWithUpstreamHostAndReason) {
  auto set =
      build({upstream("good", {target("multi.test", 80)}), upstream("billing", {target("nope.test", 8080)})});
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0], "upstreams[1] 'billing': cannot resolve 'nope.test': NXDOMAIN");
  EXPECT_EQ(dnsmasq_->queried_names(), (std::vector<std::string>{"multi.test", "nope.test"}))
      << "absolute names: no search-domain retries";
  EXPECT_TRUE(set->find("billing")->targets.at(0).endpoints.empty());
  EXPECT_EQ(set->find("good")->targets.at(0).endpoints.size(), 2u);
}

TEST_F(ResolveWithDnsTest, SilentServerGivesATimeoutError) {
  // A bound socket that never answers.
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  config_.dns.servers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
  config_.dns.timeout = 200ms;
  build({upstream("slow", {target("multi.test", 80)})});
  ::close(fd);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0], "upstreams[0] 'slow': cannot resolve 'multi.test': timeout after 200 ms");
}

TEST_F(ResolveWithDnsTest, InvalidServerIsReportedForEachName) {
  config_.dns.servers = {"dns.example"};
  build({upstream("u", {target("multi.test", 80), target("127.0.0.1", 81), target("api.test", 82)})});
  ASSERT_EQ(errors_.size(), 2u) << "the literal needs no server";
  EXPECT_NE(errors_[0].find("cannot resolve 'multi.test': invalid DNS server 'dns.example'"),
            std::string::npos)
      << errors_[0];
}

TEST_F(ResolveWithDnsTest, ARebuildSeesTheNewAnswer) {
  // Each build() replaces config_.upstreams, which a set points into: keep only copies.
  const auto before = endpoints(build({upstream("u", {target("changing.test", 80)})})->find("u")->targets[0]);
  ASSERT_TRUE(errors_.empty()) << errors_.front();
  EXPECT_EQ(before, (std::set<std::string>{"127.0.0.5 80"}));

  dnsmasq_->reload_hosts("169.254.169.254 changing.test\n");
  // The reload is asynchronous in dnsmasq: rebuild until it shows (bounded), as a config reload would.
  std::set<std::string> after;
  const auto limit = std::chrono::steady_clock::now() + 10s;
  do {
    after = endpoints(build({upstream("u", {target("changing.test", 80)})})->find("u")->targets[0]);
    ASSERT_TRUE(errors_.empty()) << errors_.front();
  } while (after == before && std::chrono::steady_clock::now() < limit);
  EXPECT_EQ(after, (std::set<std::string>{"169.254.169.254 80"}));
}

}  // namespace
}  // namespace flexgate::upstream
