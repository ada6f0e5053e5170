#pragma once
// Token buckets kept in memory, shared by every worker thread and carried across config reloads.
//
// Arithmetic (exact, no drift): a bucket of capacity C refilled over a window of W milliseconds
// stores its level in units of 1/W token, so one token is W units, a full bucket is C*W units and
// one elapsed millisecond adds exactly C units. Everything is an integer; refill never rounds.
// A request takes one token (W units) when the level holds at least that many.
// Limits: C <= 1e9 and W <= 24h (the config loader's bounds) keep C*W below 2^63.
//
// Memory is bounded: the table is split into shards (each a mutex, a hash index and an LRU list);
// a shard holds at most `max_entries_per_shard` buckets. When a new bucket needs room, the least
// recently used buckets that are full again are dropped first (an idle full bucket carries no
// state: a new bucket starts full), and only then the least recently used bucket is evicted,
// counted in evictions(). An evicted bucket that was not full forgets what its key had spent.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace flexgate::policy {

// One bucket's answer. `limit_name` and `message` are left empty by the table and filled in by
// the policy that owns the limit.
struct RateLimitDecision {
  bool allowed = true;
  std::string_view limit_name;               // "global", "per-route", "route"
  std::uint64_t limit = 0;                   // the bucket's capacity (`max`)
  std::uint64_t remaining = 0;               // whole tokens left (after this request's token, if taken)
  std::chrono::milliseconds retry_after{0};  // refused: time until one token is back; else 0
  std::chrono::milliseconds reset{0};        // time until the bucket is full again (0 = full)
  std::string_view message;
};

// One bucket a request must take a token from.
struct BucketRequest {
  std::string_view key;  // the bucket's identity; callers prefix it with the level so levels are independent
  std::uint64_t capacity = 0;
  std::chrono::milliseconds window{0};
};

class TokenBucketTable {
 public:
  struct Options {
    std::size_t shards = 64;
    std::size_t max_entries_per_shard = 4096;  // 64 x 4096 = 262144 buckets at most by default
  };
  // The most buckets one decide_all() call may name (three levels are used today).
  static constexpr std::size_t kMaxBucketsPerDecision = 8;

  TokenBucketTable();
  explicit TokenBucketTable(Options options);
  TokenBucketTable(const TokenBucketTable&) = delete;
  TokenBucketTable& operator=(const TokenBucketTable&) = delete;

  // All or nothing: refills every named bucket at `now`, then takes one token from each of them
  // if every one has a token, else from none. Returns the index of the first bucket that refused,
  // or requests.size() when the request is allowed. `out[i]` describes bucket i as it is left
  // (remaining tokens, reset; retry_after for each bucket that has no token). The shards involved
  // are locked together (in shard order), so concurrent callers never over-admit.
  // `out.size()` must be >= requests.size() and requests.size() <= kMaxBucketsPerDecision.
  // A zero capacity refuses (retry_after = window); a zero window counts as 1ms.
  std::size_t decide_all(std::span<const BucketRequest> requests, std::chrono::steady_clock::time_point now,
                         std::span<RateLimitDecision> out);

  // One bucket: decide_all() with a single request.
  RateLimitDecision decide(std::string_view key, std::uint64_t capacity, std::chrono::milliseconds window,
                           std::chrono::steady_clock::time_point now);

  // Drops every bucket that is full again at `now` (for a periodic sweep; decide_all already
  // sweeps a shard's oldest entries when it needs room). Returns how many were dropped.
  std::size_t expire_idle(std::chrono::steady_clock::time_point now);

  std::size_t size() const;      // buckets held, all shards
  std::size_t capacity() const;  // the most buckets the table may hold
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  std::uint64_t expirations() const { return expirations_.load(std::memory_order_relaxed); }

 private:
  struct Bucket {
    std::uint64_t level = 0;     // in 1/window tokens
    std::int64_t last_ms = 0;    // the steady clock (ms) the level was computed at; never goes back
    std::uint64_t capacity = 0;  // the limit the level was computed for (rescaled when it changes)
    std::uint64_t window_ms = 0;
  };
  struct Node {
    std::string key;
    Bucket bucket;
  };
  using Lru = std::list<Node>;  // most recently used first
  struct alignas(64) Shard {
    std::mutex mutex;
    Lru lru;
    std::unordered_map<std::string_view, Lru::iterator> index;  // keys view into the list nodes
  };

  std::size_t shard_of(std::string_view key) const;
  // Finds or creates the bucket for `key` (locked shard), making room first when the shard is full.
  Bucket& bucket_for(Shard& shard, std::string_view key, std::uint64_t capacity, std::uint64_t window_ms,
                     std::int64_t now_ms);

  Options options_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> expirations_{0};
};

}  // namespace flexgate::policy
