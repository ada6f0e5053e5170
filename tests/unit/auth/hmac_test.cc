#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "auth_test_util.h"
#include "policy/auth/auth_policy.h"

namespace flexgate::policy {
namespace {

using config::AuthMode;
using testing::api_key;
using testing::auth_config;
using testing::kDemoKey;
using testing::kDemoSecret;
using testing::kNow;
using testing::route_with;
using testing::run;
using testing::TestRequest;

constexpr std::string_view kPlainKey = "plain-key-without-secret";

AuthPolicy hmac_policy(std::shared_ptr<ReplayCache> cache = nullptr) {
  return AuthPolicy::build(auth_config({api_key(kDemoKey, "demo", std::string(kDemoSecret))}, "hmac"),
                           std::move(cache));
}

// apiKey type: "demo" must sign (it has a secret), "plain" must not.
AuthPolicy mixed_policy() {
  return AuthPolicy::build(
      auth_config({api_key(kDemoKey, "demo", std::string(kDemoSecret)), api_key(kPlainKey, "plain")}));
}

// The documented example request: POST /api/orders?dry=1 with a JSON body.
TestRequest demo_request() {
  TestRequest request;
  request.method = "POST";
  request.path = "/api/orders";
  request.query = "dry=1";
  request.body = R"({"item":"book","qty":2})";
  request.header("X-API-Key", std::string(kDemoKey));
  return request;
}

void expect_no_secrets(const Verdict& verdict) {
  for (const std::string_view secret : {kDemoKey, kDemoSecret}) {
    EXPECT_EQ(verdict.message.find(secret), std::string::npos) << verdict.message;
    EXPECT_EQ(verdict.extra_headers.find(secret), std::string::npos) << verdict.extra_headers;
  }
}

Verdict check(const AuthPolicy& policy, TestRequest& request, std::int64_t now = kNow,
              std::optional<AuthMode> mode = std::nullopt) {
  std::string client;
  Verdict verdict = run(policy, request, route_with(mode), client, now);
  const bool has_key = !request.headers.empty() && request.headers.front().first == "X-API-Key";
  EXPECT_EQ(client, verdict.allowed && has_key ? "demo" : "");
  expect_no_secrets(verdict);
  return verdict;
}

TEST(Hmac, DocumentedExampleIsAccepted) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request = demo_request();
  request.header("X-Timestamp", "1700000000")
      .header("X-Signature", "af73d050473a63df0c5fdfb79c1d5876b569404b7228bf827002ef1bd2c4358d");
  EXPECT_TRUE(check(policy, request).allowed);
}

TEST(Hmac, ValidSignatureOnEveryMethodAndShape) {
  const AuthPolicy policy = hmac_policy();
  TestRequest get;
  get.header("X-API-Key", std::string(kDemoKey)).sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(policy, get).allowed);

  TestRequest post = demo_request();
  post.sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(policy, post).allowed);

  TestRequest bodiless_unbuffered;  // no body at all: nothing to buffer, signs the empty body
  bodiless_unbuffered.body_buffered = false;
  bodiless_unbuffered.path = "/api/other";
  bodiless_unbuffered.header("X-API-Key", std::string(kDemoKey)).sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(policy, bodiless_unbuffered).allowed);
}

TEST(Hmac, UppercaseHexIsTheSameSignature) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request = demo_request();
  request.sign(kDemoSecret, kNow);
  TestRequest upper = request;
  for (char& c : upper.headers.back().second)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(check(policy, upper).allowed);
  const Verdict replay = check(policy, request);  // lower-case form of a used signature: still a replay
  EXPECT_EQ(replay.kind, ErrorKind::kForbidden);
  EXPECT_FALSE(replay.allowed);
}

TEST(Hmac, WrongSecretIs403) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request = demo_request();
  request.sign("not-the-secret", kNow);
  const Verdict verdict = check(policy, request);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kForbidden);
  EXPECT_NE(verdict.message.find("\"demo\""), std::string::npos) << verdict.message;  // the name only
}

