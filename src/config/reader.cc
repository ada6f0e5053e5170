#include "config/reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>

#include "config/syntax.h"

namespace flexgate::config {
namespace {

// A config with hundreds of errors is a wrong file, not hundreds of mistakes: stop listing there.
constexpr std::size_t kMaxErrors = 100;

// Plain scalars (and explicit !!int/!!float/!!bool) are numbers and booleans; quoted ones are strings.
bool is_plain(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
         tag == "tag:yaml.org,2002:bool";
}

// A signed decimal integer as text: "-3", "42". `overflow` when the magnitude exceeds uint64.
struct Decimal {
  bool negative = false;
  std::uint64_t magnitude = 0;
  bool overflow = false;
  bool leading_zero = false;  // "010": octal in YAML 1.1, decimal in 1.2
};

std::optional<Decimal> parse_decimal_integer(std::string_view text) {
  Decimal out;
  if (text.starts_with('-')) {
    out.negative = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  out.leading_zero = text.size() > 1 && text[0] == '0';
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (out.magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) out.overflow = true;
    if (!out.overflow) out.magnitude = out.magnitude * 10 + digit;
  }
  return out;
}

std::string join(std::initializer_list<std::string_view> words) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

std::string number_text(double value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

}  // namespace

SourcePos to_pos(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    default:
      return "nothing";
  }
}

std::string format_duration(Millis value) {
  const auto ms = value.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t value) {
  if (value != 0 && value % (1ull << 30) == 0) return std::to_string(value >> 30) + "gb";
  if (value != 0 && value % (1ull << 20) == 0) return std::to_string(value >> 20) + "mb";
  if (value != 0 && value % (1ull << 10) == 0) return std::to_string(value >> 10) + "kb";
  return std::to_string(value) + "b";
}

void Reader::error(const YAML::Mark& mark, std::string path, std::string message) {
  if (errors_.size() >= kMaxErrors) {
    truncated_ = true;
    return;
  }
  const SourcePos pos = to_pos(mark);
  errors_.push_back(ConfigError{file_, pos.line, pos.column, std::move(path), std::move(message)});
}

std::vector<ConfigError> Reader::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  if (truncated_) {
    errors_.push_back(
        ConfigError{file_, 0, 0, "", "too many errors; showing the first " + std::to_string(kMaxErrors)});
    truncated_ = false;
  }
  return std::move(errors_);
}

