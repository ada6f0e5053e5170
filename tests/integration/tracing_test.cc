// W3C Trace Context through the real binary: the upstream always gets a valid traceparent for
// this hop — joining the client's trace when it sent a valid one, starting one otherwise — and
// tracestate only with a valid trace.

#include <string>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

// The value of `name` in a raw request head ("" when absent); the first when repeated.
std::string field_of(const std::string& raw, const std::string& name) {
  const std::string needle = "\r\n" + name + ": ";
  const auto at = raw.find(needle);
  if (at == std::string::npos) return {};
  const auto start = at + needle.size();
  return raw.substr(start, raw.find("\r\n", start) - start);
}

bool is_lower_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

struct Traceparent {
  std::string version, trace_id, span_id, flags;
};

Traceparent split(const std::string& value) {
  EXPECT_EQ(value.size(), 55u) << value;
  if (value.size() != 55) return {};
  return {value.substr(0, 2), value.substr(3, 32), value.substr(36, 16), value.substr(53, 2)};
}

class Tracing : public ::testing::Test {
 protected:
  ScriptedUpstream upstream_{[](const std::string&) { return kOk; }};
  Gateway gateway_ = start_gateway(gateway_config(upstream_.port(), kCatchAllRoute));

  // Sends one request with `headers`; returns what the upstream received.
  std::string forwarded(const std::vector<std::pair<std::string, std::string>>& headers) {
    const std::size_t before = upstream_.requests().size();
    EXPECT_EQ(request(gateway_.port, "GET", "/traced", headers).status, 200);
    const auto received = upstream_.requests();
    return received.size() > before ? received.back() : std::string();
  }
};

TEST_F(Tracing, ARequestWithoutTraceStartsATrace) {
  const Traceparent sent = split(field_of(forwarded({}), "traceparent"));
  EXPECT_EQ(sent.version, "00");
  EXPECT_TRUE(is_lower_hex(sent.trace_id) && sent.trace_id != std::string(32, '0'));
  EXPECT_TRUE(is_lower_hex(sent.span_id) && sent.span_id != std::string(16, '0'));
  EXPECT_EQ(sent.flags, "01");
  EXPECT_NE(split(field_of(forwarded({}), "traceparent")).trace_id, sent.trace_id);  // one trace per request
}

TEST_F(Tracing, AValidTraceIsJoinedWithANewSpanForThisHop) {
  const std::string client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const std::string raw = forwarded({{"traceparent", client}, {"tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}});
  const Traceparent sent = split(field_of(raw, "traceparent"));
  EXPECT_EQ(sent.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(sent.span_id, "00f067aa0ba902b7");  // the gateway's own span, child of the client's
  EXPECT_EQ(sent.flags, "01");
  EXPECT_EQ(field_of(raw, "tracestate"), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(raw.find("00f067aa0ba902b7-01"), std::string::npos);  // the client's traceparent is not passed on
}

TEST_F(Tracing, AnInvalidTraceparentStartsANewTraceAndDropsTracestate) {
  // Upper-case hex is not a valid traceparent.
  const std::string raw = forwarded(
      {{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}, {"tracestate", "congo=t61rcWkgMzE"}});
  const Traceparent sent = split(field_of(raw, "traceparent"));
  EXPECT_NE(sent.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(is_lower_hex(sent.trace_id));
  EXPECT_EQ(field_of(raw, "tracestate"), "");
}

TEST_F(Tracing, TwoTraceparentsAreAmbiguousAndStartANewTrace) {
  const std::string raw = forwarded({{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                                     {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
  const Traceparent sent = split(field_of(raw, "traceparent"));
  EXPECT_NE(sent.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(sent.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(raw.find("traceparent", raw.find("traceparent") + 1), std::string::npos);  // exactly one
}

TEST_F(Tracing, AnUnsampledTraceStaysUnsampled) {
  const Traceparent sent =
      split(field_of(forwarded({{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}}),
                     "traceparent"));
  EXPECT_EQ(sent.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(sent.flags, "00");
}

}  // namespace
}  // namespace flexgate::testing
