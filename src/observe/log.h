#pragma once
// Process-wide log output: JSON (or text) lines on stdout, one write(2) per line so lines from
// several workers do not interleave (guaranteed by the kernel on pipes up to PIPE_BUF bytes). The level and format come from the config.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "config/schema.h"

namespace flexgate::observe {

void set_log_level(config::LogLevel level);
void set_log_format(config::LogFormat format);
bool log_enabled(config::LogLevel level);
config::LogFormat log_format();

// A string field of an application event.
using LogField = std::pair<std::string_view, std::string_view>;

// Writes an application event line: {"timestamp":…,"level":…,"event":…, fields…}.
void log_event(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// Writes a finished line (must end with '\n') to stdout in one call.
void write_line(std::string_view line);

// ISO-8601 UTC timestamp with milliseconds, e.g. 2026-11-28T21:00:00.123Z.
void append_timestamp(std::string& out);

}  // namespace flexgate::observe
