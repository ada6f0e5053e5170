#include "observe/span_exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace flexgate::observe {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Upper bound for anything a test waits for; reached only when something is broken.
constexpr auto kPatience = 10s;

// A minimal OTLP/HTTP collector on 127.0.0.1:0: one thread accepts connections one at a time, reads
// one request from each, records it and answers with the next scripted status (200 once the script
// is used up). hold() makes it keep each request unanswered until release(): a slow collector.
class CollectorStub {
 public:
  struct Request {
    std::string head;  // request line and headers
    std::string body;
  };

  CollectorStub() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "collector stub: cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~CollectorStub() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    // Wakes the blocking accept() (Linux returns EINVAL); the fd is closed only after the join.
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  CollectorStub(const CollectorStub&) = delete;
  CollectorStub& operator=(const CollectorStub&) = delete;

  std::string endpoint(std::string_view path = "/v1/traces") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }

  void script(std::vector<int> statuses) {
    std::lock_guard lock(mutex_);
    script_.assign(statuses.begin(), statuses.end());
  }

  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }

  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }

  // Whether `count` requests arrived within kPatience.
  bool wait_for_requests(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return requests_.size() >= count; });
  }

  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down
      }
      handle(fd);
      ::close(fd);
    }
  }

  void handle(int fd) {
    timeval receive_timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof receive_timeout);
    std::string data;
    std::size_t head_end = std::string::npos;
    std::size_t content_length = 0;
    char buffer[4096];
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = data.find("\r\n\r\n");
        if (head_end != std::string::npos) content_length = parse_content_length(data.substr(0, head_end));
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + content_length) break;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;  // the client gave up (or a timeout): nothing to record
      data.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 200;
    {
      std::unique_lock lock(mutex_);
      requests_.push_back({data.substr(0, head_end), data.substr(head_end + 4, content_length)});
      if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
      changed_.notify_all();
      changed_.wait_for(lock, kPatience, [this] { return !held_ || stopping_; });
    }
    const std::string response =
        "HTTP/1.1 " + std::to_string(status) + " Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
  }

  static std::size_t parse_content_length(std::string head) {
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::size_t at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(head.substr(at + 17));
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Request> requests_;
  std::deque<int> script_;
  bool held_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

SpanRecord make_span(int index, bool with_parent = true) {
  SpanRecord span;
  span.trace_id = new_trace_id();
  span.span_id = new_span_id();
  if (with_parent) span.parent_span_id = new_span_id();
  span.name = "GET /users/{id}";
  span.method = "GET";
  span.path = "/users/" + std::to_string(index);
  span.route = "/users/{id}";
  span.status = 200;
  span.server_address = "api.example.com";
  span.client_address = "192.0.2.7";
  span.upstream = "users";
  span.target = "10.0.0.5:8080";
  span.correlation_id = "corr-" + std::to_string(index);
  span.start_time =
      std::chrono::system_clock::time_point(std::chrono::nanoseconds(1'700'000'000'123'456'789));
  span.end_time = span.start_time + std::chrono::microseconds(1500);
  return span;
}

std::string hex(const TraceId& id) {
  const auto text = trace_id_hex(id);
  return std::string(text.data(), text.size());
}

std::string hex(const SpanId& id) {
  const auto text = span_id_hex(id);
  return std::string(text.data(), text.size());
}

// The `value` object of attribute `key`, or null.
json attribute(const json& attributes, std::string_view key) {
  for (const json& entry : attributes) {
    if (entry.at("key") == key) return entry.at("value");
  }
  return nullptr;
}

const json& spans_of(const json& request) {
  return request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
}

SpanExporterOptions options_for(const CollectorStub& collector) {
  SpanExporterOptions options;
  options.endpoint = collector.endpoint();
  options.flush_interval = std::chrono::hours(1);  // tests flush by batch size or shutdown()
  options.timeout = std::chrono::milliseconds(kPatience);
  return options;
}

std::unique_ptr<SpanExporter> make_exporter(const SpanExporterOptions& options) {
  std::string error;
  auto exporter = SpanExporter::create(options, error);
  EXPECT_NE(exporter, nullptr) << error;
  return exporter;
}

std::size_t total_spans(const std::vector<CollectorStub::Request>& requests) {
  std::size_t total = 0;
  for (const auto& request : requests) total += spans_of(json::parse(request.body)).size();
  return total;
}

TEST(SpanEncodeTest, ProducesTheOtlpJsonMapping) {
  std::vector<SpanRecord> spans{make_span(1, /*with_parent=*/false), make_span(2)};
  spans[1].status = 503;
  spans[1].error_message = "upstream unavailable";
  std::string body;
  encode_otlp_json(spans, "edge-gateway", body);
  const json request = json::parse(body);

  const json& resource_spans = request.at("resourceSpans");
  ASSERT_EQ(resource_spans.size(), 1u);
  EXPECT_EQ(attribute(resource_spans[0].at("resource").at("attributes"), "service.name"),
            json({{"stringValue", "edge-gateway"}}));
  EXPECT_EQ(resource_spans[0].at("scopeSpans").at(0).at("scope").at("name"), "flexgate");

  const json& out = spans_of(request);
  ASSERT_EQ(out.size(), 2u);
  const json& root = out[0];
  EXPECT_EQ(root.at("traceId"), hex(spans[0].trace_id));
  EXPECT_EQ(root.at("spanId"), hex(spans[0].span_id));
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(root.at("name"), "GET /users/{id}");
  ASSERT_TRUE(root.at("kind").is_number_integer());
  EXPECT_EQ(root.at("kind"), 2);
  EXPECT_EQ(root.at("startTimeUnixNano"), "1700000000123456789");
  EXPECT_EQ(root.at("endTimeUnixNano"), "1700000000124956789");
  EXPECT_FALSE(root.contains("status"));  // a success leaves the status unset

  const json& attributes = root.at("attributes");
  EXPECT_EQ(attribute(attributes, "http.request.method"), json({{"stringValue", "GET"}}));
  EXPECT_EQ(attribute(attributes, "url.path"), json({{"stringValue", "/users/1"}}));
  EXPECT_EQ(attribute(attributes, "http.route"), json({{"stringValue", "/users/{id}"}}));
  EXPECT_EQ(attribute(attributes, "http.response.status_code"), json({{"intValue", "200"}}));
  EXPECT_EQ(attribute(attributes, "server.address"), json({{"stringValue", "api.example.com"}}));
  EXPECT_EQ(attribute(attributes, "client.address"), json({{"stringValue", "192.0.2.7"}}));
  EXPECT_EQ(attribute(attributes, "flexgate.upstream"), json({{"stringValue", "users"}}));
  EXPECT_EQ(attribute(attributes, "flexgate.upstream.target"), json({{"stringValue", "10.0.0.5:8080"}}));
  EXPECT_EQ(attribute(attributes, "flexgate.correlation_id"), json({{"stringValue", "corr-1"}}));

  const json& child = out[1];
  EXPECT_EQ(child.at("parentSpanId"), hex(*spans[1].parent_span_id));
  EXPECT_EQ(attribute(child.at("attributes"), "http.response.status_code"), json({{"intValue", "503"}}));
  EXPECT_EQ(child.at("status"), json({{"code", 2}, {"message", "upstream unavailable"}}));
}

TEST(SpanEncodeTest, ErrorFlagEmptyFieldsAndEscaping) {
  SpanRecord span;
  span.trace_id = new_trace_id();
  span.span_id = new_span_id();
  span.method = "POST";
  span.path = "/a\"b\\c\x01\xff";
  span.status = 404;
  span.error = true;  // e.g. the gateway refused the request itself
  std::string body;
  encode_otlp_json(std::span(&span, 1), "flexgate", body);
  const json request = json::parse(body);
  const json& out = spans_of(request).at(0);
  EXPECT_EQ(out.at("name"), "POST");  // no name: the method, as OpenTelemetry names HTTP spans
  EXPECT_EQ(out.at("status"), json({{"code", 2}}));
  EXPECT_EQ(out.at("startTimeUnixNano"), "0");
  const json& attributes = out.at("attributes");
  // Control and non-ASCII bytes are \u00XX-escaped (so 0xff reads back as U+00FF).
  EXPECT_EQ(attribute(attributes, "url.path"), json({{"stringValue", "/a\"b\\c\x01\xc3\xbf"}}));
  EXPECT_TRUE(attribute(attributes, "http.route").is_null());  // empty strings are left out
  EXPECT_TRUE(attribute(attributes, "flexgate.upstream").is_null());
  EXPECT_EQ(attributes.size(), 3u);  // method, path, status code
}

TEST(SpanEncodeTest, EmptyBatchIsValidJson) {
  std::string body;
  encode_otlp_json({}, "flexgate", body);
  EXPECT_TRUE(spans_of(json::parse(body)).empty());
}

TEST(SpanExporterCreateTest, RefusesBadOptions) {
  auto refused = [](const std::string& endpoint, auto&& adjust) {
    SpanExporterOptions options;
    options.endpoint = endpoint;
    adjust(options);
    std::string error;
    const bool created = SpanExporter::create(options, error) != nullptr;
    EXPECT_FALSE(created) << endpoint;
    EXPECT_FALSE(error.empty()) << endpoint;
    return error;
  };
  auto as_is = [](SpanExporterOptions&) {};
  EXPECT_NE(refused("https://127.0.0.1:4318/v1/traces", as_is).find("https"), std::string::npos);
  refused("ftp://127.0.0.1/v1/traces", as_is);
  refused("127.0.0.1:4318", as_is);
  refused("http://", as_is);
  refused("http://:4318/v1/traces", as_is);
  refused("http://127.0.0.1:0/v1/traces", as_is);
  refused("http://127.0.0.1:65536/v1/traces", as_is);
  refused("http://127.0.0.1:43x8/v1/traces", as_is);
  refused("http://user@127.0.0.1:4318/v1/traces", as_is);
  refused("http://[::1/v1/traces", as_is);
  refused("http://127.0.0.1:4318/v1/traces\r\nX-Injected: 1", as_is);
  refused("http://127.0.0.1:4318/v1 traces", as_is);
  refused("http://127.0.0.1:4318", [](SpanExporterOptions& o) { o.max_queue = 0; });
  refused("http://127.0.0.1:4318", [](SpanExporterOptions& o) { o.max_batch = 0; });
  refused("http://127.0.0.1:4318", [](SpanExporterOptions& o) { o.timeout = 0ms; });
  refused("http://127.0.0.1:4318", [](SpanExporterOptions& o) { o.flush_interval = 0ms; });
}

TEST(SpanExporterCreateTest, AcceptsLiteralsAndNames) {
  for (const char* endpoint : {"http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318",
                               "http://[::1]:4318/v1/traces", "http://localhost:4318/v1/traces"}) {
    SpanExporterOptions options;
    options.endpoint = endpoint;
    options.max_queue = 8;
    std::string error;
    auto exporter = SpanExporter::create(options, error);
    ASSERT_NE(exporter, nullptr) << endpoint << ": " << error;
    EXPECT_EQ(exporter->options().max_batch, 8u) << "max_batch is capped at max_queue";
    exporter->shutdown();
  }
}

TEST(SpanExporterTest, AFullBatchIsPostedAsOtlpJson) {
  CollectorStub collector;
  SpanExporterOptions options = options_for(collector);
  options.max_batch = 3;
  options.service_name = "gateway-eu";
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  std::vector<SpanRecord> sent;
  for (int i = 0; i < 3; ++i) {
    sent.push_back(make_span(i));
    SpanRecord copy = sent.back();
    EXPECT_TRUE(exporter->enqueue(std::move(copy)));
  }
  ASSERT_TRUE(collector.wait_for_requests(1));
  exporter->shutdown();

  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.substr(0, requests[0].head.find("\r\n")), "POST /v1/traces HTTP/1.1");
  EXPECT_NE(requests[0].head.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(requests[0].head.find("\r\nHost: " + collector.authority() + "\r\n"), std::string::npos);
  const json request = json::parse(requests[0].body);
  EXPECT_EQ(attribute(request.at("resourceSpans").at(0).at("resource").at("attributes"), "service.name"),
            json({{"stringValue", "gateway-eu"}}));
  const json& spans = spans_of(request);
  ASSERT_EQ(spans.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(spans[i].at("traceId"), hex(sent[i].trace_id));
    EXPECT_EQ(spans[i].at("spanId"), hex(sent[i].span_id));
    EXPECT_EQ(spans[i].at("parentSpanId"), hex(*sent[i].parent_span_id));
    EXPECT_EQ(attribute(spans[i].at("attributes"), "url.path"),
              json({{"stringValue", "/users/" + std::to_string(i)}}));
  }
  EXPECT_EQ(exporter->spans_enqueued(), 3u);
  EXPECT_EQ(exporter->spans_exported(), 3u);
  EXPECT_EQ(exporter->spans_dropped(), 0u);
  EXPECT_EQ(exporter->export_failures(), 0u);
}

TEST(SpanExporterTest, FlushIntervalSendsAPartialBatch) {
  CollectorStub collector;
  SpanExporterOptions options = options_for(collector);
  options.flush_interval = 10ms;
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(1)));
  ASSERT_TRUE(collector.wait_for_requests(1));  // long before shutdown
  exporter->shutdown();
  EXPECT_EQ(total_spans(collector.requests()), 1u);
  EXPECT_EQ(exporter->spans_exported(), 1u);
}

