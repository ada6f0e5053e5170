#include "observe/metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace flexgate::observe {
namespace {

using std::chrono::microseconds;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));  // a last line without '\n' is a format error
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Sample lines as "name{labels}" -> value text. The value follows the last space.
std::map<std::string, std::string> samples_of(const std::string& text) {
  std::map<std::string, std::string> samples;
  for (const std::string& line : split_lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = line.substr(space + 1);
  }
  return samples;
}

bool has_line(const std::string& text, std::string_view line) {
  for (const std::string& l : split_lines(text)) {
    if (l == line) return true;
  }
  return false;
}

RouteId route(MetricsRegistry& registry, std::string_view pattern) {
  std::vector<std::string> errors;
  const auto id = registry.register_route(pattern, errors);
  EXPECT_TRUE(id.has_value()) << (errors.empty() ? "" : errors[0]);
  return id.value_or(kNoRoute);
}

UpstreamId upstream(MetricsRegistry& registry, std::string_view name) {
  std::vector<std::string> errors;
  const auto id = registry.register_upstream(name, errors);
  EXPECT_TRUE(id.has_value()) << (errors.empty() ? "" : errors[0]);
  return id.value_or(0);
}

TEST(MetricsLabels, MethodIsAClosedSet) {
  EXPECT_EQ(to_string(MethodLabel::kGet), "GET");
  EXPECT_EQ(to_string(MethodLabel::kConnect), "CONNECT");
  EXPECT_EQ(to_string(MethodLabel::kPatch), "PATCH");
  EXPECT_EQ(to_string(MethodLabel::kOther), "OTHER");
}

TEST(MetricsLabels, RejectionsNameTheirPolicyAndReason) {
  EXPECT_EQ(policy_of(Rejection::kAuthReplay), "auth");
  EXPECT_EQ(reason_of(Rejection::kAuthReplay), "replay");
  EXPECT_EQ(policy_of(Rejection::kEgressBlockedAddress), "egress");
  EXPECT_EQ(reason_of(Rejection::kLimitsBodyTooLarge), "body_too_large");
  EXPECT_EQ(to_string(UpstreamOutcome::kConnectError), "connect_error");
}

TEST(MetricsLabels, DurationBucketBoundsAreInclusive) {
  EXPECT_EQ(duration_bucket(0), 0u);
  EXPECT_EQ(duration_bucket(500), 0u);  // le="0.0005"
  EXPECT_EQ(duration_bucket(501), 1u);
  EXPECT_EQ(duration_bucket(1'000'000), 10u);  // le="1"
  EXPECT_EQ(duration_bucket(60'000'000), 15u);
  EXPECT_EQ(duration_bucket(60'000'001), 16u);  // +Inf only
}

