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

TEST(HeaderFields, FindByTokenAndName) {
  HeaderFields fields;
  fields.items[0] = {"X-Thing", "1", HeaderToken::kOther};
  fields.items[1] = {"host", "a", HeaderToken::kHost};
  fields.items[2] = {"x-thing", "2", HeaderToken::kOther};
  fields.items[3] = {"Content-Type", "text/plain", HeaderToken::kOther};  // built by hand: no token
  fields.count = 4;
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
  fields.items[0] = {"Connection", "keep-alive, X-A", HeaderToken::kConnection};
  fields.items[1] = {"X-A", "1", HeaderToken::kOther};
  fields.items[2] = {"Connection", " , x-b ,", HeaderToken::kConnection};
  fields.count = 3;
  EXPECT_TRUE(connection_nominates(fields, "X-a"));
  EXPECT_TRUE(connection_nominates(fields, "X-B"));
  EXPECT_TRUE(connection_nominates(fields, "Keep-Alive"));
  EXPECT_FALSE(connection_nominates(fields, "X"));
  EXPECT_FALSE(connection_nominates(fields, ""));
}

}  // namespace
}  // namespace flexgate::http
