#include "http/parser.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "http/char_class.h"

// Design: one forward scan over the buffer. Every error is decided from the bytes up to the point
// where it is raised, and kPartial is returned only on reaching the end of the bytes, so feeding a
// head in any number of pieces gives the same verdict as feeding it whole. The scan never looks
// past Limits::max_head_bytes: a buffer longer than that without a complete head is kHeadTooLarge.

namespace flexgate::http {
namespace {

using detail::byte;
using detail::is_digit;
using detail::is_ows;
using detail::kFieldChar;
using detail::kTargetChar;
using detail::kTchar;

// RFC 9112 2.2: a server SHOULD ignore at least one empty line before a request line. A few are
// allowed (clients that append CRLF after a body); more looks like an attack on the parser.
constexpr int kMaxLeadingEmptyLines = 4;

// Content-Length beyond this is refused: peers commonly store it in a signed 64-bit integer.
constexpr std::uint64_t kMaxContentLength = INT64_MAX;

enum class Scan : std::uint8_t { kOk, kPartial, kError };

// The scan position and the first error found.
struct Cursor {
  const char* p = nullptr;
  const char* end = nullptr;
  ParseError error = ParseError::kNone;

  Scan fail(ParseError e) {
    error = e;
    return Scan::kError;
  }
};

// At a CR or LF where a line may end. CRLF: kOk with p past it. CR at the end of the bytes:
// kPartial. Bare CR or bare LF: kBadLineEnding.
Scan expect_crlf(Cursor& c) {
  if (*c.p == '\r') {
    if (c.p + 1 == c.end) return Scan::kPartial;
    if (c.p[1] == '\n') {
      c.p += 2;
      return Scan::kOk;
    }
  }
  return c.fail(ParseError::kBadLineEnding);
}

// At a CR or LF that is not allowed here: CRLF -> `if_crlf`, anything else as expect_crlf().
Scan line_break_error(Cursor& c, ParseError if_crlf) {
  const Scan s = expect_crlf(c);
  return s == Scan::kOk ? c.fail(if_crlf) : s;
}

// Past the field-content bytes (RFC 9110 5.5: HTAB, SP, VCHAR, obs-text) from `p`, at most to
// `end`. Sixteen at a time where SSE2 is there: only control bytes and DEL stop the wide scan, and
// a tab among them is stepped over.
const char* skip_field_chars(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i control_max = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, control_max), v);
    const int stops = _mm_movemask_epi8(_mm_or_si128(control, _mm_cmpeq_epi8(v, del)));
    if (stops == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(static_cast<unsigned>(stops));
    if (*p != '\t') return p;  // CR, LF or a forbidden byte ends the value
    ++p;
  }
#endif
  while (p != end && kFieldChar[byte(*p)]) ++p;
  return p;
}

#if defined(__SSE2__)
// Bytes of `v` in [lo, hi] (unsigned), as 0xff lanes.
inline __m128i in_range(__m128i v, char lo, char hi) {
  const __m128i clamped = _mm_max_epu8(_mm_min_epu8(v, _mm_set1_epi8(hi)), _mm_set1_epi8(lo));
  return _mm_cmpeq_epi8(clamped, v);
}
#endif

// tchar bytes by kind, for the byte-at-a-time tail of skip_tchars: 0 not a tchar, 1 a letter,
// digit or '-' (what nearly every field name is made of), 2 any other tchar.
constexpr detail::ByteTable make_name_kind_table() {
  detail::ByteTable t = detail::make_tchar_table();
  for (std::size_t c = 0; c < t.size(); ++c) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    if (t[c] != 0 && !plain) t[c] = 2;
  }
  return t;
}
constexpr detail::ByteTable kNameKind = make_name_kind_table();

