#include "observe/span_exporter.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <utility>

#include "core/json.h"

namespace flexgate::observe {

namespace {

// Owns one file descriptor; closes it when destroyed.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The pieces of an http:// endpoint URL.
struct Endpoint {
  std::string host;       // without brackets
  std::string port;       // decimal
  std::string authority;  // as written, for the Host header
  std::string path;
};

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

bool parse_endpoint(std::string_view url, Endpoint& endpoint, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, 8) == "https://") {
    error = "span exporter endpoint: https is not supported, use http:// (e.g. a local collector)";
    return false;
  }
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "span exporter endpoint must start with http://, got \"" + std::string(url) + "\"";
    return false;
  }
  url.remove_prefix(kScheme.size());
  const std::size_t authority_end = std::min(url.find('/'), url.size());
  const std::string_view authority = url.substr(0, authority_end);
  const std::string_view path = url.substr(authority_end);
  std::string_view host = authority;
  std::string_view port = "80";
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) {
      error = "span exporter endpoint: unterminated [IPv6] host";
      return false;
    }
    std::string_view rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "span exporter endpoint: unexpected text after ]";
        return false;
      }
      port = rest.substr(1);
    }
    if (!std::all_of(host.begin(), host.end(), [](char c) { return is_host_char(c) || c == ':'; })) {
      error = "span exporter endpoint: invalid IPv6 host";
      return false;
    }
  } else {
    const std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (!std::all_of(host.begin(), host.end(), is_host_char)) {
      error = "span exporter endpoint: invalid host \"" + std::string(host) + "\"";
      return false;
    }
  }
  if (host.empty()) {
    error = "span exporter endpoint: missing host";
    return false;
  }
  unsigned port_number = 0;
  const auto [port_end, port_error] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (port.empty() || port_error != std::errc() || port_end != port.data() + port.size() ||
      port_number == 0 || port_number > 65535) {
    error = "span exporter endpoint: invalid port \"" + std::string(port) + "\"";
    return false;
  }
  // The path goes into the request line verbatim: visible ASCII only, no fragment.
  if (!std::all_of(path.begin(), path.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '#'; })) {
    error = "span exporter endpoint: invalid path";
    return false;
  }
  endpoint.host = host;
  endpoint.port = std::to_string(port_number);
  endpoint.authority = authority;
  endpoint.path = path.empty() ? "/v1/traces" : path;
  return true;
}

// Writes the attributes of one span, skipping empty values.
class AttributeWriter {
 public:
  explicit AttributeWriter(std::string& out) : out_(out) {}

  void add_string(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    begin(key);
    out_ += "{\"stringValue\":";
    append_json_string(out_, value);
    out_ += "}}";
  }

  // proto3 JSON writes int64 as a decimal string.
  void add_int(std::string_view key, std::uint64_t value) {
    begin(key);
    out_ += "{\"intValue\":\"";
    append_json_uint(out_, value);
    out_ += "\"}}";
  }

 private:
  void begin(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += "{\"key\":";
    append_json_string(out_, key);
    out_ += ",\"value\":";
  }

  std::string& out_;
  bool first_ = true;
};

void append_hex_field(std::string& out, std::string_view key, std::span<const std::uint8_t> id) {
  append_json_key(out, key);
  out += '"';
  append_hex(out, id);
  out += '"';
}

void append_unix_nanos_field(std::string& out, std::string_view key,
                             std::chrono::system_clock::time_point time) {
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  append_json_key(out, key);
  out += '"';
  append_json_uint(out, nanos > 0 ? static_cast<std::uint64_t>(nanos) : 0);
  out += '"';
}

void append_span(std::string& out, const SpanRecord& span) {
  out += '{';
  append_hex_field(out, "traceId", span.trace_id);
  out += ',';
  append_hex_field(out, "spanId", span.span_id);
  if (span.parent_span_id) {
    out += ',';
    append_hex_field(out, "parentSpanId", *span.parent_span_id);
  }
  out += ',';
  append_json_key(out, "name");
  // OpenTelemetry names an HTTP span "{method} {route}", or "{method}", or "HTTP".
  append_json_string(out, !span.name.empty()     ? std::string_view(span.name)
                          : !span.method.empty() ? std::string_view(span.method)
                                                 : std::string_view("HTTP"));
  out += ",\"kind\":2,";  // SPAN_KIND_SERVER
  append_unix_nanos_field(out, "startTimeUnixNano", span.start_time);
  out += ',';
  append_unix_nanos_field(out, "endTimeUnixNano", span.end_time);
  out += ",\"attributes\":[";
  AttributeWriter attributes(out);
  attributes.add_string("http.request.method", span.method);
  attributes.add_string("url.path", span.path);
  attributes.add_string("http.route", span.route);
  if (span.status != 0) attributes.add_int("http.response.status_code", span.status);
  attributes.add_string("server.address", span.server_address);
  attributes.add_string("client.address", span.client_address);
  attributes.add_string("flexgate.upstream", span.upstream);
  attributes.add_string("flexgate.upstream.target", span.target);
  attributes.add_string("flexgate.correlation_id", span.correlation_id);
  out += ']';
  if (span.error || span.status >= 500) {
    out += ",\"status\":{\"code\":2";  // STATUS_CODE_ERROR
    if (!span.error_message.empty()) {
      out += ',';
      append_json_key(out, "message");
      append_json_string(out, span.error_message);
    }
    out += '}';
  }
  out += '}';
}

