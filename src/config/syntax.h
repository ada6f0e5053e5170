#pragma once
// Strict parsers for the small text forms a config file contains: IP addresses and CIDRs, host
// names and host patterns, upstream URLs, route path patterns and rewrites, HTTP tokens.
// Internal to config/ (the loader uses them); each check returns "" when the text is valid or a
// sentence saying what is wrong, ready to be put after "key.path: ".

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flexgate::config {

// The router captures at most this many `:name` parameters per route (router::kMaxRouteParams).
inline constexpr std::size_t kMaxPathParams = 8;

// Thin wrappers over net::IpAddress::parse, the one IP parser (see net/ip_address.h).
// "a.b.c.d": exactly four decimal parts 0..255 without leading zeros. No short or numeric forms.
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text);
// RFC 4291 text form: hex groups, one optional "::", optional dotted-quad tail. No zone ("%eth0").
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text);

// An IPv4/IPv6 address or a CIDR ("10.0.0.0/8", "fd00::/8") whose host bits are zero: accepted
// exactly when net::Cidr::parse accepts it; otherwise a sentence saying why not.
std::string check_ip_or_cidr(std::string_view text);
// A DNS name (letters, digits, '-', '_'; labels of 1..63) or a strict dotted quad. A name whose
// last label is numeric ("10.1", "2852039166", "0xA9FEA9FE") is an odd IPv4 form and is refused,
// because resolvers would read it as an address.
std::string check_hostname(std::string_view text);
// A host name, "*.suffix" (prefix wildcard only), or "[IPv6]". Caller lower-cases.
std::string check_host_pattern(std::string_view text);
// Where a proxy listens: an IPv4/IPv6 literal (no brackets) or a host name.
std::string check_listen_host(std::string_view text);

// An upstream endpoint from "http://host:port" (https accepted too).
struct UpstreamUrl {
  std::string scheme;  // "http" | "https"
  std::string host;    // lower-case; IPv6 without brackets
  std::uint16_t port = 0;
};
// Parses `text` into `out`: scheme http/https, host, optional port 1..65535 (default 80/443), path
// empty or "/", and no userinfo, backslash, query or fragment.
std::string parse_upstream_url(std::string_view text, UpstreamUrl& out);

// What a route path pattern means, once checked.
struct PathPattern {
  std::vector<std::string> params;  // `:name` parameter names, in order
  bool wildcard = false;            // ends in "/*"
  std::string shape;                // the pattern with every `:name` segment replaced by ':'
};
// "/api/users/*", "/users/:id", "/exact". See the rules in the function body.
std::string parse_path_pattern(std::string_view text, PathPattern& out);
// A rewrite target: starts with '/', may use ${path.NAME} for a parameter of `route`.
std::string check_rewrite(std::string_view text, const PathPattern& route);

// RFC 9110 token (method names, header field names).
bool is_token(std::string_view text);
// Hex digits (either case), exactly `length` of them.
bool is_hex(std::string_view text, std::size_t length);

// `text` in single quotes for a message: control bytes escaped, long text cut.
std::string quote(std::string_view text);

// Levenshtein distance (bounded inputs; long strings return a large number).
std::size_t edit_distance(std::string_view a, std::string_view b);
// The choice closest to `word` when it is close enough to be a likely typo, else "".
std::string_view suggest(std::string_view word, std::span<const std::string_view> choices);

}  // namespace flexgate::config
