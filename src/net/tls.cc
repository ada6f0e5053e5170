#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <mutex>
#include <unordered_map>

#include "net/ip_address.h"
#include "net/memory_pipe.h"

namespace flexgate::net {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    switch (static_cast<TlsErrc>(value)) {
      case TlsErrc::kPeerClosedDuringHandshake: return "peer closed the connection during the TLS handshake";
      case TlsErrc::kTruncated: return "TLS stream truncated (closed without close_notify)";
      case TlsErrc::kNoPeerCertificate: return "peer did not send a certificate";
    }
    const char* reason = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, value));
    return reason != nullptr ? std::string(reason) : "TLS error " + std::to_string(value);
  }
};

class TlsVerifyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls-verify"; }
  std::string message(int value) const override {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(value);
  }
};

int parse_min_version(std::string_view text) { return text == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION; }

std::string openssl_error_text(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(what);
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return std::string(what) + " (" + buffer + ")";
}

// The reason of the first queued OpenSSL error as an error_code.
std::error_code queued_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::error_code(static_cast<int>(TlsErrc::kPeerClosedDuringHandshake), tls_category());
  return std::error_code(ERR_GET_REASON(code), tls_category());
}

std::string load_certificate(SSL_CTX* ctx, const CertificateFiles& files) {
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    return openssl_error_text("cannot load certificate chain " + files.cert);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return openssl_error_text("cannot load private key " + files.key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return openssl_error_text("private key " + files.key + " does not match certificate " + files.cert);
  }
  return {};
}

// Settings every context of ours shares: version floor, no compression or renegotiation.
std::string configure_common(SSL_CTX* ctx, std::string_view min_version, const std::string& ciphers) {
  SSL_CTX_set_min_proto_version(ctx, parse_min_version(min_version));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Writes may stop part way (non-blocking) and resume from a coalescing buffer that moved.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read() per burst of records instead of two per record (header, then body). Safe here:
  // every read tries SSL_read before waiting on the socket, so bytes OpenSSL holds are never
  // stranded behind an edge that already fired.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (!ciphers.empty() && SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    return openssl_error_text("invalid cipher list \"" + ciphers + "\"");
  }
  return {};
}

bool host_matches(std::string_view pattern, std::string_view host) {
  auto iequal = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
  };
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    if (host.size() <= suffix.size()) return false;
    const std::string_view label = host.substr(0, host.size() - suffix.size());
    return label.find('.') == std::string_view::npos && iequal(host.substr(label.size()), suffix);
  }
  return iequal(pattern, host);
}

}  // namespace

void SslDeleter::operator()(SSL* ssl) const { SSL_free(ssl); }

Stream::Stream(const net::Executor& executor, std::shared_ptr<PipeEnd> pipe)
    : socket_(executor), pipe_(std::move(pipe)) {}

Stream::~Stream() = default;

bool Stream::is_open() const { return pipe_ ? pipe_->is_open() : socket_.is_open(); }

std::size_t Stream::available() {
  if (pipe_) return pipe_->available();
  std::error_code ec;
  const std::size_t n = socket_.available(ec);
  return ec ? 0 : n;
}

void Stream::shutdown(tcp::socket::shutdown_type what) {
  if (pipe_) {
    if (what != tcp::socket::shutdown_receive) pipe_->shutdown_send();
    if (what != tcp::socket::shutdown_send) pipe_->shutdown_receive();
    return;
  }
  std::error_code ignored;
  socket_.shutdown(what, ignored);
}

void Stream::close() {
  if (pipe_) {
    pipe_->close();
    return;
  }
  if (tls_ && socket_.is_open() && SSL_is_init_finished(tls_.get())) {
    // Best effort and non-blocking: a peer that cannot take it now does not get it.
    ERR_clear_error();
    SSL_shutdown(tls_.get());
    ERR_clear_error();
  }
  std::error_code ignored;
  socket_.close(ignored);
  tls_.reset();
}

