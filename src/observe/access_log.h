#pragma once
// The access log: one line per finished request, written after the response (the log phase).

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate::observe {

// What the log phase knows about one finished request.
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
};

// Formats `record` as a JSON (or text, per the log format) line ending in '\n' into `out`.
void format_access_line(const AccessRecord& record, std::string& out);

// Formats and writes the line (no-op when access logging is off).
void write_access_log(const AccessRecord& record, std::string& scratch);

void set_access_log_enabled(bool enabled);
bool access_log_enabled();

}  // namespace flexgate::observe