// Past the tchar bytes (a token: method, field name) from `p`, at most to `end`. Names are mostly
// letters, digits and '-': sixteen of those are passed at a time, and another byte either is one
// of the rarer tchars (stepped over, and `rare` set) or ends the token.
const char* skip_tchars(const char* p, const char* end, bool& rare) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
    const __m128i common =
        _mm_or_si128(_mm_or_si128(letter, in_range(v, '0', '9')), _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    const unsigned others = ~static_cast<unsigned>(_mm_movemask_epi8(common)) & 0xffffu;
    if (others == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(others);
    if (!kTchar[byte(*p)]) return p;
    rare = true;
    ++p;
  }
#endif
  std::uint8_t kinds = 0;
  for (; p != end; ++p) {
    const std::uint8_t kind = kNameKind[byte(*p)];
    if (kind == 0) break;
    kinds |= kind;
  }
  if (kinds & 2) rare = true;
  return p;
}

// Past the request-target bytes (visible ASCII) from `p`, at most to `end`; sixteen at a time.
const char* skip_target_chars(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned stops = ~static_cast<unsigned>(_mm_movemask_epi8(in_range(v, 0x21, 0x7e))) & 0xffffu;
    if (stops != 0) return p + __builtin_ctz(stops);
    p += 16;
  }
#endif
  while (p != end && kTargetChar[byte(*p)]) ++p;
  return p;
}

// "HTTP/" DIGIT "." DIGIT. Any HTTP-version-shaped value passes here; the caller decides whether
// the digits are supported once the version's terminator is seen.
Scan parse_version(Cursor& c, int& major, int& minor) {
  // The usual case in one compare; anything else (partial, malformed) is judged byte by byte.
  if (c.end - c.p >= 8 && std::memcmp(c.p, "HTTP/", 5) == 0 && is_digit(c.p[5]) && c.p[6] == '.' &&
      is_digit(c.p[7])) {
    major = c.p[5] - '0';
    minor = c.p[7] - '0';
    c.p += 8;
    return Scan::kOk;
  }
  static constexpr char kShape[] = "HTTP/0.0";
  for (int i = 0; i < 8; ++i, ++c.p) {
    if (c.p == c.end) return Scan::kPartial;
    const char ch = *c.p;
    const bool ok = (i == 5 || i == 7) ? is_digit(ch) : ch == kShape[i];
    if (!ok) return c.fail(ParseError::kBadVersion);
    if (i == 5) major = ch - '0';
    if (i == 7) minor = ch - '0';
  }
  return Scan::kOk;
}

bool supported_version(int major, int minor) {
  return major == 1 && (minor == 0 || minor == 1);
}

