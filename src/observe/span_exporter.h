#pragma once
// Span export over OTLP/HTTP with JSON encoding (POST <endpoint>, Content-Type: application/json).
//
// Workers hand finished spans to enqueue(), which never blocks on I/O: it takes a mutex for a
// push_back into a vector reserved at creation (no allocation), and drops the span (counted) when
// the queue is full or the exporter is shut down. One background thread takes the whole queue when
// max_batch spans wait or flush_interval passes, and POSTs it in batches of at most max_batch
// spans, one connection per batch (Connection: close), every step bounded by `timeout`. A batch is
// tried at most twice: again only after a connection failure, a timeout or a 429/502/503/504 (the
// statuses OTLP/HTTP calls retryable). Other non-2xx statuses fail it at once. A failed batch is
// counted and dropped. Memory: the queue and the batch being sent each reserve max_queue records
// at creation (about 2 x max_queue x sizeof(SpanRecord), ~1.6 MB with the defaults).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "observe/trace_context.h"

namespace flexgate::observe {

// One finished server span (one proxied request), filled by the request lifecycle. Owns its
// strings, so it outlives the request. Empty strings and a zero port/status are not exported.
struct SpanRecord {
  TraceId trace_id{};
  SpanId span_id{};
  std::optional<SpanId> parent_span_id;  // the caller's span from traceparent; none for a new root
  std::string name;                      // e.g. "GET /users/{id}" (method and route pattern)
  std::chrono::system_clock::time_point start_time;
  std::chrono::system_clock::time_point end_time;
  // Attributes (OpenTelemetry HTTP semantic conventions, plus flexgate.* for gateway facts).
  std::string method;          // http.request.method
  std::string path;            // url.path (normalized path as routed)
  std::string route;           // http.route (the route pattern, never the raw path)
  std::uint16_t status = 0;    // http.response.status_code
  std::string server_address;  // server.address (the Host the client asked for, without port)
  std::string client_address;  // client.address
  std::string upstream;        // flexgate.upstream (configured upstream name)
  std::string target;          // flexgate.upstream.target ("host:port" the request went to)
  std::string correlation_id;  // flexgate.correlation_id (joins the span to the access log)
  // Span status: error when `error` is set or status >= 500 (a 4xx is the client's error, so a
  // server span leaves it unset); `error_message` becomes status.message.
  bool error = false;
  std::string error_message;
};

// How and where to export; validated by SpanExporter::create().
struct SpanExporterOptions {
  std::string endpoint;  // http://host[:port][/path]; no path means /v1/traces
  std::string service_name = "flexgate";
  std::size_t max_queue = 2048;  // spans waiting; more are dropped
  std::size_t max_batch = 256;   // spans per POST (capped at max_queue)
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::milliseconds timeout{2000};  // per attempt (connect to response status); and shutdown
};

// Appends the OTLP/JSON ExportTraceServiceRequest for `spans` to `out`: one resource (service.name)
// with one scope ("flexgate"). Ids are lower-case hex, times decimal strings of Unix nanoseconds,
// kind 2 (SERVER). Exposed for tests; the exporter uses it off the workers.
void encode_otlp_json(std::span<const SpanRecord> spans, std::string_view service_name, std::string& out);

// Batches spans from every worker and posts them to an OTLP/HTTP collector from its own thread.
class SpanExporter {
  struct Collector;  // resolved addresses and the request head, kept out of this header
  struct Key {       // only create() can construct, yet make_unique still works
    explicit Key() = default;
  };

 public:
  // nullptr with a reason in `error` for a bad endpoint (only plain http://), a host that does not
  // resolve (getaddrinfo, once, here) or a zero size/interval/timeout. Starts the export thread.
  static std::unique_ptr<SpanExporter> create(SpanExporterOptions options, std::string& error);

  SpanExporter(Key, SpanExporterOptions options, std::unique_ptr<Collector> collector);
  // Calls shutdown().
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // From any thread; never waits for I/O. false (and the span counted as dropped) when the queue
  // is full or shutdown() has begun.
  bool enqueue(SpanRecord&& span);

  // Stops accepting spans, exports what is queued, and joins the thread, within `timeout` (every
  // attempt ends by then; batches not sent by then count as failed). Idempotent and thread-safe.
  void shutdown();

  std::uint64_t spans_enqueued() const { return spans_enqueued_.load(std::memory_order_relaxed); }
  std::uint64_t spans_dropped() const { return spans_dropped_.load(std::memory_order_relaxed); }
  std::uint64_t spans_exported() const { return spans_exported_.load(std::memory_order_relaxed); }
  // Batches given up on (after the retry, or unsent at the shutdown deadline).
  std::uint64_t export_failures() const { return export_failures_.load(std::memory_order_relaxed); }

  const SpanExporterOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;
  enum class PostResult { kOk, kRetryable, kFailed };

  void run();
  void export_taken();
  // One POST of request_, again once when that can help; true when the collector answered 2xx.
  bool post_with_retry();
  PostResult post_once(Clock::time_point deadline);
  // Waits for `events` on `fd` until `deadline`.
  bool wait_ready(int fd, short events, Clock::time_point deadline);
  // now + timeout, or the shutdown deadline when that is sooner.
  Clock::time_point attempt_deadline();

  const SpanExporterOptions options_;
  const std::unique_ptr<Collector> collector_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<SpanRecord> queue_;                   // guarded by mutex_; max_queue reserved once
  std::optional<Clock::time_point> stop_deadline_;  // guarded by mutex_; set by shutdown()

  // Export-thread state.
  std::vector<SpanRecord> taken_;  // swapped with queue_, so it keeps the reserved capacity
  std::string body_;
  std::string request_;

  std::atomic<std::uint64_t> spans_enqueued_{0};
  std::atomic<std::uint64_t> spans_dropped_{0};
  std::atomic<std::uint64_t> spans_exported_{0};
  std::atomic<std::uint64_t> export_failures_{0};

  std::once_flag join_once_;
  std::thread thread_;  // last: started once every member above exists
};

// The process's exporter (nullptr when tracing.otlp is off): set by the app at start, read by
// the workers' log phase. The exporter must outlive every worker.
void set_process_span_exporter(SpanExporter* exporter);
SpanExporter* process_span_exporter();

}  // namespace flexgate::observe
