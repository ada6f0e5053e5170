#include "config/syntax.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "net/ip_address.h"

namespace flexgate::config {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = to_lower(c);
  return out;
}

bool all_of(std::string_view text, bool (*pred)(char)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), pred);
}

// A decimal number without sign or leading zeros ("0" itself is fine): "010" is octal to some
// parsers and decimal to others, so it is refused rather than guessed.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

// RFC 3986 pchar without '%' (escapes are refused), plus '/'.
bool is_path_char(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  static constexpr std::string_view kOthers = "-._~!$&'()*+,;=:@/";
  return kOthers.find(c) != std::string_view::npos;
}

// Shared character rules of route paths and rewrites; "" when every byte is acceptable.
std::string check_path_chars(std::string_view text) {
  for (char c : text) {
    if (c == '?' || c == '#') return "must not contain '?' or '#': routes match and rewrite the path only";
    if (c == '%') return "must not contain percent-escapes like '%2F'; write the decoded character";
    if (c == '\\') return "must not contain a backslash";
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return "must not contain spaces, control or non-ASCII characters";
    if (!is_path_char(c)) return "contains an invalid character " + quote(std::string_view(&c, 1));
  }
  if (text.find("//") != std::string_view::npos) return "must not contain an empty segment ('//')";
  return {};
}

bool has_dot_segment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

bool is_param_name(std::string_view name) {
  if (name.empty() || !(is_alpha(name[0]) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

constexpr std::string_view kIpv4Hint =
    "write 4 decimal parts 0-255 without leading zeros, like 169.254.169.254 (short, octal, hex and "
    "single-number forms are refused)";

}  // namespace

std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", byte);
      out += buf;
    } else {
      out += text[i];
    }
  }
  if (text.size() > kMax) out += "...";
  out += "'";
  return out;
}

std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text) {
  const auto address = net::IpAddress::parse(text);
  if (!address || !address->is_v4) return std::nullopt;
  return address->v4_bytes();
}

std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text) {
  const auto address = net::IpAddress::parse(text);
  if (!address || address->is_v4) return std::nullopt;
  return address->bytes;
}

std::string check_ip_or_cidr(std::string_view text) {
  if (net::Cidr::parse(text)) return {};
  // net::Cidr::parse is the one parser; what follows only explains why it refused the text.
  const std::size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  if (address_text.empty()) return "must be an IP address or CIDR like \"10.0.0.0/8\"";
  const auto address = net::IpAddress::parse(address_text);
  if (!address) {
    if (address_text.find(':') != std::string_view::npos) {
      if (address_text.find('%') != std::string_view::npos) {
        return quote(address_text) + " is not a valid IPv6 address: zone IDs like '%eth0' are not allowed";
      }
      return quote(address_text) + " is not a valid IPv6 address";
    }
    if (check_hostname(address_text).empty()) {
      return quote(address_text) +
             " is a host name; list IP addresses or CIDRs like 169.254.169.254 or 10.0.0.0/8";
    }
    return quote(address_text) + " is not a valid IPv4 address or CIDR: " + std::string(kIpv4Hint);
  }
  const unsigned max_bits = address->is_v4 ? 32 : 128;
  const std::string_view prefix_text = slash == std::string_view::npos ? "" : text.substr(slash + 1);
  const auto prefix = parse_decimal(prefix_text, 3);
  if (!prefix || *prefix > max_bits) {
    return "prefix length " + quote(prefix_text) + " must be a number 0.." + std::to_string(max_bits);
  }
  const net::Cidr network = net::Cidr::of(*address, *prefix);
  return quote(text) + " has bits set after the /" + std::to_string(*prefix) + " prefix (did you mean " +
         network.to_string() + "?)";
}

std::string check_hostname(std::string_view text) {
  if (text.empty()) return "host name must not be empty";
  const std::string bad = quote(text) + " is not a valid host name: ";
  if (text.size() > 253) return bad + "longer than 253 characters";
  std::size_t start = 0;
  std::string_view last;
  while (start <= text.size()) {
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view label = text.substr(start, end - start);
    if (label.empty()) return bad + "empty label (check for '..' or a leading or trailing '.')";
    if (label.size() > 63) return bad + "a label is longer than 63 characters";
    for (char c : label) {
      if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_')) {
        return bad + "invalid character " + quote(std::string_view(&c, 1)) +
               " (use letters, digits, '-' and '.')";
      }
    }
    if (label.front() == '-' || label.back() == '-') return bad + "a label starts or ends with '-'";
    last = label;
    start = end + 1;
  }
  // WHATWG URL and inet_aton read a name ending in a number as an IPv4 address ("10.1",
  // "2852039166", "0xA9FEA9FE"): only the plain dotted quad is allowed, so what we check is what
  // the resolver would connect to.
  const bool hex_number = last.size() >= 2 && last[0] == '0' && to_lower(last[1]) == 'x' &&
                          std::all_of(last.begin() + 2, last.end(), is_hex_digit);
  if ((all_of(last, is_digit) || hex_number) && !parse_ipv4(text)) {
    return quote(text) + " is not a valid IPv4 address: " + std::string(kIpv4Hint);
  }
  return {};
}