TEST(SpanExporterTest, ShutdownFlushesWhatIsQueued) {
  CollectorStub collector;
  auto exporter = make_exporter(options_for(collector));  // batch 256, interval 1 h
  ASSERT_NE(exporter, nullptr);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(exporter->enqueue(make_span(i)));
  EXPECT_TRUE(collector.requests().empty());
  exporter->shutdown();
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(spans_of(json::parse(requests[0].body)).size(), 5u);
  EXPECT_EQ(exporter->spans_exported(), 5u);
  EXPECT_EQ(exporter->export_failures(), 0u);
  exporter->shutdown();  // idempotent
}

TEST(SpanExporterTest, BatchesHoldAtMostMaxBatchSpans) {
  CollectorStub collector;
  SpanExporterOptions options = options_for(collector);
  options.max_batch = 2;
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  std::set<std::string> sent;
  for (int i = 0; i < 7; ++i) {
    SpanRecord span = make_span(i);
    sent.insert(hex(span.span_id));
    EXPECT_TRUE(exporter->enqueue(std::move(span)));
  }
  exporter->shutdown();
  std::set<std::string> received;
  for (const auto& request : collector.requests()) {
    const json parsed = json::parse(request.body);
    const json& spans = spans_of(parsed);
    EXPECT_GE(spans.size(), 1u);
    EXPECT_LE(spans.size(), 2u);
    for (const json& span : spans) received.insert(span.at("spanId").get<std::string>());
  }
  EXPECT_EQ(received, sent);
  EXPECT_EQ(exporter->spans_exported(), 7u);
}

