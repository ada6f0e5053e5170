#pragma once
// Interned header names: the headers the gateway acts on get a token with flags, so framing and
// hop-by-hop decisions are flag tests instead of string compares (h2o's approach).

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

// ASCII case-insensitive equality (field names, tokens).
bool iequals(std::string_view a, std::string_view b);
// iequals() where `lower` is known to be lower case already (a literal): half the folding.
bool iequals_lower(std::string_view s, std::string_view lower);

}  // namespace flexgate::http