TEST(MetricsRegistry, CountsAreSummedAcrossWorkers) {
  MetricsRegistry registry(3);
  const RouteId users = route(registry, "/users/:id");
  const UpstreamId backend = upstream(registry, "backend");
  for (unsigned w = 0; w < 3; ++w) {
    WorkerMetrics& worker = registry.worker(w);
    for (unsigned i = 0; i <= w; ++i) {  // worker w records w + 1 of each
      worker.request_started();
      worker.request_finished(users, MethodLabel::kGet, 200, microseconds(700));
      worker.request_started();
      worker.request_finished(kNoRoute, MethodLabel::kOther, 404, microseconds(100));
      worker.record_rejection(Rejection::kAuthMissingKey);
      worker.record_upstream_request(backend, UpstreamOutcome::kSuccess);
      worker.record_upstream_connection_opened(backend);
      worker.record_upstream_pool_reuse(backend);
    }
  }
  registry.worker(1).request_started();  // one still in flight

  EXPECT_EQ(registry.request_count(users, MethodLabel::kGet, 200), 6u);
  EXPECT_EQ(registry.request_count(kNoRoute, MethodLabel::kOther, 404), 6u);
  EXPECT_EQ(registry.request_count(users, MethodLabel::kPost, 200), 0u);
  EXPECT_EQ(registry.rejection_count(Rejection::kAuthMissingKey), 6u);
  EXPECT_EQ(registry.rejection_count(Rejection::kAuthReplay), 0u);
  EXPECT_EQ(registry.upstream_request_count(backend, UpstreamOutcome::kSuccess), 6u);
  EXPECT_EQ(registry.upstream_request_count(backend, UpstreamOutcome::kTimeout), 0u);
  EXPECT_EQ(registry.upstream_connections_opened(backend), 6u);
  EXPECT_EQ(registry.upstream_pool_reuses(backend), 6u);
  EXPECT_EQ(registry.requests_in_flight(), 1);
  EXPECT_EQ(registry.dropped_count(), 0u);

  const DurationSnapshot durations = registry.request_durations(users);
  EXPECT_EQ(durations.count, 6u);
  EXPECT_EQ(durations.buckets[1], 6u);  // 700 us: le="0.001"
  EXPECT_EQ(durations.sum_micros, 4200u);

  const std::string text = registry.render_prometheus();
  EXPECT_TRUE(
      has_line(text, R"(flexgate_http_requests_total{method="GET",route="/users/:id",status="200"} 6)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_http_requests_total{method="OTHER",route="none",status="404"} 6)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_policy_rejections_total{policy="auth",reason="missing_key"} 6)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_upstream_requests_total{upstream="backend",outcome="success"} 6)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_upstream_connections_opened_total{upstream="backend"} 6)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_upstream_pool_reuses_total{upstream="backend"} 6)"));
  EXPECT_TRUE(has_line(text, "flexgate_http_requests_in_flight 1"));
}

// WebSocket tunnels: the open-tunnel gauge and the bytes by direction, summed across workers; the
// idle timeouts and the refusals in their families.
TEST(MetricsRegistry, WebsocketTunnels) {
  MetricsRegistry registry(2);
  std::string text = registry.render_prometheus();
  EXPECT_TRUE(has_line(text, "flexgate_websocket_connections 0"));
  EXPECT_TRUE(has_line(text, R"(flexgate_websocket_bytes_total{direction="to_upstream"} 0)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_websocket_bytes_total{direction="to_client"} 0)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_timeouts_total{kind="websocket_idle"} 0)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_policy_rejections_total{policy="websocket",reason="not_allowed"} 0)"));

  registry.worker(0).add_websocket_tunnels(1);
  registry.worker(1).add_websocket_tunnels(1);
  registry.worker(1).add_websocket_tunnels(1);
  registry.worker(1).add_websocket_tunnels(-1);
  registry.worker(0).record_websocket_bytes(TunnelDirection::kToUpstream, 100);
  registry.worker(1).record_websocket_bytes(TunnelDirection::kToUpstream, 23);
  registry.worker(1).record_websocket_bytes(TunnelDirection::kToClient, 7);
  registry.worker(0).record_timeout(TimeoutKind::kWebsocketIdle);
  registry.worker(1).record_rejection(Rejection::kWebsocketBadHandshake);
  EXPECT_EQ(registry.websocket_tunnels(), 2);
  EXPECT_EQ(registry.websocket_bytes(TunnelDirection::kToUpstream), 123u);
  EXPECT_EQ(registry.websocket_bytes(TunnelDirection::kToClient), 7u);

  text = registry.render_prometheus();
  EXPECT_TRUE(has_line(text, "flexgate_websocket_connections 2"));
  EXPECT_TRUE(has_line(text, R"(flexgate_websocket_bytes_total{direction="to_upstream"} 123)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_websocket_bytes_total{direction="to_client"} 7)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_timeouts_total{kind="websocket_idle"} 1)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_policy_rejections_total{policy="websocket",reason="bad_handshake"} 1)"));
}

