// Durations and sizes as users write them: 5000, "5s", "250ms"; 1048576, "512kb", "10mb".

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "config/loader.h"

namespace flexgate::config {
namespace {

// Splits "123unit" into its number and unit; nullopt on no digits or overflow of uint64.
std::optional<std::uint64_t> leading_number(std::string_view text, std::string_view& unit) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  unit = text.substr(i);
  return value;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
  std::string_view unit;
  const auto value = leading_number(text, unit);
  if (!value) return std::nullopt;
  // Case-sensitive like Go's time.ParseDuration: "5M" is more likely a mistake than minutes.
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max());
  if (*value > kMax / scale) return std::nullopt;
  return Millis(static_cast<Millis::rep>(*value * scale));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::string_view unit;
  const auto value = leading_number(text, unit);
  if (!value) return std::nullopt;
  std::uint64_t scale = 0;
  if (unit.empty() || equals_ignore_case(unit, "b")) {
    scale = 1;
  } else if (equals_ignore_case(unit, "kb")) {
    scale = 1ull << 10;
  } else if (equals_ignore_case(unit, "mb")) {
    scale = 1ull << 20;
  } else if (equals_ignore_case(unit, "gb")) {
    scale = 1ull << 30;
  } else {
    return std::nullopt;
  }
  if (*value > std::numeric_limits<std::uint64_t>::max() / scale) return std::nullopt;
  return *value * scale;
}

}  // namespace flexgate::config
