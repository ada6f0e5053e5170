#include <gtest/gtest.h>

#include <string>

#include "auth_test_util.h"
#include "policy/auth/auth_policy.h"

namespace flexgate::policy {
namespace {

using config::AuthMode;
using testing::api_key;
using testing::auth_config;
using testing::route_with;
using testing::run;
using testing::TestRequest;

constexpr std::string_view kAliceKey = "alice-secret-key-0001";
constexpr std::string_view kBobKey = "bob-secret-key-0002";

AuthPolicy two_keys() {
  return AuthPolicy::build(auth_config({api_key(kAliceKey, "alice"), api_key(kBobKey, "bob")}));
}

// Every denial must keep the presented key (and secrets) out of what reaches the client and logs.
void expect_no_secret(const Verdict& verdict, std::string_view secret) {
  EXPECT_EQ(verdict.message.find(secret), std::string::npos) << verdict.message;
  EXPECT_EQ(verdict.extra_headers.find(secret), std::string::npos) << verdict.extra_headers;
}

TEST(AuthMode, DefaultsFollowTheSecuritySection) {
  const AuthPolicy without = AuthPolicy::build(config::Config{});
  EXPECT_EQ(without.mode_for(route_with(std::nullopt)), AuthMode::kNone);
  EXPECT_EQ(without.mode_for(route_with(AuthMode::kOptional)), AuthMode::kNone);  // no keys to check

  const AuthPolicy with = two_keys();
  EXPECT_EQ(with.mode_for(route_with(std::nullopt)), AuthMode::kRequired);  // secure by default
  EXPECT_EQ(with.mode_for(route_with(AuthMode::kOptional)), AuthMode::kOptional);
  EXPECT_EQ(with.mode_for(route_with(AuthMode::kNone)), AuthMode::kNone);
  EXPECT_EQ(with.mode_for(route_with(AuthMode::kRequired)), AuthMode::kRequired);
}

TEST(ApiKey, RequiredValidKeyNamesTheClient) {
  const AuthPolicy policy = two_keys();
  std::string client;
  TestRequest alice;
  alice.header("X-API-Key", std::string(kAliceKey));
  EXPECT_TRUE(run(policy, alice, route_with(AuthMode::kRequired), client).allowed);
  EXPECT_EQ(client, "alice");
  TestRequest bob;
  bob.header("X-API-Key", std::string(kBobKey));
  EXPECT_TRUE(run(policy, bob, route_with(std::nullopt), client).allowed);
  EXPECT_EQ(client, "bob");
}

TEST(ApiKey, RequiredMissingKeyIs401WithChallenge) {
  const AuthPolicy policy = two_keys();
  std::string client;
  TestRequest request;
  const Verdict verdict = run(policy, request, route_with(AuthMode::kRequired), client);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(verdict.extra_headers, "WWW-Authenticate: ApiKey header=\"X-API-Key\"\r\n");
  EXPECT_NE(verdict.message.find("X-API-Key"), std::string::npos);
  EXPECT_EQ(client, "");
}

TEST(ApiKey, RequiredUnknownKeyIs403WithoutTheKey) {
  const AuthPolicy policy = two_keys();
  std::string client;
  TestRequest request;
  request.header("X-API-Key", "not-a-known-key-987");
  const Verdict verdict = run(policy, request, route_with(AuthMode::kRequired), client);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kForbidden);
  EXPECT_EQ(verdict.extra_headers, "");
  expect_no_secret(verdict, "not-a-known-key-987");
  EXPECT_EQ(client, "");
}

TEST(ApiKey, KeyMatchIsExact) {
  const AuthPolicy policy = two_keys();
  std::string client;
  for (const std::string& key : {std::string(kAliceKey) + " ", std::string(kAliceKey).substr(1),
                                 std::string("ALICE-SECRET-KEY-0001"), std::string(kAliceKey) + "x"}) {
    TestRequest request;
    request.header("X-API-Key", key);
    const Verdict verdict = run(policy, request, route_with(AuthMode::kRequired), client);
    EXPECT_EQ(verdict.kind, ErrorKind::kForbidden) << key;
    EXPECT_FALSE(verdict.allowed) << key;
    expect_no_secret(verdict, key);
  }
}

TEST(ApiKey, EmptyKeyIsRefusedNotAnonymous) {
  // The digest of "" could even be listed by mistake: an empty value never authenticates.
  const AuthPolicy policy =
      AuthPolicy::build(auth_config({api_key("", "empty"), api_key(kAliceKey, "alice")}));
  std::string client;
  for (const AuthMode mode : {AuthMode::kRequired, AuthMode::kOptional}) {
    TestRequest request;
    request.header("X-API-Key", "");
    const Verdict verdict = run(policy, request, route_with(mode), client);
    EXPECT_FALSE(verdict.allowed);
    EXPECT_EQ(verdict.kind, ErrorKind::kForbidden);
  }
}

TEST(ApiKey, RevokedKeyIsUnknownAfterReload) {
  const AuthPolicy before = two_keys();
  const AuthPolicy after =
      AuthPolicy::build(auth_config({api_key(kAliceKey, "alice")}), before.replay_cache());
  std::string client;
  TestRequest request;
  request.header("X-API-Key", std::string(kBobKey));
  EXPECT_TRUE(run(before, request, route_with(AuthMode::kRequired), client).allowed);
  const Verdict verdict = run(after, request, route_with(AuthMode::kRequired), client);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kForbidden);
  expect_no_secret(verdict, kBobKey);
}