TEST(SpanExporterTest, DefaultPathIsV1Traces) {
  CollectorStub collector;
  SpanExporterOptions options = options_for(collector);
  options.endpoint = collector.endpoint("");
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(1)));
  exporter->shutdown();
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.substr(0, requests[0].head.find("\r\n")), "POST /v1/traces HTTP/1.1");
}

TEST(SpanExporterTest, AFullQueueDropsAndCounts) {
  CollectorStub collector;
  collector.hold();
  SpanExporterOptions options = options_for(collector);
  options.max_queue = 2;
  options.max_batch = 1;
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(0)));
  ASSERT_TRUE(collector.wait_for_requests(1));  // the export thread is busy with span 0
  EXPECT_TRUE(exporter->enqueue(make_span(1)));
  EXPECT_TRUE(exporter->enqueue(make_span(2)));
  EXPECT_FALSE(exporter->enqueue(make_span(3)));
  EXPECT_FALSE(exporter->enqueue(make_span(4)));
  EXPECT_EQ(exporter->spans_enqueued(), 3u);
  EXPECT_EQ(exporter->spans_dropped(), 2u);
  collector.release();
  exporter->shutdown();
  EXPECT_EQ(exporter->spans_exported(), 3u);
  EXPECT_EQ(exporter->export_failures(), 0u);
  EXPECT_EQ(total_spans(collector.requests()), 3u);
}

