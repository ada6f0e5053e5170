#include "observe/redaction.h"

#include <algorithm>

namespace flexgate::observe {
namespace {

constexpr std::string_view kAlwaysSensitive[] = {"authorization", "proxy-authorization", "cookie",
                                                 "set-cookie"};

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_lower(std::string_view name, std::string_view lower_name) {
  return name.size() == lower_name.size() && std::equal(name.begin(), name.end(), lower_name.begin(),
                                                        [](char a, char b) { return lower(a) == b; });
}

}  // namespace

Redactor::Redactor() : Redactor(config::Config{}) {}

Redactor::Redactor(const config::Config& config) {
  for (std::string_view name : kAlwaysSensitive) add(name);
  add(config.security.auth.header);
  add(config.security.auth.signature_header);
  for (const std::string& name : config.logging.redact_headers) add(name);
}

void Redactor::add(std::string_view name) {
  if (name.empty() || is_sensitive(name)) return;
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
  names_.push_back(std::move(lowered));
}

bool Redactor::is_sensitive(std::string_view name) const {
  return std::any_of(names_.begin(), names_.end(),
                     [&](const std::string& sensitive) { return equals_lower(name, sensitive); });
}

bool is_sensitive_header(std::string_view name, const config::Config& config) {
  return Redactor(config).is_sensitive(name);
}

}  // namespace flexgate::observe