// The status code of an HTTP/1.x status line ("HTTP/1.1 200 OK"), or 0.
int parse_status_code(std::string_view head) {
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ') return 0;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    code = code * 10 + (head[i] - '0');
  }
  return code;
}

}  // namespace

void encode_otlp_json(std::span<const SpanRecord> spans, std::string_view service_name, std::string& out) {
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  AttributeWriter(out).add_string("service.name", service_name);
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"flexgate\"},\"spans\":[";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i != 0) out += ',';
    append_span(out, spans[i]);
  }
  out += "]}]}]}";
}

// What the export thread needs to reach the collector, resolved once by create().
struct SpanExporter::Collector {
  // One getaddrinfo() answer.
  struct Address {
    int family = 0;
    sockaddr_storage storage{};
    socklen_t length = 0;
  };

  std::vector<Address> addresses;  // tried in order
  std::string request_head;        // request line and headers up to "Content-Length: "
};

std::unique_ptr<SpanExporter> SpanExporter::create(SpanExporterOptions options, std::string& error) {
  Endpoint endpoint;
  if (!parse_endpoint(options.endpoint, endpoint, error)) return nullptr;
  if (options.max_queue == 0 || options.max_batch == 0) {
    error = "span exporter: max_queue and max_batch must be positive";
    return nullptr;
  }
  if (options.flush_interval.count() <= 0 || options.timeout.count() <= 0) {
    error = "span exporter: flush_interval and timeout must be positive";
    return nullptr;
  }
  options.max_batch = std::min(options.max_batch, options.max_queue);

  auto collector = std::make_unique<Collector>();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const int status = ::getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &results);
  if (status != 0) {
    error = "span exporter endpoint: cannot resolve \"" + endpoint.host + "\": " + ::gai_strerror(status);
    return nullptr;
  }
  for (const addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Collector::Address address;
    address.family = ai->ai_family;
    std::memcpy(&address.storage, ai->ai_addr, ai->ai_addrlen);
    address.length = ai->ai_addrlen;
    collector->addresses.push_back(address);
  }
  ::freeaddrinfo(results);
  if (collector->addresses.empty()) {
    error = "span exporter endpoint: no address for \"" + endpoint.host + "\"";
    return nullptr;
  }
  collector->request_head = "POST " + endpoint.path + " HTTP/1.1\r\nHost: " + endpoint.authority +
                            "\r\nContent-Type: application/json\r\nUser-Agent: flexgate\r\n"
                            "Connection: close\r\nContent-Length: ";
  return std::make_unique<SpanExporter>(Key{}, std::move(options), std::move(collector));
}

SpanExporter::SpanExporter(Key, SpanExporterOptions options, std::unique_ptr<Collector> collector)
    : options_(std::move(options)), collector_(std::move(collector)) {
  queue_.reserve(options_.max_queue);
  taken_.reserve(options_.max_queue);
  thread_ = std::thread([this] { run(); });
}

SpanExporter::~SpanExporter() {
  shutdown();
}

bool SpanExporter::enqueue(SpanRecord&& span) {
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    if (stop_deadline_ || queue_.size() >= options_.max_queue) {
      spans_dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(span));  // capacity reserved: no allocation
    queued = queue_.size();
  }
  spans_enqueued_.fetch_add(1, std::memory_order_relaxed);
  // Wake the thread only once per full batch; otherwise it wakes on its flush interval, so most
  // enqueues cost no syscall.
  if (queued == options_.max_batch) wake_.notify_one();
  return true;
}

