#include "observe/log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>

#include "core/json.h"
#include "observe/access_log.h"
#include "observe/log_writer.h"
#include "observe/redaction.h"

namespace flexgate::observe {
namespace {
std::atomic<config::LogLevel> g_level{config::LogLevel::kInfo};
std::atomic<config::LogFormat> g_format{config::LogFormat::kJson};

std::string_view level_name(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kDebug: return "debug";
    case config::LogLevel::kInfo: return "info";
    case config::LogLevel::kWarn: return "warn";
    case config::LogLevel::kError: return "error";
  }
  return "info";
}
}  // namespace

void set_log_level(config::LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
void set_log_format(config::LogFormat format) { g_format.store(format, std::memory_order_relaxed); }
bool log_enabled(config::LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }
config::LogFormat log_format() { return g_format.load(std::memory_order_relaxed); }

char* write_timestamp(char* out) {
  // Cached per thread per second: formatting the date is the costly part.
  thread_local std::time_t cached_second = -1;
  thread_local char cached[24];
  thread_local std::size_t cached_size = 0;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  if (seconds != cached_second) {
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    cached_size = std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = seconds;
  }
  std::memcpy(out, cached, cached_size);
  out += cached_size;
  int millis = static_cast<int>(ms % 1000);
  *out++ = '.';
  *out++ = static_cast<char>('0' + millis / 100);
  *out++ = static_cast<char>('0' + millis / 10 % 10);
  *out++ = static_cast<char>('0' + millis % 10);
  *out++ = 'Z';
  return out;
}

void append_timestamp(std::string& out) {
  char text[kMaxTimestampSize];
  out.append(text, static_cast<std::size_t>(write_timestamp(text) - text));
}

bool write_line(std::string_view line) { return process_log_writer().submit(line); }

void append_text_value(std::string& out, std::string_view value) {
  const bool plain = std::none_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte >= 0x7f || c == '=' || c == '"' || c == '\\';
  });
  if (plain) {
    out += value;
  } else {
    append_json_string(out, value);
  }
}

void configure_logging(const config::Config& config) {
  const config::LoggingSpec& logging = config.logging;
  set_log_level(logging.level);
  set_log_format(logging.format);
  set_access_log_enabled(logging.access_log);
  set_access_log_sampling(logging.sampling);
  set_access_log_redactor(Redactor(config));
  LogOutput output;
  if (logging.output != "stdout" && !logging.output.empty()) {
    // Hand-built specs may leave output_path empty; the loader always fills it.
    output.path = logging.output_path.empty() ? logging.output : logging.output_path;
    output.max_size = logging.rotation.max_size;
    output.max_files = logging.rotation.max_files;
  }
  set_log_output(output);
}

void log_event(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!log_enabled(level)) return;
  std::string line;
  line.reserve(256);
  if (log_format() == config::LogFormat::kText) {
    append_timestamp(line);
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += event;
    for (const auto& [key, value] : fields) {
      line += ' ';
      line += key;
      line += '=';
      append_text_value(line, value);
    }
  } else {
    line += "{\"timestamp\":\"";
    append_timestamp(line);
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"event\":";
    append_json_string(line, event);
    for (const auto& [key, value] : fields) {
      line += ',';
      append_json_string(line, key);
      line += ':';
      append_json_string(line, value);
    }
    line += '}';
  }
  line += '\n';
  write_line(line);
}

}  // namespace flexgate::observe
