// Raw-byte conformance: every case in http1_cases.json (and http1_early_cases.json) is sent byte for byte to the real binary,
// in front of a recording upstream. Checks the verdict the client sees, that a rejection closes
// the connection, how many requests reached the upstream (never one after a fault), and what the
// upstream must (not) see. Optional case fields:
//   upstream_must_contain / upstream_must_not_contain: case-insensitive substrings of every byte
//     the upstream received for this case (e.g. a Connection-nominated field must be gone);
//   client_must_not_contain: substrings the client must never receive (e.g. "100 Continue");
//   response_bodies: the bodies of the responses in order (the upstream answers each request with
//     its forwarded request-target, so pipelined answers are checked to come back in order).
// Routes: /small/* has maxBodySize 16 and no route allows DELETE (405), to provoke early answers
// on requests whose body was not read; everything else goes to the catch-all.

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

struct Case {
  std::string id;
  std::string title;
  std::string bytes;
  bool reject = false;
  int status = 200;
  std::size_t forwarded = 0;
  std::vector<std::string> upstream_must_contain;
  std::vector<std::string> upstream_must_not_contain;
  std::vector<std::string> client_must_not_contain;
  std::optional<std::vector<std::string>> response_bodies;
};

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::vector<std::string> strings(const nlohmann::json& item, const char* key) {
  std::vector<std::string> out;
  if (item.contains(key) && item[key].is_array()) {
    for (const auto& value : item[key]) out.push_back(value.get<std::string>());
  }
  return out;
}

// The request-target of a raw request (the upstream answers with it).
std::string target_of(const std::string& raw) {
  auto first = raw.find(' ');
  auto second = raw.find(' ', first + 1);
  if (first == std::string::npos || second == std::string::npos) return "?";
  return raw.substr(first + 1, second - first - 1);
}

void PrintTo(const Case& c, std::ostream* out) { *out << c.id << " (" << c.title << ")"; }

void load_from(const nlohmann::json& json, std::vector<Case>& cases);

// http1_cases.json is also replayed through the codec alone (tests/unit/http/conformance_corpus_test.cc),
// so its cases are self-contained; http1_early_cases.json holds the few whose body never comes
// (early answers to a head alone), which only the proxy can judge.
std::vector<Case> load_cases() {
  std::vector<Case> cases;
  for (const char* file : {"http1_cases.json", "http1_early_cases.json"}) {
    std::ifstream in(std::string(FLEXGATE_SOURCE_DIR) + "/tests/conformance/" + file);
    auto json = nlohmann::json::parse(in, nullptr, false);
    if (!json.is_array()) continue;
    load_from(json, cases);
  }
  return cases;
}

void load_from(const nlohmann::json& json, std::vector<Case>& cases) {
  for (const auto& item : json) {
    Case c;
    c.id = item.value("id", "");
    c.title = item.value("title", "");
    c.bytes = hex_decode(item.value("hex", ""));
    // A case may state what a proxy answers when it differs from the parser-level verdict
    // (e.g. "OPTIONS *" parses but no route can serve it).
    std::string verdict = item.value("proxy_verdict", item.value("verdict", "accept"));
    c.reject = verdict == "reject";
    c.status = item.value("proxy_status", item.value("status", c.reject ? 400 : 200));
    c.forwarded = item.value("proxy_forwarded", item.value("forwarded_requests", 0));
    c.upstream_must_contain = strings(item, "upstream_must_contain");
    c.upstream_must_not_contain = strings(item, "upstream_must_not_contain");
    c.client_must_not_contain = strings(item, "client_must_not_contain");
    if (item.contains("response_bodies")) c.response_bodies = strings(item, "response_bodies");
    cases.push_back(std::move(c));
  }
}

class ConformanceReplay : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new ScriptedUpstream([](const std::string& raw) {
      std::string body = target_of(raw);
      return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    });
    const std::string routes =
        "  - path: \"/small/*\"\n    upstream: echo\n    maxBodySize: 16\n"
        "  - path: \"/*\"\n    upstream: echo\n    methods: [GET, HEAD, POST, PUT, PATCH, OPTIONS]\n";
    gateway_ = new Gateway(start_gateway(gateway_config(upstream_->port(), routes, "  headerTimeout: 2s\n")));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete upstream_;
  }
  static ScriptedUpstream* upstream_;
  static Gateway* gateway_;
};
ScriptedUpstream* ConformanceReplay::upstream_ = nullptr;
Gateway* ConformanceReplay::gateway_ = nullptr;

TEST_P(ConformanceReplay, VerdictAndForwardedRequests) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.id + ": " + c.title);
  std::size_t before = upstream_->requests().size();
  Connection connection(gateway_->port);
  ASSERT_TRUE(connection.connected());
  connection.send(c.bytes);
  connection.shutdown_write();
  std::vector<Response> responses;
  while (auto response = connection.read_response(false, 5s)) {
    responses.push_back(*response);
    if (!response->header("Connection").empty() && response->header("Connection") == "close") break;
  }
  EXPECT_TRUE(connection.wait_closed(5s)) << "the gateway must close the connection";
  auto all_requests = upstream_->requests();
  std::size_t forwarded = all_requests.size() - before;
  std::string seen;
  for (std::size_t i = before; i < all_requests.size(); ++i) seen += lowered(all_requests[i]);
  for (const auto& needle : c.upstream_must_contain) {
    EXPECT_NE(seen.find(lowered(needle)), std::string::npos) << "the upstream did not see '" << needle << "'";
  }
  for (const auto& needle : c.upstream_must_not_contain) {
    EXPECT_EQ(seen.find(lowered(needle)), std::string::npos) << "the upstream saw '" << needle << "'";
  }
  for (const auto& needle : c.client_must_not_contain) {
    EXPECT_EQ(connection.received().find(needle), std::string::npos) << "the client got '" << needle << "'";
  }
  if (c.response_bodies) {
    std::vector<std::string> bodies;
    for (const auto& response : responses) bodies.push_back(response.body);
    EXPECT_EQ(bodies, *c.response_bodies);
  }
  if (c.reject) {
    ASSERT_FALSE(responses.empty()) << "no response to a rejected request";
    const Response& last = responses.back();
    EXPECT_EQ(last.status, c.status);
    EXPECT_EQ(last.header("Connection"), "close");
    EXPECT_EQ(forwarded, c.forwarded) << "requests forwarded before the fault";
    for (std::size_t i = 0; i + 1 < responses.size(); ++i) EXPECT_EQ(responses[i].status, 200);
  } else {
    ASSERT_FALSE(responses.empty());
    for (const auto& response : responses) EXPECT_EQ(response.status, c.status);
    EXPECT_EQ(forwarded, std::max<std::size_t>(c.forwarded, 1));
  }
}

INSTANTIATE_TEST_SUITE_P(Http1, ConformanceReplay, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char ch : info.param.id) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return name;
                         });

}  // namespace
}  // namespace flexgate::testing