TEST(Hmac, TamperedRequestIs403) {
  const AuthPolicy policy = hmac_policy();
  const auto tampered = [&](auto change) {
    TestRequest request = demo_request();
    request.sign(kDemoSecret, kNow);
    change(request);
    return check(policy, request);
  };
  const std::vector<Verdict> verdicts = {
      tampered([](TestRequest& r) { r.method = "PUT"; }),
      tampered([](TestRequest& r) { r.path = "/api/orders/1"; }),
      tampered([](TestRequest& r) { r.query = "dry=0"; }),
      tampered([](TestRequest& r) { r.query = ""; }),
      tampered([](TestRequest& r) { r.body = R"({"item":"book","qty":3})"; }),
      tampered([](TestRequest& r) { r.headers[1].second = std::to_string(kNow + 1); }),  // timestamp
  };
  for (const Verdict& verdict : verdicts) {
    EXPECT_FALSE(verdict.allowed);
    EXPECT_EQ(verdict.kind, ErrorKind::kForbidden) << verdict.message;
  }
}

TEST(Hmac, TimestampOutsideSkewIs401) {
  const AuthPolicy policy = hmac_policy();  // default maxSkew: 300 s
  const auto at = [&](std::int64_t signed_at) {
    TestRequest request = demo_request();
    request.sign(kDemoSecret, signed_at);
    return check(policy, request);
  };
  EXPECT_TRUE(at(kNow - 300).allowed);  // the bounds are inclusive
  EXPECT_TRUE(at(kNow + 300).allowed);
  for (const std::int64_t signed_at : {kNow - 301, kNow + 301, std::int64_t{0}, kNow * 100}) {
    const Verdict verdict = at(signed_at);
    EXPECT_FALSE(verdict.allowed) << signed_at;
    EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized) << signed_at;
    EXPECT_NE(verdict.extra_headers.find("WWW-Authenticate: HMAC-SHA256"), std::string::npos);
  }
}

TEST(Hmac, ConfiguredSkewAndHeaderNames) {
  config::Config config = auth_config({api_key(kDemoKey, "demo", std::string(kDemoSecret))}, "hmac");
  config.security.auth.max_clock_skew = config::Millis(10'000);
  config.security.auth.timestamp_header = "X-Date";
  config.security.auth.signature_header = "X-Mac";
  const AuthPolicy policy = AuthPolicy::build(config);
  const auto signed_request = [&](std::int64_t at) {
    TestRequest request = demo_request();
    request.sign(kDemoSecret, at);
    request.headers[1].first = "x-date";
    request.headers[2].first = "X-MAC";
    return request;
  };
  TestRequest ok = signed_request(kNow - 10);
  EXPECT_TRUE(check(policy, ok).allowed);
  TestRequest stale = signed_request(kNow - 11);
  EXPECT_EQ(check(policy, stale).kind, ErrorKind::kUnauthorized);
  TestRequest default_names = demo_request();
  default_names.sign(kDemoSecret, kNow);
  const Verdict verdict = check(policy, default_names);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(verdict.extra_headers,
            "WWW-Authenticate: HMAC-SHA256 header=\"X-API-Key\", timestampHeader=\"X-Date\", "
            "signatureHeader=\"X-Mac\"\r\n");
  EXPECT_TRUE(policy.strip_field("x-mac", route_with(std::nullopt)));
  EXPECT_FALSE(policy.strip_field("X-Signature", route_with(std::nullopt)));
}

TEST(Hmac, MalformedOrMissingCredentialsAre401) {
  const AuthPolicy policy = hmac_policy();
  const auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    TestRequest request = demo_request();
    for (auto& [name, value] : extra) request.header(name, value);
    return check(policy, request);
  };
  const std::string good_sig(64, 'a');
  const std::string now = std::to_string(kNow);
  for (const Verdict& verdict : {
           with({}),                           // neither
           with({{"X-Timestamp", now}}),       // no signature
           with({{"X-Signature", good_sig}}),  // no timestamp
           with({{"X-Timestamp", "-1700000000"}, {"X-Signature", good_sig}}),
           with({{"X-Timestamp", "1700000000.5"}, {"X-Signature", good_sig}}),
           with({{"X-Timestamp", ""}, {"X-Signature", good_sig}}),
           with({{"X-Timestamp", "1234567890123456"}, {"X-Signature", good_sig}}),  // 16 digits
           with({{"X-Timestamp", now}, {"X-Signature", good_sig.substr(1)}}),
           with({{"X-Timestamp", now}, {"X-Signature", good_sig + "a"}}),
           with({{"X-Timestamp", now}, {"X-Signature", std::string(64, 'g')}}),
       }) {
    EXPECT_FALSE(verdict.allowed);
    EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized) << verdict.message;
    EXPECT_NE(verdict.extra_headers.find("HMAC-SHA256"), std::string::npos);
  }
  const Verdict twice = with({{"X-Timestamp", now}, {"X-Timestamp", now}, {"X-Signature", good_sig}});
  EXPECT_EQ(twice.kind, ErrorKind::kBadRequest);
}