void SpanExporter::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (!stop_deadline_) stop_deadline_ = Clock::now() + options_.timeout;
  }
  wake_.notify_one();
  std::call_once(join_once_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

void SpanExporter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, options_.flush_interval,
                   [this] { return stop_deadline_.has_value() || queue_.size() >= options_.max_batch; });
    const bool stopping = stop_deadline_.has_value();
    queue_.swap(taken_);  // taken_ was empty: workers get a fresh, reserved queue at once
    lock.unlock();
    export_taken();
    if (stopping) return;  // enqueue() refuses spans once stopping, so nothing is left behind
    lock.lock();
  }
}

void SpanExporter::export_taken() {
  for (std::size_t start = 0; start < taken_.size(); start += options_.max_batch) {
    const std::size_t count = std::min(options_.max_batch, taken_.size() - start);
    body_.clear();
    encode_otlp_json(std::span(taken_).subspan(start, count), options_.service_name, body_);
    request_.clear();
    request_ += collector_->request_head;
    append_json_uint(request_, body_.size());
    request_ += "\r\n\r\n";
    request_ += body_;
    if (post_with_retry()) {
      spans_exported_.fetch_add(count, std::memory_order_relaxed);
    } else {
      export_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  taken_.clear();  // keeps the capacity
}

bool SpanExporter::post_with_retry() {
  Clock::time_point deadline = attempt_deadline();
  if (Clock::now() >= deadline) return false;  // the shutdown deadline has passed
  const PostResult first = post_once(deadline);
  if (first != PostResult::kRetryable) return first == PostResult::kOk;
  {
    // A short pause before the one retry, so a collector that is restarting or shedding load gets
    // a moment; shutdown() cuts it short.
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, std::min(Clock::now() + std::chrono::milliseconds(100), deadline),
                     [this] { return stop_deadline_.has_value(); });
  }
  deadline = attempt_deadline();
  if (Clock::now() >= deadline) return false;
  return post_once(deadline) == PostResult::kOk;
}

SpanExporter::PostResult SpanExporter::post_once(Clock::time_point deadline) {
  UniqueFd socket;
  for (const Collector::Address& address : collector_->addresses) {
    UniqueFd candidate(::socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (candidate.get() < 0) continue;
    const auto* peer = reinterpret_cast<const sockaddr*>(&address.storage);
    if (::connect(candidate.get(), peer, address.length) != 0) {
      if (errno != EINPROGRESS || !wait_ready(candidate.get(), POLLOUT, deadline)) continue;
      int socket_error = 0;
      socklen_t length = sizeof socket_error;
      if (::getsockopt(candidate.get(), SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0 ||
          socket_error != 0) {
        continue;
      }
    }
    socket = std::move(candidate);
    break;
  }
  if (socket.get() < 0) return PostResult::kRetryable;

  for (std::size_t sent = 0; sent < request_.size();) {
    const ssize_t n = ::send(socket.get(), request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(socket.get(), POLLOUT, deadline)) return PostResult::kRetryable;
    } else {
      return PostResult::kRetryable;
    }
  }

  // Only the status line matters; the rest of the response is left unread (Connection: close).
  char head[256];
  std::size_t received = 0;
  while (received < sizeof head) {
    const ssize_t n = ::recv(socket.get(), head + received, sizeof head - received, 0);
    if (n > 0) {
      received += static_cast<std::size_t>(n);
      if (std::string_view(head, received).find("\r\n") != std::string_view::npos) break;
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(socket.get(), POLLIN, deadline)) return PostResult::kRetryable;
    } else {
      return PostResult::kRetryable;
    }
  }
  const int status = parse_status_code(std::string_view(head, received));
  if (status >= 200 && status < 300) return PostResult::kOk;
  if (received == 0) return PostResult::kRetryable;  // closed without an answer
  if (status == 429 || status == 502 || status == 503 || status == 504) return PostResult::kRetryable;
  return PostResult::kFailed;
}

bool SpanExporter::wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd ready{fd, events, 0};
    const int count = ::poll(&ready, 1, static_cast<int>(std::min<long long>(remaining, INT_MAX)));
    if (count > 0) return true;
    if (count < 0 && errno != EINTR) return false;
  }
}

SpanExporter::Clock::time_point SpanExporter::attempt_deadline() {
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  std::lock_guard lock(mutex_);
  return stop_deadline_ ? std::min(deadline, *stop_deadline_) : deadline;
}

namespace {
std::atomic<SpanExporter*> g_process_exporter{nullptr};
}  // namespace

void set_process_span_exporter(SpanExporter* exporter) { g_process_exporter.store(exporter, std::memory_order_release); }

SpanExporter* process_span_exporter() { return g_process_exporter.load(std::memory_order_acquire); }

}  // namespace flexgate::observe
