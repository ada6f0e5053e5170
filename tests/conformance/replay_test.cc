// Raw-byte conformance: every case in http1_cases.json is sent byte for byte to the real binary,
// in front of a recording upstream. Checks the verdict the client sees, that a rejection closes
// the connection, and how many requests reached the upstream (never one after a fault).

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
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.id << " (" << c.title << ")"; }

std::vector<Case> load_cases() {
  std::ifstream in(std::string(FLEXGATE_SOURCE_DIR) + "/tests/conformance/http1_cases.json");
  auto json = nlohmann::json::parse(in, nullptr, false);
  std::vector<Case> cases;
  if (!json.is_array()) return cases;
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
    cases.push_back(std::move(c));
  }
  return cases;
}

class ConformanceReplay : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    upstream_ = new ScriptedUpstream([](const std::string&) {
      return std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    gateway_ = new Gateway(start_gateway(gateway_config(upstream_->port(), kCatchAllRoute, "  headerTimeout: 2s\n")));
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
  std::size_t forwarded = upstream_->requests().size() - before;
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