TEST(Hmac, MissingKeyOnHmacRouteChallengesForHmac) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request;
  const Verdict verdict = check(policy, request);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(verdict.extra_headers,
            "WWW-Authenticate: HMAC-SHA256 header=\"X-API-Key\", timestampHeader=\"X-Timestamp\", "
            "signatureHeader=\"X-Signature\"\r\n");
}

TEST(Hmac, OptionalRouteNeverDowngrades) {
  const AuthPolicy policy = hmac_policy();
  TestRequest anonymous;
  EXPECT_TRUE(check(policy, anonymous, kNow, AuthMode::kOptional).allowed);

  TestRequest unsigned_key = demo_request();  // a key that must sign, unsigned: not anonymous
  EXPECT_EQ(check(policy, unsigned_key, kNow, AuthMode::kOptional).kind, ErrorKind::kUnauthorized);

  TestRequest bad_signature = demo_request();
  bad_signature.sign("wrong", kNow);
  EXPECT_EQ(check(policy, bad_signature, kNow, AuthMode::kOptional).kind, ErrorKind::kForbidden);

  TestRequest signature_without_key;
  signature_without_key.sign(kDemoSecret, kNow);
  EXPECT_EQ(check(policy, signature_without_key, kNow, AuthMode::kOptional).kind, ErrorKind::kUnauthorized);

  TestRequest good = demo_request();
  good.sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(policy, good, kNow, AuthMode::kOptional).allowed);
}

TEST(Hmac, ApiKeyTypeSignsOnlyKeysWithASecret) {
  const AuthPolicy policy = mixed_policy();
  std::string client;
  TestRequest plain;
  plain.header("X-API-Key", std::string(kPlainKey));
  EXPECT_TRUE(run(policy, plain, route_with(std::nullopt), client).allowed);
  EXPECT_EQ(client, "plain");

  TestRequest unsigned_demo = demo_request();
  const Verdict verdict = run(policy, unsigned_demo, route_with(std::nullopt), client);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized);
  EXPECT_NE(verdict.extra_headers.find("HMAC-SHA256"), std::string::npos);

  TestRequest signed_demo = demo_request();
  signed_demo.sign(kDemoSecret, kNow);
  EXPECT_TRUE(run(policy, signed_demo, route_with(std::nullopt), client).allowed);
  EXPECT_EQ(client, "demo");

  // Missing key on an apiKey-type section: the API-key challenge.
  TestRequest none;
  EXPECT_EQ(run(policy, none, route_with(std::nullopt), client).extra_headers,
            "WWW-Authenticate: ApiKey header=\"X-API-Key\"\r\n");
}

TEST(Hmac, UnbufferedBodyIsAnInternalError) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request = demo_request();
  request.sign(kDemoSecret, kNow);
  request.body_buffered = false;
  const Verdict verdict = check(policy, request);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kInternal);
}

TEST(Replay, SecondUseIs403) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request = demo_request();
  request.sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(policy, request).allowed);
  const Verdict again = check(policy, request, kNow + 5);
  EXPECT_FALSE(again.allowed);
  EXPECT_EQ(again.kind, ErrorKind::kForbidden);
  EXPECT_NE(again.message.find("replay"), std::string::npos);
}