void Stream::shutdown_and_close() {
  if (pipe_) {
    pipe_->close();
    return;
  }
  if (!socket_.is_open()) return;
  if (tls_ && SSL_is_init_finished(tls_.get())) {
    ERR_clear_error();
    SSL_shutdown(tls_.get());
    ERR_clear_error();
  }
  std::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  tls_.reset();
}

void Stream::shutdown_write() {
  if (pipe_) {
    pipe_->shutdown_send();
    return;
  }
  if (!socket_.is_open()) return;
  if (tls_ && SSL_is_init_finished(tls_.get())) {
    ERR_clear_error();
    SSL_shutdown(tls_.get());  // close_notify; the peer's is read (or not) by later reads
    ERR_clear_error();
  }
  std::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

const std::error_category& tls_category() {
  static const TlsCategory category;
  return category;
}

const std::error_category& tls_verify_category() {
  static const TlsVerifyCategory category;
  return category;
}

std::error_code make_error_code(TlsErrc errc) { return {static_cast<int>(errc), tls_category()}; }

std::string_view handshake_failure_reason(const std::error_code& error) {
  if (error.category() == tls_verify_category()) {
    switch (error.value()) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return "certificate_expired";
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "certificate_hostname_mismatch";
      default:
        return "certificate_untrusted";
    }
  }
  if (error.category() == tls_category()) {
    switch (error.value()) {
      case static_cast<int>(TlsErrc::kPeerClosedDuringHandshake): return "closed";
      case static_cast<int>(TlsErrc::kNoPeerCertificate):
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "no_client_certificate";
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return "certificate_untrusted";
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return "certificate_expired";
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
        return "plain_http";
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_WRONG_VERSION_NUMBER:
        return "protocol_version";
      default:
        return "other";
    }
  }
  if (error == asio::error::operation_aborted) return "timeout";
  if (error == asio::error::eof || error == asio::error::connection_reset) return "closed";
  return "other";
}

// ── Server ─────────────────────────────────────────────────────────────────────────────────────

ServerTls::~ServerTls() {
  for (SSL_CTX* ctx : owned_) SSL_CTX_free(ctx);
}

std::shared_ptr<const ServerTls> ServerTls::build(const ServerTlsSettings& settings, std::string& error,
                                                  const ServerTls* previous) {
  std::shared_ptr<ServerTls> tls(new ServerTls(settings));
  for (const std::string& protocol : settings.alpn) {
    tls->alpn_wire_.push_back(static_cast<char>(protocol.size()));
    tls->alpn_wire_ += protocol;
  }
  // Session-ticket keys: carried over from the snapshot being replaced, so clients resume across
  // reloads; new random ones otherwise (OpenSSL's default).
  unsigned char ticket_keys[80];
  const bool carry_keys =
      previous != nullptr && previous->default_ctx_ != nullptr &&
      SSL_CTX_get_tlsext_ticket_keys(previous->default_ctx_, ticket_keys, sizeof ticket_keys) == 1;

  auto make_context = [&](const CertificateFiles& files) -> SSL_CTX* {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) {
      error = openssl_error_text("cannot create a TLS context");
      return nullptr;
    }
    tls->owned_.push_back(ctx);
    if (error = configure_common(ctx, settings.min_version, settings.ciphers); !error.empty()) return nullptr;
    if (error = load_certificate(ctx, files); !error.empty()) return nullptr;
    static constexpr unsigned char kSessionContext[] = "flexgate";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    if (!settings.client_ca.empty()) {
      if (SSL_CTX_load_verify_file(ctx, settings.client_ca.c_str()) != 1) {
        error = openssl_error_text("cannot load client CA bundle " + settings.client_ca);
        return nullptr;
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca.c_str());
      if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
      int mode = SSL_VERIFY_PEER;
      if (settings.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(ctx, mode, nullptr);
    }
    SSL_CTX_set_alpn_select_cb(ctx, &ServerTls::select_alpn, tls.get());
    return ctx;
  };

  tls->default_ctx_ = make_context(settings.certificate);
  if (tls->default_ctx_ == nullptr) return nullptr;
  if (carry_keys) SSL_CTX_set_tlsext_ticket_keys(tls->default_ctx_, ticket_keys, sizeof ticket_keys);
  for (const auto& named : settings.certificates) {
    SSL_CTX* ctx = make_context(named.files);
    if (ctx == nullptr) return nullptr;
    for (const std::string& host : named.hosts) tls->named_.emplace_back(host, ctx);
  }
  if (!tls->named_.empty()) {
    SSL_CTX_set_tlsext_servername_callback(tls->default_ctx_, &ServerTls::select_certificate);
    SSL_CTX_set_tlsext_servername_arg(tls->default_ctx_, tls.get());
  }
  return tls;
}