TEST(ApiKey, OptionalRoute) {
  const AuthPolicy policy = two_keys();
  const auto route = route_with(AuthMode::kOptional);
  std::string client = "stale";

  TestRequest anonymous;
  EXPECT_TRUE(run(policy, anonymous, route, client).allowed);
  EXPECT_EQ(client, "");

  TestRequest valid;
  valid.header("X-API-Key", std::string(kAliceKey));
  EXPECT_TRUE(run(policy, valid, route, client).allowed);
  EXPECT_EQ(client, "alice");

  TestRequest invalid;  // never downgraded to anonymous
  invalid.header("X-API-Key", "wrong-key");
  const Verdict verdict = run(policy, invalid, route, client);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kForbidden);
  EXPECT_EQ(client, "");
}

TEST(ApiKey, NoneRouteSkipsEvenInvalidKeys) {
  const AuthPolicy policy = two_keys();
  std::string client = "stale";
  TestRequest request;
  request.header("X-API-Key", "wrong-key");
  EXPECT_TRUE(run(policy, request, route_with(AuthMode::kNone), client).allowed);
  EXPECT_EQ(client, "");
  TestRequest valid;
  valid.header("X-API-Key", std::string(kAliceKey));
  EXPECT_TRUE(run(policy, valid, route_with(AuthMode::kNone), client).allowed);
  EXPECT_EQ(client, "");  // not authenticated: the route did not ask
}

TEST(ApiKey, NoSecuritySectionAllowsEverything) {
  const AuthPolicy policy = AuthPolicy::build(config::Config{});
  std::string client;
  TestRequest request;
  request.header("X-API-Key", "whatever");
  EXPECT_TRUE(run(policy, request, route_with(std::nullopt), client).allowed);
  EXPECT_FALSE(policy.strip_field("X-API-Key", route_with(std::nullopt)));
  EXPECT_FALSE(policy.needs_body(route_with(std::nullopt)));
}

TEST(ApiKey, HeaderNameIsConfigurableAndCaseInsensitive) {
  config::Config config = auth_config({api_key(kAliceKey, "alice")});
  config.security.auth.header = "Authorization-Key";
  const AuthPolicy policy = AuthPolicy::build(config);
  const auto route = route_with(AuthMode::kRequired);
  std::string client;
  for (const char* name : {"Authorization-Key", "authorization-key", "AUTHORIZATION-KEY"}) {
    TestRequest request;
    request.header("Accept", "*/*").header(name, std::string(kAliceKey));
    EXPECT_TRUE(run(policy, request, route, client).allowed) << name;
    EXPECT_EQ(client, "alice");
  }
  TestRequest default_name;  // the default name means nothing once another is configured
  default_name.header("X-API-Key", std::string(kAliceKey));
  const Verdict verdict = run(policy, default_name, route, client);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(verdict.extra_headers, "WWW-Authenticate: ApiKey header=\"Authorization-Key\"\r\n");
}

TEST(ApiKey, RepeatedKeyFieldIsRejected) {
  const AuthPolicy policy = two_keys();
  std::string client;
  TestRequest request;
  request.header("X-API-Key", std::string(kAliceKey)).header("x-api-key", std::string(kBobKey));
  const Verdict verdict = run(policy, request, route_with(AuthMode::kOptional), client);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kBadRequest);
  expect_no_secret(verdict, kAliceKey);
  expect_no_secret(verdict, kBobKey);
}

TEST(StripField, CredentialHeadersUnlessForwarded) {
  const AuthPolicy policy = two_keys();  // no key signs: only the key header is a credential
  auto route = route_with(AuthMode::kRequired);
  EXPECT_TRUE(policy.strip_field("X-API-Key", route));
  EXPECT_TRUE(policy.strip_field("x-api-key", route));
  EXPECT_FALSE(policy.strip_field("X-API-Keys", route));
  EXPECT_FALSE(policy.strip_field("X-Timestamp", route));
  EXPECT_FALSE(policy.strip_field("X-Signature", route));
  EXPECT_TRUE(policy.strip_field("X-API-Key", route_with(AuthMode::kNone)));  // never leaked upstream
  route.forward_credentials = true;
  EXPECT_FALSE(policy.strip_field("X-API-Key", route));

  const AuthPolicy hmac = AuthPolicy::build(auth_config({api_key(kAliceKey, "alice", "s3cret")}, "hmac"));
  auto signed_route = route_with(std::nullopt);
  EXPECT_TRUE(hmac.strip_field("X-API-KEY", signed_route));
  EXPECT_TRUE(hmac.strip_field("x-timestamp", signed_route));
  EXPECT_TRUE(hmac.strip_field("X-Signature", signed_route));
  EXPECT_FALSE(hmac.strip_field("Content-Type", signed_route));
  signed_route.forward_credentials = true;
  EXPECT_FALSE(hmac.strip_field("X-Signature", signed_route));
}

TEST(NeedsBody, OnlyWhenASignatureMayBeChecked) {
  const AuthPolicy plain = two_keys();
  EXPECT_FALSE(plain.needs_body(route_with(AuthMode::kRequired)));
  const AuthPolicy mixed =
      AuthPolicy::build(auth_config({api_key(kAliceKey, "alice", "s3cret"), api_key(kBobKey, "bob")}));
  EXPECT_TRUE(mixed.needs_body(route_with(AuthMode::kRequired)));
  EXPECT_TRUE(mixed.needs_body(route_with(AuthMode::kOptional)));
  EXPECT_TRUE(mixed.needs_body(route_with(std::nullopt)));
  EXPECT_FALSE(mixed.needs_body(route_with(AuthMode::kNone)));
}

}  // namespace
}  // namespace flexgate::policy
