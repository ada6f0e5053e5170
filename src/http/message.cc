#include "http/message.h"

#include "http/char_class.h"

namespace flexgate::http {

const HeaderField* HeaderFields::find(HeaderToken token) const {
  for (const HeaderField& field : *this) {
    if (field.token == token) return &field;
  }
  return nullptr;
}

const HeaderField* HeaderFields::find(std::string_view name) const {
  // Parsed fields of a known name compare as tokens (one byte compare). A field whose token was
  // left kOther (built by hand, not by the parser) still matches by name.
  const HeaderToken token = lookup_header_token(name);
  for (const HeaderField& field : *this) {
    if (token != HeaderToken::kOther && field.token == token) return &field;
    if (field.token == HeaderToken::kOther && iequals(field.name, name)) return &field;
  }
  return nullptr;
}

bool is_connection_specific(const HeaderField& field, const RequestHead& request) {
  if (is_hop_by_hop(field.token)) return true;
  if (field.name.size() == 14 && iequals(field.name, "http2-settings")) return true;
  return request.connection_names_fields && connection_nominates(request.fields, field.name);
}

bool connection_nominates(const HeaderFields& fields, std::string_view name) {
  if (name.empty()) return false;  // empty list elements nominate nothing
  for (const HeaderField& field : fields) {
    if (field.token != HeaderToken::kConnection) continue;
    const bool not_found = detail::for_each_list_element(
        field.value, [name](std::string_view option) { return !iequals(option, name); });
    if (!not_found) return true;
  }
  return false;
}

}  // namespace flexgate::http
