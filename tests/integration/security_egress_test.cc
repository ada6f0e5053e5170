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
#include "support/dnsmasq.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {


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

// NOLINTBEGIN(bugprone-macro-parentheses): `var` names the variables it declares
#define START_DNSMASQ(var, records, hosts)                 \
  std::string var##_error;                                 \
  auto var = Dnsmasq::start(records, hosts, var##_error);  \
  ASSERT_NE(var, nullptr) << var##_error
// NOLINTEND(bugprone-macro-parentheses)

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
