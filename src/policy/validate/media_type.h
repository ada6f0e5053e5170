#pragma once
// Media types (RFC 9110 8.3.1) as a route's `validate.contentTypes` compares them: the type/subtype
// only, ASCII case-insensitive, parameters (charset, boundary, ...) ignored.

#include <optional>
#include <string>
#include <string_view>

namespace flexgate::policy {

// The "type/subtype" part of a Content-Type value, without parameters or surrounding whitespace,
// as written (not lower-cased). "" when the value has no media type at all.
std::string_view media_type_of(std::string_view content_type);

// A configured media type or range, lower-cased: "type/subtype", "type/*" or "*/*" (tokens; no
// parameters). nullopt when `text` is not one.
std::optional<std::string> normalize_media_range(std::string_view text);

// True when `media_type` (as returned by media_type_of) is a well-formed type/subtype that `range`
// (normalized) covers, ignoring ASCII case.
bool media_type_matches(std::string_view range, std::string_view media_type);

}  // namespace flexgate::policy
