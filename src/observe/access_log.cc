#include "observe/access_log.h"

#include <cassert>
#include <charconv>
#include <cstring>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

#include "core/json.h"
#include "core/striped_counter.h"
#include "observe/log_sampling.h"

namespace flexgate::observe {
namespace {
std::atomic<bool> g_access_log_enabled{true};
std::atomic<double> g_success_rate{1.0};
std::atomic<double> g_error_rate{1.0};
StripedCounter g_sampled_out;  // added to by every worker, per line left out

// The redactor is swapped on reload; each thread keeps its own reference and looks at the shared
// one only when the version moved, so formatting a line takes no lock and no shared refcount.
std::mutex g_redactor_mutex;
std::shared_ptr<const Redactor> g_redactor;  // guarded by g_redactor_mutex; null = Redactor()
std::atomic<std::uint64_t> g_redactor_version{1};

const Redactor& current_redactor() {
  thread_local std::uint64_t seen = 0;
  thread_local std::shared_ptr<const Redactor> cached;
  if (g_redactor_version.load(std::memory_order_acquire) != seen) {
    const std::lock_guard lock(g_redactor_mutex);
    if (!g_redactor) g_redactor = std::make_shared<const Redactor>();
    cached = g_redactor;
    seen = g_redactor_version.load(std::memory_order_relaxed);
  }
  return *cached;
}

// Milliseconds with 3 decimals (microsecond resolution), without printf: this runs per request.
// At most 24 bytes; returns one past the last.
char* write_millis(char* out, double value) {
  const auto micros = static_cast<std::uint64_t>(value > 0 ? value * 1000.0 + 0.5 : 0.0);
  out = std::to_chars(out, out + 20, micros / 1000).ptr;
  const std::uint64_t fraction = micros % 1000;
  *out++ = '.';
  *out++ = static_cast<char>('0' + fraction / 100);
  *out++ = static_cast<char>('0' + fraction / 10 % 10);
  *out++ = static_cast<char>('0' + fraction % 10);
  return out;
}

// Writes a JSON access line through a pointer into storage sized for the line's worst case
// (json_line_bound): each piece is a copy, not a string append with its own capacity check.
class JsonLineWriter {
 public:
  explicit JsonLineWriter(char* at) : p_(at) {}
  char* end() const { return p_; }

  void text(std::string_view literal) {
    std::memcpy(p_, literal.data(), literal.size());
    p_ += literal.size();
  }
  // `,"key":"value"`; `key_prefix` is the literal `,"key":`.
  void string_field(std::string_view key_prefix, std::string_view value) {
    text(key_prefix);
    p_ = write_json_string(p_, value);
  }
  void uint_field(std::string_view key_prefix, std::uint64_t value) {
    text(key_prefix);
    p_ = write_json_uint(p_, value);
  }
  void millis_field(std::string_view key_prefix, double value) {
    text(key_prefix);
    p_ = write_millis(p_, value);
  }
  void timestamp() { p_ = write_timestamp(p_); }
  void json_string(std::string_view value) { p_ = write_json_string(p_, value); }

