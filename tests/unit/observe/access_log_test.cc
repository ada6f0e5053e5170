#include "observe/access_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "observe/log.h"
#include "stdout_capture.h"

namespace flexgate::observe {
namespace {

// Every test leaves the process-wide log settings as it found them.
class AccessLogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    set_log_format(config::LogFormat::kJson);
    set_access_log_enabled(true);
  }

  static AccessRecord sample() {
    AccessRecord r;
    r.correlation_id = "cid-1";
    r.method = "GET";
    r.path = "/api/users/42";
    r.route = "/api/*";
    r.upstream = "users";
    r.target = "127.0.0.1:9001";
    r.client_address = "10.0.0.7";
    r.status = 200;
    r.duration_ms = 12.3456;
    r.bytes_in = 87;
    r.bytes_out = 1234;
    return r;
  }
};

TEST_F(AccessLogTest, JsonLineHasEveryField) {
  std::string line;
  format_access_line(sample(), line);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j["type"], "access");
  EXPECT_TRUE(j["timestamp"].is_string());
  EXPECT_EQ(j["correlationId"], "cid-1");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/api/users/42");
  EXPECT_EQ(j["route"], "/api/*");
  EXPECT_EQ(j["upstream"], "users");
  EXPECT_EQ(j["target"], "127.0.0.1:9001");
  EXPECT_EQ(j["client"], "10.0.0.7");
  EXPECT_EQ(j["status"], 200);
  ASSERT_TRUE(j["durationMs"].is_number());
  EXPECT_DOUBLE_EQ(j["durationMs"].get<double>(), 12.346);  // three decimals
  EXPECT_EQ(j["bytesIn"], 87);
  EXPECT_EQ(j["bytesOut"], 1234);
  EXPECT_FALSE(j.contains("error")) << "no error field for a proxied response";
}

TEST_F(AccessLogTest, ErrorFieldAppearsForLocalReplies) {
  AccessRecord r = sample();
  r.upstream = "";
  r.target = "";
  r.route = "";
  r.status = 404;
  r.error = "not_found";
  std::string line;
  format_access_line(r, line);
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["error"], "not_found");
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(j["route"], "");
  EXPECT_EQ(j["upstream"], "");
  EXPECT_EQ(j["target"], "");
}

TEST_F(AccessLogTest, OddBytesInThePathAreEscaped) {
  AccessRecord r = sample();
  const std::string path = std::string("/a\"b\\c\nd\re\tf\x01g") + std::string(1, '\0') + "\x7f";
  r.path = path;
  r.method = "M\"X";
  std::string line;
  format_access_line(r, line);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << "one line whatever the path";
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j["path"].get<std::string>(), path);
  EXPECT_EQ(j["method"], "M\"X");
}

TEST_F(AccessLogTest, NonUtf8BytesInThePathStillGiveValidJson) {
  AccessRecord r = sample();
  r.path = "/\x80\xff\xc3(";  // invalid UTF-8
  std::string line;
  format_access_line(r, line);
  for (char c : line) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << "the line is pure ASCII";
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j["path"], "/\u0080\u00ff\u00c3(");
}

TEST_F(AccessLogTest, LargeCountersAndZeroDuration) {
  AccessRecord r = sample();
  r.duration_ms = 0;
  r.bytes_in = 0;
  r.bytes_out = 18446744073709551615ull;
  std::string line;
  format_access_line(r, line);
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["durationMs"].get<double>(), 0.0);
  EXPECT_EQ(j["bytesIn"], 0);
  EXPECT_EQ(j["bytesOut"].get<std::uint64_t>(), 18446744073709551615ull);
}