TEST(MetricsRegistry, LabelsKeepTheirIdsAndCountsAcrossReRegistration) {
  MetricsRegistry registry(2);
  // First snapshot: /a and /b.
  const RouteId a = route(registry, "/a");
  const RouteId b = route(registry, "/b");
  const UpstreamId old_upstream = upstream(registry, "old");
  registry.worker(0).request_finished(a, MethodLabel::kGet, 200, microseconds(10));
  registry.worker(1).request_finished(b, MethodLabel::kGet, 200, microseconds(10));
  registry.worker(1).record_upstream_request(old_upstream, UpstreamOutcome::kReset);

  // Reload: /b stays, /a goes, /c arrives.
  EXPECT_EQ(route(registry, "/b"), b);
  const RouteId c = route(registry, "/c");
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  registry.worker(0).request_finished(b, MethodLabel::kGet, 200, microseconds(10));
  registry.worker(0).request_finished(c, MethodLabel::kPut, 201, microseconds(10));

  EXPECT_EQ(registry.request_count(b, MethodLabel::kGet, 200), 2u);
  EXPECT_EQ(registry.request_count(a, MethodLabel::kGet, 200), 1u);
  const std::string text = registry.render_prometheus();
  EXPECT_TRUE(has_line(text, R"(flexgate_http_requests_total{method="GET",route="/a",status="200"} 1)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_http_requests_total{method="GET",route="/b",status="200"} 2)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_http_requests_total{method="PUT",route="/c",status="201"} 1)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_http_request_duration_seconds_count{route="/b"} 2)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_upstream_requests_total{upstream="old",outcome="reset"} 1)"));

  EXPECT_EQ(route(registry, ""), kNoRoute);
  EXPECT_EQ(route(registry, "none"), kNoRoute);
}

TEST(MetricsRegistry, RegistrationPastCapacityFailsWithAMessage) {
  MetricsLimits limits;
  limits.max_routes = 3;  // "none" + 2
  limits.max_upstreams = 1;
  MetricsRegistry registry(1, limits);
  route(registry, "/one");
  route(registry, "/two");
  std::vector<std::string> errors;
  EXPECT_FALSE(registry.register_route("/three", errors).has_value());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("more than 3 distinct route"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("/three"), std::string::npos) << errors[0];
  EXPECT_TRUE(registry.register_route("/two", errors).has_value());  // known patterns still resolve

  upstream(registry, "a");
  errors.clear();
  EXPECT_FALSE(registry.register_upstream("b", errors).has_value());
  EXPECT_EQ(errors.size(), 1u);
}

TEST(MetricsRegistry, UnregisteredIdsAreDroppedAndCounted) {
  MetricsRegistry registry(1);
  registry.worker(0).request_started();
  registry.worker(0).request_finished(999, MethodLabel::kGet, 200, microseconds(1));
  registry.worker(0).request_finished(1'000'000, MethodLabel::kGet, 200, microseconds(1));  // past capacity
  registry.worker(0).record_upstream_request(5, UpstreamOutcome::kSuccess);
  EXPECT_EQ(registry.dropped_count(), 3u);
  EXPECT_EQ(registry.request_count(999, MethodLabel::kGet, 200), 0u);
  EXPECT_TRUE(has_line(registry.render_prometheus(), "flexgate_metrics_dropped_total 3"));
}

TEST(MetricsRegistry, FullSeriesTableDropsNewSeriesOnly) {
  MetricsLimits limits;
  limits.request_series = 64;  // 48 usable
  MetricsRegistry registry(1, limits);
  WorkerMetrics& worker = registry.worker(0);
  for (std::uint16_t status = 100; status < 160; ++status) {
    worker.request_finished(kNoRoute, MethodLabel::kGet, status, microseconds(1));
  }
  EXPECT_EQ(registry.dropped_count(), 12u);
  worker.request_finished(kNoRoute, MethodLabel::kGet, 100, microseconds(1));  // existing series
  EXPECT_EQ(registry.request_count(kNoRoute, MethodLabel::kGet, 100), 2u);
  EXPECT_EQ(registry.dropped_count(), 12u);
  EXPECT_EQ(registry.request_durations(kNoRoute).count, 61u);  // histograms are not affected
}

