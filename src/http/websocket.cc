#include "http/websocket.h"

#include <openssl/evp.h>

#include <memory>

#include "http/char_class.h"

namespace flexgate::http {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// A 16-byte nonce in base64 is 22 characters and "==" (RFC 6455 4.1: "randomly selected 16-byte
// value that has been base64-encoded").
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

// The fields named `name`: the first one, and how many there are.
const HeaderField* find_all(const HeaderFields& fields, std::string_view name, std::size_t& count) {
  const HeaderField* first = nullptr;
  count = 0;
  for (const HeaderField& field : fields) {
    if (!iequals(field.name, name)) continue;
    if (first == nullptr) first = &field;
    ++count;
  }
  return first;
}

const HeaderField* find_all(const HeaderFields& fields, HeaderToken token, std::size_t& count) {
  const HeaderField* first = nullptr;
  count = 0;
  for (const HeaderField& field : fields) {
    if (field.token != token) continue;
    if (first == nullptr) first = &field;
    ++count;
  }
  return first;
}

// Exactly one Upgrade field, and its value is exactly the token "websocket" (any case).
bool upgrades_to_websocket_only(const HeaderFields& fields) {
  std::size_t count = 0;
  const HeaderField* upgrade = find_all(fields, HeaderToken::kUpgrade, count);
  return count == 1 && iequals(upgrade->value, "websocket");
}

}  // namespace

bool asks_for_websocket(const RequestHead& request) {
  for (const HeaderField& field : request.fields) {
    if (field.token != HeaderToken::kUpgrade) continue;
    const bool none = detail::for_each_list_element(field.value, [](std::string_view protocol) {
      const std::string_view name = protocol.substr(0, protocol.find('/'));
      return !iequals(name, "websocket");
    });
    if (!none) return true;
  }
  return false;
}

WebSocketRequestError check_websocket_request(const RequestHead& request) {
  if (request.method != Method::kGet) return WebSocketRequestError::kNotGet;
  if (request.version_minor != 1) return WebSocketRequestError::kNotHttp11;
  if (request.framing == BodyFraming::kChunked ||
      (request.framing == BodyFraming::kContentLength && request.content_length > 0)) {
    return WebSocketRequestError::kHasBody;
  }
  if (!connection_nominates(request.fields, "upgrade")) return WebSocketRequestError::kNoConnectionUpgrade;
  if (!upgrades_to_websocket_only(request.fields)) return WebSocketRequestError::kBadUpgrade;
  std::size_t count = 0;
  const HeaderField* key = find_all(request.fields, "Sec-WebSocket-Key", count);
  if (count != 1 || !valid_key(key->value)) return WebSocketRequestError::kBadKey;
  const HeaderField* version = find_all(request.fields, "Sec-WebSocket-Version", count);
  if (count != 1 || version->value.empty()) return WebSocketRequestError::kBadVersion;
  if (version->value != "13") return WebSocketRequestError::kUnsupportedVersion;
  return WebSocketRequestError::kNone;
}

std::string_view to_string(WebSocketRequestError error) {
  switch (error) {
    case WebSocketRequestError::kNone:
      return "valid WebSocket handshake";
    case WebSocketRequestError::kNotGet:
      return "a WebSocket handshake must be a GET request";
    case WebSocketRequestError::kNotHttp11:
      return "a WebSocket handshake must be HTTP/1.1";
    case WebSocketRequestError::kHasBody:
      return "a WebSocket handshake has no body";
    case WebSocketRequestError::kNoConnectionUpgrade:
      return "a WebSocket handshake needs Connection: Upgrade";
    case WebSocketRequestError::kBadUpgrade:
      return "a WebSocket handshake needs exactly one Upgrade: websocket";
    case WebSocketRequestError::kBadKey:
      return "Sec-WebSocket-Key must be one 16-byte value in base64";
    case WebSocketRequestError::kBadVersion:
      return "a WebSocket handshake needs one Sec-WebSocket-Version";
    case WebSocketRequestError::kUnsupportedVersion:
      return "only WebSocket version 13 is supported";
  }
  return "invalid WebSocket handshake";
}

std::string_view websocket_key(const RequestHead& request) {
  const HeaderField* key = request.fields.find(std::string_view("Sec-WebSocket-Key"));
  return key != nullptr ? key->value : std::string_view();
}

WebSocketAccept websocket_accept(std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha1(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const bool ok = sha1 != nullptr && EVP_DigestInit_ex(sha1.get(), EVP_sha1(), nullptr) == 1 &&
                  EVP_DigestUpdate(sha1.get(), key.data(), key.size()) == 1 &&
                  EVP_DigestUpdate(sha1.get(), kGuid.data(), kGuid.size()) == 1 &&
                  EVP_DigestFinal_ex(sha1.get(), digest, &digest_size) == 1 && digest_size == 20;
  WebSocketAccept accept{};
  if (!ok) return accept;  // all NUL: matches no header value, so the handshake fails closed
  unsigned char encoded[kWebSocketAcceptSize + 1];  // EVP_EncodeBlock writes a final NUL
  EVP_EncodeBlock(encoded, digest, 20);
  for (std::size_t i = 0; i < kWebSocketAcceptSize; ++i) accept[i] = static_cast<char>(encoded[i]);
  return accept;
}

WebSocketResponseError check_websocket_response(const ResponseHead& response,
                                                std::string_view expected_accept) {
  if (!upgrades_to_websocket_only(response.fields)) return WebSocketResponseError::kBadUpgrade;
  if (!connection_nominates(response.fields, "upgrade")) return WebSocketResponseError::kNoConnectionUpgrade;
  std::size_t count = 0;
  const HeaderField* accept = find_all(response.fields, "Sec-WebSocket-Accept", count);
  if (count != 1 || expected_accept.empty() || accept->value != expected_accept) {
    return WebSocketResponseError::kBadAccept;
  }
  return WebSocketResponseError::kNone;
}

std::string_view to_string(WebSocketResponseError error) {
  switch (error) {
    case WebSocketResponseError::kNone:
      return "valid WebSocket handshake response";
    case WebSocketResponseError::kBadUpgrade:
      return "upstream 101 without exactly one Upgrade: websocket";
    case WebSocketResponseError::kNoConnectionUpgrade:
      return "upstream 101 without Connection: Upgrade";
    case WebSocketResponseError::kBadAccept:
      return "upstream 101 with a wrong Sec-WebSocket-Accept";
  }
  return "invalid WebSocket handshake response";
}

}  // namespace flexgate::http
