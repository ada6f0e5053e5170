#include "http/header_token.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace flexgate::http {
namespace {

// ASCII case folding a word at a time (SWAR): 'A'..'Z' gain 0x20, every other byte (including
// obs-text) is unchanged. Per byte: the low seven bits plus 0x3f reach bit 7 from 'A' up, plus
// 0x25 from '[' up; the byte's own bit 7 excludes obs-text. No carry crosses a byte.
template <class Word>
constexpr Word repeat_byte(std::uint8_t b) {
  return static_cast<Word>(~Word{0} / 0xff * b);
}

template <class Word>
constexpr Word ascii_lower(Word w) {
  const Word low7 = w & repeat_byte<Word>(0x7f);
  const Word from_upper_a = low7 + repeat_byte<Word>(0x3f);
  const Word past_upper_z = low7 + repeat_byte<Word>(0x25);
  const Word upper = from_upper_a & ~past_upper_z & ~w & repeat_byte<Word>(0x80);
  return w | (upper >> 2);
}
static_assert(ascii_lower<std::uint32_t>(0x405a415bu) == 0x407a615bu, "'@ZA[' folds to '@za['");

template <class Word>
Word load(const char* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Case-insensitive equality of a and b, both `n` bytes long, exact for any bytes. Eight bytes per
// step; the tail is one overlapping load, not a byte loop. kBIsLower: b is known to be lower case
// already, so only a is folded.
template <bool kBIsLower = false>
[[gnu::always_inline]] inline bool iequals_n(const char* a, const char* b, std::size_t n) {
  const auto fold_b = [](auto w) { return kBIsLower ? w : ascii_lower(w); };
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const auto wa = load<std::uint64_t>(a + i);
      const auto wb = load<std::uint64_t>(b + i);
      if (wa != wb && ascii_lower(wa) != fold_b(wb)) return false;
    }
    return i == n || ascii_lower(load<std::uint64_t>(a + n - 8)) == fold_b(load<std::uint64_t>(b + n - 8));
  }
  if (n >= 4) {
    return ascii_lower(load<std::uint32_t>(a)) == fold_b(load<std::uint32_t>(b)) &&
           ascii_lower(load<std::uint32_t>(a + n - 4)) == fold_b(load<std::uint32_t>(b + n - 4));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (ascii_lower(static_cast<std::uint32_t>(static_cast<unsigned char>(a[i]))) !=
        fold_b(static_cast<std::uint32_t>(static_cast<unsigned char>(b[i])))) {
      return false;
    }
  }
  return true;
}

// The lookup's compare: `name` already has the length of the lower-case `lower`.
[[gnu::always_inline]] inline bool name_is(std::string_view name, std::string_view lower) {
  return iequals_n<true>(name.data(), lower.data(), lower.size());
}

}  // namespace

bool iequals_lower_same_size(const char* s, const char* lower, std::size_t n) {
  return iequals_n<true>(s, lower, n);
}

bool iequals_same_size(const char* a, const char* b, std::size_t n) { return iequals_n(a, b, n); }

HeaderToken lookup_header_token(std::string_view name) {
  // Dispatch on length first: most names are rejected by one integer compare (h2o does the same).
  switch (name.size()) {
    case 2:
      if (name_is(name, "te")) return HeaderToken::kTe;
      break;
    case 4:
      if (name_is(name, "host")) return HeaderToken::kHost;
      if (name_is(name, "date")) return HeaderToken::kDate;
      break;
    case 6:
      if (name_is(name, "expect")) return HeaderToken::kExpect;
      if (name_is(name, "server")) return HeaderToken::kServer;
      break;
    case 7:
      if (name_is(name, "upgrade")) return HeaderToken::kUpgrade;
      if (name_is(name, "trailer")) return HeaderToken::kTrailer;
      break;
    case 10:
      if (name_is(name, "connection")) return HeaderToken::kConnection;
      if (name_is(name, "keep-alive")) return HeaderToken::kKeepAlive;
      if (name_is(name, "tracestate")) return HeaderToken::kTracestate;
      break;
    case 11:
      if (name_is(name, "traceparent")) return HeaderToken::kTraceparent;
      break;
    case 12:
      if (name_is(name, "content-type")) return HeaderToken::kContentType;
      break;
    case 14:
      if (name_is(name, "content-length")) return HeaderToken::kContentLength;
      break;
    case 15:
      if (name_is(name, "x-forwarded-for")) return HeaderToken::kXForwardedFor;
      break;
    case 16:
      if (name_is(name, "proxy-connection")) return HeaderToken::kProxyConnection;
      if (name_is(name, "x-forwarded-host")) return HeaderToken::kXForwardedHost;
      if (name_is(name, "x-correlation-id")) return HeaderToken::kXCorrelationId;
      break;
    case 17:
      if (name_is(name, "transfer-encoding")) return HeaderToken::kTransferEncoding;
      if (name_is(name, "x-forwarded-proto")) return HeaderToken::kXForwardedProto;
      break;
    case 18:
      if (name_is(name, "proxy-authenticate")) return HeaderToken::kProxyAuthenticate;
      break;
    case 19:
      if (name_is(name, "proxy-authorization")) return HeaderToken::kProxyAuthorization;
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
