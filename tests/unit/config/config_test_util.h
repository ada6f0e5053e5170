#pragma once
// Helpers shared by the config tests: inline YAML and assertions on collected errors.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/loader.h"

namespace flexgate::config::testing {

// A raw string literal without its first newline, so line 1 is the first YAML line:
//   yaml(R"(
//   proxy: ...)")
inline std::string yaml(std::string_view text) {
  if (text.starts_with('\n')) text.remove_prefix(1);
  return std::string(text);
}

inline std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& error : result.errors) out += "\n  " + error.to_string();
  return out.empty() ? "\n  (no errors)" : out;
}

// Passes when some error has this key path, position and a message containing `text`.
inline ::testing::AssertionResult has_error(const LoadResult& result, std::string_view path, int line,
                                            int column, std::string_view text) {
  for (const ConfigError& error : result.errors) {
    if (error.key_path == path && error.line == line && error.column == column &&
        error.message.find(text) != std::string::npos) {
      if (result.config) return ::testing::AssertionFailure() << "errors reported but config also set";
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error at " << line << ":" << column << " " << path
                                       << " containing \"" << text << "\"; got:" << all_errors(result);
}

}  // namespace flexgate::config::testing