TEST(SpanExporterTest, AFailingCollectorCountsFailuresWithoutBlockingEnqueue) {
  CollectorStub collector;
  collector.script({500, 500, 500});
  collector.hold();
  SpanExporterOptions options = options_for(collector);
  options.max_batch = 1;
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(0)));
  ASSERT_TRUE(collector.wait_for_requests(1));
  // The export thread waits on the collector; workers do not.
  EXPECT_TRUE(exporter->enqueue(make_span(1)));
  EXPECT_TRUE(exporter->enqueue(make_span(2)));
  collector.release();
  exporter->shutdown();
  EXPECT_EQ(exporter->export_failures(), 3u);
  EXPECT_EQ(exporter->spans_exported(), 0u);
  EXPECT_EQ(exporter->spans_enqueued(), 3u);
  EXPECT_EQ(collector.requests().size(), 3u) << "a 500 is not retried";
}

TEST(SpanExporterTest, A503IsRetriedOnce) {
  CollectorStub collector;
  collector.script({503});
  auto exporter = make_exporter(options_for(collector));
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(0)));
  exporter->shutdown();
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, requests[1].body);
  EXPECT_EQ(exporter->spans_exported(), 1u);
  EXPECT_EQ(exporter->export_failures(), 0u);
}

TEST(SpanExporterTest, ABatchIsRetriedAtMostOnce) {
  CollectorStub collector;
  collector.script({503, 503, 503});
  auto exporter = make_exporter(options_for(collector));
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(0)));
  exporter->shutdown();
  EXPECT_EQ(collector.requests().size(), 2u);
  EXPECT_EQ(exporter->spans_exported(), 0u);
  EXPECT_EQ(exporter->export_failures(), 1u);
}

