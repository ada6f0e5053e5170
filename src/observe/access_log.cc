#include "observe/access_log.h"

#include <atomic>
#include <cstdio>

#include "core/json.h"
#include "observe/log.h"

namespace flexgate::observe {
namespace {
std::atomic<bool> g_access_log_enabled{true};

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  append_json_string(out, value);
}
}  // namespace

void set_access_log_enabled(bool enabled) { g_access_log_enabled.store(enabled, std::memory_order_relaxed); }
bool access_log_enabled() { return g_access_log_enabled.load(std::memory_order_relaxed); }

void format_access_line(const AccessRecord& r, std::string& out) {
  out.clear();
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.3f", r.duration_ms);
  if (log_format() == config::LogFormat::kText) {
    append_timestamp(out);
    out += " access ";
    out += r.client_address;
    out += ' ';
    out += r.method;
    out += ' ';
    out += r.path;
    out += ' ';
    append_json_uint(out, r.status);
    out += ' ';
    out += duration;
    out += "ms route=";
    out += r.route;
    out += " upstream=";
    out += r.upstream;
    out += " cid=";
    out += r.correlation_id;
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
  out += duration;
  out += ",\"bytesIn\":";
  append_json_uint(out, r.bytes_in);
  out += ",\"bytesOut\":";
  append_json_uint(out, r.bytes_out);
  append_field(out, "client", r.client_address);
  if (!r.client_name.empty()) append_field(out, "clientName", r.client_name);
  if (!r.error.empty()) append_field(out, "error", r.error);
  out += "}\n";
}

void write_access_log(const AccessRecord& record, std::string& scratch) {
  if (!access_log_enabled()) return;
  format_access_line(record, scratch);
  write_line(scratch);
}

}  // namespace flexgate::observe
