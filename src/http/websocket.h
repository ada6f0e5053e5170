#pragma once
// The WebSocket opening handshake (RFC 6455 section 4) as a proxy judges it: does a request ask
// for WebSocket, is it a well-formed handshake, and does the upstream's 101 answer it (its
// Sec-WebSocket-Accept). Sans-I/O like the rest of http/: heads in, verdicts out. The frames that
// follow a 101 are never parsed: the proxy tunnels them byte for byte.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/message.h"

namespace flexgate::http {

// True when an Upgrade field of `request` lists the "websocket" protocol (any case, with or
// without a "/version"), well-formed or not. Only worth calling when request.has_upgrade: a plain
// request never pays for it.
bool asks_for_websocket(const RequestHead& request);

// Why a request that asks for WebSocket is not a valid opening handshake (RFC 6455 4.1, 4.2.1).
enum class WebSocketRequestError : std::uint8_t {
  kNone,
  kNotGet,               // the method is not GET
  kNotHttp11,            // HTTP/1.0
  kHasBody,              // a Content-Length above 0 or a Transfer-Encoding
  kNoConnectionUpgrade,  // no Connection field lists "upgrade"
  kBadUpgrade,           // not exactly one Upgrade field whose value is exactly "websocket"
  kBadKey,               // Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64
  kBadVersion,           // Sec-WebSocket-Version missing, repeated or empty
  kUnsupportedVersion,   // a Sec-WebSocket-Version other than 13 (answered 426)
};

// The verdict on a request asks_for_websocket() said yes to; kNone for a valid handshake.
WebSocketRequestError check_websocket_request(const RequestHead& request);
// A sentence for the error body ("Sec-WebSocket-Key must be 16 bytes in base64").
std::string_view to_string(WebSocketRequestError error);

// The Sec-WebSocket-Key of a request check_websocket_request() accepted.
std::string_view websocket_key(const RequestHead& request);

// Sec-WebSocket-Accept for `key`: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
inline constexpr std::size_t kWebSocketAcceptSize = 28;
using WebSocketAccept = std::array<char, kWebSocketAcceptSize>;
WebSocketAccept websocket_accept(std::string_view key);

// Why an upstream's 101 does not complete the handshake the proxy forwarded.
enum class WebSocketResponseError : std::uint8_t {
  kNone,
  kBadUpgrade,           // not exactly one Upgrade field "websocket"
  kNoConnectionUpgrade,  // no Connection field lists "upgrade"
  kBadAccept,            // Sec-WebSocket-Accept missing, repeated or not the expected value
};

// The verdict on a 101 `response` to a handshake whose key gave `expected_accept`.
WebSocketResponseError check_websocket_response(const ResponseHead& response,
                                                std::string_view expected_accept);
std::string_view to_string(WebSocketResponseError error);

}  // namespace flexgate::http
