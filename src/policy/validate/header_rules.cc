#include "policy/validate/header_rules.h"

namespace flexgate::policy {

std::optional<HeaderRules> HeaderRules::build(const config::SecuritySpec& security, std::string& error) {
  if (security.underscore_headers == "reject") return HeaderRules(UnderscorePolicy::kReject);
  if (security.underscore_headers == "drop") return HeaderRules(UnderscorePolicy::kDrop);
  error = "security.underscoreHeaders: '" + security.underscore_headers + "' is not one of reject, drop";
  return std::nullopt;
}

Verdict HeaderRules::check_headers(const http::RequestHead& head) const {
  if (underscores_ != UnderscorePolicy::kReject) return Verdict::allow();
  for (const http::HeaderField& field : head.fields) {
    if (field.name.find('_') == std::string_view::npos) continue;
    // The name is a token (codec guarantee), so it is safe to echo; cap it to keep the reply small.
    constexpr std::size_t kMaxEchoed = 64;
    std::string message = "header field name '";
    message.append(field.name.substr(0, kMaxEchoed));
    if (field.name.size() > kMaxEchoed) message.append("...");
    message.append("' contains an underscore");
    return Verdict::deny(ErrorKind::kBadRequest, std::move(message));
  }
  return Verdict::allow();
}

}  // namespace flexgate::policy