Method method_from_text(std::string_view m) {
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::kGet;
      if (m == "PUT") return Method::kPut;
      break;
    case 4:
      if (m == "HEAD") return Method::kHead;
      if (m == "POST") return Method::kPost;
      break;
    case 5:
      if (m == "PATCH") return Method::kPatch;
      if (m == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (m == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (m == "OPTIONS") return Method::kOptions;
      if (m == "CONNECT") return Method::kConnect;
      break;
    default:
      break;
  }
  return Method::kOther;
}

// ---- Field values the parser acts on ----------------------------------------------------------

// The list form of Content-Length, and every malformed one (parse_content_length below). Out of
// line, so the field loop that handles the usual value stays small.
[[gnu::noinline]] bool parse_content_length_list(std::string_view value, std::uint64_t& out) {
  bool have = false;
  std::uint64_t first = 0;
  return detail::for_each_list_element(value, [&](std::string_view element) {
    if (element.empty()) return false;
    std::uint64_t n = 0;
    for (char ch : element) {
      if (!is_digit(ch)) return false;
      const auto d = static_cast<std::uint64_t>(ch - '0');
      if (n > (kMaxContentLength - d) / 10) return false;
      n = n * 10 + d;
    }
    if (have && n != first) return false;
    have = true;
    first = n;
    out = n;
    return true;
  });
}

// Content-Length = 1*DIGIT. A list of identical values ("5, 5") may be collapsed (RFC 9110 8.6);
// anything else -- sign, hex, inner spaces, empty element, differing values, overflow -- is refused.
bool parse_content_length(std::string_view value, std::uint64_t& out) {
  // The usual value, one run of digits: no list to split, and 18 digits cannot overflow.
  if (!value.empty() && value.size() <= 18 && std::all_of(value.begin(), value.end(), is_digit)) {
    std::uint64_t n = 0;
    for (const char ch : value) n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    out = n;
    return true;
  }
  return parse_content_length_list(value, out);
}

// Transfer-Encoding seen across every TE field, in order (RFC 9112 6.1).
struct TransferCodings {
  bool present = false;
  bool malformed = false;  // empty element, non-token, parameters, or chunked twice
  bool chunked_seen = false;
  bool chunked_last = false;  // the final coding so far is chunked
  bool other_seen = false;    // a coding other than chunked (gzip, identity, ...)

  // Out of line: Transfer-Encoding is rare on requests, and its list walk would bloat the field loop.
  [[gnu::noinline]] void add(std::string_view value) {
    present = true;
    detail::for_each_list_element(value, [this](std::string_view coding) {
      // Parameters (";q=...") are refused with the rest: chunked has none, and no other coding
      // is supported on requests anyway.
      if (!detail::is_token(coding)) {
        malformed = true;
        return false;
      }
      if (iequals_lower(coding, "chunked")) {
        if (chunked_seen) malformed = true;  // chunked MUST NOT be applied twice
        chunked_seen = true;
        chunked_last = true;
      } else {
        other_seen = true;
        chunked_last = false;
      }
      return !malformed;
    });
  }
};

// The general Connection value (scan_connection below): a list, checked option by option.
[[gnu::noinline]] bool scan_connection_list(std::string_view value, bool& close, bool& keep_alive,
                                            bool& names_fields) {
  return detail::for_each_list_element(value, [&](std::string_view option) {
    if (option.empty()) return true;
    if (!detail::is_token(option)) return false;
    if (iequals_lower(option, "keep-alive")) {
      keep_alive = true;
      return true;
    }
    if (iequals_lower(option, "close")) close = true;
    names_fields = true;  // "close" too: a field named Close is dropped like any nominated one
    return true;
  });
}

// Connection = #connection-option. Empty elements are ignored (RFC 9110 5.6.1); non-tokens refused.
bool scan_connection(std::string_view value, bool& close, bool& keep_alive, bool& names_fields) {
  // The usual single option (the value arrives trimmed): no list to split, the same verdict.
  if (value.size() == 10 && iequals_lower(value, "keep-alive")) {
    keep_alive = true;
    return true;
  }
  if (value.size() == 5 && iequals_lower(value, "close")) {
    close = true;
    names_fields = true;
    return true;
  }
  return scan_connection_list(value, close, keep_alive, names_fields);
}

// dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros (RFC 3986 3.2.2).
bool valid_ipv4(std::string_view s) {
  int octets = 0;
  for (;;) {
    std::size_t i = 0;
    int value = 0;
    while (i < s.size() && is_digit(s[i]) && i < 3) value = value * 10 + (s[i++] - '0');
    if (i == 0 || value > 255 || (i > 1 && s[0] == '0')) return false;
    ++octets;
    s.remove_prefix(i);
    if (s.empty()) return octets == 4;
    if (s[0] != '.' || octets == 4) return false;
    s.remove_prefix(1);
  }
}

// RFC 3986 IPv6address: up to 8 groups of 1-4 HEXDIG, one "::", an optional IPv4 tail.
bool valid_ipv6(std::string_view s) {
  int groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  }
  while (i < s.size()) {
    const std::size_t start = i;
    while (i < s.size() && detail::kHexPlusOne[byte(s[i])] != 0 && i - start <= 4) ++i;
    if (i < s.size() && s[i] == '.') {  // IPv4 tail: the last 32 bits
      if (!valid_ipv4(s.substr(start))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    if (i == start || i - start > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else if (i == s.size()) {
      return false;  // a single trailing colon
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

// reg-name bytes: unreserved / sub-delims, and '%' (checked for two HEXDIG). ',' is excluded on
// purpose: Host is a singleton and some servers split it as a list, so "a,b" is ambiguous.
constexpr detail::ByteTable make_reg_name_table() {
  detail::ByteTable t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 1;
  for (char c : {'-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ';', '=', '%'}) t[byte(c)] = 1;
  return t;
}
constexpr detail::ByteTable kRegName = make_reg_name_table();

// Host = uri-host [ ":" port ] (RFC 9110 7.2), non-empty host, port 1*5 DIGIT <= 65535.
bool valid_host(std::string_view v) {
  std::size_t i = 0;
  if (!v.empty() && v[0] == '[') {
    const std::size_t close = v.find(']');
    if (close == std::string_view::npos || !valid_ipv6(v.substr(1, close - 1))) return false;
    i = close + 1;
  } else {
    while (i < v.size() && v[i] != ':') {
      if (kRegName[byte(v[i])] == 0) return false;
      if (v[i] == '%') {
        if (i + 2 >= v.size() || detail::kHexPlusOne[byte(v[i + 1])] == 0 ||
            detail::kHexPlusOne[byte(v[i + 2])] == 0) {
          return false;
        }
        i += 2;
      }
      ++i;
    }
    if (i == 0) return false;
  }
  if (i == v.size()) return true;
  if (v[i] != ':') return false;
  const std::string_view port = v.substr(i + 1);
  if (port.empty() || port.size() > 5) return false;
  int n = 0;
  for (char ch : port) {
    if (!is_digit(ch)) return false;
    n = n * 10 + (ch - '0');
  }
  return n <= 65535;
}

// ---- The field section, shared by requests and responses -------------------------------------

// Parses field lines up to and including the empty line. `on_field(field)` sees each field after it
// is stored and returns kNone or an error.
template <class OnField>
Scan parse_fields(Cursor& c, std::size_t max_fields, HeaderFields& fields, OnField&& on_field) {
  for (;;) {
    if (c.p == c.end) return Scan::kPartial;
    const char first = *c.p;
    if (first == '\r' || first == '\n') return expect_crlf(c);  // end of the head, or a bare CR/LF
    if (is_ows(first)) {
      // RFC 9112 5.2: obs-fold is refused. Whitespace before the first field (RFC 9112 2.2) too.
      return c.fail(fields.count == 0 ? ParseError::kBadHeaderName : ParseError::kObsFold);
    }
    if (fields.count >= max_fields) return c.fail(ParseError::kTooManyHeaders);

    // field-name = token, then ':' with no whitespace before it (RFC 9112 5.1).
    const char* name = c.p;
    bool rare = false;
    c.p = skip_tchars(c.p, c.end, rare);
    if (rare) fields.names_plain = false;
    if (c.p == c.end) return Scan::kPartial;
    if (*c.p != ':' || c.p == name) {
      if (*c.p == '\r' || *c.p == '\n') return line_break_error(c, ParseError::kBadHeaderName);
      return c.fail(ParseError::kBadHeaderName);
    }
    const std::string_view name_view(name, static_cast<std::size_t>(c.p - name));
    ++c.p;

    // field-value = *field-content, OWS around it is not part of it. Usually one SP.
    if (c.p != c.end && *c.p == ' ') ++c.p;
    while (c.p != c.end && is_ows(*c.p)) ++c.p;
    const char* value = c.p;
    c.p = skip_field_chars(c.p, c.end);
    if (c.p == c.end) return Scan::kPartial;
    const char* value_end = c.p;
    if (*c.p != '\r' && *c.p != '\n') return c.fail(ParseError::kBadHeaderValue);
    if (const Scan s = expect_crlf(c); s != Scan::kOk) return s;
    while (value_end != value && is_ows(value_end[-1])) --value_end;

    HeaderField& field = fields.add();
    field.name = name_view;
    field.value = std::string_view(value, static_cast<std::size_t>(value_end - value));
    field.token = lookup_header_token(name_view);
    if (const ParseError e = on_field(field); e != ParseError::kNone) return c.fail(e);
  }
}

// The byte range the scan may look at, and the field-count ceiling.
struct Window {
  const char* end;
  std::size_t max_fields;
};

Window window_for(std::string_view buffer, const Limits& limits) {
  return {buffer.data() + std::min(buffer.size(), limits.max_head_bytes),
          std::min(limits.max_header_fields, kMaxHeaderFieldsCapacity)};
}

// Turns a scan result into the public outcome. A partial scan of a buffer longer than the limit
// can never complete within it: kHeadTooLarge.
ParseOutcome finish(Scan s, const Cursor& c, std::string_view buffer, const Limits& limits) {
  switch (s) {
    case Scan::kOk:
      return {ParseStatus::kComplete, static_cast<std::size_t>(c.p - buffer.data()), ParseError::kNone};
    case Scan::kError:
      return {ParseStatus::kError, 0, c.error};
    case Scan::kPartial:
      break;
  }
  if (buffer.size() > limits.max_head_bytes) return {ParseStatus::kError, 0, ParseError::kHeadTooLarge};
  return {ParseStatus::kPartial, 0, ParseError::kNone};
}

// Framing-relevant fields, accumulated while scanning.
struct FramingFields {
  TransferCodings te;
  bool has_content_length = false;
  bool content_length_ok = true;
  std::uint64_t content_length = 0;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_ok = true;
  bool connection_names_fields = false;
  std::string_view first_connection;

  // Handles the fields both directions care about; false if the field is not one of them.
  ParseError on_common(const HeaderField& f, bool& handled) {
    handled = true;
    switch (f.token) {
      case HeaderToken::kContentLength: {
        std::uint64_t n = 0;
        if (!parse_content_length(f.value, n)) return ParseError::kBadContentLength;
        if (has_content_length && n != content_length) return ParseError::kBadContentLength;
        has_content_length = true;
        content_length = n;
        return ParseError::kNone;
      }
      case HeaderToken::kTransferEncoding:
        te.add(f.value);
        return ParseError::kNone;
      case HeaderToken::kConnection:
        if (!scan_connection(f.value, connection_close, connection_keep_alive, connection_names_fields)) {
          return ParseError::kBadHeaderValue;
        }
        // The first NON-EMPTY value: callers test connection_tokens.empty() for "nothing is
        // nominated", so an empty first field must not hide a later "Connection: X-Secret"
        // (found by proxy_replay_fuzz: the nominated field was forwarded).
        if (first_connection.empty()) first_connection = f.value;
        return ParseError::kNone;
      default:
        handled = false;
        return ParseError::kNone;
    }
  }

  bool keep_alive(int minor) const {
    if (connection_close) return false;
    return minor == 1 || connection_keep_alive;
  }
};

void reset(RequestHead& head) {
  // Field storage is not cleared: count = 0 makes old entries unreachable, and zeroing 128
  // entries per request would cost more than the parse.
  head.method_text = {};
  head.method = Method::kOther;
  head.target = {};
  head.version_minor = 1;
  head.fields.count = 0;
  head.fields.names_plain = true;
  head.host = {};
  head.connection_tokens = {};
  head.connection_names_fields = false;
  head.framing = BodyFraming::kNone;
  head.content_length = 0;
  head.keep_alive = true;
  head.expect_continue = false;
  head.has_upgrade = false;
}

void reset(ResponseHead& head) {
  head.status = 0;
  head.reason = {};
  head.version_minor = 1;
  head.fields.count = 0;
  head.fields.names_plain = true;
  head.connection_tokens = {};
  head.connection_names_fields = false;
  head.framing = BodyFraming::kNone;
  head.content_length = 0;
  head.keep_alive = true;
}

// request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 3)
Scan parse_request_line(Cursor& c, const Limits& limits, RequestHead& head) {
  int empty_lines = 0;
  for (;;) {
    if (c.p == c.end) return Scan::kPartial;
    if (*c.p != '\r' && *c.p != '\n') break;
    if (const Scan s = expect_crlf(c); s != Scan::kOk) return s;
    if (++empty_lines > kMaxLeadingEmptyLines) return c.fail(ParseError::kBadRequestLine);
  }

  const char* method = c.p;
  bool rare_method_byte = false;  // (only field names are told apart)
  c.p = skip_tchars(c.p, c.end, rare_method_byte);
  if (c.p == c.end) return Scan::kPartial;
  if (*c.p != ' ') {
    if (*c.p == '\r' || *c.p == '\n') return line_break_error(c, ParseError::kBadRequestLine);
    return c.fail(c.p == method ? ParseError::kBadRequestLine : ParseError::kBadMethod);
  }
  if (c.p == method) return c.fail(ParseError::kBadRequestLine);
  head.method_text = std::string_view(method, static_cast<std::size_t>(c.p - method));
  head.method = method_from_text(head.method_text);
  ++c.p;

  const char* target = c.p;
  c.p = skip_target_chars(c.p, c.end);
  // Length first: a long target is 414 whatever byte stops the scan, and while still partial.
  if (static_cast<std::size_t>(c.p - target) > limits.max_target_bytes) {
    return c.fail(ParseError::kTargetTooLong);
  }
  if (c.p == c.end) return Scan::kPartial;
  if (c.p == target) return c.fail(ParseError::kBadRequestLine);  // empty target: two SPs, "GET \r\n"
  if (*c.p != ' ') {
    // "GET /\r\n" is an HTTP/0.9 request.
    if (*c.p == '\r' || *c.p == '\n') return line_break_error(c, ParseError::kUnsupportedVersion);
    return c.fail(ParseError::kBadTarget);
  }
  head.target = std::string_view(target, static_cast<std::size_t>(c.p - target));
  ++c.p;

  if (c.p != c.end && *c.p == ' ') return c.fail(ParseError::kBadRequestLine);
  int major = 0;
  int minor = 0;
  if (const Scan s = parse_version(c, major, minor); s != Scan::kOk) return s;
  if (c.p == c.end) return Scan::kPartial;
  if (*c.p != '\r' && *c.p != '\n') return c.fail(ParseError::kBadVersion);  // "HTTP/1.10", "HTTP/1.1 "
  if (const Scan s = expect_crlf(c); s != Scan::kOk) return s;
  // HTTP/2.0 here is the h2 connection preface "PRI * HTTP/2.0": 505 like any other version.
  if (!supported_version(major, minor)) return c.fail(ParseError::kUnsupportedVersion);
  head.version_minor = static_cast<std::uint8_t>(minor);
  return Scan::kOk;
}

// RFC 9112 6.3 for requests, plus Host (RFC 9112 3.2). Runs once the whole head is seen.
ParseError finish_request(const FramingFields& ff, int host_count, RequestHead& head) {
  const bool http11 = head.version_minor == 1;
  if (http11 && host_count == 0) return ParseError::kMissingHost;
  if (ff.te.present) {
    if (ff.has_content_length) return ParseError::kContentLengthWithTransferEncoding;
    // RFC 9112 6.1: TE in an HTTP/1.0 message means its framing is faulty.
    if (!http11) return ParseError::kBadTransferEncoding;
    if (ff.te.malformed || !ff.te.chunked_last) return ParseError::kBadTransferEncoding;
    if (ff.te.other_seen) return ParseError::kUnsupportedTransferCoding;  // "gzip, chunked"
    head.framing = BodyFraming::kChunked;
  } else if (ff.has_content_length) {
    head.framing = BodyFraming::kContentLength;
    head.content_length = ff.content_length;
  }
  head.connection_tokens = ff.first_connection;
  head.connection_names_fields = ff.connection_names_fields;
  head.keep_alive = ff.keep_alive(head.version_minor);
  return ParseError::kNone;
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 4). The SP before
// an empty reason is tolerated when missing.
Scan parse_status_line(Cursor& c, ResponseHead& head) {
  int major = 0;
  int minor = 0;
  if (const Scan s = parse_version(c, major, minor); s != Scan::kOk) return s;
  if (c.p == c.end) return Scan::kPartial;
  if (*c.p != ' ') {
    if (*c.p == '\r' || *c.p == '\n') return line_break_error(c, ParseError::kBadRequestLine);
    return c.fail(ParseError::kBadVersion);
  }
  if (!supported_version(major, minor)) return c.fail(ParseError::kUnsupportedVersion);
  head.version_minor = static_cast<std::uint8_t>(minor);
  ++c.p;

  int status = 0;
  for (int i = 0; i < 3; ++i, ++c.p) {
    if (c.p == c.end) return Scan::kPartial;
    if (!is_digit(*c.p)) return c.fail(ParseError::kBadStatus);
    status = status * 10 + (*c.p - '0');
  }
  if (status < 100 || status > 599) return c.fail(ParseError::kBadStatus);
  head.status = static_cast<std::uint16_t>(status);
  if (c.p == c.end) return Scan::kPartial;
  if (*c.p == ' ') {
    ++c.p;
    const char* reason = c.p;
    c.p = skip_field_chars(c.p, c.end);
    if (c.p == c.end) return Scan::kPartial;
    head.reason = std::string_view(reason, static_cast<std::size_t>(c.p - reason));
  } else if (is_digit(*c.p)) {
    return c.fail(ParseError::kBadStatus);
  }
  if (*c.p != '\r' && *c.p != '\n') return c.fail(ParseError::kBadRequestLine);
  return expect_crlf(c);
}

// RFC 9112 6.3 for responses: the request method and the status decide first.
ParseError finish_response(const FramingFields& ff, Method request_method, ResponseHead& head) {
  head.connection_tokens = ff.first_connection;
  head.connection_names_fields = ff.connection_names_fields;
  head.keep_alive = ff.keep_alive(head.version_minor);
  const std::uint16_t st = head.status;
  const bool no_body = request_method == Method::kHead || st < 200 || st == 204 || st == 304 ||
                       (request_method == Method::kConnect && st < 300);
  if (no_body) {
    head.framing = BodyFraming::kNone;  // CL/TE describe a body that is not there: ignored
    return ParseError::kNone;
  }
  if (ff.te.present) {
    if (ff.has_content_length) return ParseError::kContentLengthWithTransferEncoding;
    if (head.version_minor == 0 || ff.te.malformed) return ParseError::kBadTransferEncoding;
    if (ff.te.chunked_last) {
      head.framing = BodyFraming::kChunked;
    } else {
      head.framing = BodyFraming::kUntilClose;
      head.keep_alive = false;
    }
  } else if (ff.has_content_length) {
    head.framing = BodyFraming::kContentLength;
    head.content_length = ff.content_length;
  } else {
    head.framing = BodyFraming::kUntilClose;
    head.keep_alive = false;
  }
  return ParseError::kNone;
}

}  // namespace

ParseOutcome parse_request_head(std::string_view buffer, const Limits& limits, RequestHead& head) {
  reset(head);
  const Window w = window_for(buffer, limits);
  Cursor c{buffer.data(), w.end};
  Scan s = parse_request_line(c, limits, head);
  if (s != Scan::kOk) return finish(s, c, buffer, limits);

  FramingFields ff;
  int host_count = 0;
  s = parse_fields(c, w.max_fields, head.fields, [&](const HeaderField& f) {
    bool handled = false;
    if (const ParseError e = ff.on_common(f, handled); handled) return e;
    switch (f.token) {
      case HeaderToken::kHost:
        if (++host_count > 1) return ParseError::kDuplicateHost;
        // The contract: empty Host only for HTTP/1.0 (an HTTP/1.1 origin-form request needs one).
        if (!(f.value.empty() && head.version_minor == 0) && !valid_host(f.value))
          return ParseError::kBadHost;
        head.host = f.value;
        break;
      case HeaderToken::kExpect:
        if (iequals_lower(f.value, "100-continue")) head.expect_continue = true;
        break;
      case HeaderToken::kUpgrade:
        head.has_upgrade = true;
        break;
      default:
        break;
    }
    return ParseError::kNone;
  });
  if (s == Scan::kOk) {
    if (const ParseError e = finish_request(ff, host_count, head); e != ParseError::kNone) s = c.fail(e);
  }
  return finish(s, c, buffer, limits);
}

ParseOutcome parse_response_head(std::string_view buffer, const Limits& limits, Method request_method,
                                 ResponseHead& head) {
  reset(head);
  const Window w = window_for(buffer, limits);
  Cursor c{buffer.data(), w.end};
  Scan s = parse_status_line(c, head);
  if (s != Scan::kOk) return finish(s, c, buffer, limits);

  FramingFields ff;
  s = parse_fields(c, w.max_fields, head.fields, [&](const HeaderField& f) {
    bool handled = false;
    return ff.on_common(f, handled);
  });
  if (s == Scan::kOk) {
    if (const ParseError e = finish_response(ff, request_method, head); e != ParseError::kNone) s = c.fail(e);
  }
  return finish(s, c, buffer, limits);
}

std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "none";
    case ParseError::kBadRequestLine:
      return "bad_request_line";
    case ParseError::kBadMethod:
      return "bad_method";
    case ParseError::kBadTarget:
      return "bad_target";
    case ParseError::kBadVersion:
      return "bad_version";
    case ParseError::kUnsupportedVersion:
      return "unsupported_version";
    case ParseError::kBadHeaderName:
      return "bad_header_name";
    case ParseError::kBadHeaderValue:
      return "bad_header_value";
    case ParseError::kObsFold:
      return "obs_fold";
    case ParseError::kBadLineEnding:
      return "bad_line_ending";
    case ParseError::kMissingHost:
      return "missing_host";
    case ParseError::kDuplicateHost:
      return "duplicate_host";
    case ParseError::kBadHost:
      return "bad_host";
    case ParseError::kBadContentLength:
      return "bad_content_length";
    case ParseError::kContentLengthWithTransferEncoding:
      return "content_length_with_transfer_encoding";
    case ParseError::kBadTransferEncoding:
      return "bad_transfer_encoding";
    case ParseError::kUnsupportedTransferCoding:
      return "unsupported_transfer_coding";
    case ParseError::kHeadTooLarge:
      return "head_too_large";
    case ParseError::kTooManyHeaders:
      return "too_many_headers";
    case ParseError::kTargetTooLong:
      return "target_too_long";
    case ParseError::kBadChunk:
      return "bad_chunk";
    case ParseError::kChunkSizeOverflow:
      return "chunk_size_overflow";
    case ParseError::kBodyTooLarge:
      return "body_too_large";
    case ParseError::kBadStatus:
      return "bad_status";
  }
  return "unknown";
}

std::uint16_t status_for(ParseError error) {
  switch (error) {
    case ParseError::kTargetTooLong:
      return 414;
    case ParseError::kHeadTooLarge:
    case ParseError::kTooManyHeaders:
      return 431;
    case ParseError::kBodyTooLarge:
      return 413;
    case ParseError::kUnsupportedTransferCoding:
      return 501;
    case ParseError::kUnsupportedVersion:
      return 505;
    default:
      return 400;
  }
}

}  // namespace flexgate::http
