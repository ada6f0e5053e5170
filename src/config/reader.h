#pragma once
// Reading YAML nodes into typed values while collecting every error with its position and key
// path. Internal to config/: the loader walks the schema with these; nothing here throws.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "config/schema.h"

namespace flexgate::config {

// Expands ${NAME} and ${NAME:-default} from the environment ("$${" is a literal "${"); other
// "${...}" text (a rewrite's ${path.id}) is kept as written. nullopt with `error` set for an unset
// variable without a default.
std::optional<std::string> expand_environment(std::string_view text, std::string& error);

// One value in the file: its node, its key path, and where to point when it is wrong.
// NOLINTNEXTLINE(bugprone-exception-escape): YAML::Node's assignment may throw; yaml-cpp's choice
struct Field {
  YAML::Node node;
  std::string path;     // "routes[2].upstream"; "" for the document root
  YAML::Mark mark;      // the value; for a missing value (null) the key, since yaml-cpp has none
  YAML::Mark key_mark;  // the key (list items and the root: the value itself)
};

// yaml-cpp's 0-based mark as a 1-based position (0/0 when unknown).
SourcePos to_pos(const YAML::Mark& mark);

// Collects errors and converts scalar nodes to typed values, reporting what is wrong with them.
// Each conversion returns nullopt after reporting an error, so callers keep their defaults.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Mark& mark, std::string path, std::string message);
  bool has_errors() const { return !errors_.empty(); }
  // Every error, in file order.
  std::vector<ConfigError> take_errors();

  // The items of a list, with paths "x[0]", "x[1]"...; reports when `field` is not a list.
  std::optional<std::vector<Field>> items(const Field& field);

  std::optional<std::string> string(const Field& field, bool allow_empty = false);
  // Strictly `true` or `false` (not yes/no/on/off, not quoted).
  std::optional<bool> boolean(const Field& field);
  // A plain (unquoted) decimal integer within [min, max].
  std::optional<std::uint64_t> integer(const Field& field, std::uint64_t min, std::uint64_t max);
  // A plain (unquoted) finite decimal number within [min, max].
  std::optional<double> number(const Field& field, double min, double max);
  // An integer (ms) or a string "250ms", "5s", "2m", "1h", within [min, max].
  std::optional<Millis> duration(const Field& field, Millis min, Millis max);
  // An integer (bytes) or a string "100b", "512kb", "10mb", "1gb", within [min, max].
  std::optional<std::uint64_t> size(const Field& field, std::uint64_t min, std::uint64_t max);
  // One of a fixed set of words (case-sensitive; a near miss gets a suggestion).
  std::optional<std::string> one_of(const Field& field, std::initializer_list<std::string_view> choices);

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  bool truncated_ = false;
};

// One mapping's keys, checked against the keys the schema allows there: unknown keys (with a
// "did you mean"), duplicate keys and non-scalar keys are reported on construction.
class MapFields {
 public:
  MapFields(Reader& reader, const Field& map, std::initializer_list<std::string_view> allowed);

  // False when the field was not a mapping (already reported).
  bool ok() const { return ok_; }
  // The value of `key`, or nullptr when absent.
  const Field* get(std::string_view key) const;
  // Like get(), but reports "missing required key" at the mapping when absent.
  const Field* require(std::string_view key);
  const Field& self() const { return map_; }
  std::string path(std::string_view key) const;

 private:
  Reader& reader_;
  Field map_;
  bool ok_ = false;
  std::vector<std::pair<std::string, Field>> found_;
};

// "'x'" for messages, or "a list" / "a mapping" / "nothing" for non-scalars.
std::string describe(const YAML::Node& node);
// 90000 -> "90s", 7200000 -> "2h", 250 -> "250ms".
std::string format_duration(Millis value);
// 1048576 -> "1mb", 1500 -> "1500b".
std::string format_size(std::uint64_t value);

}  // namespace flexgate::config
