#include "upstream/retry/retry_policy.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace flexgate::upstream {
namespace {

RetryOn parse_ok(std::vector<std::string> words) {
  std::string error;
  std::optional<RetryOn> set = RetryOn::parse(words, error);
  EXPECT_TRUE(set.has_value()) << error;
  return set.value_or(RetryOn{});
}

std::string parse_error(std::vector<std::string> words) {
  std::string error;
  EXPECT_FALSE(RetryOn::parse(words, error).has_value());
  return error;
}

TEST(RetryOn, ParsesEveryWord) {
  const RetryOn set = parse_ok({"connect-failure", "timeout", "reset", "502", "503", "504"});
  EXPECT_TRUE(set.matches(AttemptFailure::connect_failure()));
  EXPECT_TRUE(set.matches(AttemptFailure::timeout()));
  EXPECT_TRUE(set.matches(AttemptFailure::reset()));
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(502)));
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(503)));
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(504)));
  EXPECT_FALSE(set.matches(AttemptFailure::status_code(500)));
  EXPECT_FALSE(set.matches(AttemptFailure::status_code(200)));
}

TEST(RetryOn, OnlyTheListedKinds) {
  const RetryOn set = parse_ok({"timeout"});
  EXPECT_FALSE(set.matches(AttemptFailure::connect_failure()));
  EXPECT_TRUE(set.matches(AttemptFailure::timeout()));
  EXPECT_FALSE(set.matches(AttemptFailure::reset()));
  EXPECT_FALSE(set.matches(AttemptFailure::status_code(503)));
}

TEST(RetryOn, FiveXxIsEveryServerError) {
  const RetryOn set = parse_ok({"5xx"});
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(500)));
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(503)));
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(599)));
  EXPECT_FALSE(set.matches(AttemptFailure::status_code(499)));
  EXPECT_FALSE(set.matches(AttemptFailure::status_code(600)));
  EXPECT_FALSE(set.matches(AttemptFailure::status_code(-1)));
  EXPECT_FALSE(set.matches(AttemptFailure::timeout()));
}

TEST(RetryOn, EmptyListRetriesNothing) {
  const RetryOn set = parse_ok({});
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.matches(AttemptFailure::connect_failure()));
  EXPECT_FALSE(parse_ok({"reset"}).empty());
  EXPECT_FALSE(parse_ok({"500"}).empty());
}

TEST(RetryOn, DuplicatesAreHarmless) {
  const RetryOn set = parse_ok({"503", "503", "5xx", "reset", "reset"});
  EXPECT_TRUE(set.matches(AttemptFailure::status_code(503)));
  EXPECT_TRUE(set.matches(AttemptFailure::reset()));
}

TEST(RetryOn, UnknownWordsFailWithAClearError) {
  EXPECT_EQ(parse_error({"timeout", "gateway-error"}),
            "unknown retryOn condition \"gateway-error\" (expected connect-failure, timeout, reset, 5xx or a "
            "status code 500-599)");
  for (const char* word : {"", "499", "600", "429", "5o3", "50", "5030", "+503", " 503", "503 ", "4xx", "5XX",
                           "Timeout", "connect_failure"}) {
    const std::string error = parse_error({word});
    EXPECT_NE(error.find("\"" + std::string(word) + "\""), std::string::npos) << word << ": " << error;
  }
}

TEST(RetryOn, ParsesStringViews) {
  const std::array<std::string_view, 2> words{"reset", "502"};
  std::string error;
  const std::optional<RetryOn> set = RetryOn::parse(words, error);
  ASSERT_TRUE(set.has_value()) << error;
  EXPECT_TRUE(set->matches(AttemptFailure::status_code(502)));
}

TEST(RetryPolicy, IdempotentMethodsPerRfc9110) {
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(is_idempotent_method(method)) << method;
  }
  for (const char* method : {"POST", "PATCH", "CONNECT", "get", "Put", "", "PROPFIND"}) {
    EXPECT_FALSE(is_idempotent_method(method)) << method;
  }
}

RetryPolicy policy(std::vector<std::string> words, unsigned max_attempts, bool non_idempotent = false) {
  return RetryPolicy(RetryPolicy::Options{parse_ok(std::move(words)), max_attempts, non_idempotent});
}

AttemptInfo attempt(AttemptFailure failure, unsigned made, std::string_view method, bool replayable = true) {
  return AttemptInfo{failure, made, method, replayable};
}

TEST(RetryPolicy, RetriesListedFailuresOfIdempotentRequests) {
  const RetryPolicy p = policy({"connect-failure", "timeout", "reset", "5xx"}, 3);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::timeout(), 1, "GET")), RetryReason::kRetry);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::reset(), 1, "PUT")), RetryReason::kRetry);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 2, "DELETE")), RetryReason::kRetry);
}

