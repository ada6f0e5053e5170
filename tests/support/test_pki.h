#pragma once
// Certificates made at test time with OpenSSL (never a committed key): a throwaway CA, leaf
// certificates it signs (server or client, with DNS/IP subjectAltNames and any validity window,
// expired included), and self-signed ones. Files are written under a fresh temp directory.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace flexgate::testing {

// Paths of a PEM certificate and its key.
struct CertPaths {
  std::string cert;
  std::string key;
};

class TestPki {
 public:
  TestPki() {
    char pattern[] = "/tmp/flexgate-pki-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    ca_key_ = new_key();
    ca_cert_ = make_cert("FlexGate Test CA", {}, {}, -1, 30, /*is_ca=*/true, nullptr, nullptr, ca_key_.get());
    ca_paths_ = write("ca", ca_cert_.get(), ca_key_.get());
  }
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& ca() const { return ca_paths_.cert; }  // the CA certificate (PEM bundle)

  // A certificate signed by this CA. Validity in days relative to now (negative = in the past).
  CertPaths issue(const std::string& file_name, const std::string& common_name,
                  const std::vector<std::string>& dns_names = {}, const std::vector<std::string>& ips = {},
                  long not_before_days = -1, long not_after_days = 30) {
    auto key = new_key();
    auto cert = make_cert(common_name, dns_names, ips, not_before_days, not_after_days, false, ca_cert_.get(),
                          ca_key_.get(), key.get());
    return write(file_name, cert.get(), key.get());
  }

  // A certificate signed by its own key (no CA vouches for it).
  CertPaths self_signed(const std::string& file_name, const std::string& common_name,
                        const std::vector<std::string>& dns_names = {}, const std::vector<std::string>& ips = {}) {
    auto key = new_key();
    auto cert = make_cert(common_name, dns_names, ips, -1, 30, false, nullptr, nullptr, key.get());
    return write(file_name, cert.get(), key.get());
  }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  };
  struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
  };
  using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
  using CertPtr = std::unique_ptr<X509, CertFree>;

  static KeyPtr new_key() {
    KeyPtr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("EVP_EC_gen failed");
    return key;
  }

  static void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (extension == nullptr) throw std::runtime_error("bad extension " + value);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }

  CertPtr make_cert(const std::string& common_name, const std::vector<std::string>& dns_names,
                    const std::vector<std::string>& ips, long not_before_days, long not_after_days, bool is_ca,
                    X509* issuer, EVP_PKEY* issuer_key, EVP_PKEY* key) {
    CertPtr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_days * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_days * 86400L);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    if (is_ca) {
      add_extension(cert.get(), nullptr, NID_basic_constraints, "critical,CA:TRUE");
      add_extension(cert.get(), nullptr, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_extension(cert.get(), issuer, NID_basic_constraints, "CA:FALSE");
      std::string alt_names;
      for (const auto& dns : dns_names) alt_names += (alt_names.empty() ? "" : ",") + std::string("DNS:") + dns;
      for (const auto& ip : ips) alt_names += (alt_names.empty() ? "" : ",") + std::string("IP:") + ip;
      if (!alt_names.empty()) add_extension(cert.get(), issuer, NID_subject_alt_name, alt_names);
    }
    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
      throw std::runtime_error("X509_sign failed");
    }
    return cert;
  }

  CertPaths write(const std::string& file_name, X509* cert, EVP_PKEY* key) const {
    CertPaths paths{dir_ + "/" + file_name + ".pem", dir_ + "/" + file_name + ".key"};
    FILE* out = std::fopen(paths.cert.c_str(), "w");
    PEM_write_X509(out, cert);
    std::fclose(out);
    out = std::fopen(paths.key.c_str(), "w");
    PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    return paths;
  }

  std::string dir_;
  KeyPtr ca_key_;
  CertPtr ca_cert_;
  CertPaths ca_paths_;
  long serial_ = 1;
};

}  // namespace flexgate::testing
