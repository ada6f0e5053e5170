#pragma once
// Loads and validates a config file in one pass, collecting every error with its position.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace flexgate::config {

// One problem in a config file: printed as "FILE:LINE:COL: key.path: message".
struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 if unknown
  int column = 0;  // 1-based; 0 if unknown
  std::string key_path;  // e.g. "routes[2].upstream"
  std::string message;

  std::string to_string() const;
};

// Either a valid config or every error found (never both).
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;

  bool ok() const { return config.has_value(); }
};

// Reads and validates the YAML file at `path`.
LoadResult load_config_file(const std::string& path);
// Same, from text (tests, fuzzing); `file_name` is used in error positions.
LoadResult load_config_text(std::string_view yaml_text, std::string_view file_name = "<string>");

// "5s", "250ms", "2m", 5000 (ms) -> milliseconds. nullopt when malformed or negative.
std::optional<Millis> parse_duration(std::string_view text);
// "10mb", "512kb", "1gb", "100b", 1024 (bytes) -> bytes (binary multiples). nullopt when malformed.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace flexgate::config
