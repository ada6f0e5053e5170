// The WebSocket opening handshake as the proxy judges it (http/websocket.h): which requests ask for
// WebSocket, which of those are valid handshakes (RFC 6455 4.1 / 4.2.1), the Sec-WebSocket-Accept
// computation (4.2.2) and the check of the upstream's 101.

#include "http/websocket.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "http/parser.h"

namespace flexgate::http {
namespace {

// The RFC 6455 section 1.3 example.
constexpr std::string_view kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const std::string kValid =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// `raw` with the first occurrence of `from` replaced by `to` ("" removes it).
std::string edited(std::string raw, std::string_view from, std::string_view to) {
  const auto at = raw.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) raw.replace(at, from.size(), to);
  return raw;
}

class Request {
 public:
  explicit Request(std::string raw) : raw_(std::move(raw)), head_(std::make_unique<RequestHead>()) {
    const ParseOutcome outcome = parse_request_head(raw_, Limits{}, *head_);
    EXPECT_EQ(outcome.status, ParseStatus::kComplete) << to_string(outcome.error) << "\n" << raw_;
  }
  const RequestHead& head() const { return *head_; }

 private:
  std::string raw_;  // the head's views point into it
  std::unique_ptr<RequestHead> head_;
};

WebSocketRequestError verdict(const std::string& raw) {
  Request request(raw);
  EXPECT_TRUE(request.head().has_upgrade);
  EXPECT_TRUE(asks_for_websocket(request.head()));
  return check_websocket_request(request.head());
}

TEST(WebSocketAccept, RfcSample) {
  const WebSocketAccept accept = websocket_accept(kSampleKey);
  EXPECT_EQ(std::string_view(accept.data(), accept.size()), kSampleAccept);
}

TEST(WebSocketAccept, DependsOnEveryByteOfTheKey) {
  const WebSocketAccept a = websocket_accept("AAAAAAAAAAAAAAAAAAAAAA==");
  const WebSocketAccept b = websocket_accept("AAAAAAAAAAAAAAAAAAAAAQ==");
  EXPECT_NE(std::string_view(a.data(), a.size()), std::string_view(b.data(), b.size()));
  // 20 bytes of SHA-1 are 28 base64 characters, the last one padding.
  EXPECT_EQ(a.back(), '=');
}

TEST(WebSocketRequest, ValidHandshake) {
  Request request(kValid);
  ASSERT_TRUE(asks_for_websocket(request.head()));
  EXPECT_EQ(check_websocket_request(request.head()), WebSocketRequestError::kNone);
  EXPECT_EQ(websocket_key(request.head()), kSampleKey);
}

TEST(WebSocketRequest, TokensAreCaseInsensitiveAndListsAllowed) {
  EXPECT_EQ(verdict(edited(edited(kValid, "Upgrade: websocket", "upgrade: WebSocket"), "Connection: Upgrade",
                           "Connection: keep-alive, UPGRADE")),
            WebSocketRequestError::kNone);
  // The Connection option may come in a second Connection field.
  EXPECT_EQ(
      verdict(edited(kValid, "Connection: Upgrade\r\n", "Connection: keep-alive\r\nConnection: upgrade\r\n")),
      WebSocketRequestError::kNone);
  // An empty Content-Length is no body.
  EXPECT_EQ(verdict(edited(kValid, "Origin:", "Content-Length: 0\r\nOrigin:")), WebSocketRequestError::kNone);
}

TEST(WebSocketRequest, AsksForWebSocketWhateverElseIsWrong) {
  for (const std::string& raw : {
           edited(kValid, "GET /chat HTTP/1.1", "POST /chat HTTP/1.1"),
           edited(kValid, "Upgrade: websocket", "Upgrade: h2c, websocket/13"),
           edited(kValid, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
       }) {
    Request request(raw);
    EXPECT_TRUE(asks_for_websocket(request.head())) << raw;
  }
}

TEST(WebSocketRequest, OtherUpgradesAreNotWebSocket) {
  for (std::string_view value : {"h2c", "HTTP/2.0", "websockets", "TLS/1.2, IRC/6.9", "web-socket"}) {
    Request request(edited(kValid, "Upgrade: websocket", "Upgrade: " + std::string(value)));
    EXPECT_TRUE(request.head().has_upgrade);
    EXPECT_FALSE(asks_for_websocket(request.head())) << value;
  }
  Request plain("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_FALSE(plain.head().has_upgrade);
  EXPECT_FALSE(asks_for_websocket(plain.head()));
}

TEST(WebSocketRequest, MethodVersionAndBody) {
  EXPECT_EQ(verdict(edited(kValid, "GET /chat", "POST /chat")), WebSocketRequestError::kNotGet);
  EXPECT_EQ(verdict(edited(kValid, "GET /chat", "HEAD /chat")), WebSocketRequestError::kNotGet);
  EXPECT_EQ(verdict(edited(kValid, "HTTP/1.1\r\n", "HTTP/1.0\r\n")), WebSocketRequestError::kNotHttp11);
  EXPECT_EQ(verdict(edited(kValid, "Origin:", "Content-Length: 5\r\nOrigin:")),
            WebSocketRequestError::kHasBody);
  EXPECT_EQ(verdict(edited(kValid, "Origin:", "Transfer-Encoding: chunked\r\nOrigin:")),
            WebSocketRequestError::kHasBody);
}

TEST(WebSocketRequest, ConnectionAndUpgrade) {
  EXPECT_EQ(verdict(edited(kValid, "Connection: Upgrade\r\n", "")),
            WebSocketRequestError::kNoConnectionUpgrade);
  EXPECT_EQ(verdict(edited(kValid, "Connection: Upgrade", "Connection: keep-alive")),
            WebSocketRequestError::kNoConnectionUpgrade);
  EXPECT_EQ(verdict(edited(kValid, "Connection: Upgrade", "Connection: Upgraded")),
            WebSocketRequestError::kNoConnectionUpgrade);
  EXPECT_EQ(verdict(edited(kValid, "Upgrade: websocket", "Upgrade: websocket, h2c")),
            WebSocketRequestError::kBadUpgrade);
  EXPECT_EQ(verdict(edited(kValid, "Upgrade: websocket", "Upgrade: websocket/13")),
            WebSocketRequestError::kBadUpgrade);
  EXPECT_EQ(verdict(edited(kValid, "Upgrade: websocket\r\n", "Upgrade: websocket\r\nUpgrade: websocket\r\n")),
            WebSocketRequestError::kBadUpgrade);
}

TEST(WebSocketRequest, Key) {
  const std::string_view line = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  EXPECT_EQ(verdict(edited(kValid, line, "")), WebSocketRequestError::kBadKey);
  EXPECT_EQ(verdict(edited(kValid, line, "Sec-WebSocket-Key:\r\n")), WebSocketRequestError::kBadKey);
  EXPECT_EQ(verdict(edited(kValid, line, std::string(line) + std::string(line))),
            WebSocketRequestError::kBadKey);
  for (std::string_view key :
       {"dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub25jZ===", "dGhlIHNhbXBs*SBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ==AA", "c2hvcnQ="}) {
    EXPECT_EQ(verdict(edited(kValid, kSampleKey, key)), WebSocketRequestError::kBadKey) << key;
  }
  // Field names are case-insensitive.
  EXPECT_EQ(verdict(edited(kValid, "Sec-WebSocket-Key", "sec-websocket-key")), WebSocketRequestError::kNone);
}

TEST(WebSocketRequest, Version) {
  const std::string_view line = "Sec-WebSocket-Version: 13\r\n";
  EXPECT_EQ(verdict(edited(kValid, line, "")), WebSocketRequestError::kBadVersion);
  EXPECT_EQ(verdict(edited(kValid, line, "Sec-WebSocket-Version:\r\n")), WebSocketRequestError::kBadVersion);
  EXPECT_EQ(verdict(edited(kValid, line, std::string(line) + std::string(line))),
            WebSocketRequestError::kBadVersion);
  EXPECT_EQ(verdict(edited(kValid, line, "Sec-WebSocket-Version: 8\r\n")),
            WebSocketRequestError::kUnsupportedVersion);
  EXPECT_EQ(verdict(edited(kValid, line, "Sec-WebSocket-Version: 13, 8\r\n")),
            WebSocketRequestError::kUnsupportedVersion);
}

TEST(WebSocketRequest, EveryErrorHasASentence) {
  for (int e = 0; e <= static_cast<int>(WebSocketRequestError::kUnsupportedVersion); ++e) {
    EXPECT_FALSE(to_string(static_cast<WebSocketRequestError>(e)).empty());
  }
}

class Response {
 public:
  explicit Response(std::string raw) : raw_(std::move(raw)), head_(std::make_unique<ResponseHead>()) {
    const ParseOutcome outcome = parse_response_head(raw_, Limits{}, Method::kGet, *head_);
    EXPECT_EQ(outcome.status, ParseStatus::kComplete) << to_string(outcome.error);
  }
  const ResponseHead& head() const { return *head_; }

 private:
  std::string raw_;
  std::unique_ptr<ResponseHead> head_;
};

const std::string kSwitching =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Protocol: chat\r\n"
    "\r\n";

WebSocketResponseError response_verdict(const std::string& raw, std::string_view accept = kSampleAccept) {
  Response response(raw);
  return check_websocket_response(response.head(), accept);
}

TEST(WebSocketResponse, ValidSwitch) {
  EXPECT_EQ(response_verdict(kSwitching), WebSocketResponseError::kNone);
  EXPECT_EQ(response_verdict(edited(edited(kSwitching, "Upgrade: websocket", "Upgrade: WebSocket"),
                                    "Connection: Upgrade", "Connection: upgrade")),
            WebSocketResponseError::kNone);
}

TEST(WebSocketResponse, WrongAcceptIsRefused) {
  EXPECT_EQ(response_verdict(kSwitching, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), WebSocketResponseError::kBadAccept);
  // base64 is case-sensitive.
  EXPECT_EQ(
      response_verdict(edited(kSwitching, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "S3PPLMBITXAQ9KYGZZHZRBK+XOO=")),
      WebSocketResponseError::kBadAccept);
  EXPECT_EQ(
      response_verdict(edited(kSwitching, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "")),
      WebSocketResponseError::kBadAccept);
  const std::string twice =
      edited(kSwitching, "Sec-WebSocket-Protocol",
             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol");
  EXPECT_EQ(response_verdict(twice), WebSocketResponseError::kBadAccept);
  // A failed digest (all NUL) never matches.
  EXPECT_EQ(response_verdict(kSwitching, ""), WebSocketResponseError::kBadAccept);
}

TEST(WebSocketResponse, UpgradeAndConnection) {
  EXPECT_EQ(response_verdict(edited(kSwitching, "Upgrade: websocket\r\n", "")),
            WebSocketResponseError::kBadUpgrade);
  EXPECT_EQ(response_verdict(edited(kSwitching, "Upgrade: websocket", "Upgrade: h2c")),
            WebSocketResponseError::kBadUpgrade);
  EXPECT_EQ(response_verdict(edited(kSwitching, "Connection: Upgrade\r\n", "")),
            WebSocketResponseError::kNoConnectionUpgrade);
  EXPECT_EQ(response_verdict(edited(kSwitching, "Connection: Upgrade", "Connection: keep-alive")),
            WebSocketResponseError::kNoConnectionUpgrade);
}

}  // namespace
}  // namespace flexgate::http