// The line is written through a pointer into storage sized for its worst case: a record whose
// every string is made of bytes that each take a six-byte escape, with every optional field and
// the largest numbers, must come out whole. The scratch string starts empty, so its storage is
// exactly the computed size and ASan (in CI) reports any byte written past it.
TEST_F(AccessLogTest, ARecordWhoseEveryByteNeedsEscapingFitsItsLine) {
  std::string worst;
  for (int i = 0; i < 300; ++i) worst += static_cast<char>(1 + i % 31);  // control bytes: \u00XX each
  AccessRecord r;
  r.correlation_id = r.method = r.path = r.route = r.upstream = r.target = worst;
  r.client_address = r.client_name = r.error = r.trace_id = r.protocol = worst;
  r.breaker = r.rate_limit = r.rejected_by = r.reject_reason = r.tunnel_end = worst;
  r.status = 599;
  r.duration_ms = 1e12;
  r.upstream_latency_ms = 1e12;
  r.bytes_in = r.bytes_out = 18446744073709551615ull;
  r.attempts = 4294967295u;
  r.grpc_status = 2147483647;
  const std::vector<LogField> headers = {{worst, worst}, {"x-a", worst}, {worst, "v"}};
  r.headers = headers;
  std::string line;
  format_access_line(r, line);
  ASSERT_EQ(line.back(), '\n');
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line.substr(0, 200);
  for (const char* key : {"correlationId", "method", "path", "route", "upstream", "target", "client", "clientName",
                          "error", "traceId", "protocol", "breaker", "rateLimit", "rejectedBy", "rejectReason",
                          "tunnelEnd"}) {
    EXPECT_EQ(j[key].get<std::string>(), worst) << key;
  }
  EXPECT_EQ(j["bytesOut"].get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(j["attempts"].get<std::uint64_t>(), 4294967295u);
  EXPECT_EQ(j["grpcStatus"].get<std::int64_t>(), 2147483647);
  EXPECT_EQ(j["durationMs"].get<double>(), 1e12);
  EXPECT_EQ(j["headers"]["x-a"].get<std::string>(), worst);
  EXPECT_EQ(j["headers"][worst].get<std::string>(), "v");
}

TEST_F(AccessLogTest, FormatReplacesTheScratchContent) {
  std::string line = "stale content that must go";
  format_access_line(sample(), line);
  EXPECT_EQ(line.front(), '{');
}

TEST_F(AccessLogTest, TextFormatIsOneHumanReadableLine) {
  set_log_format(config::LogFormat::kText);
  std::string line;
  format_access_line(sample(), line);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_NE(line.front(), '{');
  // "<timestamp> access <client> <method> <path> <status> <duration>ms route=… upstream=… cid=…"
  const std::string rest = line.substr(24);
  EXPECT_EQ(rest, " access 10.0.0.7 GET /api/users/42 200 12.346ms route=/api/* upstream=users cid=cid-1\n");
  EXPECT_EQ(line[23], 'Z');
}

TEST_F(AccessLogTest, WriteAccessLogWritesOneLineToStdout) {
  std::string scratch;
  test::StdoutCapture capture;
  write_access_log(sample(), scratch);
  const std::string out = capture.finish();
  EXPECT_EQ(out, scratch);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST_F(AccessLogTest, DisabledAccessLogWritesNothing) {
  set_access_log_enabled(false);
  EXPECT_FALSE(access_log_enabled());
  std::string scratch;
  test::StdoutCapture capture;
  write_access_log(sample(), scratch);
  EXPECT_EQ(capture.finish(), "");
}

TEST_F(AccessLogTest, OptionalFieldsAreLeftOutWhenEmpty) {
  std::string line;
  format_access_line(sample(), line);
  const nlohmann::json j = nlohmann::json::parse(line);
  for (const char* key : {"traceId", "protocol", "attempts", "upstreamLatencyMs", "breaker", "rateLimit",
                          "rejectedBy", "rejectReason", "headers", "clientName", "tunnelEnd"}) {
    EXPECT_FALSE(j.contains(key)) << key;
  }
}

TEST_F(AccessLogTest, NewFieldsAppearInJson) {
  AccessRecord r = sample();
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.protocol = "HTTP/1.1";
  r.attempts = 3;
  r.upstream_latency_ms = 7.25;
  r.breaker = "half_open";
  r.rate_limit = "fallback_local";
  r.rejected_by = "rate_limit";
  r.reject_reason = "route limit \"orders\" exhausted";
  const LogField headers[] = {{"X-Request-Source", "mobile"}, {"User-Agent", "curl/8.0"}};
  r.headers = headers;
  std::string line;
  format_access_line(r, line);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["protocol"], "HTTP/1.1");
  EXPECT_EQ(j["attempts"], 3);
  EXPECT_DOUBLE_EQ(j["upstreamLatencyMs"].get<double>(), 7.25);
  EXPECT_EQ(j["breaker"], "half_open");
  EXPECT_EQ(j["rateLimit"], "fallback_local");
  EXPECT_EQ(j["rejectedBy"], "rate_limit");
  EXPECT_EQ(j["rejectReason"], "route limit \"orders\" exhausted");
  EXPECT_EQ(j["headers"], (nlohmann::json{{"X-Request-Source", "mobile"}, {"User-Agent", "curl/8.0"}}));
  EXPECT_EQ(j["status"], 200) << "the existing fields are still there";
  EXPECT_EQ(j["correlationId"], "cid-1");
}

TEST_F(AccessLogTest, NewFieldsAppearInTextAsKeyValuePairs) {
  set_log_format(config::LogFormat::kText);
  AccessRecord r = sample();
  r.trace_id = "abc";
  r.protocol = "HTTP/1.1";
  r.attempts = 2;
  r.upstream_latency_ms = 1.5;
  r.breaker = "closed";
  r.rate_limit = "allowed";
  r.rejected_by = "ipfilter";
  r.reject_reason = "denied by denyFrom";
  const LogField headers[] = {{"X-Request-Source", "mobile app"}};
  r.headers = headers;
  std::string line;
  format_access_line(r, line);
  EXPECT_EQ(line.substr(24),
            " access 10.0.0.7 GET /api/users/42 200 12.346ms route=/api/* upstream=users cid=cid-1"
            " traceId=abc protocol=HTTP/1.1 attempts=2 upstreamLatencyMs=1.500 breaker=closed rateLimit=allowed"
            " rejectedBy=ipfilter rejectReason=\"denied by denyFrom\" header.X-Request-Source=\"mobile app\"\n");
}

// A WebSocket tunnel's line says how the tunnel ended, in both formats.
TEST_F(AccessLogTest, TunnelEndForWebSocketTunnels) {
  AccessRecord r = sample();
  r.status = 101;
  r.tunnel_end = "idle_timeout";
  std::string line;
  format_access_line(r, line);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["status"], 101);
  EXPECT_EQ(j["tunnelEnd"], "idle_timeout");
  set_log_format(config::LogFormat::kText);
  format_access_line(r, line);
  EXPECT_NE(line.find(" tunnelEnd=idle_timeout"), std::string::npos) << line;
}

TEST_F(AccessLogTest, TextValuesWithSpacesOrControlBytesAreQuotedOnOneLine) {
  set_log_format(config::LogFormat::kText);
  AccessRecord r = sample();
  r.path = "/a b\nc";
  std::string line;
  format_access_line(r, line);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_NE(line.find(" \"/a b\\nc\" "), std::string::npos) << line;
}

// ─── application events (log.h) ────────────────────────────────────────────────────────────────

TEST_F(AccessLogTest, LogEventIsOneJsonLineWithEscapedFields) {
  set_log_level(config::LogLevel::kInfo);
  test::StdoutCapture capture;
  log_event(config::LogLevel::kWarn, "upstream_down", {{"upstream", "users"}, {"reason", "said \"no\"\n"}});
  log_event(config::LogLevel::kDebug, "hidden");  // below the level: not written
  const std::string out = capture.finish();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["event"], "upstream_down");
  EXPECT_EQ(j["upstream"], "users");
  EXPECT_EQ(j["reason"], "said \"no\"\n");
  EXPECT_TRUE(j["timestamp"].is_string());
}

}  // namespace
}  // namespace flexgate::observe
