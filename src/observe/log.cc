#include "observe/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>

#include "core/json.h"

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

void append_timestamp(std::string& out) {
  // Cached per thread per second: formatting the date is the costly part.
  thread_local std::time_t cached_second = -1;
  thread_local char cached[24];
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  if (seconds != cached_second) {
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = seconds;
  }
  out += cached;
  int millis = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

void write_line(std::string_view line) {
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stdout gone: logging must never take the process down
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
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
      line += value;
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
