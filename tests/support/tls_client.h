#pragma once
// A blocking TLS test client on OpenSSL, for the integration tests that talk to the gateway over
// TLS (tls_test, websocket_test).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>

#include "integration/harness.h"
#include "support/test_pki.h"

namespace flexgate::testing {

// A blocking TLS client (OpenSSL) for one connection: requests and responses with
// Content-Length framing, or read until close.
class TlsClient {
 public:
  struct Options {
    std::string ca;                   // verify the server against it ("" = no verification)
    std::string server_name = "localhost";
    CertPaths client_cert;            // empty = none
    SSL_SESSION* session = nullptr;   // offered for resumption
    std::string alpn;                 // wire format, e.g. "\x08http/1.1"
  };

  TlsClient(std::uint16_t port, const Options& options) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!options.ca.empty()) {
      SSL_CTX_load_verify_file(ctx_, options.ca.c_str());
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    if (!options.client_cert.cert.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx_, options.client_cert.cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx_, options.client_cert.key.c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = "connect failed";
      return;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, options.server_name.c_str());
    if (!options.ca.empty()) SSL_set1_host(ssl_, options.server_name.c_str());
    if (options.session != nullptr) SSL_set_session(ssl_, options.session);
    if (!options.alpn.empty()) {
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(options.alpn.data()),
                          static_cast<unsigned>(options.alpn.size()));
    }
    if (SSL_connect(ssl_) != 1) {
      char text[256];
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      error_ = text;
      return;
    }
    connected_ = true;
  }
  ~TlsClient() {
    if (ssl_ != nullptr) {
      if (connected_) SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  bool reused() const { return SSL_session_reused(ssl_) == 1; }
  std::string alpn() const {
    const unsigned char* data = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl_, &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
  }
  // The server certificate's subject CN.
  std::string peer_common_name() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (cert == nullptr) return {};
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    return name;
  }
  // The session to offer next time (the caller frees it).
  SSL_SESSION* session() const { return SSL_get1_session(ssl_); }

  bool send(const std::string& bytes) {
    std::size_t written = 0;
    return connected_ && SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) == 1 && written == bytes.size();
  }

  // One response with Content-Length framing; nullopt when the connection ends first.
  std::optional<Response> read_response() {
    for (;;) {
      const std::size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        Response response;
        const std::string head = buffer_.substr(0, end + 2);
        response.status = std::stoi(head.substr(9, 3));
        std::size_t line_start = head.find("\r\n") + 2;
        std::size_t content_length = 0;
        while (line_start < head.size()) {
          const std::size_t line_end = head.find("\r\n", line_start);
          const std::string line = head.substr(line_start, line_end - line_start);
          const std::size_t colon = line.find(':');
          std::string name = line.substr(0, colon);
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          if (strcasecmp(name.c_str(), "content-length") == 0) content_length = std::stoul(value);
          response.headers.emplace_back(name, value);
          line_start = line_end + 2;
        }
        while (buffer_.size() < end + 4 + content_length) {
          if (!fill()) return std::nullopt;
        }
        response.body = buffer_.substr(end + 4, content_length);
        response.complete = true;
        buffer_.erase(0, end + 4 + content_length);
        return response;
      }
      if (!fill()) return std::nullopt;
    }
  }

  std::optional<Response> get(const std::string& target, const std::string& extra_headers = "") {
    if (!send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "\r\n")) return std::nullopt;
    return read_response();
  }

  // Reads what the server sent next into buffered(); false at the end of the connection.
  bool fill() {
    char chunk[16384];
    std::size_t read = 0;
    if (!connected_ || SSL_read_ex(ssl_, chunk, sizeof chunk, &read) != 1) return false;
    buffer_.append(chunk, read);
    return true;
  }
  // Ends this side: close_notify, then the TCP FIN; the server's side stays readable.
  void shutdown_write() {
    if (connected_) SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
  }
  // Bytes received and not yet taken by read_response().
  std::string& buffered() { return buffer_; }

 private:

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  std::string buffer_;
};

}  // namespace flexgate::testing