std::optional<std::vector<Field>> Reader::items(const Field& field) {
  if (!field.node.IsSequence()) {
    error(field.mark, field.path, "must be a list (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  std::vector<Field> out;
  std::size_t index = 0;
  for (const YAML::Node& item : field.node) {
    Field child{item, field.path + "[" + std::to_string(index++) + "]", item.Mark(), {}};
    if (item.IsNull() || child.mark.line < 0) child.mark = field.mark;
    child.key_mark = child.mark;
    out.push_back(std::move(child));
  }
  return out;
}

std::optional<std::string> expand_environment(std::string_view text, std::string& error) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {  // "$${" is a literal "${"
      out += "${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    std::string_view inner = close == std::string_view::npos ? std::string_view() : text.substr(i + 2, close - i - 2);
    std::string_view fallback;
    bool has_fallback = false;
    if (const std::size_t dash = inner.find(":-"); dash != std::string_view::npos) {
      fallback = inner.substr(dash + 2);
      inner = inner.substr(0, dash);
      has_fallback = true;
    }
    // Only ${NAME} with an environment-variable name is expanded; anything else (a rewrite's
    // ${path.id}, an unclosed "${") is left as written for the key's own rules.
    const bool name_ok = !inner.empty() &&
                         (std::isalpha(static_cast<unsigned char>(inner.front())) || inner.front() == '_') &&
                         std::all_of(inner.begin(), inner.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                         });
    if (!name_ok) {
      out += text[i];
      continue;
    }
    const char* value = std::getenv(std::string(inner).c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (has_fallback) {
      out += fallback;
    } else {
      error = "environment variable " + std::string(inner) + " is not set (use ${" + std::string(inner) +
              ":-default} for a default)";
      return std::nullopt;
    }
    i = close;
  }
  return out;
}

std::optional<std::string> Reader::string(const Field& field, bool allow_empty) {
  if (!field.node.IsScalar()) {
    error(field.mark, field.path, "must be a string (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  // ${NAME} and ${NAME:-default} in string values come from the environment (secrets from a
  // Kubernetes Secret, per-host addresses), expanded at every load and reload.
  std::string value = field.node.Scalar();
  if (value.find("${") != std::string::npos) {
    std::string expand_error;
    auto expanded = expand_environment(value, expand_error);
    if (!expanded) {
      error(field.mark, field.path, expand_error);
      return std::nullopt;
    }
    value = std::move(*expanded);
  }
  if (!allow_empty && value.empty()) {
    error(field.mark, field.path, "must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Reader::boolean(const Field& field) {
  if (field.node.IsScalar() && is_plain(field.node)) {
    if (field.node.Scalar() == "true") return true;
    if (field.node.Scalar() == "false") return false;
  }
  std::string message = "must be true or false (got " + describe(field.node) + ")";
  if (field.node.IsScalar() && !is_plain(field.node)) message += "; remove the quotes";
  error(field.mark, field.path, std::move(message));
  return std::nullopt;
}

std::optional<std::uint64_t> Reader::integer(const Field& field, std::uint64_t min, std::uint64_t max) {
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  if (!field.node.IsScalar()) {
    error(field.mark, field.path, "must be an integer " + range + " (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  const auto value = parse_decimal_integer(text);
  if (!is_plain(field.node)) {
    error(field.mark, field.path,
          value ? "must be a number, not a quoted string (remove the quotes)"
                : "must be an integer " + range + " (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  if (!value) {
    error(field.mark, field.path, "must be an integer " + range + " (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  if (value->leading_zero) {
    error(field.mark, field.path,
          "must be a decimal integer without leading zeros (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  const bool zero = value->magnitude == 0 && !value->overflow;
  if ((value->negative && !zero) || value->overflow || value->magnitude < min || value->magnitude > max) {
    error(field.mark, field.path,
          "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + quote(text) +
              ")");
    return std::nullopt;
  }
  return value->magnitude;
}

std::optional<double> Reader::number(const Field& field, double min, double max) {
  const std::string range = number_text(min) + ".." + number_text(max);
  if (!field.node.IsScalar()) {
    error(field.mark, field.path, "must be a number " + range + " (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool parsed = ec == std::errc() && end == text.data() + text.size() && std::isfinite(value);
  if (!is_plain(field.node)) {
    error(field.mark, field.path,
          parsed ? "must be a number, not a quoted string (remove the quotes)"
                 : "must be a number " + range + " (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  if (!parsed) {
    error(field.mark, field.path, "must be a number " + range + " (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(field.mark, field.path,
          "must be between " + number_text(min) + " and " + number_text(max) + " (got " + quote(text) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<Millis> Reader::duration(const Field& field, Millis min, Millis max) {
  std::optional<Millis> value;
  if (field.node.IsScalar()) value = parse_duration(field.node.Scalar());
  if (!value) {
    error(field.mark, field.path,
          "must be a duration like 5000, \"5s\" or \"250ms\" (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    error(field.mark, field.path,
          "must be between " + format_duration(min) + " and " + format_duration(max) + " (got " +
              format_duration(*value) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> Reader::size(const Field& field, std::uint64_t min, std::uint64_t max) {
  std::optional<std::uint64_t> value;
  if (field.node.IsScalar()) value = parse_size(field.node.Scalar());
  if (!value) {
    error(field.mark, field.path,
          "must be a size like 1048576, \"512kb\" or \"10mb\" (got " + describe(field.node) + ")");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    const std::string upper =
        max == std::numeric_limits<std::uint64_t>::max() ? "" : " and " + format_size(max);
    error(field.mark, field.path,
          (upper.empty() ? "must be at least " + format_size(min)
                         : "must be between " + format_size(min) + upper) +
              " (got " + format_size(*value) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Reader::one_of(const Field& field,
                                          std::initializer_list<std::string_view> choices) {
  if (field.node.IsScalar()) {
    const std::string& text = field.node.Scalar();
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  }
  std::string message = "must be one of " + join(choices) + " (got " + describe(field.node) + ")";
  if (field.node.IsScalar()) {
    const std::string_view hint =
        suggest(field.node.Scalar(), std::span<const std::string_view>(choices.begin(), choices.size()));
    if (!hint.empty()) message += "; did you mean '" + std::string(hint) + "'?";
  }
  error(field.mark, field.path, std::move(message));
  return std::nullopt;
}

MapFields::MapFields(Reader& reader, const Field& map, std::initializer_list<std::string_view> allowed)
    : reader_(reader), map_(map) {
  if (!map.node.IsMap()) {
    reader_.error(map.mark, map.path, "must be a mapping of keys to values (got " + describe(map.node) + ")");
    return;
  }
  ok_ = true;
  for (const auto& entry : map.node) {
    // Copies: yaml-cpp iterators yield temporaries, so `it->first` must not be held by reference.
    const YAML::Node key = entry.first;
    const YAML::Node value = entry.second;
    YAML::Mark key_mark = key.Mark();
    if (key_mark.line < 0) key_mark = map.mark;
    if (!key.IsScalar()) {
      reader_.error(key_mark, map.path, "keys must be plain names (got " + describe(key) + " as a key)");
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string child_path = path(name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string message = "unknown key " + quote(name);
      const std::string_view hint =
          suggest(name, std::span<const std::string_view>(allowed.begin(), allowed.size()));
      if (name == "<<") {
        message += ": YAML merge keys are not supported; repeat the keys instead";
      } else if (!hint.empty()) {
        message += " (did you mean '" + std::string(hint) + "'?)";
      } else {
        message += " (expected one of: " + join(allowed) + ")";
      }
      reader_.error(key_mark, child_path, std::move(message));
      continue;
    }
    if (const Field* first = get(name)) {
      reader_.error(key_mark, child_path,
                    "duplicate key " + quote(name) + " (first set on line " +
                        std::to_string(to_pos(first->key_mark).line) + ")");
      continue;
    }
    YAML::Mark value_mark = value.Mark();
    if (value.IsNull() || value_mark.line < 0)
      value_mark = key_mark;  // yaml-cpp's null mark is the next token
    found_.emplace_back(name, Field{value, child_path, value_mark, key_mark});
  }
}

const Field* MapFields::get(std::string_view key) const {
  for (const auto& [name, field] : found_) {
    if (name == key) return &field;
  }
  return nullptr;
}

const Field* MapFields::require(std::string_view key) {
  const Field* field = get(key);
  if (field == nullptr && ok_) {
    reader_.error(map_.mark, path(key), "missing required key " + quote(key));
  }
  return field;
}

std::string MapFields::path(std::string_view key) const {
  if (map_.path.empty()) return std::string(key);
  return map_.path + "." + std::string(key);
}

}  // namespace flexgate::config