TEST(RetryPolicy, UnlistedFailuresAreNotRetried) {
  const RetryPolicy p = policy({"503"}, 3);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(502), 1, "GET")), RetryReason::kNotRetryable);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(200), 1, "GET")), RetryReason::kNotRetryable);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::timeout(), 1, "GET")), RetryReason::kNotRetryable);
  // retryOn comes first: even a connect failure must be listed.
  EXPECT_EQ(p.decide(attempt(AttemptFailure::connect_failure(), 1, "GET")), RetryReason::kNotRetryable);
}

TEST(RetryPolicy, MaxAttemptsCountsTheFirstAttempt) {
  const RetryPolicy p = policy({"5xx"}, 3);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 1, "GET")), RetryReason::kRetry);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 2, "GET")), RetryReason::kRetry);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 3, "GET")), RetryReason::kAttemptsExhausted);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 9, "GET")), RetryReason::kAttemptsExhausted);
  const RetryPolicy once = policy({"5xx"}, 1);
  EXPECT_EQ(once.decide(attempt(AttemptFailure::status_code(503), 1, "GET")),
            RetryReason::kAttemptsExhausted);
  const RetryPolicy zero = policy({"5xx"}, 0);
  EXPECT_EQ(zero.decide(attempt(AttemptFailure::status_code(503), 1, "GET")),
            RetryReason::kAttemptsExhausted);
}

TEST(RetryPolicy, NonIdempotentMethodsNeedTheRouteOptIn) {
  const RetryPolicy strict = policy({"timeout", "reset", "5xx"}, 3);
  const RetryPolicy opted_in = policy({"timeout", "reset", "5xx"}, 3, true);
  for (const char* method : {"POST", "PATCH"}) {
    EXPECT_EQ(strict.decide(attempt(AttemptFailure::timeout(), 1, method)), RetryReason::kNotIdempotent);
    EXPECT_EQ(strict.decide(attempt(AttemptFailure::reset(), 1, method)), RetryReason::kNotIdempotent);
    EXPECT_EQ(strict.decide(attempt(AttemptFailure::status_code(502), 1, method)),
              RetryReason::kNotIdempotent);
    EXPECT_EQ(opted_in.decide(attempt(AttemptFailure::timeout(), 1, method)), RetryReason::kRetry);
    EXPECT_EQ(opted_in.decide(attempt(AttemptFailure::status_code(502), 1, method)), RetryReason::kRetry);
  }
}

TEST(RetryPolicy, ConnectFailureIsAlwaysSafe) {
  const RetryPolicy p = policy({"connect-failure"}, 2);
  // Nothing was sent: any method, even with a body that was not kept.
  EXPECT_EQ(p.decide(attempt(AttemptFailure::connect_failure(), 1, "POST", false)), RetryReason::kRetry);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::connect_failure(), 1, "GET", false)), RetryReason::kRetry);
  // ...but never beyond max_attempts.
  EXPECT_EQ(p.decide(attempt(AttemptFailure::connect_failure(), 2, "GET")), RetryReason::kAttemptsExhausted);
}

TEST(RetryPolicy, AStreamedBodyIsNeverRetriedOnceSent) {
  const RetryPolicy p = policy({"timeout", "reset", "5xx"}, 3, true);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::timeout(), 1, "PUT", false)), RetryReason::kBodyNotReplayable);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::reset(), 1, "GET", false)), RetryReason::kBodyNotReplayable);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 1, "POST", false)),
            RetryReason::kBodyNotReplayable);
  EXPECT_EQ(p.decide(attempt(AttemptFailure::status_code(503), 1, "POST", true)), RetryReason::kRetry);
}

TEST(RetryPolicy, ReasonNames) {
  EXPECT_EQ(to_string(RetryReason::kRetry), "retry");
  EXPECT_EQ(to_string(RetryReason::kNotRetryable), "not_retryable");
  EXPECT_EQ(to_string(RetryReason::kAttemptsExhausted), "attempts_exhausted");
  EXPECT_EQ(to_string(RetryReason::kBodyNotReplayable), "body_not_replayable");
  EXPECT_EQ(to_string(RetryReason::kNotIdempotent), "not_idempotent");
  EXPECT_EQ(to_string(RetryReason::kBudgetExhausted), "budget_exhausted");
  EXPECT_EQ(to_string(RetryReason::kNoTimeLeft), "no_time_left");
  EXPECT_EQ(to_string(FailureKind::kConnectFailure), "connect-failure");
  EXPECT_EQ(to_string(FailureKind::kStatus), "status");
}

}  // namespace
}  // namespace flexgate::upstream
