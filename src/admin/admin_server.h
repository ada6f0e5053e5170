#pragma once
// The admin API: JSON views of the running gateway and its operations on a listener of its own
// (admin.listen, default 127.0.0.1:9901), never the public port, served by its own thread so an
// operator is answered even when the workers are saturated.
//
//   GET  /admin/config          the running config file (secrets redacted), version, load time,
//                               and the last refused reload's errors
//   GET  /admin/routes          routes: host, path, methods, upstreams, priority, auth, rate limit
//   GET  /admin/upstreams       targets with addresses, health and ejection; breaker; balancer;
//                               concurrency
//   GET  /admin/ratelimit       backend, failMode, Redis degraded workers, fallbacks, buckets
//   GET  /admin/explain?method=GET&url=/path[&client=IP]   what the gateway would do (flexgate explain)
//   POST /admin/config/reload   reload the file now (token): 200 with the new version, or 422
//                               with every FILE:LINE:COL error (the old config keeps serving)
//
// Reads are open to whoever can reach the listener; anything that changes state needs
// `Authorization: Bearer <token>`, whose SHA-256 must equal admin.tokenSha256 (compared in
// constant time). Without a configured token, state changes are refused (403). Each connection
// serves one request and closes.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "observe/metrics.h"
#include "proxy/runtime.h"

namespace flexgate::admin {

// What a reload asked through the admin API came to.
struct ReloadOutcome {
  bool ok = false;
  std::uint64_t version = 0;        // the snapshot serving after the call
  std::vector<std::string> errors;  // FILE:LINE:COL messages when refused
};

// What the admin API reads and does, provided by the app (which owns the snapshot and reloads).
struct AdminHooks {
  std::function<std::shared_ptr<const proxy::Runtime>()> current;  // the snapshot serving now
  std::function<std::string()> config_text;                        // the bytes it was loaded from
  std::function<ReloadOutcome()> reload;                           // runs a reload, waits for it
  const observe::MetricsRegistry* metrics = nullptr;
};

class AdminServer {
 public:
  // Binds `listen` ("host:port", port 0 picks one) and starts the admin thread. nullptr with
  // `error` set when the address cannot be bound. `token_sha256` is 64 hex digits or "".
  static std::unique_ptr<AdminServer> start(const std::string& listen, std::string token_sha256, AdminHooks hooks,
                                            std::string& error);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  std::uint16_t port() const;
  // Stops accepting and joins the thread (idempotent).
  void stop();

  struct Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Replaces secret values in a YAML config text with "[REDACTED]" (hmacSecret, password, token,
// tokenSha256, key digests, the password of a redis:// URL), keeping lines and comments.
std::string redact_config_text(std::string_view text);

}  // namespace flexgate::admin
