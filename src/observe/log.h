#pragma once
// Process-wide log output: JSON (or text) lines, queued per thread and written whole by one
// writer thread (observe/log_writer.h) to stdout or a file. The level, format, output, sampling
// and redaction come from the config (configure_logging).

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "config/schema.h"
#include "observe/log_writer.h"  // flush_logs, shutdown_logging, reopen_log_output, counters

namespace flexgate::observe {

// Applies config.logging (level, format, accessLog, sampling, output and rotation) and the
// redaction set (config.security.auth headers, logging.redactHeaders). Call at start and on every
// reload; switching the output waits up to 2 s for the lines queued before to reach the old one.
void configure_logging(const config::Config& config);

// The parts of configure_logging one by one (tests, and callers without a whole Config).
void set_log_level(config::LogLevel level);
void set_log_format(config::LogFormat format);
bool log_enabled(config::LogLevel level);
config::LogFormat log_format();

// A string field of an application event.
using LogField = std::pair<std::string_view, std::string_view>;

// Queues an application event line: {"timestamp":…,"level":…,"event":…, fields…}.
void log_event(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// Queues a finished line (a missing final '\n' is added) for the writer thread. Never blocks: a
// line that does not fit in this thread's buffer is dropped and counted (log_lines_dropped);
// returns false then.
bool write_line(std::string_view line);

// Appends a text-format value: as is, or as a JSON string when it holds a space, '=', a quote, a
// backslash, a control or a non-ASCII byte, so a text line stays one line of key=value pairs.
void append_text_value(std::string& out, std::string_view value);

// ISO-8601 UTC timestamp with milliseconds, e.g. 2026-11-28T21:00:00.123Z.
void append_timestamp(std::string& out);
// The same at `out` (room for kMaxTimestampSize bytes); returns one past its last byte.
inline constexpr std::size_t kMaxTimestampSize = 32;
char* write_timestamp(char* out);

}  // namespace flexgate::observe
