#pragma once
// Checks of TLS material on disk (certificates, keys, CA bundles, cipher lists) with OpenSSL and
// without Asio: config validation runs them at load, so a bad file is a config error with its
// position rather than a failed start or reload.

#include <string>

namespace flexgate::net {

// A certificate chain and its private key, as PEM files.
struct CertificateFiles {
  std::string cert;  // leaf first, then intermediates
  std::string key;
};

// Loads and checks `files` (the chain parses, the key parses and matches the leaf). Returns ""
// or what is wrong.
std::string check_certificate_files(const CertificateFiles& files);
// Checks that `path` holds at least one PEM certificate (a CA bundle).
std::string check_ca_file(const std::string& path);
// Checks a TLS 1.2 cipher list (OpenSSL syntax): "" or what is wrong.
std::string check_cipher_list(const std::string& ciphers);

}  // namespace flexgate::net
