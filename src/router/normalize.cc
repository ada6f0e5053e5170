#include "router/normalize.h"

#include <array>
#include <cstring>

namespace flexgate::router {
namespace {

// Character classes, one table lookup per byte on the hot path.
enum : std::uint8_t {
  kUnreserved = 1,    // ALPHA DIGIT - . _ ~
  kPathChar = 2,      // pchar without '%' (escapes are handled apart), plus '/'
  kQueryChar = 4,     // kPathChar plus '?'
  kHostChar = 8,      // reg-name / IP-literal / port characters, without '%'
  kSegmentChar = 16,  // kPathChar without '/': copied as is
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> table{};
  auto add = [&table](std::string_view chars, std::uint8_t bits) {
    for (char c : chars) table[static_cast<unsigned char>(c)] |= bits;
  };
  constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr std::string_view kSubDelims = "!$&'()*+,;=";
  add(kAlnum, kUnreserved | kSegmentChar | kPathChar | kQueryChar | kHostChar);
  add("-._~", kUnreserved | kSegmentChar | kPathChar | kQueryChar | kHostChar);
  add(kSubDelims, kSegmentChar | kPathChar | kQueryChar | kHostChar);
  add(":", kSegmentChar | kPathChar | kQueryChar | kHostChar);
  add("@", kSegmentChar | kPathChar | kQueryChar);
  add("/", kPathChar | kQueryChar);
  add("?", kQueryChar);
  add("[]", kHostChar);
  return table;
}

constexpr auto kClasses = make_classes();

constexpr std::array<std::int8_t, 256> make_hex_values() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 10; ++i) table['0' + i] = static_cast<std::int8_t>(i);
  for (int i = 0; i < 6; ++i) {
    table['a' + i] = static_cast<std::int8_t>(10 + i);
    table['A' + i] = static_cast<std::int8_t>(10 + i);
  }
  return table;
}

constexpr auto kHexValues = make_hex_values();
constexpr char kUpperHex[] = "0123456789ABCDEF";

inline bool has_class(char c, std::uint8_t bits) {
  return (kClasses[static_cast<unsigned char>(c)] & bits) != 0;
}

inline int hex_value(char c) {
  return kHexValues[static_cast<unsigned char>(c)];
}

inline bool starts_with_ci(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

// Normalizes `in` (empty, or starting with '/') into `out`. The output is never longer than
// the input plus one byte (for an empty path), so it is written through a raw pointer into a
// buffer sized once: no reallocation when `out` already has the capacity.
NormalizeError normalize_path(std::string_view in, std::string& out) {
  const std::size_t n = in.size();
  out.resize(n + 1);
  char* const buf = out.data();
  std::size_t w = 0;
  buf[w++] = '/';
  std::size_t i = n == 0 ? 0 : 1;     // skip the leading '/'
  while (i < n && in[i] == '/') ++i;  // collapse a leading "//" run

  while (i < n) {
    const std::size_t segment_start = w;
    // Copy one segment, decoding unreserved escapes so that "%2e%2e" is seen as "..".
    while (i < n) {
      const char c = in[i];
      if (has_class(c, kSegmentChar)) {  // the common case first
        buf[w++] = c;
        ++i;
        continue;
      }
      if (c == '/') break;
      if (c == '%') {
        if (i + 2 >= n) return NormalizeError::kBadPercentEncoding;
        const int hi = hex_value(in[i + 1]);
        const int lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return NormalizeError::kBadPercentEncoding;
        const char decoded = static_cast<char>(hi * 16 + lo);
        if (has_class(decoded, kUnreserved)) {
          buf[w++] = decoded;
        } else if (decoded == '/') {
          return NormalizeError::kEncodedSlash;
        } else if (decoded == '\\') {
          return NormalizeError::kEncodedBackslash;
        } else if (decoded == '\0') {
          return NormalizeError::kEncodedNul;
        } else {
          buf[w++] = '%';
          buf[w++] = kUpperHex[hi];
          buf[w++] = kUpperHex[lo];
        }
        i += 3;
        continue;
      }
      return c == '\\' ? NormalizeError::kEncodedBackslash : NormalizeError::kBadCharacter;
    }

    // The segment is complete in buf[segment_start, w); it is preceded by a '/'.
    const std::size_t length = w - segment_start;
    const bool more = i < n;  // a '/' follows in the input
    if (length == 1 && buf[segment_start] == '.') {
      w = segment_start;  // "." vanishes; the preceding '/' stays ("/a/." -> "/a/")
    } else if (length == 2 && buf[segment_start] == '.' && buf[segment_start + 1] == '.') {
      w = segment_start;
      if (w > 1) {  // drop the previous segment, never going above the root
        std::size_t p = w - 1;
        while (p > 0 && buf[p - 1] != '/') --p;
        w = p;
      }
    } else if (more) {
      buf[w++] = '/';
    }
    while (i < n && in[i] == '/') ++i;  // collapse "//" runs
  }
  out.resize(w);
  return NormalizeError::kNone;
}

NormalizeError validate_query(std::string_view query) {
  const std::size_t n = query.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = query[i];
    if (has_class(c, kQueryChar)) continue;
    if (c == '%') {
      if (i + 2 >= n || hex_value(query[i + 1]) < 0 || hex_value(query[i + 2]) < 0) {
        return NormalizeError::kBadPercentEncoding;
      }
      i += 2;
      continue;
    }
    return NormalizeError::kBadCharacter;  // includes '#': fragments are never sent
  }
  return NormalizeError::kNone;
}

