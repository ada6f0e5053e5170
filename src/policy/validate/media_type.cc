#include "policy/validate/media_type.h"

#include "http/header_token.h"

namespace flexgate::policy {
namespace {

// tchar (RFC 9110 5.6.2).
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view media_type_of(std::string_view content_type) {
  return trim_ows(content_type.substr(0, content_type.find(';')));
}

std::optional<std::string> normalize_media_range(std::string_view text) {
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view type = text.substr(0, slash);
  std::string_view subtype = text.substr(slash + 1);
  if (!is_token(type) || !is_token(subtype)) return std::nullopt;  // also refuses parameters, spaces
  // Ranges as in Accept (RFC 9110 12.5.1): "type/*" and "*/*"; a '*' anywhere else is not one.
  bool any_type = type == "*";
  bool any_subtype = subtype == "*";
  if (any_type && !any_subtype) return std::nullopt;  // "*/json"
  if ((!any_type && type.find('*') != std::string_view::npos) ||
      (!any_subtype && subtype.find('*') != std::string_view::npos)) {
    return std::nullopt;  // "application/vnd.*"
  }
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool media_type_matches(std::string_view range, std::string_view media_type) {
  std::size_t slash = media_type.find('/');
  if (slash == std::string_view::npos || !is_token(media_type.substr(0, slash)) ||
      !is_token(media_type.substr(slash + 1))) {
    return false;  // "json", "application/", "a b/c": no media type to compare
  }
  if (range == "*/*") return true;
  if (range.size() >= 2 && range.substr(range.size() - 2) == "/*") {
    return http::iequals(range.substr(0, range.size() - 1), media_type.substr(0, slash + 1));
  }
  return http::iequals(range, media_type);
}

}  // namespace flexgate::policy
