#include "observe/access_log.h"

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

void append_field(std::string& out, std::string_view key, std::string_view value) {
  // `,"key":` in one append: this runs for each field of every kept line. (The keys are short
  // literals; a longer one would take the three appends.)
  char prefix[32];
  if (key.size() + 4 > sizeof prefix) {
    out.append(",\"").append(key).append("\":");
    append_json_string(out, value);
    return;
  }
  prefix[0] = ',';
  prefix[1] = '"';
  std::memcpy(prefix + 2, key.data(), key.size());
  prefix[key.size() + 2] = '"';
  prefix[key.size() + 3] = ':';
  out.append(prefix, key.size() + 4);
  append_json_string(out, value);
}

// Milliseconds with 3 decimals (microsecond resolution), without printf: this runs per request.
void append_millis(std::string& out, double value) {
  const auto micros = static_cast<std::uint64_t>(value > 0 ? value * 1000.0 + 0.5 : 0.0);
  char digits[24];
  const auto whole = std::to_chars(digits, digits + sizeof(digits), micros / 1000);
  out.append(digits, whole.ptr);
  const std::uint64_t fraction = micros % 1000;
  out += '.';
  out += static_cast<char>('0' + fraction / 100);
  out += static_cast<char>('0' + fraction / 10 % 10);
  out += static_cast<char>('0' + fraction % 10);
}

void append_text_field(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  append_text_value(out, value);
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
  out += "{\"timestamp\":\"";
  append_timestamp(out);
  out += "\",\"type\":\"access\"";
  append_field(out, "correlationId", r.correlation_id);
  append_field(out, "method", r.method);
  append_field(out, "path", r.path);
  append_field(out, "route", r.route);
  append_field(out, "upstream", r.upstream);
  append_field(out, "target", r.target);
  out += ",\"status\":";
  append_json_uint(out, r.status);
  out += ",\"durationMs\":";
  append_millis(out, r.duration_ms);
  out += ",\"bytesIn\":";
  append_json_uint(out, r.bytes_in);
  out += ",\"bytesOut\":";
  append_json_uint(out, r.bytes_out);
  append_field(out, "client", r.client_address);
  if (!r.client_name.empty()) append_field(out, "clientName", r.client_name);
  if (!r.error.empty()) append_field(out, "error", r.error);
  if (!r.trace_id.empty()) append_field(out, "traceId", r.trace_id);
  if (!r.protocol.empty()) append_field(out, "protocol", r.protocol);
  if (r.attempts > 0) {
    out += ",\"attempts\":";
    append_json_uint(out, r.attempts);
  }
  if (r.upstream_latency_ms > 0) {
    out += ",\"upstreamLatencyMs\":";
    append_millis(out, r.upstream_latency_ms);
  }
  if (!r.breaker.empty()) append_field(out, "breaker", r.breaker);
  if (!r.rate_limit.empty()) append_field(out, "rateLimit", r.rate_limit);
  if (!r.rejected_by.empty()) append_field(out, "rejectedBy", r.rejected_by);
  if (!r.reject_reason.empty()) append_field(out, "rejectReason", r.reject_reason);
  if (!r.tunnel_end.empty()) append_field(out, "tunnelEnd", r.tunnel_end);
  if (r.grpc_status >= 0) {
    out += ",\"grpcStatus\":";
    append_json_uint(out, static_cast<std::uint64_t>(r.grpc_status));
  }
  if (!r.headers.empty()) {
    const Redactor& redactor = current_redactor();
    out += ",\"headers\":{";
    bool first = true;
    for (const auto& [name, value] : r.headers) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, name);
      out += ':';
      append_json_string(out, redactor.apply(name, value));
    }
    out += '}';
  }
  out += "}\n";
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
