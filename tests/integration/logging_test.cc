// Logs and traces through the real binary: the access line's fields from real traffic, secrets
// redacted, sampling rates measured over many requests, a log file reopened on SIGUSR1, and
// spans exported over OTLP/HTTP to a collector stub.

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/harness.h"
#include "integration/raw_message.h"
#include "integration/test_configs.h"
#include "support/free_port.h"

namespace flexgate::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(Logging, TheAccessLineCarriesTraceAttemptsLatencyAndTheRefusal) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  auto gateway = start_gateway(
      gateway_config(upstream.port(),
                     "  - path: \"/limited\"\n    upstream: echo\n    rateLimit: { max: 1, windowMs: 3600000 }\n" +
                         kCatchAllRoute) +
      "  headers: [X-Tenant, Authorization]\n");
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ASSERT_EQ(request(gateway.port, "GET", "/x",
                    {{"X-Correlation-ID", "log-ok"}, {"traceparent", traceparent}, {"X-Tenant", "acme"},
                     {"Authorization", "Bearer very-secret"}})
                .status,
            200);
  auto line = wait_for_access_log(*gateway.process, "log-ok");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ((*line)["attempts"], 1);
  EXPECT_GT((*line)["upstreamLatencyMs"].get<double>(), 0.0);
  EXPECT_LE((*line)["upstreamLatencyMs"].get<double>(), (*line)["durationMs"].get<double>());
  EXPECT_EQ((*line)["protocol"], "HTTP/1.1");
  EXPECT_EQ((*line)["headers"]["X-Tenant"], "acme");
  EXPECT_EQ((*line)["headers"]["Authorization"], "[REDACTED]");
  for (const auto& text : gateway.process->lines()) EXPECT_EQ(text.find("very-secret"), std::string::npos);

  ASSERT_EQ(request(gateway.port, "GET", "/limited", {{"X-Correlation-ID", "log-first"}}).status, 200);
  auto first = wait_for_access_log(*gateway.process, "log-first");
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["rateLimit"], "allowed");
  ASSERT_EQ(request(gateway.port, "GET", "/limited", {{"X-Correlation-ID", "log-limited"}}).status, 429);
  auto limited = wait_for_access_log(*gateway.process, "log-limited");
  ASSERT_TRUE(limited);
  EXPECT_EQ((*limited)["rateLimit"], "limited");
  EXPECT_EQ((*limited)["rejectedBy"], "ratelimit");
  EXPECT_EQ((*limited)["rejectReason"], "limited");
  EXPECT_EQ((*limited)["status"], 429);
}

TEST(Logging, SamplingKeepsTheConfiguredShareAndEveryError) {
  ScriptedUpstream upstream([](const std::string& raw) {
    return raw.starts_with("GET /fail") ? std::string("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
                                        : kOk;
  });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute, "  workers: 1\n") +
                               "  sampling: { successRate: 0.2, errorRate: 1.0 }\n");
  constexpr int kRequests = 1000;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(request(gateway.port, "GET", "/ok", {{"X-Correlation-ID", "sample-" + std::to_string(i)}}).status, 200);
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(request(gateway.port, "GET", "/fail", {{"X-Correlation-ID", "error-" + std::to_string(i)}}).status, 500);
  }
  // The last error is always logged; once it is there, every line before it is too.
  ASSERT_TRUE(wait_for_access_log(*gateway.process, "error-19"));
  int kept = 0;
  int errors = 0;
  for (const auto& text : gateway.process->lines()) {
    if (text.find("\"correlationId\":\"sample-") != std::string::npos) ++kept;
    if (text.find("\"correlationId\":\"error-") != std::string::npos) ++errors;
  }
  EXPECT_EQ(errors, 20);
  EXPECT_GT(kept, kRequests * 0.2 - 60);  // 200 expected; the decision hashes the correlation ID
  EXPECT_LT(kept, kRequests * 0.2 + 60);
  const double sampled_out = metric_sample(scrape(gateway.port), "flexgate_access_lines_sampled_out_total");
  EXPECT_EQ(sampled_out, kRequests - kept);
}

TEST(Logging, AFileOutputIsReopenedOnSigusr1) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  const fs::path dir = fs::temp_directory_path() / ("flexgate-logs-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path log = dir / "access.log";
  // Waits (event-driven: inotify on the directory, bounded) until the file at `path` contains
  // `needle`; the writer thread appends lines a few milliseconds after the request.
  auto file_has = [&dir](const fs::path& path, const std::string& needle) {
    const int fd = ::inotify_init1(IN_CLOEXEC);
    ::inotify_add_watch(fd, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
    bool found = false;
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!found && std::chrono::steady_clock::now() < give_up) {
      std::ifstream in(path);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      found = text.find(needle) != std::string::npos;
      if (found) break;
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 1000) > 0) {
        char events[4096];
        (void)!::read(fd, events, sizeof events);
      }
    }
    ::close(fd);
    return found;
  };
  // Everything goes to the file, the "listening" line too: a fixed port, and the file says when.
  const std::uint16_t port = free_udp_and_tcp_port();
  std::string yaml = gateway_config(upstream.port(), kCatchAllRoute) + "  output: \"" + log.string() + "\"\n";
  yaml.replace(yaml.find("port: 0"), 7, "port: " + std::to_string(port));
  const std::string config_path = write_temp_file(yaml);
  auto process = std::make_unique<ChildProcess>(std::vector<std::string>{FLEXGATE_BINARY, "run", "-c", config_path});
  ASSERT_TRUE(file_has(log, "\"listening\""));
  ASSERT_EQ(request(port, "GET", "/before", {{"X-Correlation-ID", "before-rotate"}}).status, 200);
  ASSERT_TRUE(file_has(log, "before-rotate"));
  fs::rename(log, dir / "access.log.1");  // what logrotate does
  process->signal(SIGUSR1);
  ASSERT_TRUE(file_has(log, "log_reopened"));  // the event is the new file's first line
  EXPECT_FALSE(fs::is_empty(dir / "access.log.1"));
  ASSERT_EQ(request(port, "GET", "/after", {{"X-Correlation-ID", "after-rotate"}}).status, 200);
  EXPECT_TRUE(file_has(log, "after-rotate"));
  process.reset();
  fs::remove_all(dir);
}

TEST(TracingExport, SpansAreExportedOverOtlpToTheCollector) {
  ScriptedUpstream upstream([](const std::string&) { return kOk; });
  ScriptedUpstream collector([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"); });
  auto gateway = start_gateway(gateway_config(upstream.port(), kCatchAllRoute) + "tracing:\n  otlp:\n    endpoint: \"http://127.0.0.1:" +
                               std::to_string(collector.port()) + "/v1/traces\"\n    serviceName: edge-test\n");
  ASSERT_EQ(request(gateway.port, "GET", "/traced",
                    {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
                .status,
            200);
  ASSERT_TRUE(collector.wait_requests(1, 20s));  // the exporter flushes at least every second
  const std::string raw = collector.requests().front();
  EXPECT_TRUE(raw.starts_with("POST /v1/traces HTTP/1.1"));
  const auto body = nlohmann::json::parse(raw.substr(raw.find("\r\n\r\n") + 4));
  const auto& span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(span["name"], "GET /*");
  EXPECT_EQ(body["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "edge-test");
}

}  // namespace
}  // namespace flexgate::testing