TEST(SpanExporterTest, AnUnreachableCollectorCountsAFailure) {
  // A port that was free a moment ago: connect() is refused.
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(probe);

  SpanExporterOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/v1/traces";
  options.flush_interval = std::chrono::hours(1);
  options.timeout = std::chrono::milliseconds(kPatience);
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(0)));
  exporter->shutdown();
  EXPECT_EQ(exporter->export_failures(), 1u);
  EXPECT_EQ(exporter->spans_exported(), 0u);
}

TEST(SpanExporterTest, ShutdownGivesUpOnAHungCollector) {
  CollectorStub collector;
  collector.hold();
  SpanExporterOptions options = options_for(collector);
  options.max_batch = 1;
  options.timeout = 200ms;
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  EXPECT_TRUE(exporter->enqueue(make_span(0)));
  ASSERT_TRUE(collector.wait_for_requests(1));
  exporter->shutdown();  // returns while the collector still holds the request
  EXPECT_EQ(exporter->export_failures(), 1u);
  EXPECT_EQ(exporter->spans_exported(), 0u);
  collector.release();
}

TEST(SpanExporterTest, EnqueueAfterShutdownIsDropped) {
  CollectorStub collector;
  auto exporter = make_exporter(options_for(collector));
  ASSERT_NE(exporter, nullptr);
  exporter->shutdown();
  EXPECT_FALSE(exporter->enqueue(make_span(0)));
  EXPECT_EQ(exporter->spans_dropped(), 1u);
  EXPECT_EQ(exporter->spans_enqueued(), 0u);
  EXPECT_TRUE(collector.requests().empty());
}

TEST(SpanExporterTest, ManyWorkersEnqueueConcurrently) {
  CollectorStub collector;
  SpanExporterOptions options = options_for(collector);
  options.max_batch = 16;
  auto exporter = make_exporter(options);
  ASSERT_NE(exporter, nullptr);
  constexpr int kWorkers = 4;
  constexpr int kPerWorker = 200;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&exporter] {
      for (int i = 0; i < kPerWorker; ++i) exporter->enqueue(make_span(i));
    });
  }
  for (auto& worker : workers) worker.join();
  exporter->shutdown();
  EXPECT_EQ(exporter->spans_enqueued() + exporter->spans_dropped(), std::uint64_t{kWorkers * kPerWorker});
  EXPECT_EQ(exporter->spans_dropped(), 0u);  // max_queue 2048 > 800
  EXPECT_EQ(exporter->spans_exported(), std::uint64_t{kWorkers * kPerWorker});
  EXPECT_EQ(total_spans(collector.requests()), std::size_t{kWorkers * kPerWorker});
}

}  // namespace
}  // namespace flexgate::observe
