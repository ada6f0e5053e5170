#pragma once
// Request header sanitization beyond what the codec enforces.
//
// The codec already guarantees that field names are tokens, values carry no CR/LF/NUL/control
// bytes, and that the field count and head size are within limits. What remains is the underscore:
// many backends (CGI-style environments, some frameworks) map "X_User" and "X-User" to the same
// variable, so a client could smuggle a value past a check made on the dashed name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/schema.h"
#include "http/message.h"
#include "policy/request_view.h"

namespace flexgate::policy {

// `security.underscoreHeaders`: what happens to a field whose name contains '_'.
enum class UnderscorePolicy : std::uint8_t {
  kReject,  // the request is refused with 400 naming the field (default)
  kDrop,    // the field is silently not forwarded
};

// The header rules of one config snapshot. Immutable; safe to share across worker threads.
class HeaderRules {
 public:
  explicit HeaderRules(UnderscorePolicy underscores = UnderscorePolicy::kReject)
      : underscores_(underscores) {}
  // From `security.underscoreHeaders` ("reject" | "drop"); nullopt and `error` for anything else.
  static std::optional<HeaderRules> build(const config::SecuritySpec& security, std::string& error);

  UnderscorePolicy underscores() const { return underscores_; }

  // Reject mode: 400 (kBadRequest) naming the first field with an underscore. Drop mode: allows.
  Verdict check_headers(const http::RequestHead& head) const;
  // True when check_headers() would allow `head` for sure, known without reading a name: the
  // parser saw only letters, digits and '-' in them. Asked first, so most requests skip the check.
  bool clearly_allows(const http::RequestHead& head) const {
    return underscores_ != UnderscorePolicy::kReject || head.fields.names_plain;
  }

  // Drop mode: true for a field name containing '_' (skip it when building the upstream request).
  // Reject mode: always false (such requests never get that far).
  // (Callers can skip it for every field when the head's names_plain.)
  bool drop_field(std::string_view name) const {
    return underscores_ == UnderscorePolicy::kDrop && name.find('_') != std::string_view::npos;
  }

 private:
  UnderscorePolicy underscores_;
};

}  // namespace flexgate::policy