 private:
  char* p_;
};

// Room for everything in a JSON line but its strings: the keys and punctuation (under 400
// bytes), the timestamp and seven numbers (at most 24 bytes each).
constexpr std::size_t kJsonLineFixedRoom = 1024;

// write_millis() for the text format's string.
void append_millis(std::string& out, double value) {
  char text[24];
  out.append(text, static_cast<std::size_t>(write_millis(text, value) - text));
}

void append_text_field(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  append_text_value(out, value);
}

// The most bytes the JSON line of `r` can take: its strings as if every byte were escaped.
std::size_t json_line_bound(const AccessRecord& r, const Redactor* redactor) {
  std::size_t bound = kJsonLineFixedRoom;
  for (const std::string_view value :
       {r.correlation_id, r.method, r.path, r.route, r.upstream, r.target, r.client_address, r.client_name, r.error,
        r.trace_id, r.protocol, r.breaker, r.rate_limit, r.rejected_by, r.reject_reason, r.tunnel_end}) {
    bound += max_json_string_size(value.size());
  }
  if (redactor != nullptr) {
    for (const auto& [name, value] : r.headers) {
      bound += max_json_string_size(name.size()) + max_json_string_size(redactor->apply(name, value).size()) + 2;
    }
  }
  return bound;
}

void format_json_access_line(const AccessRecord& r, std::string& out) {
  const Redactor* redactor = r.headers.empty() ? nullptr : &current_redactor();
  out.resize(json_line_bound(r, redactor));
  JsonLineWriter line(out.data());
  line.text("{\"timestamp\":\"");
  line.timestamp();
  line.text("\",\"type\":\"access\"");
  line.string_field(",\"correlationId\":", r.correlation_id);
  line.string_field(",\"method\":", r.method);
  line.string_field(",\"path\":", r.path);
  line.string_field(",\"route\":", r.route);
  line.string_field(",\"upstream\":", r.upstream);
  line.string_field(",\"target\":", r.target);
  line.uint_field(",\"status\":", r.status);
  line.millis_field(",\"durationMs\":", r.duration_ms);
  line.uint_field(",\"bytesIn\":", r.bytes_in);
  line.uint_field(",\"bytesOut\":", r.bytes_out);
  line.string_field(",\"client\":", r.client_address);
  if (!r.client_name.empty()) line.string_field(",\"clientName\":", r.client_name);
  if (!r.error.empty()) line.string_field(",\"error\":", r.error);
  if (!r.trace_id.empty()) line.string_field(",\"traceId\":", r.trace_id);
  if (!r.protocol.empty()) line.string_field(",\"protocol\":", r.protocol);
  if (r.attempts > 0) line.uint_field(",\"attempts\":", r.attempts);
  if (r.upstream_latency_ms > 0) line.millis_field(",\"upstreamLatencyMs\":", r.upstream_latency_ms);
  if (!r.breaker.empty()) line.string_field(",\"breaker\":", r.breaker);
  if (!r.rate_limit.empty()) line.string_field(",\"rateLimit\":", r.rate_limit);
  if (!r.rejected_by.empty()) line.string_field(",\"rejectedBy\":", r.rejected_by);
  if (!r.reject_reason.empty()) line.string_field(",\"rejectReason\":", r.reject_reason);
  if (!r.tunnel_end.empty()) line.string_field(",\"tunnelEnd\":", r.tunnel_end);
  if (r.grpc_status >= 0) line.uint_field(",\"grpcStatus\":", static_cast<std::uint64_t>(r.grpc_status));
  if (redactor != nullptr) {
    line.text(",\"headers\":{");
    bool first = true;
    for (const auto& [name, value] : r.headers) {
      if (!first) line.text(",");
      first = false;
      line.json_string(name);
      line.text(":");
      line.json_string(redactor->apply(name, value));
    }
    line.text("}");
  }
  line.text("}\n");
  const auto written = static_cast<std::size_t>(line.end() - out.data());
  assert(written <= out.size());
  out.resize(written);
}

}  // namespace

void set_access_log_enabled(bool enabled) { g_access_log_enabled.store(enabled, std::memory_order_relaxed); }
bool access_log_enabled() { return g_access_log_enabled.load(std::memory_order_relaxed); }

void set_access_log_sampling(const config::SamplingSpec& sampling) {
  g_success_rate.store(sampling.success_rate, std::memory_order_relaxed);
  g_error_rate.store(sampling.error_rate, std::memory_order_relaxed);
}

config::SamplingSpec access_log_sampling() {
  return {g_success_rate.load(std::memory_order_relaxed), g_error_rate.load(std::memory_order_relaxed)};
}

void set_access_log_redactor(Redactor redactor) {
  auto next = std::make_shared<const Redactor>(std::move(redactor));
  const std::lock_guard lock(g_redactor_mutex);
  g_redactor = std::move(next);
  g_redactor_version.fetch_add(1, std::memory_order_release);
}

std::uint64_t access_lines_sampled_out() { return g_sampled_out.load(); }

bool is_error_record(const AccessRecord& record) {
  return record.status >= 500 || record.refused || !record.rejected_by.empty();
}

void format_access_line(const AccessRecord& r, std::string& out) {
  out.clear();
  if (log_format() == config::LogFormat::kText) {
    append_timestamp(out);
    out += " access ";
    append_text_value(out, r.client_address);
    out += ' ';
    append_text_value(out, r.method);
    out += ' ';
    append_text_value(out, r.path);
    out += ' ';
    append_json_uint(out, r.status);
    out += ' ';
    append_millis(out, r.duration_ms);
    out += "ms route=";
    append_text_value(out, r.route);
    out += " upstream=";
    append_text_value(out, r.upstream);
    out += " cid=";
    append_text_value(out, r.correlation_id);
    if (!r.trace_id.empty()) append_text_field(out, "traceId", r.trace_id);
    if (!r.protocol.empty()) append_text_field(out, "protocol", r.protocol);
    if (r.attempts > 0) {
      out += " attempts=";
      append_json_uint(out, r.attempts);
    }
    if (r.upstream_latency_ms > 0) {
      out += " upstreamLatencyMs=";
      append_millis(out, r.upstream_latency_ms);
    }
    if (!r.breaker.empty()) append_text_field(out, "breaker", r.breaker);
    if (!r.rate_limit.empty()) append_text_field(out, "rateLimit", r.rate_limit);
    if (!r.rejected_by.empty()) append_text_field(out, "rejectedBy", r.rejected_by);
    if (!r.reject_reason.empty()) append_text_field(out, "rejectReason", r.reject_reason);
    if (!r.tunnel_end.empty()) append_text_field(out, "tunnelEnd", r.tunnel_end);
    if (r.grpc_status >= 0) {
      out += " grpcStatus=";
      append_json_uint(out, static_cast<std::uint64_t>(r.grpc_status));
    }
    if (!r.headers.empty()) {
      const Redactor& redactor = current_redactor();
      for (const auto& [name, value] : r.headers) {
        out += " header.";
        append_text_value(out, name);
        out += '=';
        append_text_value(out, redactor.apply(name, value));
      }
    }
    out += '\n';
    return;
  }
  format_json_access_line(r, out);
}

bool access_line_kept(std::string_view correlation_id, bool is_error) {
  if (keep_access_line(correlation_id, is_error, access_log_sampling())) return true;
  g_sampled_out.add();
  return false;
}

void write_kept_access_log(const AccessRecord& record, std::string& scratch) {
  format_access_line(record, scratch);
  write_line(scratch);
}

void write_access_log(const AccessRecord& record, std::string& scratch) {
  if (!access_log_enabled()) return;
  if (!access_line_kept(record.correlation_id, is_error_record(record))) return;
  write_kept_access_log(record, scratch);
}

}  // namespace flexgate::observe
