#include "policy/auth/request_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <memory>

namespace flexgate::policy {
namespace {

// Fetched once: OpenSSL 3 otherwise looks the algorithm up (locks, allocates) on every call.
// Never freed on purpose: worker threads may still hash while the process exits.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// One digest context per thread, reused: saves the context allocation on every API-key check.
EVP_MD_CTX* thread_md_ctx() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool sha256(std::string_view data, Sha256Digest& out) {
  EVP_MD_CTX* ctx = thread_md_ctx();
  const EVP_MD* md = sha256_md();
  unsigned int length = 0;
  return ctx != nullptr && md != nullptr && EVP_DigestInit_ex2(ctx, md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out.data(), &length) == 1 && length == out.size();
}

bool hmac_sha256(std::string_view secret, std::string_view message, Sha256Digest& out) {
  const EVP_MD* md = sha256_md();
  if (md == nullptr || secret.size() > static_cast<std::size_t>(INT_MAX)) return false;
  unsigned int length = 0;
  // HMAC() keys with (nullptr, 0) mean "reuse the previous key" in some OpenSSL versions: pass a
  // valid pointer even for an empty secret.
  static constexpr char kEmpty = 0;
  const void* key = secret.empty() ? &kEmpty : secret.data();
  return HMAC(md, key, static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
              &length) != nullptr &&
         length == out.size();
}

void append_hex(std::span<const std::uint8_t> bytes, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const std::uint8_t byte : bytes) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
}

bool decode_hex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != 2 * out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return true;
}

bool build_canonical_string(std::string_view method, std::string_view path, std::string_view query,
                            std::string_view timestamp, std::string_view body, std::string& out) {
  Sha256Digest body_digest;
  if (!sha256(body, body_digest)) return false;
  out.clear();
  out.reserve(method.size() + path.size() + query.size() + timestamp.size() + 4 + 2 * body_digest.size());
  out += method;
  out += '\n';
  out += path;
  out += '\n';
  out += query;
  out += '\n';
  out += timestamp;
  out += '\n';
  append_hex(body_digest, out);
  return true;
}

}  // namespace flexgate::policy
