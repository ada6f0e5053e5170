#include "upstream/retry/retry_policy.h"

#include <array>
#include <charconv>

namespace flexgate::upstream {
namespace {

template <typename Word>
std::optional<RetryOn> parse_words(std::span<const Word> words, std::string& error) {
  RetryOn set;
  for (const Word& word : words) {
    if (!set.add(word, error)) return std::nullopt;
  }
  return set;
}

}  // namespace

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::kConnectFailure:
      return "connect-failure";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kReset:
      return "reset";
    case FailureKind::kStatus:
      return "status";
  }
  return "unknown";
}

std::string_view to_string(RetryReason reason) {
  switch (reason) {
    case RetryReason::kRetry:
      return "retry";
    case RetryReason::kNotRetryable:
      return "not_retryable";
    case RetryReason::kAttemptsExhausted:
      return "attempts_exhausted";
    case RetryReason::kBodyNotReplayable:
      return "body_not_replayable";
    case RetryReason::kNotIdempotent:
      return "not_idempotent";
    case RetryReason::kBudgetExhausted:
      return "budget_exhausted";
    case RetryReason::kNoTimeLeft:
      return "no_time_left";
  }
  return "unknown";
}

std::optional<RetryOn> RetryOn::parse(std::span<const std::string> words, std::string& error) {
  return parse_words(words, error);
}

std::optional<RetryOn> RetryOn::parse(std::span<const std::string_view> words, std::string& error) {
  return parse_words(words, error);
}

bool RetryOn::add(std::string_view word, std::string& error) {
  static constexpr std::array<std::pair<std::string_view, FailureKind>, 3> kKinds{{
      {"connect-failure", FailureKind::kConnectFailure},
      {"timeout", FailureKind::kTimeout},
      {"reset", FailureKind::kReset},
  }};
  for (const auto& [name, kind] : kKinds) {
    if (word == name) {
      kinds_.set(static_cast<std::size_t>(kind));
      return true;
    }
  }
  if (word == "5xx") {
    statuses_.set();
    return true;
  }
  int status = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), status);
  if (word.size() == 3 && ec == std::errc() && end == word.data() + word.size() && status >= kFirstStatus &&
      status < kFirstStatus + static_cast<int>(statuses_.size())) {
    statuses_.set(static_cast<std::size_t>(status - kFirstStatus));
    return true;
  }
  error = "unknown retryOn condition \"" + std::string(word) +
          "\" (expected connect-failure, timeout, reset, 5xx or a status code 500-599)";
  return false;
}

bool RetryOn::matches(const AttemptFailure& failure) const {
  if (failure.kind != FailureKind::kStatus) return kinds_.test(static_cast<std::size_t>(failure.kind));
  const int index = failure.status - kFirstStatus;
  return index >= 0 && index < static_cast<int>(statuses_.size()) &&
         statuses_.test(static_cast<std::size_t>(index));
}

bool is_idempotent_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
         method == "DELETE";
}

RetryReason RetryPolicy::decide(const AttemptInfo& attempt) const {
  if (!options_.retry_on.matches(attempt.failure)) return RetryReason::kNotRetryable;
  if (attempt.attempts_made >= options_.max_attempts) return RetryReason::kAttemptsExhausted;
  // Nothing reached the upstream: neither the body nor the method's side effects matter.
  if (attempt.failure.kind == FailureKind::kConnectFailure) return RetryReason::kRetry;
  if (!attempt.body_replayable) return RetryReason::kBodyNotReplayable;
  if (!options_.retry_non_idempotent && !is_idempotent_method(attempt.method))
    return RetryReason::kNotIdempotent;
  return RetryReason::kRetry;
}

}  // namespace flexgate::upstream
