#pragma once
// The shared (Redis) backend of the rate limiter: token buckets kept in Redis so several gateway
// instances share one budget. One RedisRateLimiter per worker, living on that worker's
// io_context; not thread-safe.
//
// Each decide() is one atomic EVALSHA of kRedisTokenBucketScript, which refills and checks every
// bucket of the request with Redis' clock (TIME) and takes a token from each only if all have one
// (all or nothing, the same integer arithmetic as TokenBucketTable), then sets a PEXPIRE of the
// window on the buckets it wrote, so idle buckets disappear (a bucket idle for a window is full
// again, which is the same as absent).
//
// Pipelined (one connection per limiter, lazily opened): every decide() appends its EVALSHA to the
// connection's output at once and waits for its own reply; one writer coroutine flushes the output
// (commands added while a write is in flight go out together in the next one) and one reader
// coroutine hands the replies to the calls in FIFO order. A new connection queues AUTH (when the
// URL has a password), SELECT (db != 0) and SCRIPT LOAD first; calls arriving while it connects
// queue behind them. The script's SHA1 is computed locally, so EVALSHA never waits for SCRIPT
// LOAD's answer. hiredis parses the replies (RedisReplyReader); Asio does the sockets. At most
// Options::max_pending calls wait on the connection; more answer ok=false at once.
//
// NOSCRIPT (script cache flushed, Redis restarted behind a proxy, failover): the call queues
// SCRIPT LOAD (unless one is already queued behind its EVALSHA) and its EVALSHA again, once,
// within its own deadline.
//
// Failures: every call is bounded by `timeout` (connect and reply included). A call that times
// out, a refused/closed connection or a protocol error (garbage or a reply of the wrong shape)
// breaks the connection: it is closed, every call waiting on it answers ok=false at once, and
// until a backoff has passed (exponential from backoff_initial to backoff_max, each delay drawn in
// [d/2, d]) calls answer ok=false without touching the network. The first call after the backoff
// reconnects. An error reply from Redis (OOM, BUSY, LOADING, WRONGTYPE...) answers ok=false for
// that call only and keeps the connection. The caller applies `rateLimit.failMode` on ok=false.
//
// Lifetime: decide() coroutines use the limiter, so destroy it only once no call is running
// (worker teardown after its io_context stopped). The reader, writer and connect coroutines hold
// only the connection's and the calls' shared state, never the limiter. The `levels` span (and
// the keys its entries view) must stay valid until decide() completes.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "net/asio.h"
#include "policy/ratelimit/redis_protocol.h"
#include "policy/ratelimit/token_bucket_table.h"

namespace flexgate::policy {

// The Lua token bucket (see the .cc for the text). KEYS = buckets; ARGV = capacity, window_ms of
// each bucket in turn. Returns {allowed 0/1, refused index (0-based; #KEYS when allowed),
// then per bucket: remaining, retry_after_ms, reset_ms}.
extern const std::string_view kRedisTokenBucketScript;
// Its SHA1 (40 lowercase hex digits): what SCRIPT LOAD answers and EVALSHA names.
const std::string& redis_token_bucket_script_sha();

struct RedisLimitResult {
  bool ok = false;  // false: Redis could not answer (see error); apply failMode
  bool allowed = false;
  std::int64_t remaining = 0;       // the fewest whole tokens left over all levels
  std::int64_t retry_after_ms = 0;  // refused: until the refusing level has a token again
  std::int64_t reset_ms = 0;        // the longest time until a level is full again
  std::string error;
  // Per level, in request order, as TokenBucketTable::decide_all reports them (limit_name and
  // message left empty): lets the policy render RateLimit / Retry-After exactly as for memory.
  std::size_t refused = 0;  // index of the first level without a token; == count when allowed
  std::size_t count = 0;
  std::array<RateLimitDecision, TokenBucketTable::kMaxBucketsPerDecision> levels{};
};

struct RedisLimiterOptions {
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::string key_prefix = "flexgate:rl:";  // prepended to every bucket key
  std::size_t max_pending = 1024;           // calls waiting on the connection; more fail at once
};

class RedisRateLimiter {
 public:
  using Options = RedisLimiterOptions;
  struct Stats {                 // monotonically increasing, for metrics
    std::uint64_t calls = 0;     // decide() calls with at least one level
    std::uint64_t failures = 0;  // answered ok=false (all causes below included)
    std::uint64_t timeouts = 0;  // ... because the timeout passed
    std::uint64_t skipped = 0;   // ... at once, because the connection is in backoff
    std::uint64_t connects = 0;  // successful (re)connections
    std::uint64_t connect_failures = 0;
    std::uint64_t script_loads = 0;   // NOSCRIPT recoveries (SCRIPT LOADs queued again)
    std::uint64_t overflows = 0;      // ... at once, because max_pending calls were waiting
    std::uint64_t max_in_flight = 0;  // the most calls waiting on one connection at once
  };

  RedisRateLimiter(net::Executor executor, RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                   Options options = {});
  ~RedisRateLimiter();
  RedisRateLimiter(const RedisRateLimiter&) = delete;
  RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

  // Takes one token from every level (at most TokenBucketTable::kMaxBucketsPerDecision) or none.
  // No levels: ok and allowed without a round trip.
  net::Task<RedisLimitResult> decide(std::span<const BucketRequest> levels);

  // False while the connection is broken (after a failure, until a reconnection succeeds).
  // True before the first call (the connection is opened lazily).
  bool healthy() const { return healthy_; }
  // True while calls are answered ok=false without trying (backoff not over yet).
  bool in_backoff() const;
  const Stats& stats() const { return stats_; }
  // Closes the connection (in-flight calls fail); the next call after the backoff reconnects.
  void close();

 private:
  struct Call;
  struct Connection;

  std::shared_ptr<Connection> open();
  // A reply arrived on `conn`: the first one marks the connection as up.
  void note_up(Connection& conn);
  // `conn` broke with calls on it: backoff (once per connection; not after close()).
  void note_broken(const std::shared_ptr<Connection>& conn);
  RedisLimitResult failure(std::string error);

  net::Executor executor_;
  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  Options options_;
  std::shared_ptr<Connection> conn_;
  bool healthy_ = true;
  std::chrono::steady_clock::time_point retry_at_{};  // backoff: no attempt before this
  std::chrono::milliseconds backoff_{0};              // 0 = no failure since the last success
  std::minstd_rand random_;
  Stats stats_;
};

}  // namespace flexgate::policy
