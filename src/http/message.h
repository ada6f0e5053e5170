#pragma once
// Parsed HTTP/1.x message heads. Every string_view points into the caller's read buffer
// (zero-copy); a head is valid only while that buffer is unchanged.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>

#include "http/header_token.h"

namespace flexgate::http {

inline constexpr std::size_t kMaxHeaderFieldsCapacity = 128;

// Limits enforced inside the parser, so no caller can forget one.
struct Limits {
  std::size_t max_head_bytes = 16 * 1024;  // request line + fields + final CRLF; over it: 431
  std::size_t max_target_bytes = 8 * 1024; // request-target; over it: 414
  std::size_t max_header_fields = 100;     // over it: 431 (must be <= kMaxHeaderFieldsCapacity)
};

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kOptions, kPatch, kTrace, kConnect, kOther };

// How the message body is delimited (RFC 9112 section 6.3).
enum class BodyFraming : std::uint8_t {
  kNone,           // no body
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding, decode with ChunkedDecoder
  kUntilClose,     // responses only: body runs until the upstream closes
};

// One header field as it appeared on the wire (value without surrounding whitespace).
struct HeaderField {
  std::string_view name;
  std::string_view value;
  HeaderToken token = HeaderToken::kOther;
};

// Fixed-capacity field list: no heap allocation per message. Its storage is left uninitialized
// and only the first `count` fields are ever read: zeroing all of it cost ~650 instructions per
// head for every new Session (each HTTP/2 stream is one).
struct HeaderFields {
  // NOLINTNEXTLINE(modernize-use-equals-default): `= default` would zero the storage when value-initialized
  HeaderFields() {}

  std::size_t count = 0;
  // The parser found every name made of letters, digits and '-' only (so none has a '_'). False
  // when a name has another tchar, or when the fields did not come from the parser.
  bool names_plain = false;

  // Appends a field (the caller checked that count < kMaxHeaderFieldsCapacity).
  HeaderField& add() {
    assert(count < kMaxHeaderFieldsCapacity);
    return *::new (static_cast<void*>(storage_ + count++ * sizeof(HeaderField))) HeaderField;
  }
  HeaderField& operator[](std::size_t i) {
    assert(i < count);
    return std::launder(reinterpret_cast<HeaderField*>(storage_))[i];
  }
  const HeaderField& operator[](std::size_t i) const {
    assert(i < count);
    return begin()[i];
  }
  const HeaderField* begin() const { return std::launder(reinterpret_cast<const HeaderField*>(storage_)); }
  const HeaderField* end() const { return begin() + count; }
  // First field with this token, or nullptr.
  const HeaderField* find(HeaderToken token) const;
  // First field with this name (case-insensitive), or nullptr.
  const HeaderField* find(std::string_view name) const;

 private:
  alignas(HeaderField) std::byte storage_[kMaxHeaderFieldsCapacity * sizeof(HeaderField)];
};

// A request head after strict RFC 9112 parsing. framing/content_length are authoritative.
struct RequestHead {
  std::string_view method_text;
  Method method = Method::kOther;
  std::string_view target;
  std::uint8_t version_minor = 1;  // HTTP/1.0 or HTTP/1.1
  HeaderFields fields;
  std::string_view host;               // the single Host value (may be empty only for HTTP/1.0)
  // Raw value of the first non-empty Connection field (validated as a token list); empty exactly
  // when no Connection field has a value, so empty means nothing is nominated. A message may carry
  // several Connection fields: to drop nominated fields use connection_nominates(), which reads all.
  std::string_view connection_tokens;
  // Some Connection option other than keep-alive (which names only the hop-by-hop Keep-Alive):
  // only then can connection_nominates() find a field to drop.
  bool connection_names_fields = false;
  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool keep_alive = true;        // from version + Connection: close / keep-alive (every Connection field)
  bool expect_continue = false;  // Expect: 100-continue present
  bool has_upgrade = false;      // Upgrade field present
};

// A response head after strict parsing; the framing accounts for the request method and status.
struct ResponseHead {
  std::uint16_t status = 0;
  std::string_view reason;
  std::uint8_t version_minor = 1;
  HeaderFields fields;
  std::string_view connection_tokens;  // as in RequestHead: the first non-empty Connection field's value
  bool connection_names_fields = false;  // as in RequestHead
  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;
  bool keep_alive = true;  // false if HTTP/1.0 without keep-alive, Connection: close, or until-close body
};

// True if any Connection field lists `name` (case-insensitive), i.e. the field named `name` is
// hop-by-hop for this message (RFC 9110 7.6.1) and must not be forwarded.
bool connection_nominates(const HeaderFields& fields, std::string_view name);

// True for a field that describes only this hop of `request`, so a proxy never forwards it: the
// RFC 9110 7.6.1 hop-by-hop fields, HTTP2-Settings (RFC 7540 3.2.1: the gateway never upgrades to
// h2c) and whatever a Connection field nominates. The one definition the proxy and explain share.
bool is_connection_specific(const HeaderField& field, const RequestHead& request);

}  // namespace flexgate::http