std::string check_host_pattern(std::string_view text) {
  if (text.empty()) return "must not be empty (omit the key to match any host)";
  if (text == "*") return "'*' alone is not a host pattern; omit the key to match any host";
  if (text.front() == '[') {
    if (text.back() != ']' || !parse_ipv6(text.substr(1, text.size() - 2))) {
      return quote(text) + " is not a valid [IPv6] address";
    }
    return {};
  }
  if (text.find(':') != std::string_view::npos) {
    if (parse_ipv6(text)) return "write IPv6 addresses in brackets, like '[::1]'";
    return "must not include a port (host matching ignores the port)";
  }
  std::string_view name = text;
  if (text.starts_with("*.")) name = text.substr(2);
  if (name.find('*') != std::string_view::npos) {
    return "'*' is only allowed as a '*.' prefix, like '*.example.com'";
  }
  if (name != text && parse_ipv4(name)) return "a '*.' wildcard cannot apply to an IP address";
  return check_hostname(name);
}

std::string check_listen_host(std::string_view text) {
  if (text.empty()) return "must not be empty (use 0.0.0.0 for every IPv4 interface)";
  if (text.front() == '[') return "write IPv6 addresses without brackets, like '::'";
  if (text.find(':') != std::string_view::npos) {
    return parse_ipv6(text) ? std::string() : quote(text) + " is not a valid IPv6 address";
  }
  return check_hostname(text);
}

std::string parse_upstream_url(std::string_view text, UpstreamUrl& out) {
  if (text.empty()) return "must not be empty";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return "must not contain spaces or control characters";
    if (byte >= 0x80) return "must be ASCII (write international names in punycode)";
    if (c == '\\') return "must not contain a backslash";
  }
  if (text.find('@') != std::string_view::npos) {
    return "must not contain userinfo ('user:password@'); send credentials as headers instead";
  }
  if (text.find_first_of("?#") != std::string_view::npos) return "must not contain a query or fragment";
  const std::size_t separator = text.find("://");
  if (separator == std::string_view::npos) return "must be an absolute URL like \"http://127.0.0.1:8080\"";
  const std::string scheme = lower(text.substr(0, separator));
  if (scheme != "http" && scheme != "https") {
    return "scheme must be http or https (got " + quote(text.substr(0, separator)) + ")";
  }
  const std::string_view rest = text.substr(separator + 3);
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty()) return "has no host";
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unclosed '[' in the host";
    host = authority.substr(1, close - 1);
    if (!parse_ipv6(host)) return quote(authority.substr(0, close + 1)) + " is not a valid IPv6 address";
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected text after ']' in the host";
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos) {
        return "has more than one ':' (write IPv6 hosts in brackets: http://[::1]:8080)";
      }
    }
    if (host.empty()) return "has no host";
    if (std::string error = check_hostname(host); !error.empty()) return error;
  }
  unsigned port = scheme == "https" ? 443 : 80;
  if (has_port) {
    const auto value = parse_decimal(port_text, 5);
    if (!value || *value == 0 || *value > 65535) {
      return "port must be a number 1..65535 (got " + quote(port_text) + ")";
    }
    port = *value;
  }
  if (!path.empty() && path != "/") {
    return "must not have a path (" + quote(path) + "); use a route's rewrite to add a path prefix";
  }
  out.scheme = scheme;
  out.host = lower(host);
  out.port = static_cast<std::uint16_t>(port);
  return {};
}