int ServerTls::select_certificate(SSL* ssl, int* /*alert*/, void* arg) {
  const auto* self = static_cast<const ServerTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  for (const auto& [pattern, ctx] : self->named_) {
    if (host_matches(pattern, name)) {
      SSL_set_SSL_CTX(ssl, ctx);
      break;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

int ServerTls::select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                           const unsigned char* in, unsigned int in_length, void* arg) {
  const auto* self = static_cast<const ServerTls*>(arg);
  unsigned char* selected = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire_.data());
  if (SSL_select_next_proto(&selected, out_length, ours, static_cast<unsigned>(self->alpn_wire_.size()), in,
                            in_length) != OPENSSL_NPN_NEGOTIATED) {
    // No protocol in common: go on without ALPN (the HTTP/1 parser answers anything else).
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

SslPtr ServerTls::new_session() const { return SslPtr(SSL_new(default_ctx_)); }

// ── Client ─────────────────────────────────────────────────────────────────────────────────────

namespace {

// The last session per "host:port"; owned by the client SSL_CTX (freed with it), so a pooled
// connection that outlives its config snapshot still has it when a late ticket arrives.
struct SessionStore {
  std::mutex mutex;
  std::unordered_map<std::string, SSL_SESSION*> sessions;
  ~SessionStore() {
    for (auto& [key, session] : sessions) SSL_SESSION_free(session);
  }
};

void free_store(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
  delete static_cast<SessionStore*>(ptr);
}
void free_key(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
  delete static_cast<std::string*>(ptr);
}
int store_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_store);
  return index;
}
// The connection's "host:port", owned by the SSL object.
int key_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_key);
  return index;
}

}  // namespace

ClientTls::~ClientTls() { SSL_CTX_free(ctx_); }

std::shared_ptr<ClientTls> ClientTls::build(const ClientTlsSettings& settings, std::string& error) {
  std::shared_ptr<ClientTls> tls(new ClientTls(settings));
  tls->ctx_ = SSL_CTX_new(TLS_client_method());
  if (tls->ctx_ == nullptr) {
    error = openssl_error_text("cannot create a TLS context");
    return nullptr;
  }
  if (error = configure_common(tls->ctx_, settings.min_version, {}); !error.empty()) return nullptr;
  if (settings.verify) {
    const bool loaded = settings.ca.empty() ? SSL_CTX_set_default_verify_paths(tls->ctx_) == 1
                                            : SSL_CTX_load_verify_file(tls->ctx_, settings.ca.c_str()) == 1;
    if (!loaded) {
      error = openssl_error_text(settings.ca.empty() ? "cannot load the system CA store" : "cannot load CA bundle " + settings.ca);
      return nullptr;
    }
    SSL_CTX_set_verify(tls->ctx_, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(tls->ctx_, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.client_certificate.cert.empty()) {
    if (error = load_certificate(tls->ctx_, settings.client_certificate); !error.empty()) return nullptr;
  }
  if (!settings.alpn.empty()) {
    // Wire format: one length byte, then the name.
    const std::string wire = static_cast<char>(settings.alpn.size()) + settings.alpn;
    SSL_CTX_set_alpn_protos(tls->ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  // Keep the last session per target for resumption (TLS 1.3 tickets arrive after the
  // handshake, so a callback rather than SSL_get1_session() right after it).
  SSL_CTX_set_ex_data(tls->ctx_, store_index(), new SessionStore);
  SSL_CTX_set_session_cache_mode(tls->ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(tls->ctx_, &ClientTls::remember_session);
  return tls;
}

int ClientTls::remember_session(SSL* ssl, SSL_SESSION* session) {
  auto* store = static_cast<SessionStore*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), store_index()));
  const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, key_index()));
  if (store == nullptr || key == nullptr) return 0;
  // A copy: OpenSSL marks the connection's own session not resumable when the connection ends
  // without close_notify (a pooled connection closed by its idle timeout, say).
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) return 0;
  std::lock_guard lock(store->mutex);
  SSL_SESSION*& slot = store->sessions[*key];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = copy;
  return 0;  // OpenSSL keeps its reference to `session`
}

