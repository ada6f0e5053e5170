#include "net/tls_files.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace flexgate::net {
namespace {

std::string with_openssl_reason(std::string what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return what;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? what + " (" + reason + ")" : what;
}

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

}  // namespace

std::string check_certificate_files(const CertificateFiles& files) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return with_openssl_reason("cannot create a TLS context");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert.c_str()) != 1) {
    return with_openssl_reason("cannot load a PEM certificate chain from " + files.cert);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const int reason = ERR_GET_REASON(ERR_peek_last_error());
    if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH) {
      ERR_clear_error();
      return "the private key " + files.key + " does not match the certificate " + files.cert;
    }
    return with_openssl_reason("cannot load a PEM private key from " + files.key);
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return "the private key " + files.key + " does not match the certificate " + files.cert;
  }
  return {};
}

std::string check_ca_file(const std::string& path) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return with_openssl_reason("cannot create a TLS context");
  if (SSL_CTX_load_verify_file(ctx.get(), path.c_str()) != 1) {
    return with_openssl_reason("cannot load PEM CA certificates from " + path);
  }
  return {};
}

std::string check_cipher_list(const std::string& ciphers) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return with_openssl_reason("cannot create a TLS context");
  if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
    return with_openssl_reason("no usable TLS 1.2 cipher in \"" + ciphers + "\"");
  }
  return {};
}

}  // namespace flexgate::net
