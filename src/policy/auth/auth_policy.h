#pragma once
// API-key authentication with optional HMAC-SHA256 request signing (docs/auth.md).
//
// Per request the lifecycle calls, in its policy phase:
//   mode_for(route) == kNone  -> skip this policy;
//   needs_body(route)         -> buffer the body (bounded by maxBodySize) before check();
//   check(...)                -> allow (client_name = the key's name, "" when anonymous) or a local reply;
//   strip_field(name, route)  -> for each field while building the upstream head: drop it if true
//                                (only where strips_credentials(route)).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/schema.h"
#include "policy/auth/replay_cache.h"
#include "policy/auth/request_signature.h"
#include "policy/request_view.h"

namespace flexgate::policy {

// The auth policy of one config snapshot: immutable after build(), safe to share between threads.
class AuthPolicy {
 public:
  // Decodes every key digest once. `reuse` is the previous snapshot's replay cache (replay_cache()),
  // so a reload keeps every remembered signature; a new cache is made when it is null.
  static AuthPolicy build(const config::Config& config, std::shared_ptr<ReplayCache> reuse = nullptr);

  // The route's `auth`, or the default when it says nothing: kRequired when security.auth exists
  // (secure by default), kNone otherwise. Always kNone without a security.auth section: there are
  // no keys to check against.
  config::AuthMode mode_for(const config::RouteSpec& route) const {
    if (!enabled_) return config::AuthMode::kNone;
    return route.auth.value_or(config::AuthMode::kRequired);
  }

  // True when check() may have to verify a signature on this route, so it needs the whole body.
  bool needs_body(const config::RouteSpec& route) const;

  // Authenticates the request. On allow, `client_name` is the key's `name` (a view into this
  // policy, valid as long as it lives) or "" for an anonymous request on an optional route.
  // Never puts a key, secret or signature in the verdict. `now_unix_seconds` is the wall clock.
  Verdict check(const RequestView& request, const config::RouteSpec& route, std::string_view& client_name,
                std::int64_t now_unix_seconds) const;

  // True when the field `name` (any case) is a credential the gateway consumed and must not
  // forward: the key header, plus the timestamp and signature headers when signing is in use.
  // Only with a security.auth section, and never on a route with `forwardCredentials: true`.
  bool strip_field(std::string_view name, const config::RouteSpec& route) const;
  // Whether strip_field() can be true for any field on this route: asked once per head.
  bool strips_credentials(const config::RouteSpec& route) const { return enabled_ && !route.forward_credentials; }

  // For the next build() on reload.
  const std::shared_ptr<ReplayCache>& replay_cache() const { return replay_cache_; }

 private:
  struct DigestHash {
    std::size_t operator()(const Sha256Digest& digest) const;
  };
  struct DigestEqual {  // constant time: lookups never reveal how much of a digest matched
    bool operator()(const Sha256Digest& a, const Sha256Digest& b) const;
  };
  struct Key {
    std::string name;
    std::string hmac_secret;  // "" = the key does not sign (type apiKey; config requires one with hmac)
  };
  // The credential fields of one request, found in a single pass over the head.
  struct Credentials;

  Verdict verify_signature(const RequestView& request, const Key& key, const Credentials& found,
                           std::int64_t now) const;

  bool enabled_ = false;         // security.auth present
  bool hmac_type_ = false;       // type: hmac -> every key must sign
  bool signing_in_use_ = false;  // hmac type, or at least one key has an hmacSecret
  std::string key_header_;
  std::string timestamp_header_;
  std::string signature_header_;
  std::int64_t max_skew_seconds_ = 0;  // maxSkew in whole seconds (timestamps are seconds)
  std::unordered_map<Sha256Digest, Key, DigestHash, DigestEqual> keys_;
  std::string api_key_challenge_;  // precomputed "WWW-Authenticate: ...\r\n" lines
  std::string hmac_challenge_;
  std::shared_ptr<ReplayCache> replay_cache_;
};

}  // namespace flexgate::policy