SslPtr ClientTls::new_session(std::string_view host, std::uint16_t port) const {
  SslPtr ssl(SSL_new(ctx_));
  if (!ssl) return ssl;
  const std::string name = settings_.server_name.empty() ? std::string(host) : settings_.server_name;
  const bool is_ip = IpAddress::parse(name).has_value();
  if (!is_ip) SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  if (settings_.verify) {
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
    } else {
      SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl.get(), name.c_str());
    }
  }
  auto* key = new std::string(name + ":" + std::to_string(port));
  SSL_set_ex_data(ssl.get(), key_index(), key);
  auto* store = static_cast<SessionStore*>(SSL_CTX_get_ex_data(ctx_, store_index()));
  std::lock_guard lock(store->mutex);
  if (auto found = store->sessions.find(*key); found != store->sessions.end()) SSL_set_session(ssl.get(), found->second);
  return ssl;
}

// ── Handshake and session facts ────────────────────────────────────────────────────────────────

void start_tls(Stream& stream, SslPtr tls, bool server) {
  SSL_set_fd(tls.get(), static_cast<int>(stream.socket().native_handle()));
  if (server) {
    SSL_set_accept_state(tls.get());
  } else {
    SSL_set_connect_state(tls.get());
  }
  stream.set_tls(std::move(tls));
}

Task<std::error_code> tls_handshake(Stream& stream) {
  SSL* ssl = stream.tls();
  for (;;) {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl);
    if (result == 1) co_return std::error_code{};
    const int reason = SSL_get_error(ssl, result);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
      auto [wait_error] = co_await stream.socket().async_wait(
          reason == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write, use_task);
      if (wait_error) co_return wait_error;
      continue;
    }
    // A failed chain or name check says which (expired, untrusted...) rather than OpenSSL's
    // generic "certificate verify failed".
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      ERR_clear_error();
      co_return std::error_code(static_cast<int>(verify), tls_verify_category());
    }
    if (reason == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      co_return errno != 0 && errno != EAGAIN ? std::error_code(errno, std::system_category())
                                              : make_error_code(TlsErrc::kPeerClosedDuringHandshake);
    }
    co_return queued_error();
  }
}

std::string_view tls_alpn(SSL* tls) {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(tls, &data, &length);
  return {reinterpret_cast<const char*>(data), length};
}

std::string_view tls_version(SSL* tls) { return SSL_get_version(tls); }

bool tls_session_reused(SSL* tls) { return SSL_session_reused(tls) == 1; }

std::string tls_peer_identity(SSL* tls) {
  X509* cert = SSL_get0_peer_certificate(tls);
  if (cert == nullptr || SSL_get_verify_result(tls) != X509_V_OK) return {};
  std::string identity;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && identity.empty(); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_DNS || name->type == GEN_URI) {
        const ASN1_IA5STRING* text = name->type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
        identity.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), ASN1_STRING_length(text));
      }
    }
    GENERAL_NAMES_free(names);
  }
  if (identity.empty()) {
    char common_name[256];
    const int length = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, common_name, sizeof common_name);
    if (length > 0) identity.assign(common_name, static_cast<std::size_t>(length));
  }
  // Only printable ASCII goes into keys and logs.
  for (char& c : identity) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return identity;
}

}  // namespace flexgate::net