TEST(MetricsRegistry, ConfigReloadsAndBuildInfo) {
  MetricsRegistry registry(1);
  registry.set_build_version("0.1.0");
  std::string text = registry.render_prometheus();
  EXPECT_TRUE(has_line(text, "flexgate_config_last_reload_success_timestamp_seconds 0.000"));
  EXPECT_TRUE(has_line(text, R"(flexgate_build_info{version="0.1.0"} 1)"));

  const std::chrono::system_clock::time_point when{std::chrono::milliseconds(1'700'000'000'123)};
  registry.record_config_load(when);
  registry.record_config_reload(false, when + std::chrono::seconds(5));
  text = registry.render_prometheus();
  EXPECT_TRUE(has_line(text, "flexgate_config_last_reload_success_timestamp_seconds 1700000000.123"));
  EXPECT_TRUE(has_line(text, R"(flexgate_config_reloads_total{result="success"} 0)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_config_reloads_total{result="failure"} 1)"));

  registry.record_config_reload(true, when + std::chrono::milliseconds(60'007));
  text = registry.render_prometheus();
  EXPECT_TRUE(has_line(text, "flexgate_config_last_reload_success_timestamp_seconds 1700000060.130"));
  EXPECT_TRUE(has_line(text, R"(flexgate_config_reloads_total{result="success"} 1)"));
}

// The exposition format, line by line: every family has HELP then TYPE before its samples, every
// sample belongs to the family declared last, label values are escaped, histograms are complete.
TEST(MetricsRender, FormatLineByLine) {
  MetricsRegistry registry(2);
  registry.set_build_version("1.2.3-\"dev\"");
  const RouteId tricky = route(registry, "/a\"b\\c\nd");
  const RouteId users = route(registry, "/users/:id");
  upstream(registry, "users");
  registry.worker(0).request_finished(users, MethodLabel::kGet, 200, microseconds(1'234));
  registry.worker(1).request_finished(users, MethodLabel::kGet, 200, microseconds(90'000'000));  // > 60 s
  registry.worker(1).request_finished(tricky, MethodLabel::kPost, 503, microseconds(0));
  // The families read from their owners at scrape time, one sample each (in reverse: the
  // registry groups them by family in declaration order).
  registry.set_external_source([](std::vector<MetricsRegistry::ExternalSample>& out) {
    for (std::size_t f = kMetricFamilyCount; f-- > static_cast<std::size_t>(MetricFamily::kDownstreamConnections);) {
      out.push_back({static_cast<MetricFamily>(f), "upstream=\"u\"", 2});
    }
  });

  const std::string text = registry.render_prometheus();
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  const std::vector<std::string> lines = split_lines(text);

  // Structure.
  std::size_t family = 0;  // index of the next family header expected
  std::string current;     // name of the family being rendered
  std::string current_type;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    ASSERT_FALSE(line.empty()) << "line " << i;
    if (line.rfind("# HELP ", 0) == 0) {
      ASSERT_LT(family, kMetricFamilyCount);
      const MetricFamilyInfo& info = family_info(static_cast<MetricFamily>(family));
      EXPECT_EQ(line, "# HELP " + std::string(info.name) + " " + std::string(info.help));
      ASSERT_LT(i + 1, lines.size());
      EXPECT_EQ(lines[i + 1], "# TYPE " + std::string(info.name) + " " + std::string(info.type));
      current = info.name;
      current_type = info.type;
      ++family;
      ++i;
      continue;
    }
    ASSERT_NE(line[0], '#') << line;
    ASSERT_FALSE(current.empty()) << "sample before any TYPE: " << line;
    const std::size_t name_end = line.find_first_of("{ ");
    const std::string name = line.substr(0, name_end);
    if (current_type == "histogram") {
      EXPECT_TRUE(name == current + "_bucket" || name == current + "_sum" || name == current + "_count")
          << line;
    } else {
      EXPECT_EQ(name, current) << line;
    }
    const std::string value = line.substr(line.rfind(' ') + 1);
    EXPECT_FALSE(value.empty()) << line;
    EXPECT_EQ(value.find_first_not_of("0123456789.-"), std::string::npos) << line;
  }
  EXPECT_EQ(family, kMetricFamilyCount);

  // Escaping: backslash, double quote and line feed in label values.
  EXPECT_TRUE(
      has_line(text, R"(flexgate_http_requests_total{method="POST",route="/a\"b\\c\nd",status="503"} 1)"));
  EXPECT_TRUE(has_line(text, R"(flexgate_build_info{version="1.2.3-\"dev\""} 1)"));

  // The histogram of /users/:id: 1.234 ms and 90 s.
  const std::vector<std::string> expected = {
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.0005"} 0)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.001"} 0)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.0025"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.005"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.01"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.025"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.05"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.1"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.25"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="0.5"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="1"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="2.5"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="5"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="10"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="30"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="60"} 1)",
      R"(flexgate_http_request_duration_seconds_bucket{route="/users/:id",le="+Inf"} 2)",
      R"(flexgate_http_request_duration_seconds_sum{route="/users/:id"} 90.001234)",
      R"(flexgate_http_request_duration_seconds_count{route="/users/:id"} 2)",
  };
  std::size_t start = 0;
  while (start < lines.size() && lines[start] != expected[0]) ++start;
  ASSERT_LT(start, lines.size()) << text;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    ASSERT_LT(start + k, lines.size());
    EXPECT_EQ(lines[start + k], expected[k]);
  }
  EXPECT_TRUE(has_line(text, R"(flexgate_http_request_duration_seconds_sum{route="/a\"b\\c\nd"} 0.000000)"));
  // Routes without a request have no histogram.
  EXPECT_EQ(text.find(R"(_bucket{route="none")"), std::string::npos);

  // Closed sets are rendered whole.
  const auto samples = samples_of(text);
  for (std::size_t r = 0; r < kRejectionCount; ++r) {
    const auto rejection = static_cast<Rejection>(r);
    const std::string key = "flexgate_policy_rejections_total{policy=\"" + std::string(policy_of(rejection)) +
                            "\",reason=\"" + std::string(reason_of(rejection)) + "\"}";
    EXPECT_EQ(samples.count(key), 1u) << key;
  }
  for (std::size_t o = 0; o < kUpstreamOutcomeCount; ++o) {
    const std::string key = "flexgate_upstream_requests_total{upstream=\"users\",outcome=\"" +
                            std::string(to_string(static_cast<UpstreamOutcome>(o))) + "\"}";
    EXPECT_EQ(samples.count(key), 1u) << key;
  }
}

