#pragma once
// TLS with OpenSSL 3 for both sides of the proxy: a server context set (downstream termination:
// several certificates chosen by SNI, ALPN, session resumption, optional client certificates)
// and a client context (upstream `https://`: verification on by default, SNI, host name checks,
// optional client certificate, resumption of the last session per target).
//
// OpenSSL runs on the connection's non-blocking fd; the handshake and net/socket_io.h's Stream
// overloads turn "want read / want write" into reactor waits. Errors are values: a handshake
// failure is an error_code whose category says what kind (tls_category(), tls_verify_category()).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/asio.h"
#include "net/stream.h"
#include "net/tls_files.h"

using SSL_CTX = struct ssl_ctx_st;
using SSL_SESSION = struct ssl_session_st;

namespace flexgate::net {

// Errors from OpenSSL's error queue (value = ERR_GET_REASON of the first error), plus the codes
// below for situations OpenSSL reports without a queued error.
const std::error_category& tls_category();
enum class TlsErrc : int {
  kPeerClosedDuringHandshake = 0x7f000001,  // EOF before the handshake finished
  kTruncated = 0x7f000002,                  // EOF without close_notify after the handshake
  kNoPeerCertificate = 0x7f000003,          // a required certificate was not sent
};
std::error_code make_error_code(TlsErrc errc);
// Certificate verification failures (value = X509_V_ERR_*; message from OpenSSL).
const std::error_category& tls_verify_category();

// Why a handshake failed, as a short metric label: certificate_expired, certificate_untrusted,
// certificate_hostname_mismatch, no_client_certificate, protocol_version, plain_http (an HTTP
// request on a TLS port), closed, timeout, other.
std::string_view handshake_failure_reason(const std::error_code& error);

// Downstream TLS termination.
struct ServerTlsSettings {
  CertificateFiles certificate;  // the default (no SNI, or SNI matching no `certificates` entry)
  // SNI: `hosts` entries are exact names or "*.suffix" (one label); first match wins.
  struct NamedCertificate {
    std::vector<std::string> hosts;
    CertificateFiles files;
  };
  std::vector<NamedCertificate> certificates;
  std::string min_version = "1.2";   // "1.2" or "1.3"
  std::string ciphers;               // TLS 1.2 cipher list; "" = OpenSSL's defaults
  std::string client_ca;             // PEM bundle: ask for client certificates and verify them
  bool require_client_cert = false;  // with client_ca: no valid certificate, no handshake
  std::vector<std::string> alpn{"http/1.1"};  // protocols offered, by preference
};

// Built server contexts; shared by every worker of a config snapshot. A new snapshot (reload)
// builds a new one and carries the session-ticket keys over, so resumption survives reloads.
class ServerTls {
 public:
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // nullptr and `error` set when a file or setting cannot be used.
  static std::shared_ptr<const ServerTls> build(const ServerTlsSettings& settings, std::string& error,
                                                const ServerTls* previous = nullptr);

  // A server-side session for a freshly accepted socket (attach with start_tls()).
  SslPtr new_session() const;
  bool requests_client_cert() const { return !settings_.client_ca.empty(); }

 private:
  explicit ServerTls(ServerTlsSettings settings) : settings_(std::move(settings)) {}
  static int select_certificate(SSL* ssl, int* alert, void* arg);  // SNI
  static int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                         const unsigned char* in, unsigned int in_length, void* arg);

  ServerTlsSettings settings_;
  SSL_CTX* default_ctx_ = nullptr;
  std::vector<std::pair<std::string, SSL_CTX*>> named_;  // host pattern -> its context
  std::vector<SSL_CTX*> owned_;                          // every context, freed with this
  std::string alpn_wire_;                                // `alpn` in wire format
};

// Upstream TLS (an `https://` upstream).
struct ClientTlsSettings {
  bool verify = true;               // verify the server's chain and name
  std::string ca;                   // PEM bundle to verify against; "" = the system store
  CertificateFiles client_certificate;  // both empty = no client certificate
  std::string server_name;          // overrides the target host for SNI and the name check
  std::string min_version = "1.2";
  std::string alpn;                 // one protocol offered in ALPN ("h2"); "" = no ALPN
};

// Built client context of one upstream; thread-safe (the session cache has a lock).
class ClientTls {
 public:
  ~ClientTls();
  ClientTls(const ClientTls&) = delete;
  ClientTls& operator=(const ClientTls&) = delete;

  static std::shared_ptr<ClientTls> build(const ClientTlsSettings& settings, std::string& error);

  // A client-side session for a connection to `host` (a name or an IP literal): SNI for names,
  // the name or IP checked against the certificate, and the last session to `host:port` offered
  // for resumption.
  SslPtr new_session(std::string_view host, std::uint16_t port) const;

 private:
  explicit ClientTls(ClientTlsSettings settings) : settings_(std::move(settings)) {}
  static int remember_session(SSL* ssl, SSL_SESSION* session);

  ClientTlsSettings settings_;
  SSL_CTX* ctx_ = nullptr;  // also owns the session store
};

// Attaches `tls` to `stream`'s socket as the server or client end; run tls_handshake() next.
void start_tls(Stream& stream, SslPtr tls, bool server);
// Runs the handshake of the TLS session attached to `stream` to completion or failure.
Task<std::error_code> tls_handshake(Stream& stream);

// After a handshake: the negotiated ALPN protocol ("" if none), the version ("TLSv1.3"), whether
// the session was resumed, and the verified peer certificate's identity: its first DNS or URI
// subjectAltName, else its subject CN ("" when the peer sent no verified certificate).
std::string_view tls_alpn(SSL* tls);
std::string_view tls_version(SSL* tls);
bool tls_session_reused(SSL* tls);
std::string tls_peer_identity(SSL* tls);

}  // namespace flexgate::net

template <>
struct std::is_error_code_enum<flexgate::net::TlsErrc> : std::true_type {};
