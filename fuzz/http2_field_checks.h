#pragma once
// What both HTTP/2 fuzz targets demand of every field list a session hands on: it must be safe to
// write as HTTP/1.1 lines (the bridges do exactly that), or the process aborts for libFuzzer.

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flexgate::fuzz {

// No CR/LF/NUL anywhere and no whitespace at either end.
inline bool safe_value(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' && value.back() != '\t');
}

// Lowercase names without ':' or spaces, safe values, no connection-specific field.
inline void check_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  for (const auto& [name, value] : fields) {
    if (name.empty() || name.front() == ':' || !safe_value(value)) std::abort();
    for (char c : name) {
      if ((c >= 'A' && c <= 'Z') || c == ' ' || c == ':' || c == '\r' || c == '\n' || c == '\0') std::abort();
    }
    if (name == "connection" || name == "transfer-encoding" || name == "upgrade" || name == "keep-alive") std::abort();
  }
}

}  // namespace flexgate::fuzz