// N workers record while a registrar adds routes and a scraper renders: every scrape parses, every
// counter only grows, every histogram's +Inf equals its _count, and the final totals are exact.
TEST(MetricsConcurrency, ScrapesDuringWritesSeeMonotonicUntornValues) {
  constexpr unsigned kWorkers = 4;
  constexpr std::uint32_t kLateRoutes = 200;  // registered while workers run: new chunks appear
  MetricsRegistry registry(kWorkers);
  const RouteId first = route(registry, "/first");
  const UpstreamId backend = upstream(registry, "backend");

  std::atomic<std::uint32_t> late_published{0};  // how many late routes workers may use
  std::vector<RouteId> late_ids(kLateRoutes);
  std::atomic<unsigned> scrapes{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::uint64_t> iterations(kWorkers, 0);

  std::thread registrar([&] {
    for (std::uint32_t i = 0; i < kLateRoutes; ++i) {
      late_ids[i] = route(registry, "/late/" + std::to_string(i));
      late_published.store(i + 1, std::memory_order_release);  // like posting the snapshot
      std::this_thread::yield();
    }
  });

  std::vector<std::thread> writers;
  for (unsigned w = 0; w < kWorkers; ++w) {
    writers.emplace_back([&, w] {
      WorkerMetrics& worker = registry.worker(w);
      std::uint64_t n = 0;
      while (n < 20'000 || scrapes.load(std::memory_order_relaxed) < 20 ||
             late_published.load(std::memory_order_acquire) < kLateRoutes) {
        const std::uint32_t published = late_published.load(std::memory_order_acquire);
        const RouteId target = published == 0 ? first : late_ids[n % published];
        worker.request_started();
        worker.request_started();
        worker.request_finished(first, MethodLabel::kGet, 200, microseconds(n % 3000));
        worker.request_finished(target, MethodLabel::kPost, static_cast<std::uint16_t>(200 + n % 5),
                                microseconds(n % 70));
        worker.record_upstream_request(backend, UpstreamOutcome::kSuccess);
        ++n;
      }
      iterations[w] = n;
    });
  }

  bool ok = true;
  std::thread scraper([&] {
    std::map<std::string, double> previous;
    while (!writers_done.load(std::memory_order_acquire)) {
      const std::string text = registry.render_prometheus();
      const auto samples = samples_of(text);
      for (const auto& [key, value_text] : samples) {
        const double value = std::strtod(value_text.c_str(), nullptr);
        const bool counter = key.find("_total") != std::string::npos ||
                             key.find("_bucket") != std::string::npos ||
                             key.find("_count") != std::string::npos || key.find("_sum") != std::string::npos;
        if (counter) {
          const auto it = previous.find(key);
          if (it != previous.end() && value < it->second) {
            ADD_FAILURE() << key << " went from " << it->second << " to " << value;
            ok = false;
          }
        }
        previous[key] = value;
        // +Inf bucket == _count, from the same scrape.
        const std::size_t inf = key.find(",le=\"+Inf\"}");
        if (inf != std::string::npos) {
          const std::string route_labels = key.substr(key.find('{'), inf - key.find('{'));
          const auto count =
              samples.find("flexgate_http_request_duration_seconds_count" + route_labels + "}");
          if (count == samples.end() || count->second != value_text) {
            ADD_FAILURE() << key << " = " << value_text << " but _count differs";
            ok = false;
          }
        }
      }
      scrapes.fetch_add(1, std::memory_order_relaxed);
      if (!ok) break;
    }
  });

  registrar.join();
  for (std::thread& writer : writers) writer.join();
  writers_done.store(true, std::memory_order_release);
  scraper.join();
  ASSERT_TRUE(ok);
  EXPECT_GE(scrapes.load(), 20u);

  std::uint64_t total = 0;
  for (const std::uint64_t n : iterations) total += n;
  EXPECT_EQ(registry.request_count(first, MethodLabel::kGet, 200), total);
  std::uint64_t posts = 0;
  for (std::uint16_t status = 200; status < 205; ++status) {
    posts += registry.request_count(first, MethodLabel::kPost, status);
    for (const RouteId id : late_ids) posts += registry.request_count(id, MethodLabel::kPost, status);
  }
  EXPECT_EQ(posts, total);
  EXPECT_EQ(registry.upstream_request_count(backend, UpstreamOutcome::kSuccess), total);
  EXPECT_EQ(registry.requests_in_flight(), 0);
  EXPECT_EQ(registry.dropped_count(), 0u);
}

bool promtool_present() {
  return std::system("command -v promtool > /dev/null 2>&1") == 0;
}

// promtool (Debian package `prometheus`) parses and lints the output as Prometheus would.
TEST(MetricsRender, PromtoolAcceptsTheOutput) {
  if (!promtool_present()) {
    FAIL() << "promtool not found on PATH (make test installs the Debian package prometheus, which has it)";
  }
  MetricsRegistry registry(2);
  registry.set_build_version("0.1.0");
  const RouteId users = route(registry, "/users/:id");
  const RouteId odd = route(registry, "/odd \"quoted\" \\path\\\nline");
  const UpstreamId backend = upstream(registry, "backend");
  registry.record_config_load(std::chrono::system_clock::now());
  registry.record_config_reload(false);
  registry.worker(0).request_started();
  registry.worker(0).request_finished(users, MethodLabel::kGet, 200, microseconds(1500));
  registry.worker(1).request_finished(odd, MethodLabel::kOther, 404, microseconds(70'000'000));
  registry.worker(1).request_finished(kNoRoute, MethodLabel::kGet, 404, microseconds(20));
  registry.worker(1).record_rejection(Rejection::kValidateSchema);
  registry.worker(0).record_upstream_request(backend, UpstreamOutcome::kTimeout);
  registry.worker(0).record_upstream_connection_opened(backend);

  char path[] = "/tmp/flexgate_metrics_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = registry.render_prometheus();
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);

  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (const std::size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  ::unlink(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "promtool said:\n"
                                                             << output << "\non:\n"
                                                             << text;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace flexgate::observe
