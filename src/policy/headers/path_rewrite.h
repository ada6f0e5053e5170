#pragma once
// `rewrite: {regex, replace}`: the forwarded path rewritten with an RE2 expression. RE2 runs in
// linear time (no backtracking), and the expression and the replacement are compiled once per
// snapshot; per request there is one match and an append into the caller's buffer.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace re2 {
class RE2;
}

namespace flexgate::policy {

// Why a rewrite gave no path to forward.
enum class RewriteResult : std::uint8_t {
  kRewritten,  // `out` holds the new path
  kNoMatch,    // the expression did not match: the path is forwarded unchanged
  kInvalid,    // the result is not a clean path (no leading '/', a control byte, a dot segment...)
};

// A compiled regex rewrite. Immutable; RE2 matching is thread-safe, so one is shared by all workers.
class PathRewrite {
 public:
  // Compiles `spec`; nullptr and `error` for an invalid expression or a group the expression
  // does not have.
  static std::shared_ptr<const PathRewrite> compile(const config::RegexRewriteSpec& spec, std::string& error);
  ~PathRewrite();

  // Replaces the first match in `path` by the replacement, writing the whole new path to `out`
  // (cleared first).
  RewriteResult apply(std::string_view path, std::string& out) const;

  PathRewrite(const PathRewrite&) = delete;
  PathRewrite& operator=(const PathRewrite&) = delete;
  PathRewrite() = default;  // use compile()

 private:
  struct Part {
    std::string literal;  // appended as is
    int group = -1;       // >= 0: the text of this group
  };
  std::unique_ptr<re2::RE2> regex_;
  std::vector<Part> parts_;
  int groups_needed_ = 1;  // submatches to ask for: group 0 plus the highest group used
};

}  // namespace flexgate::policy
