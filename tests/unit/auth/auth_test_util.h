#pragma once
// Helpers shared by the auth tests: configs with keys, and requests built without a parser.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.h"
#include "http/message.h"
#include "policy/auth/auth_policy.h"
#include "policy/auth/request_signature.h"
#include "policy/request_view.h"

namespace flexgate::policy::testing {

// The worked example of docs/auth.md.
inline constexpr std::string_view kDemoKey = "demo-key-123";
inline constexpr std::string_view kDemoSecret = "demo-secret";
inline constexpr std::int64_t kNow = 1700000000;

inline std::string sha256_hex(std::string_view text) {
  Sha256Digest digest{};
  EXPECT_TRUE(sha256(text, digest));
  std::string hex;
  append_hex(digest, hex);
  return hex;
}

inline config::ApiKeySpec api_key(std::string_view key, std::string name, std::string hmac_secret = "") {
  config::ApiKeySpec spec;
  spec.key_sha256 = sha256_hex(key);
  spec.name = std::move(name);
  spec.hmac_secret = std::move(hmac_secret);
  return spec;
}

// A config with a security.auth section of `type` holding `keys`.
inline config::Config auth_config(std::vector<config::ApiKeySpec> keys, std::string type = "apiKey") {
  config::Config config;
  config.security.auth.present = true;
  config.security.auth.type = std::move(type);
  config.security.auth.keys = std::move(keys);
  return config;
}

inline config::RouteSpec route_with(std::optional<config::AuthMode> mode) {
  config::RouteSpec route;
  route.path = "/api/*";
  route.upstream = "backend";
  route.auth = mode;
  return route;
}

// A request as the lifecycle would present it; view() points into this object.
struct TestRequest {
  std::string method = "GET";
  std::string path = "/api/orders";
  std::string query;
  std::string body;
  bool body_buffered = true;
  std::vector<std::pair<std::string, std::string>> headers;
  http::RequestHead head;

  TestRequest& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  // Adds timestamp and signature headers signing this request (as it is now) with `secret`.
  TestRequest& sign(std::string_view secret, std::int64_t timestamp) {
    const std::string ts = std::to_string(timestamp);
    std::string canonical;
    EXPECT_TRUE(build_canonical_string(method, path, query, ts, body, canonical));
    Sha256Digest mac{};
    EXPECT_TRUE(hmac_sha256(secret, canonical, mac));
    std::string hex;
    append_hex(mac, hex);
    header("X-Timestamp", ts);
    header("X-Signature", hex);
    return *this;
  }

  RequestView view() {
    head = http::RequestHead{};
    head.method_text = method;
    head.target = path;
    head.fields.count = 0;
    for (const auto& [name, value] : headers) {
      head.fields.add() = http::HeaderField{name, value, http::HeaderToken::kOther};
    }
    if (!body.empty()) {
      head.framing = http::BodyFraming::kContentLength;
      head.content_length = body.size();
    }
    RequestView view;
    view.head = &head;
    view.method = method;
    view.path = path;
    view.query = query;
    view.has_query = !query.empty();
    view.body = body_buffered ? std::string_view(body) : std::string_view();
    view.body_buffered = body_buffered;
    return view;
  }
};

// Runs the policy on `request` and returns the verdict; the client name goes to `client`.
inline Verdict run(const AuthPolicy& policy, TestRequest& request, const config::RouteSpec& route,
                   std::string& client, std::int64_t now = kNow) {
  std::string_view name = "stale";
  Verdict verdict = policy.check(request.view(), route, name, now);
  client = std::string(name);
  return verdict;
}

}  // namespace flexgate::policy::testing
