#include "http/header_token.h"

#include <array>
#include <cstddef>

namespace flexgate::http {
namespace {

constexpr std::array<unsigned char, 256> make_lower_table() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  return t;
}
constexpr auto kLower = make_lower_table();

// `lower` must already be lower case; compares without branching on case per byte.
bool iequals_lower(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (kLower[static_cast<unsigned char>(name[i])] != static_cast<unsigned char>(lower[i])) return false;
  }
  return true;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (kLower[static_cast<unsigned char>(a[i])] != kLower[static_cast<unsigned char>(b[i])]) return false;
  }
  return true;
}

HeaderToken lookup_header_token(std::string_view name) {
  // Dispatch on length first: most names are rejected by one integer compare (h2o does the same).
  switch (name.size()) {
    case 2:
      if (iequals_lower(name, "te")) return HeaderToken::kTe;
      break;
    case 4:
      if (iequals_lower(name, "host")) return HeaderToken::kHost;
      if (iequals_lower(name, "date")) return HeaderToken::kDate;
      break;
    case 6:
      if (iequals_lower(name, "expect")) return HeaderToken::kExpect;
      if (iequals_lower(name, "server")) return HeaderToken::kServer;
      break;
    case 7:
      if (iequals_lower(name, "upgrade")) return HeaderToken::kUpgrade;
      if (iequals_lower(name, "trailer")) return HeaderToken::kTrailer;
      break;
    case 10:
      if (iequals_lower(name, "connection")) return HeaderToken::kConnection;
      if (iequals_lower(name, "keep-alive")) return HeaderToken::kKeepAlive;
      if (iequals_lower(name, "tracestate")) return HeaderToken::kTracestate;
      break;
    case 11:
      if (iequals_lower(name, "traceparent")) return HeaderToken::kTraceparent;
      break;
    case 12:
      if (iequals_lower(name, "content-type")) return HeaderToken::kContentType;
      break;
    case 14:
      if (iequals_lower(name, "content-length")) return HeaderToken::kContentLength;
      break;
    case 15:
      if (iequals_lower(name, "x-forwarded-for")) return HeaderToken::kXForwardedFor;
      break;
    case 16:
      if (iequals_lower(name, "proxy-connection")) return HeaderToken::kProxyConnection;
      if (iequals_lower(name, "x-forwarded-host")) return HeaderToken::kXForwardedHost;
      if (iequals_lower(name, "x-correlation-id")) return HeaderToken::kXCorrelationId;
      break;
    case 17:
      if (iequals_lower(name, "transfer-encoding")) return HeaderToken::kTransferEncoding;
      if (iequals_lower(name, "x-forwarded-proto")) return HeaderToken::kXForwardedProto;
      break;
    case 18:
      if (iequals_lower(name, "proxy-authenticate")) return HeaderToken::kProxyAuthenticate;
      break;
    case 19:
      if (iequals_lower(name, "proxy-authorization")) return HeaderToken::kProxyAuthorization;
      break;
    default:
      break;
  }
  return HeaderToken::kOther;
}

bool is_hop_by_hop(HeaderToken token) {
  switch (token) {
    case HeaderToken::kConnection:
    case HeaderToken::kKeepAlive:
    case HeaderToken::kProxyConnection:
    case HeaderToken::kTe:
    case HeaderToken::kTrailer:
    case HeaderToken::kTransferEncoding:
    case HeaderToken::kUpgrade:
    case HeaderToken::kProxyAuthenticate:
    case HeaderToken::kProxyAuthorization:
      return true;
    default:
      return false;
  }
}

}  // namespace flexgate::http
