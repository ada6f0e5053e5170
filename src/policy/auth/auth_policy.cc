#include "policy/auth/auth_policy.h"

#include <cassert>
#include <cstring>

#include "core/constant_time.h"
#include "http/header_token.h"
#include "policy/auth/key_digest_memo.h"

namespace flexgate::policy {

// The credential fields of one request; counts catch repeated fields (ambiguous: refused).
struct AuthPolicy::Credentials {
  std::string_view key;
  std::string_view timestamp;
  std::string_view signature;
  unsigned key_count = 0;
  unsigned timestamp_count = 0;
  unsigned signature_count = 0;
};

namespace {

// Longest accepted timestamp: 15 digits keeps every difference with `now` far from overflow.
constexpr std::size_t kMaxTimestampDigits = 15;

bool parse_unix_seconds(std::string_view text, std::int64_t& out) {
  if (text.empty() || text.size() > kMaxTimestampDigits) return false;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

bool has_body(const http::RequestHead* head) {
  if (head == nullptr) return false;
  if (head->framing == http::BodyFraming::kNone) return false;
  return !(head->framing == http::BodyFraming::kContentLength && head->content_length == 0);
}

// RFC 9110 token: what may go unquoted in a field name and inside our quoted challenge params.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    if (!ok) return false;
  }
  return true;
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

}  // namespace

std::size_t AuthPolicy::DigestHash::operator()(const Sha256Digest& digest) const {
  std::size_t hash = 0;
  std::memcpy(&hash, digest.data(), sizeof hash);  // already uniformly distributed
  return hash;
}

bool AuthPolicy::DigestEqual::operator()(const Sha256Digest& a, const Sha256Digest& b) const {
  return constant_time_equal(a, b);
}

AuthPolicy AuthPolicy::build(const config::Config& config, std::shared_ptr<ReplayCache> reuse) {
  AuthPolicy policy;
  policy.replay_cache_ = std::move(reuse);  // kept even when unused now, for the next reload
  const config::AuthSpec& auth = config.security.auth;
  if (!auth.present) return policy;

  policy.enabled_ = true;
  policy.hmac_type_ = auth.type == "hmac";
  policy.key_header_ = auth.header;
  policy.timestamp_header_ = auth.timestamp_header;
  policy.signature_header_ = auth.signature_header;
  policy.max_skew_seconds_ = auth.max_clock_skew.count() / 1000;
  policy.signing_in_use_ = policy.hmac_type_;
  for (const config::ApiKeySpec& spec : auth.keys) {
    Sha256Digest digest;
    const bool valid = decode_hex(spec.key_sha256, digest);
    assert(valid && "config validation guarantees 64 hex digits");
    if (!valid) continue;
    policy.keys_.emplace(digest, Key{spec.name, spec.hmac_secret});
    if (!spec.hmac_secret.empty()) policy.signing_in_use_ = true;
  }
  if (policy.signing_in_use_) {
    if (!policy.replay_cache_) policy.replay_cache_ = std::make_shared<ReplayCache>();
    policy.replay_cache_->retain_at_least(policy.max_skew_seconds_);
  }

  // Names are validated tokens; checked again so a quote or CR can never reach a response head.
  if (is_token(policy.key_header_)) {
    policy.api_key_challenge_ = "WWW-Authenticate: ApiKey header=" + quoted(policy.key_header_) + "\r\n";
    if (is_token(policy.timestamp_header_) && is_token(policy.signature_header_)) {
      policy.hmac_challenge_ = "WWW-Authenticate: HMAC-SHA256 header=" + quoted(policy.key_header_) +
                               ", timestampHeader=" + quoted(policy.timestamp_header_) +
                               ", signatureHeader=" + quoted(policy.signature_header_) + "\r\n";
    }
  }
  return policy;
}

bool AuthPolicy::needs_body(const config::RouteSpec& route) const {
  return signing_in_use_ && mode_for(route) != config::AuthMode::kNone;
}

bool AuthPolicy::strip_field(std::string_view name, const config::RouteSpec& route) const {
  if (!strips_credentials(route)) return false;
  if (http::iequals(name, key_header_)) return true;
  return signing_in_use_ &&
         (http::iequals(name, timestamp_header_) || http::iequals(name, signature_header_));
}

Verdict AuthPolicy::check(const RequestView& request, const config::RouteSpec& route,
                          std::string_view& client_name, std::int64_t now_unix_seconds) const {
  client_name = {};
  const config::AuthMode mode = mode_for(route);
  if (mode == config::AuthMode::kNone) return Verdict::allow();

  Credentials found;
  if (request.head != nullptr) {
    for (const http::HeaderField& field : request.head->fields) {
      if (http::iequals(field.name, key_header_)) {
        found.key = field.value;
        ++found.key_count;
      } else if (signing_in_use_ && http::iequals(field.name, timestamp_header_)) {
        found.timestamp = field.value;
        ++found.timestamp_count;
      } else if (signing_in_use_ && http::iequals(field.name, signature_header_)) {
        found.signature = field.value;
        ++found.signature_count;
      }
    }
  }
  if (found.key_count > 1)
    return Verdict::deny(ErrorKind::kBadRequest, "more than one " + key_header_ + " field").because("malformed");
  if (found.timestamp_count > 1)
    return Verdict::deny(ErrorKind::kBadRequest, "more than one " + timestamp_header_ + " field")
        .because("malformed");
  if (found.signature_count > 1)
    return Verdict::deny(ErrorKind::kBadRequest, "more than one " + signature_header_ + " field")
        .because("malformed");

  if (found.key_count == 0) {
    const std::string& challenge = hmac_type_ ? hmac_challenge_ : api_key_challenge_;
    if (mode == config::AuthMode::kRequired)
      return Verdict::deny(ErrorKind::kUnauthorized, "missing API key (" + key_header_ + " header)",
                           challenge)
          .because("missing_key");
    // A signature without a key is a broken client, not an anonymous one.
    if (found.signature_count > 0)
      return Verdict::deny(ErrorKind::kUnauthorized,
                           "signature without an API key (" + key_header_ + " header)", challenge)
          .because("missing_key");
    return Verdict::allow();  // optional route, anonymous client
  }

  // From here a key was presented: on an optional route too, anything wrong with it is refused
  // (never downgraded to anonymous). Messages never contain the presented value.
  if (found.key.empty()) return Verdict::deny(ErrorKind::kForbidden, "empty API key").because("unknown_key");
  Sha256Digest digest;
  if (!api_key_digest(found.key, digest)) return Verdict::deny(ErrorKind::kInternal, "SHA-256 failed");
  const auto it = keys_.find(digest);
  if (it == keys_.end()) {
    return Verdict::deny(ErrorKind::kForbidden, "API key not recognized").because("unknown_key");
  }
  const Key& key = it->second;

  if (hmac_type_ || !key.hmac_secret.empty()) {
    Verdict verdict = verify_signature(request, key, found, now_unix_seconds);
    if (!verdict.allowed) return verdict;
  }
  client_name = key.name;
  return Verdict::allow();
}

Verdict AuthPolicy::verify_signature(const RequestView& request, const Key& key, const Credentials& found,
                                     std::int64_t now) const {
  // 401: the credentials are incomplete, malformed or stale; signing again now fixes them.
  // 403: they are complete and refused (wrong signature, replay).
  if (key.hmac_secret.empty())  // cannot sign: config validation requires a secret with type hmac
    return Verdict::deny(ErrorKind::kForbidden, "key " + quoted(key.name) + " has no hmacSecret");
  if (found.timestamp_count == 0 || found.signature_count == 0) {
    return Verdict::deny(ErrorKind::kUnauthorized,
                         "key " + quoted(key.name) + " must sign requests (" + timestamp_header_ + " and " +
                             signature_header_ + " headers)",
                         hmac_challenge_)
        .because("missing_signature");
  }
  std::int64_t timestamp = 0;
  if (!parse_unix_seconds(found.timestamp, timestamp)) {
    return Verdict::deny(ErrorKind::kUnauthorized,
                         timestamp_header_ + " must be unix seconds (decimal digits)", hmac_challenge_)
        .because("missing_signature");
  }
  const auto stale = [&] {
    return Verdict::deny(ErrorKind::kUnauthorized,
                         timestamp_header_ + " is outside the accepted clock skew of " +
                             std::to_string(max_skew_seconds_) + "s",
                         hmac_challenge_)
        .because("stale_timestamp");
  };
  const std::int64_t distance = timestamp > now ? timestamp - now : now - timestamp;
  if (distance > max_skew_seconds_) return stale();
  Sha256Digest presented;
  if (!decode_hex(found.signature, presented)) {
    return Verdict::deny(ErrorKind::kUnauthorized, signature_header_ + " must be 64 hex digits (HMAC-SHA256)",
                         hmac_challenge_)
        .because("missing_signature");
  }
  if (!request.body_buffered && has_body(request.head))  // the lifecycle must buffer when needs_body()
    return Verdict::deny(ErrorKind::kInternal, "request body was not buffered for signature verification");

  thread_local std::string canonical;  // capacity reused across requests on this worker
  Sha256Digest expected;
  if (!build_canonical_string(request.method, request.path, request.query, found.timestamp,
                              request.body_buffered ? request.body : std::string_view{}, canonical) ||
      !hmac_sha256(key.hmac_secret, canonical, expected)) {
    return Verdict::deny(ErrorKind::kInternal, "HMAC-SHA256 failed");
  }
  if (!constant_time_equal(expected, presented))
    return Verdict::deny(ErrorKind::kForbidden, "signature does not match (key " + quoted(key.name) + ")")
        .because("bad_signature");

  switch (replay_cache_->remember(presented, timestamp, now)) {
    case ReplayCache::Outcome::kFresh:
      return Verdict::allow();
    case ReplayCache::Outcome::kReplay:
      return Verdict::deny(ErrorKind::kForbidden, "signature already used (replay)").because("replay");
    case ReplayCache::Outcome::kExpired:
      return stale();
    case ReplayCache::Outcome::kFull:
      return Verdict::deny(ErrorKind::kTooManyRequests, "too many signed requests in the replay window")
          .because("replay_window_full");
  }
  return Verdict::deny(ErrorKind::kInternal, "unreachable");
}

}  // namespace flexgate::policy