// Normalizes "path[?query]" where path is empty or starts with '/'.
NormalizeError normalize_path_and_query(std::string_view target, NormalizedTarget& out) {
  const void* q = std::memchr(target.data(), '?', target.size());
  const std::size_t path_end =
      q == nullptr ? target.size() : static_cast<std::size_t>(static_cast<const char*>(q) - target.data());
  if (NormalizeError e = normalize_path(target.substr(0, path_end), out.path); e != NormalizeError::kNone) {
    return e;
  }
  if (q != nullptr) {
    const std::string_view query = target.substr(path_end + 1);
    if (NormalizeError e = validate_query(query); e != NormalizeError::kNone) return e;
    out.query.assign(query);
    out.has_query = true;
  }
  return NormalizeError::kNone;
}

// Splits "http[s]://authority[/path][?query]" and stores the lower-cased authority.
NormalizeError normalize_absolute_form(std::string_view target, NormalizedTarget& out) {
  std::size_t scheme_length = 0;
  if (starts_with_ci(target, "http://")) {
    scheme_length = 7;
  } else if (starts_with_ci(target, "https://")) {
    scheme_length = 8;
  } else {
    return NormalizeError::kNotOriginForm;
  }
  const std::string_view rest = target.substr(scheme_length);
  std::size_t end = 0;
  while (end < rest.size() && rest[end] != '/' && rest[end] != '?' && rest[end] != '#') ++end;
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty()) return NormalizeError::kNotOriginForm;
  out.authority.resize(authority.size());
  for (std::size_t i = 0; i < authority.size(); ++i) {
    char c = authority[i];
    if (c == '@') return NormalizeError::kNotOriginForm;  // userinfo is not allowed (RFC 9110 4.2.4)
    if (c == '%') {
      if (i + 2 >= authority.size() || hex_value(authority[i + 1]) < 0 || hex_value(authority[i + 2]) < 0) {
        return NormalizeError::kBadPercentEncoding;
      }
    } else if (!has_class(c, kHostChar)) {
      return c == '\\' ? NormalizeError::kEncodedBackslash : NormalizeError::kBadCharacter;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.authority[i] = c;
  }
  if (end < rest.size() && rest[end] == '#') return NormalizeError::kBadCharacter;
  return normalize_path_and_query(rest.substr(end), out);
}

}  // namespace

std::string_view to_string(NormalizeError error) {
  switch (error) {
    case NormalizeError::kNone:
      return "none";
    case NormalizeError::kNotOriginForm:
      return "request target is not in origin or absolute form";
    case NormalizeError::kBadPercentEncoding:
      return "bad percent-encoding in request target";
    case NormalizeError::kEncodedSlash:
      return "encoded slash (%2F) in path";
    case NormalizeError::kEncodedBackslash:
      return "backslash in path";
    case NormalizeError::kEncodedNul:
      return "encoded NUL (%00) in path";
    case NormalizeError::kBadCharacter:
      return "character not allowed in request target";
  }
  return "unknown";
}

NormalizeError normalize_target(std::string_view target, NormalizedTarget& out) {
  out.query.clear();
  out.has_query = false;
  out.authority.clear();
  NormalizeError error = NormalizeError::kNone;
  if (!target.empty() && target.front() == '/') {
    error = normalize_path_and_query(target, out);
  } else {
    error = normalize_absolute_form(target, out);
  }
  if (error != NormalizeError::kNone) {
    // Leave nothing half-written that a careless caller could forward.
    out.path.clear();
    out.query.clear();
    out.has_query = false;
    out.authority.clear();
  }
  return error;
}

}  // namespace flexgate::router
