#pragma once
// Which failed attempts a route may retry (nginx's proxy_next_upstream, Pingora's retry-safe
// errors): a closed set of failure kinds matched against the route's `retryOn` list, then the
// hard safety rules:
//   - attempts: never more than `max_attempts` in total (the first attempt included);
//   - a connect failure sent nothing, so it is always safe to retry (any method, any body);
//   - otherwise the request may already have reached the upstream, so:
//       - its body must still be replayable (none, or fully buffered and kept), and
//       - its method must be idempotent (RFC 9110 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE),
//         unless the route opts in to retrying non-idempotent methods.
// Only ask about failures seen before any response byte was forwarded downstream: once the
// response has started, there is nothing left to retry.
//
// The policy is immutable, built once per route/upstream from config, and shared by all workers.
// Budget and backoff are separate (RetryBudget, Backoff); plan_retry() applies all three.

#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace flexgate::upstream {

// How one attempt failed, as retry logic sees it (a closed set).
enum class FailureKind : std::uint8_t {
  kConnectFailure,  // no connection (refused, unreachable, connect timeout): nothing was sent
  kTimeout,         // connected and sent (maybe partly), no response head in time
  kReset,           // the connection closed or reset before a complete response head
  kStatus,          // a response head arrived with a status the route may retry (e.g. 503)
};

std::string_view to_string(FailureKind kind);  // "connect-failure", "timeout", "reset", "status"

// One attempt's failure: its kind and, for kStatus, the response status.
struct AttemptFailure {
  FailureKind kind = FailureKind::kConnectFailure;
  int status = 0;  // only for kStatus

  static AttemptFailure connect_failure() { return {FailureKind::kConnectFailure, 0}; }
  static AttemptFailure timeout() { return {FailureKind::kTimeout, 0}; }
  static AttemptFailure reset() { return {FailureKind::kReset, 0}; }
  static AttemptFailure status_code(int status) { return {FailureKind::kStatus, status}; }
};

// The set of failures a route retries (config `retryOn`), parsed once.
class RetryOn {
 public:
  // Nothing is retried by an empty set.
  RetryOn() = default;

  // Words: "connect-failure", "timeout", "reset", "5xx" (every status 500-599) or one status
  // 500-599 ("502", "503", "504", ...). Duplicates are harmless. An unknown word fails with an
  // error naming it and listing what is accepted.
  static std::optional<RetryOn> parse(std::span<const std::string> words, std::string& error);
  static std::optional<RetryOn> parse(std::span<const std::string_view> words, std::string& error);
  // Adds one word to the set; false (and `error` set) when the word is unknown.
  bool add(std::string_view word, std::string& error);

  bool matches(const AttemptFailure& failure) const;
  bool empty() const { return kinds_.none() && statuses_.none(); }

 private:
  static constexpr int kFirstStatus = 500;
  std::bitset<3> kinds_;       // indexed by FailureKind (connect failure, timeout, reset)
  std::bitset<100> statuses_;  // status - kFirstStatus
};

// Why a retry was or was not made: a log field and a metrics label (to_string gives the name).
enum class RetryReason : std::uint8_t {
  kRetry,              // retry allowed
  kNotRetryable,       // the failure is not in the route's retryOn (or is not a failure at all)
  kAttemptsExhausted,  // max_attempts reached
  kBodyNotReplayable,  // the request body was streamed and not kept
  kNotIdempotent,      // non-idempotent method and the route does not opt in
  kBudgetExhausted,    // RetryBudget refused (set by plan_retry)
  kNoTimeLeft,         // the deadline cannot fit another useful attempt (set by plan_retry)
};

std::string_view to_string(RetryReason reason);  // "retry", "not_retryable", "attempts_exhausted", ...

// What the proxy knows about the attempt that just failed.
struct AttemptInfo {
  AttemptFailure failure;
  unsigned attempts_made = 1;   // attempts sent so far, the failed one included (>= 1)
  std::string_view method;      // as received; method tokens are case-sensitive (RFC 9110 9.1)
  bool body_replayable = true;  // no body, or the whole body is buffered and can be sent again
};

// RFC 9110 9.2.2 idempotent methods: GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
bool is_idempotent_method(std::string_view method);

// A route's (or upstream's) retry rules; immutable and shared by all workers.
class RetryPolicy {
 public:
  // The route's retry settings (`retryOn`, attempts, non-idempotent opt-in).
  struct Options {
    RetryOn retry_on;                   // empty: never retry
    unsigned max_attempts = 1;          // total attempts, the first included; 1 = no retries
    bool retry_non_idempotent = false;  // route opt-in for POST, PATCH, ... (still needs a replayable body)
  };

  explicit RetryPolicy(Options options) : options_(options) {}

  // The decision for one failed attempt, checked in this order: retryOn, attempts, connect
  // failure (always safe), replayable body, idempotent method. The first rule that refuses names
  // the reason; kRetry otherwise.
  RetryReason decide(const AttemptInfo& attempt) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace flexgate::upstream
