#pragma once
// Interned header names: the headers the gateway acts on get a token with flags, so framing and
// hop-by-hop decisions are flag tests instead of string compares (h2o's approach).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flexgate::http {

enum class HeaderToken : std::uint8_t {
  kOther = 0,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kUpgrade,
  kExpect,
  kProxyAuthenticate,
  kProxyAuthorization,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kXCorrelationId,
  kContentType,
  kDate,
  kServer,
  kTraceparent,
  kTracestate,
};

// Case-insensitive lookup of a field name; kOther for names the gateway does not act on.
HeaderToken lookup_header_token(std::string_view name);

// True for the RFC 9110 7.6.1 hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE,
// Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization): never forwarded.
bool is_hop_by_hop(HeaderToken token);

// iequals() for two strings of `n` bytes each.
bool iequals_same_size(const char* a, const char* b, std::size_t n);
// iequals_lower() for two strings of `n` bytes each.
bool iequals_lower_same_size(const char* s, const char* lower, std::size_t n);

// ASCII case-insensitive equality (field names, tokens). Inline: most callers compare a field
// name against one that differs in length, which the size check answers without a call.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iequals_same_size(a.data(), b.data(), a.size());
}
// iequals() where `lower` is known to be lower case already (a literal): half the folding.
inline bool iequals_lower(std::string_view s, std::string_view lower) {
  return s.size() == lower.size() && iequals_lower_same_size(s.data(), lower.data(), s.size());
}

}  // namespace flexgate::http