// Signs fresh requests at `now` until the cache no longer holds anything older (purging is per
// shard, done by the requests that land in it). Returns false if that never happened.
bool purge_all_but_fresh(const AuthPolicy& policy, std::int64_t now) {
  std::size_t accepted = 0;
  for (int i = 0; i < 256; ++i) {
    TestRequest fresh = demo_request();
    fresh.path = "/api/purge/" + std::to_string(i);
    fresh.sign(kDemoSecret, now);
    if (check(policy, fresh, now).allowed) ++accepted;
    if (policy.replay_cache()->size() == accepted) return true;
  }
  return false;
}

TEST(Replay, AfterTheWindowTheTimestampIsStaleAndTheEntryForgotten) {
  const AuthPolicy policy = hmac_policy();
  TestRequest request = demo_request();
  request.sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(policy, request).allowed);
  EXPECT_EQ(check(policy, request, kNow + 300).kind, ErrorKind::kForbidden);  // last second: replay
  EXPECT_EQ(policy.replay_cache()->size(), 1u);
  // One second later the signature is refused by its timestamp (401), never accepted again.
  EXPECT_EQ(check(policy, request, kNow + 301).kind, ErrorKind::kUnauthorized);
  // Later requests purge the old entry: memory is released with the window.
  EXPECT_TRUE(purge_all_but_fresh(policy, kNow + 301));
  EXPECT_EQ(check(policy, request, kNow + 301).kind, ErrorKind::kUnauthorized);
}

TEST(Replay, CacheSurvivesReload) {
  const AuthPolicy before = hmac_policy();
  TestRequest request = demo_request();
  request.sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(before, request).allowed);
  const AuthPolicy after = hmac_policy(before.replay_cache());
  EXPECT_EQ(after.replay_cache(), before.replay_cache());
  EXPECT_EQ(check(after, request, kNow + 1).kind, ErrorKind::kForbidden);
  const AuthPolicy unrelated = hmac_policy();  // without reuse: a new, empty cache
  EXPECT_NE(unrelated.replay_cache(), before.replay_cache());
}

TEST(Replay, ReloadWideningSkewDoesNotReopenTheWindow) {
  const AuthPolicy narrow = hmac_policy();  // 300 s
  TestRequest request = demo_request();
  request.sign(kDemoSecret, kNow);
  EXPECT_TRUE(check(narrow, request).allowed);
  ASSERT_TRUE(purge_all_but_fresh(narrow, kNow + 301));  // `request` forgotten on the narrow window

  config::Config wide = auth_config({api_key(kDemoKey, "demo", std::string(kDemoSecret))}, "hmac");
  wide.security.auth.max_clock_skew = config::Millis(900'000);
  const AuthPolicy widened = AuthPolicy::build(wide, narrow.replay_cache());
  EXPECT_EQ(widened.replay_cache()->retention(), 900);
  const Verdict verdict = check(widened, request, kNow + 302);  // inside the new skew, but forgotten
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized);
}

TEST(Replay, FullCacheFailsClosed) {
  const AuthPolicy policy = hmac_policy(std::make_shared<ReplayCache>(16));
  int allowed = 0, refused = 0;
  for (int i = 0; i < 17; ++i) {  // 17 live signatures cannot fit in 16 entries
    TestRequest request = demo_request();
    request.sign(kDemoSecret, kNow - i);
    const Verdict verdict = check(policy, request);
    if (verdict.allowed) {
      ++allowed;
    } else {
      EXPECT_EQ(verdict.kind, ErrorKind::kTooManyRequests);
      ++refused;
    }
  }
  EXPECT_GE(refused, 1);
  EXPECT_LE(allowed, 16);
}

TEST(Replay, RacingThreadsExactlyOneWins) {
  constexpr int kRounds = 200;
  const AuthPolicy policy = hmac_policy();
  for (int round = 0; round < kRounds; ++round) {
    TestRequest original = demo_request();
    original.sign(kDemoSecret, kNow - round);
    std::atomic<int> wins{0};
    std::latch start(2);
    const auto race = [&] {
      TestRequest request = original;  // each thread its own copy: views point into it
      std::string_view client;
      const RequestView view = request.view();
      start.arrive_and_wait();
      if (policy.check(view, route_with(std::nullopt), client, kNow).allowed) ++wins;
    };
    std::thread a(race), b(race);
    a.join();
    b.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
  }
}

}  // namespace
}  // namespace flexgate::policy
