#pragma once
// Request-target normalization (RFC 3986 section 6 + RFC 9112 section 3.2): what is matched is
// exactly what is forwarded, so "/api/../admin" can never reach a route it does not match.

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate::router {

enum class NormalizeError : std::uint8_t {
  kNone,
  kNotOriginForm,       // not "/..." and not a valid absolute-form "http://authority/..."
  kBadPercentEncoding,  // "%" not followed by two hex digits
  kEncodedSlash,        // %2F
  kEncodedBackslash,    // %5C, or a raw backslash
  kEncodedNul,          // %00
  kBadCharacter,        // a byte not allowed in a path or query
};

std::string_view to_string(NormalizeError error);

// The normalized form of a request target.
struct NormalizedTarget {
  std::string path;        // starts with '/', dot-segments resolved, "//" collapsed, unreserved %XX decoded
  std::string query;       // after '?', without it; kept byte-for-byte (validated only); empty if none
  bool has_query = false;  // a '?' was present (even if the query is empty)
  std::string authority;   // from absolute-form only, else empty
};

// Normalizes `target` into `out` (reusing its capacity). Percent-escapes of unreserved characters
// are decoded; other escapes are kept with upper-case hex. Fragments are rejected (kBadCharacter).
//   Path: "//" runs collapse to "/", then dot segments (also decoded ones: "%2e%2e") are removed
//   without going above the root ("/../a" -> "/a"); a trailing slash stays ("/a/." -> "/a/").
//   %2F, %5C (or a raw backslash), %00 are rejected; so is any byte that is not pchar or '/'.
//   Query: chars of RFC 3986 `query` and syntactically valid escapes; otherwise kept byte-for-byte.
//   Absolute-form: "http://" or "https://" (any case) + authority (lower-cased into
//   out.authority; userinfo is rejected as kNotOriginForm) + optional path ("" -> "/").
// Normalizing a normalized target changes nothing. On error, `out` is left empty.
NormalizeError normalize_target(std::string_view target, NormalizedTarget& out);

}  // namespace flexgate::router
