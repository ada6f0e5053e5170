#pragma once
// The access log: one line per finished request, written after the response (the log phase).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/schema.h"
#include "observe/log.h"
#include "observe/redaction.h"

namespace flexgate::observe {

// What the log phase knows about one finished request. Empty strings and zero numbers among the
// optional fields (from trace_id on) are left out of the line.
struct AccessRecord {
  std::string_view correlation_id;
  std::string_view method;
  std::string_view path;      // normalized path as routed (raw target if it never normalized)
  std::string_view route;     // route pattern, "" when none matched
  std::string_view upstream;  // upstream name, "" when not proxied
  std::string_view target;    // "host:port" of the target, "" when not proxied
  std::string_view client_address;
  std::string_view client_name;  // authenticated client (API key name), "" if anonymous
  std::string_view error;     // error kind when the gateway answered itself, else ""
  std::uint16_t status = 0;
  double duration_ms = 0;
  std::uint64_t bytes_in = 0;   // request bytes received (head + body)
  std::uint64_t bytes_out = 0;  // response bytes sent (head + body)

  std::string_view trace_id;       // "traceId": the W3C trace ID, "" when none
  std::string_view protocol;       // "protocol": "HTTP/1.1"
  unsigned attempts = 0;           // "attempts": upstream attempts made (retries and fallback included)
  double upstream_latency_ms = 0;  // "upstreamLatencyMs": first attempt's start to the response head
  std::string_view breaker;        // "breaker": the target's circuit-breaker state ("closed", "open"…)
  std::string_view rate_limit;     // "rateLimit": "allowed", "limited", "fallback_local"…
  std::string_view rejected_by;    // "rejectedBy": the policy that refused the request ("auth"…)
  std::string_view reject_reason;  // "rejectReason": why it refused
  // "tunnelEnd": how a WebSocket tunnel (status 101) ended: "client_closed", "upstream_closed",
  // "idle_timeout", "error" or "aborted" (drain deadline). "" for every other request.
  std::string_view tunnel_end;
  // "grpcStatus": a gRPC call's status (the upstream's, or the gateway's own answer); -1 for a
  // request that is not gRPC or whose status is unknown.
  int grpc_status = -1;
  // Sampled as an error (logging.sampling.errorRate) although the status is < 500: the request
  // was refused by a policy. A non-empty rejected_by counts as refused too.
  bool refused = false;
  // "headers": the request header fields named in logging.headers, in that order, as the
  // request had them (repeated fields joined with ", "; absent ones left out). Sensitive values
  // (see redaction.h) are written as "[REDACTED]" whatever the caller passes.
  std::span<const LogField> headers;
};

// Whether the record counts as an error for sampling: status >= 500 or refused by a policy.
bool is_error_record(const AccessRecord& record);

// Formats `record` as a JSON (or text, per the log format) line ending in '\n' into `out`.
void format_access_line(const AccessRecord& record, std::string& out);

// Formats and queues the line, unless access logging is off or sampling leaves it out
// (counted: access_lines_sampled_out).
void write_access_log(const AccessRecord& record, std::string& scratch);

// The sampling half of write_access_log, for a caller that decides before it fills a record:
// false (and counted as sampled out) when the line for `correlation_id` is left out. `is_error`
// as is_error_record() would say of the record.
bool access_line_kept(std::string_view correlation_id, bool is_error);
// The writing half: formats and queues a line that access_line_kept() kept.
void write_kept_access_log(const AccessRecord& record, std::string& scratch);

void set_access_log_enabled(bool enabled);
bool access_log_enabled();
// logging.sampling for write_access_log (default: keep everything).
void set_access_log_sampling(const config::SamplingSpec& sampling);
config::SamplingSpec access_log_sampling();
// Which header values format_access_line redacts (default: Redactor()).
void set_access_log_redactor(Redactor redactor);
// Access lines left out by sampling since the start.
std::uint64_t access_lines_sampled_out();

}  // namespace flexgate::observe
