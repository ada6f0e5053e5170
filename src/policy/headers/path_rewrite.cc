#include "policy/headers/path_rewrite.h"

#include <re2/re2.h>

#include <array>

namespace flexgate::policy {
namespace {

constexpr int kMaxGroups = 10;  // $0..$9

// A path an upstream reads one way only: starts with '/', no controls, spaces, '?', '#' or '\',
// no "." / ".." segments.
bool clean_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '?' || c == '#' || c == '\\') return false;
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

PathRewrite::~PathRewrite() = default;

std::shared_ptr<const PathRewrite> PathRewrite::compile(const config::RegexRewriteSpec& spec, std::string& error) {
  auto rewrite = std::make_shared<PathRewrite>();
  RE2::Options options;
  options.set_log_errors(false);
  // Bounded memory per expression (RE2's DFA budget); a pathological expression fails here.
  options.set_max_mem(1 << 20);
  rewrite->regex_ = std::make_unique<re2::RE2>(spec.regex, options);
  if (!rewrite->regex_->ok()) {
    error = "invalid RE2 regular expression: " + rewrite->regex_->error();
    return nullptr;
  }
  const int available = rewrite->regex_->NumberOfCapturingGroups();
  const std::string& text = spec.replace;
  std::string literal;
  int highest = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      literal += text[i];
      continue;
    }
    const char next = text[++i];
    if (next == '$') {
      literal += '$';
      continue;
    }
    const int group = next - '0';
    if (group < 0 || group >= kMaxGroups) {
      error = "'$' must be followed by a group number 0-9 (or $$)";
      return nullptr;
    }
    if (group > available) {
      error = "replace uses $" + std::to_string(group) + " but the expression has " + std::to_string(available) +
              " capturing group" + (available == 1 ? "" : "s");
      return nullptr;
    }
    if (!literal.empty()) rewrite->parts_.push_back(Part{std::move(literal), -1});
    literal.clear();
    rewrite->parts_.push_back(Part{{}, group});
    highest = std::max(highest, group);
  }
  if (!literal.empty()) rewrite->parts_.push_back(Part{std::move(literal), -1});
  rewrite->groups_needed_ = highest + 1;
  return rewrite;
}

RewriteResult PathRewrite::apply(std::string_view path, std::string& out) const {
  std::array<re2::StringPiece, kMaxGroups> groups;
  const re2::StringPiece input(path.data(), path.size());
  if (!regex_->Match(input, 0, input.size(), RE2::UNANCHORED, groups.data(), groups_needed_)) {
    return RewriteResult::kNoMatch;
  }
  // Like RE2::Replace: the matched part is replaced, text around it stays.
  out.clear();
  const auto match_begin = static_cast<std::size_t>(groups[0].data() - path.data());
  out.append(path.substr(0, match_begin));
  for (const Part& part : parts_) {
    if (part.group < 0) {
      out.append(part.literal);
    } else {
      const re2::StringPiece& group = groups[static_cast<std::size_t>(part.group)];
      if (group.data() != nullptr) out.append(group.data(), group.size());
    }
  }
  out.append(path.substr(match_begin + groups[0].size()));
  return clean_path(out) ? RewriteResult::kRewritten : RewriteResult::kInvalid;
}

}  // namespace flexgate::policy
