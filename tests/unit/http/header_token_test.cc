#include "http/header_token.h"

#include <gtest/gtest.h>

#include <string>

#include "http/message.h"

namespace flexgate::http {
namespace {

TEST(HeaderToken, LookupIsCaseInsensitive) {
  const std::pair<std::string_view, HeaderToken> known[] = {
      {"Host", HeaderToken::kHost},
      {"content-length", HeaderToken::kContentLength},
      {"TRANSFER-ENCODING", HeaderToken::kTransferEncoding},
      {"Connection", HeaderToken::kConnection},
      {"Keep-Alive", HeaderToken::kKeepAlive},
      {"Traceparent", HeaderToken::kTraceparent},
      {"TRACESTATE", HeaderToken::kTracestate},
      {"Proxy-Connection", HeaderToken::kProxyConnection},
      {"TE", HeaderToken::kTe},
      {"Trailer", HeaderToken::kTrailer},
      {"Upgrade", HeaderToken::kUpgrade},
      {"Expect", HeaderToken::kExpect},
      {"Proxy-Authenticate", HeaderToken::kProxyAuthenticate},
      {"Proxy-Authorization", HeaderToken::kProxyAuthorization},
      {"X-Forwarded-For", HeaderToken::kXForwardedFor},
      {"x-forwarded-proto", HeaderToken::kXForwardedProto},
      {"X-FORWARDED-HOST", HeaderToken::kXForwardedHost},
      {"X-Correlation-Id", HeaderToken::kXCorrelationId},
      {"Content-Type", HeaderToken::kContentType},
      {"Date", HeaderToken::kDate},
      {"Server", HeaderToken::kServer},
  };
  for (const auto& [name, token] : known) EXPECT_EQ(lookup_header_token(name), token) << name;
  for (std::string_view other : {"", "X", "Hosts", "Hos", "Content-Length2", "Content_Length", "Trailers",
                                 "Transfer-Encodin", "Accept", "Te ", "Authorization"}) {
    EXPECT_EQ(lookup_header_token(other), HeaderToken::kOther) << other;
  }
}

TEST(HeaderToken, HopByHop) {
  for (HeaderToken t :
       {HeaderToken::kConnection, HeaderToken::kKeepAlive, HeaderToken::kProxyConnection, HeaderToken::kTe,
        HeaderToken::kTrailer, HeaderToken::kTransferEncoding, HeaderToken::kUpgrade,
        HeaderToken::kProxyAuthenticate, HeaderToken::kProxyAuthorization}) {
    EXPECT_TRUE(is_hop_by_hop(t));
  }
  for (HeaderToken t :
       {HeaderToken::kOther, HeaderToken::kHost, HeaderToken::kContentLength, HeaderToken::kExpect,
        HeaderToken::kXForwardedFor, HeaderToken::kContentType, HeaderToken::kDate}) {
    EXPECT_FALSE(is_hop_by_hop(t));
  }
}

TEST(HeaderToken, Iequals) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("[", "{"));  // only letters fold
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_TRUE(iequals("\xc3\xa9", "\xc3\xa9"));
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));
}

// The compare folds eight bytes at a time (and four, and one at a time for short tails): every
// byte value at every position of every length up to 20 must give the byte-by-byte answer.
TEST(HeaderToken, IequalsMatchesTheByteByByteDefinitionForEveryByteAndPosition) {
  const auto fold = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c; };
  const auto reference = [&](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (fold(static_cast<unsigned char>(a[i])) != fold(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
  };
  const std::string base = "content-length-xyz-0";  // 20 bytes, lower case
  for (std::size_t length = 0; length <= base.size(); ++length) {
    const std::string lower = base.substr(0, length);
    for (std::size_t at = 0; at < length; ++at) {
      for (int value = 0; value < 256; ++value) {
        std::string other = lower;
        other[at] = static_cast<char>(value);
        const bool expected = reference(other, lower);
        ASSERT_EQ(iequals(other, lower), expected) << "length " << length << " byte " << at << " = " << value;
        ASSERT_EQ(iequals(lower, other), expected) << "length " << length << " byte " << at << " = " << value;
        ASSERT_EQ(iequals_lower(other, lower), expected) << "length " << length << " byte " << at << " = " << value;
      }
    }
  }
  EXPECT_TRUE(iequals_lower("KEEP-ALIVE", "keep-alive"));
  EXPECT_FALSE(iequals_lower("keep-alive ", "keep-alive"));
}

// Every known name is found whatever its case, and a name one byte off is not.
TEST(HeaderToken, LookupIgnoresCaseAndNothingElse) {
  EXPECT_EQ(lookup_header_token("TRANSFER-ENCODING"), HeaderToken::kTransferEncoding);
  EXPECT_EQ(lookup_header_token("Transfer-Encodinh"), HeaderToken::kOther);
  EXPECT_EQ(lookup_header_token("Transfer\rEncoding"), HeaderToken::kOther);
  EXPECT_EQ(lookup_header_token("Content_Length"), HeaderToken::kOther);
  EXPECT_EQ(lookup_header_token("x-forwarded-for"), HeaderToken::kXForwardedFor);
  EXPECT_EQ(lookup_header_token("X-FORWARDED-FOR"), HeaderToken::kXForwardedFor);
  EXPECT_EQ(lookup_header_token("X-Forwarded-Fo\xd2"), HeaderToken::kOther);  // 'R' | 0x80
  EXPECT_EQ(lookup_header_token("tE"), HeaderToken::kTe);
}

TEST(HeaderFields, FindByTokenAndName) {
  HeaderFields fields;
  fields.add() = {"X-Thing", "1", HeaderToken::kOther};
  fields.add() = {"host", "a", HeaderToken::kHost};
  fields.add() = {"x-thing", "2", HeaderToken::kOther};
  fields.add() = {"Content-Type", "text/plain", HeaderToken::kOther};  // built by hand: no token
  EXPECT_EQ(fields.find(HeaderToken::kHost)->value, "a");
  EXPECT_EQ(fields.find(HeaderToken::kDate), nullptr);
  EXPECT_EQ(fields.find("X-THING")->value, "1");
  EXPECT_EQ(fields.find("Host")->value, "a");
  EXPECT_EQ(fields.find("content-type")->value, "text/plain");
  EXPECT_EQ(fields.find("Missing"), nullptr);
  fields.count = 0;
  EXPECT_EQ(fields.find("X-Thing"), nullptr);
  EXPECT_EQ(fields.begin(), fields.end());
}

TEST(HeaderFields, ConnectionNominates) {
  HeaderFields fields;
  fields.add() = {"Connection", "keep-alive, X-A", HeaderToken::kConnection};
  fields.add() = {"X-A", "1", HeaderToken::kOther};
  fields.add() = {"Connection", " , x-b ,", HeaderToken::kConnection};
  EXPECT_TRUE(connection_nominates(fields, "X-a"));
  EXPECT_TRUE(connection_nominates(fields, "X-B"));
  EXPECT_TRUE(connection_nominates(fields, "Keep-Alive"));
  EXPECT_FALSE(connection_nominates(fields, "X"));
  EXPECT_FALSE(connection_nominates(fields, ""));
}

}  // namespace
}  // namespace flexgate::http