std::string parse_path_pattern(std::string_view text, PathPattern& out) {
  out = PathPattern{};
  if (text.empty()) return "must not be empty; use \"/*\" to match every path";
  if (text.front() != '/') return "must start with '/'";
  if (std::string error = check_path_chars(text); !error.empty()) return error;
  std::size_t start = 1;
  while (start <= text.size()) {
    std::size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view segment = text.substr(start, end - start);
    const bool last = end == text.size();
    if (segment.find('*') != std::string_view::npos) {
      if (segment != "*" || !last) return "'*' is only allowed as the whole last segment, like \"/api/*\"";
      out.wildcard = true;
      out.shape += "/*";
    } else if (segment == "." || segment == "..") {
      return "must not contain '.' or '..' segments";
    } else if (!segment.empty() && segment.front() == ':') {
      const std::string_view name = segment.substr(1);
      if (!is_param_name(name)) {
        return "parameter " + quote(segment) +
               " must be ':' and a name like ':id' (letters, digits and '_', not starting with a digit)";
      }
      if (std::find(out.params.begin(), out.params.end(), name) != out.params.end()) {
        return "parameter " + quote(segment) + " appears more than once";
      }
      out.params.emplace_back(name);
      if (out.params.size() > kMaxPathParams) {
        return "has more than " + std::to_string(kMaxPathParams) + " parameters";
      }
      out.shape += "/:";
    } else if (segment.find(':') != std::string_view::npos) {
      return "':' is only allowed at the start of a segment, as a parameter like ':id'";
    } else {
      out.shape += '/';
      out.shape += segment;
    }
    start = end + 1;
  }
  return {};
}

std::string check_rewrite(std::string_view text, const PathPattern& route) {
  if (text.empty()) return "must not be empty (omit the key to forward the path unchanged)";
  if (text.front() != '/') return "must start with '/'";
  // Placeholders are checked first and then blanked out, so the character rules see only literals.
  std::string literal;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const std::size_t close = text.find('}', i);
      if (close == std::string_view::npos) return "has an unclosed '${'";
      const std::string_view inner = text.substr(i + 2, close - i - 2);
      if (!inner.starts_with("path.")) {
        return quote(text.substr(i, close - i + 1)) + " is not a known placeholder; use ${path.NAME}";
      }
      const std::string_view name = inner.substr(5);
      if (std::find(route.params.begin(), route.params.end(), name) == route.params.end()) {
        if (route.params.empty()) {
          return "uses " + quote(text.substr(i, close - i + 1)) +
                 " but the route path has no ':name' parameters";
        }
        std::string names;
        for (const auto& param : route.params) names += (names.empty() ? "" : ", ") + param;
        return quote(text.substr(i, close - i + 1)) +
               " names no parameter of the route path (parameters: " + names + ")";
      }
      literal += 'x';
      i = close + 1;
      continue;
    }
    if (text[i] == '{' || text[i] == '}') return "contains an invalid character " + quote(text.substr(i, 1));
    literal += text[i++];
  }
  if (std::string error = check_path_chars(literal); !error.empty()) return error;
  if (has_dot_segment(literal)) return "must not contain '.' or '..' segments";
  return {};
}

bool is_token(std::string_view text) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || kSymbols.find(c) != std::string_view::npos;
  });
}

bool is_hex(std::string_view text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), is_hex_digit);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions ("wieght" -> "weight" is 1).
  constexpr std::size_t kMaxLength = 128;  // keys and enum values are short; bound the work
  if (a.size() > kMaxLength || b.size() > kMaxLength) return std::numeric_limits<std::size_t>::max() / 2;
  const std::size_t width = b.size() + 1;
  std::vector<std::size_t> d((a.size() + 1) * width);
  for (std::size_t i = 0; i <= a.size(); ++i) d[i * width] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best =
          std::min({d[(i - 1) * width + j] + 1, d[i * width + j - 1] + 1, d[(i - 1) * width + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, d[(i - 2) * width + j - 2] + 1);
      }
      d[i * width + j] = best;
    }
  }
  return d[a.size() * width + b.size()];
}

std::string_view suggest(std::string_view word, std::span<const std::string_view> choices) {
  // "max_body_size" or "MAXBODYSIZE" for "maxBodySize": same letters, different spelling style.
  const auto fold = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c != '_' && c != '-') out += to_lower(c);
    }
    return out;
  };
  const std::string folded = fold(word);
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view choice : choices) {
    const std::string folded_choice = fold(choice);
    if (folded_choice == folded) return choice;
    const std::size_t distance = edit_distance(folded, folded_choice);
    if (distance < best_distance) {
      best_distance = distance;
      best = choice;
    }
  }
  // One edit for words of 3+ letters, two for 6+: closer than that, a suggestion is a guess.
  if ((best_distance == 1 && folded.size() >= 3) || (best_distance == 2 && folded.size() >= 6)) return best;
  return {};
}

}  // namespace flexgate::config
