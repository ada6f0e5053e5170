#pragma once
// HMAC-SHA256 request signing: the canonical string a client signs and the digests around it.
// The format is a public contract (docs/auth.md); changing a byte here breaks every client.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace flexgate::policy {

// A SHA-256 or HMAC-SHA256 output.
using Sha256Digest = std::array<std::uint8_t, 32>;

// SHA-256 of `data`. False only if OpenSSL fails (allocation failure).
bool sha256(std::string_view data, Sha256Digest& out);

// HMAC-SHA256 of `message` under `secret`. False only if OpenSSL fails.
bool hmac_sha256(std::string_view secret, std::string_view message, Sha256Digest& out);

// Appends the lower-case hex form of `bytes`.
void append_hex(std::span<const std::uint8_t> bytes, std::string& out);

// Decodes exactly 2 * out.size() hex digits (either case) into `out`; false on any other input.
bool decode_hex(std::string_view text, std::span<std::uint8_t> out);

// Writes the string a client signs into `out` (cleared first; its capacity is reused):
//   METHOD "\n" PATH "\n" QUERY "\n" TIMESTAMP "\n" lower-hex(SHA-256(BODY))
// METHOD as sent; PATH normalized (what the route matched); QUERY as sent, without the '?' ("" when
// there is none); TIMESTAMP the header value as sent; BODY the decoded message body ("" when none).
// No trailing newline. False only if OpenSSL fails.
bool build_canonical_string(std::string_view method, std::string_view path, std::string_view query,
                            std::string_view timestamp, std::string_view body, std::string& out);

}  // namespace flexgate::policy
