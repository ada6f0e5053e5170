#include "upstream/upstream_set.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace flexgate::upstream {
namespace {

config::TargetSpec target(std::string host, std::uint16_t port, unsigned weight = 1,
                          std::string scheme = "http") {
  config::TargetSpec spec;
  spec.scheme = std::move(scheme);
  spec.host = std::move(host);
  spec.port = port;
  spec.weight = weight;
  spec.url = spec.scheme + "://" + spec.host + ":" + std::to_string(port);
  return spec;
}

config::UpstreamSpec upstream(std::string name, std::vector<config::TargetSpec> targets) {
  config::UpstreamSpec spec;
  spec.name = std::move(name);
  spec.targets = std::move(targets);
  return spec;
}

struct Built {
  config::Config config;  // the set points into it
  std::unique_ptr<UpstreamSet> set;
  std::vector<std::string> errors;
};

std::unique_ptr<Built> build(std::vector<config::UpstreamSpec> upstreams) {
  auto built = std::make_unique<Built>();
  built->config.upstreams = std::move(upstreams);
  built->set = UpstreamSet::build(built->config, built->errors);
  return built;
}

TEST(UpstreamSetTest, NumericHostsResolveToThemselves) {
  auto b = build({upstream("api", {target("127.0.0.1", 8080), target("::1", 9090), target("10.1.2.3", 80)})});
  EXPECT_TRUE(b->errors.empty());
  const Upstream* api = b->set->find("api");
  ASSERT_NE(api, nullptr);
  ASSERT_EQ(api->targets.size(), 3u);
  ASSERT_EQ(api->targets[0].endpoints.size(), 1u);
  EXPECT_EQ(api->targets[0].endpoints[0], net::tcp::endpoint(net::ip::make_address("127.0.0.1"), 8080));
  ASSERT_EQ(api->targets[1].endpoints.size(), 1u);
  EXPECT_EQ(api->targets[1].endpoints[0], net::tcp::endpoint(net::ip::make_address("::1"), 9090));
  ASSERT_EQ(api->targets[2].endpoints.size(), 1u);
  EXPECT_EQ(api->targets[2].endpoints[0], net::tcp::endpoint(net::ip::make_address("10.1.2.3"), 80));
}

TEST(UpstreamSetTest, LocalhostResolvesToLoopbackAddresses) {
  auto b = build({upstream("local", {target("localhost", 3001)})});
  EXPECT_TRUE(b->errors.empty()) << b->errors.front();
  const auto& endpoints = b->set->find("local")->targets.at(0).endpoints;
  ASSERT_FALSE(endpoints.empty());
  for (const auto& endpoint : endpoints) {
    EXPECT_TRUE(endpoint.address().is_loopback()) << endpoint.address().to_string();
    EXPECT_EQ(endpoint.port(), 3001);
  }
}

TEST(UpstreamSetTest, UnresolvableHostGivesAnErrorNamingTheUpstreamAndHost) {
  // .invalid never resolves (RFC 6761).
  auto b = build({upstream("good", {target("127.0.0.1", 80)}),
                  upstream("billing", {target("no-such-host.invalid", 8080)})});
  ASSERT_EQ(b->errors.size(), 1u);
  const std::string& error = b->errors[0];
  EXPECT_NE(error.find("upstreams[1]"), std::string::npos) << error;
  EXPECT_NE(error.find("billing"), std::string::npos) << error;
  EXPECT_NE(error.find("no-such-host.invalid"), std::string::npos) << error;
  EXPECT_TRUE(b->set->find("billing")->targets.at(0).endpoints.empty());
}

TEST(UpstreamSetTest, TargetIdsAreUniqueAndDenseAcrossUpstreams) {
  auto b = build({upstream("a", {target("127.0.0.1", 1), target("127.0.0.1", 2)}),
                  upstream("b", {target("127.0.0.1", 3)}),
                  upstream("c", {target("127.0.0.1", 4), target("127.0.0.1", 5), target("127.0.0.1", 6)})});
  std::set<std::size_t> ids;
  for (const auto& u : b->set->upstreams()) {
    for (const auto& t : u.targets) EXPECT_TRUE(ids.insert(t.id).second) << "duplicate id " << t.id;
  }
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_EQ(b->set->target_count(), 6u);
  EXPECT_EQ(*ids.rbegin(), 5u) << "ids index per-worker pools sized by target_count()";
}

TEST(UpstreamSetTest, UpstreamsKeepConfigOrderAndFindByName) {
  auto b = build({upstream("first", {target("127.0.0.1", 1)}), upstream("second", {target("127.0.0.1", 2)})});
  ASSERT_EQ(b->set->upstreams().size(), 2u);
  EXPECT_EQ(b->set->upstreams()[0].spec->name, "first");
  EXPECT_EQ(b->set->upstreams()[1].spec->name, "second");
  EXPECT_EQ(b->set->find("second"), &b->set->upstreams()[1]);
  EXPECT_EQ(b->set->find("third"), nullptr);
}

TEST(UpstreamSetTest, HostHeaderOmitsTheDefaultPort) {
  auto b = build(
      {upstream("u", {target("api.internal", 80), target("api.internal", 8080),
                      target("secure.internal", 443, 1, "https"), target("secure.internal", 80, 1, "https"),
                      target("::1", 80), target("::1", 8443)})});
  const auto& t = b->set->find("u")->targets;
  EXPECT_EQ(t[0].host_header, "api.internal");
  EXPECT_EQ(t[1].host_header, "api.internal:8080");
  EXPECT_EQ(t[2].host_header, "secure.internal");
  EXPECT_EQ(t[3].host_header, "secure.internal:80");
  EXPECT_EQ(t[4].host_header, "[::1]");
  EXPECT_EQ(t[5].host_header, "[::1]:8443");
}

TEST(UpstreamSetTest, AuthorityAlwaysHasThePortAndBracketsV6) {
  auto b = build({upstream("u", {target("127.0.0.1", 80), target("::1", 8080)})});
  const auto& t = b->set->find("u")->targets;
  EXPECT_EQ(t[0].authority, "127.0.0.1:80");
  EXPECT_EQ(t[1].authority, "[::1]:8080");
}

TEST(UpstreamSetTest, WeightZeroCountsAsOne) {
  auto b = build({upstream("u", {target("127.0.0.1", 80, 0), target("127.0.0.1", 81, 7)})});
  const auto& t = b->set->find("u")->targets;
  EXPECT_EQ(t[0].weight, 1u);
  EXPECT_EQ(t[1].weight, 7u);
}

// ─── TargetPicker ──────────────────────────────────────────────────────────────────────────────

std::vector<int> picks(TargetPicker& picker, const Upstream& u, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(picker.pick(u));
  return out;
}

TEST(TargetPickerTest, WeightsFiveOneOneGiveExactShareInterleaved) {
  auto b = build(
      {upstream("u", {target("127.0.0.1", 1, 5), target("127.0.0.1", 2, 1), target("127.0.0.1", 3, 1)})});
  TargetPicker picker;
  const auto sequence = picks(picker, *b->set->find("u"), 7);
  std::map<int, int> counts;
  for (int p : sequence) ++counts[p];
  EXPECT_EQ(counts, (std::map<int, int>{{0, 5}, {1, 1}, {2, 1}}));
  // Smooth: the heavy target never runs five in a row (nginx's sequence is a a b a c a a).
  EXPECT_NE(sequence, (std::vector<int>{0, 0, 0, 0, 0, 1, 2}));
  int longest_run = 0, run = 0;
  for (int p : sequence) {
    run = p == 0 ? run + 1 : 0;
    longest_run = std::max(longest_run, run);
  }
  EXPECT_LE(longest_run, 2) << ::testing::PrintToString(sequence);
  EXPECT_EQ(sequence, (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(TargetPickerTest, ShareStaysExactOverManyRounds) {
  auto b = build(
      {upstream("u", {target("127.0.0.1", 1, 3), target("127.0.0.1", 2, 2), target("127.0.0.1", 3, 1)})});
  TargetPicker picker;
  std::map<int, int> counts;
  for (int p : picks(picker, *b->set->find("u"), 6 * 100)) ++counts[p];
  EXPECT_EQ(counts, (std::map<int, int>{{0, 300}, {1, 200}, {2, 100}}));
}

TEST(TargetPickerTest, EqualWeightsAlternate) {
  auto b = build({upstream("u", {target("127.0.0.1", 1), target("127.0.0.1", 2)})});
  TargetPicker picker;
  EXPECT_EQ(picks(picker, *b->set->find("u"), 4), (std::vector<int>{0, 1, 0, 1}));
}

TEST(TargetPickerTest, SingleTargetIsAlwaysPicked) {
  auto b = build({upstream("u", {target("127.0.0.1", 1, 9)})});
  TargetPicker picker;
  EXPECT_EQ(picks(picker, *b->set->find("u"), 3), (std::vector<int>{0, 0, 0}));
}

TEST(TargetPickerTest, EmptyUpstreamGivesMinusOne) {
  auto b = build({upstream("empty", {})});
  TargetPicker picker;
  EXPECT_EQ(picker.pick(*b->set->find("empty")), -1);
}

TEST(TargetPickerTest, OnePickerServesSeveralUpstreamsIndependently) {
  auto b = build({upstream("a", {target("127.0.0.1", 1, 2), target("127.0.0.1", 2, 1)}),
                  upstream("b", {target("127.0.0.1", 3, 1), target("127.0.0.1", 4, 1)})});
  TargetPicker picker;
  const Upstream& a = *b->set->find("a");
  const Upstream& c = *b->set->find("b");
  std::vector<int> seq_a, seq_b;
  for (int i = 0; i < 6; ++i) {
    seq_a.push_back(picker.pick(a));
    seq_b.push_back(picker.pick(c));
  }
  EXPECT_EQ(seq_a, (std::vector<int>{0, 1, 0, 0, 1, 0}));
  EXPECT_EQ(seq_b, (std::vector<int>{0, 1, 0, 1, 0, 1}));
}

}  // namespace
}  // namespace flexgate::upstream
