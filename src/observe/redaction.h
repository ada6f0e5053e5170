#pragma once
// Which header values never reach a log line: credentials (Authorization, Proxy-Authorization,
// Cookie, Set-Cookie), the API-key and signature headers of security.auth, and every name in
// logging.redactHeaders. Their values are written as "[REDACTED]".

#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace flexgate::observe {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// The set of sensitive names, built once per config (names compare case-insensitively).
class Redactor {
 public:
  // The built-in names plus the default API-key and signature headers (X-API-Key, X-Signature).
  Redactor();
  // The built-in names plus security.auth.header, security.auth.signatureHeader and
  // logging.redactHeaders of `config`.
  explicit Redactor(const config::Config& config);

  bool is_sensitive(std::string_view name) const;
  // `value`, or "[REDACTED]" when `name` is sensitive.
  std::string_view apply(std::string_view name, std::string_view value) const {
    return is_sensitive(name) ? kRedacted : value;
  }

 private:
  void add(std::string_view name);

  std::vector<std::string> names_;  // lower-case, each once
};

// Whether the value of header `name` is written as "[REDACTED]" under `config`.
bool is_sensitive_header(std::string_view name, const config::Config& config);

}  // namespace flexgate::observe
