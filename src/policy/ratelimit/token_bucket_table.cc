#include "policy/ratelimit/token_bucket_table.h"

#include <algorithm>
#include <cassert>
#include <functional>

namespace flexgate::policy {
namespace {

using std::chrono::milliseconds;

// The config loader's bounds; clamping to them keeps capacity * window below 2^63.
constexpr std::uint64_t kMaxCapacity = 1'000'000'000;
constexpr std::uint64_t kMaxWindowMs = 24ULL * 60 * 60 * 1000;

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

std::int64_t to_ms(std::chrono::steady_clock::time_point now) {
  return std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
}

// The level `bucket` has at `now_ms` at its stored rate, without changing it.
std::uint64_t level_at(const auto& bucket, std::int64_t now_ms) {
  const std::uint64_t full = bucket.capacity * bucket.window_ms;
  if (now_ms <= bucket.last_ms) return bucket.level;
  const auto elapsed = static_cast<std::uint64_t>(now_ms - bucket.last_ms);
  if (elapsed >= bucket.window_ms) return full;
  return std::min(full, bucket.level + elapsed * bucket.capacity);
}

bool full_at(const auto& bucket, std::int64_t now_ms) {
  return level_at(bucket, now_ms) >= bucket.capacity * bucket.window_ms;
}

// Brings `bucket` to `now_ms` under the limit (capacity, window_ms). When the limit changed (a
// reload), the whole tokens it held are kept (at most the new capacity), the fraction rescaled.
void refill(auto& bucket, std::uint64_t capacity, std::uint64_t window_ms, std::int64_t now_ms) {
  bucket.level = level_at(bucket, now_ms);
  bucket.last_ms = std::max(bucket.last_ms, now_ms);  // concurrent callers may pass an older `now`
  if (bucket.capacity != capacity || bucket.window_ms != window_ms) {
    const std::uint64_t tokens = bucket.level / bucket.window_ms;
    const std::uint64_t fraction = bucket.level % bucket.window_ms * window_ms / bucket.window_ms;
    bucket.level = std::min(capacity * window_ms, std::min(tokens, capacity) * window_ms + fraction);
    bucket.capacity = capacity;
    bucket.window_ms = window_ms;
  }
}

}  // namespace

TokenBucketTable::TokenBucketTable() : TokenBucketTable(Options{}) {}

TokenBucketTable::TokenBucketTable(Options options) : options_(options) {
  options_.shards = std::max<std::size_t>(options_.shards, 1);
  // One decision's own buckets are the most recently used of their shard: room for all of them
  // means making room never drops a bucket the same decision is using.
  options_.max_entries_per_shard = std::max(options_.max_entries_per_shard, kMaxBucketsPerDecision);
  shards_ = std::make_unique<Shard[]>(options_.shards);
}

std::size_t TokenBucketTable::shard_of(std::string_view key) const {
  return std::hash<std::string_view>{}(key) % options_.shards;
}

TokenBucketTable::Bucket& TokenBucketTable::bucket_for(Shard& shard, std::string_view key,
                                                       std::uint64_t capacity, std::uint64_t window_ms,
                                                       std::int64_t now_ms) {
  if (auto found = shard.index.find(key); found != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);  // iterators stay valid
    return found->second->bucket;
  }
  auto drop_last = [&shard] {
    shard.index.erase(std::string_view(shard.lru.back().key));
    shard.lru.pop_back();
  };
  // Idle buckets that are full again carry nothing: drop those first, oldest first.
  while (shard.lru.size() >= options_.max_entries_per_shard && full_at(shard.lru.back().bucket, now_ms)) {
    drop_last();
    expirations_.fetch_add(1, std::memory_order_relaxed);
  }
  if (shard.lru.size() >= options_.max_entries_per_shard) {
    drop_last();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(Node{std::string(key), Bucket{capacity * window_ms, now_ms, capacity, window_ms}});
  shard.index.emplace(std::string_view(shard.lru.front().key), shard.lru.begin());
  return shard.lru.front().bucket;
}

std::size_t TokenBucketTable::decide_all(std::span<const BucketRequest> requests,
                                         std::chrono::steady_clock::time_point now,
                                         std::span<RateLimitDecision> out) {
  assert(requests.size() <= kMaxBucketsPerDecision);
  assert(out.size() >= requests.size());
  const std::size_t count = requests.size();
  const std::int64_t now_ms = to_ms(now);

  // Lock every shard involved, each once, in shard order (no deadlock between callers).
  std::array<std::size_t, kMaxBucketsPerDecision> shard_index{};
  std::array<std::size_t, kMaxBucketsPerDecision> order{};
  for (std::size_t i = 0; i < count; ++i) {
    assert(std::none_of(requests.begin(), requests.begin() + static_cast<std::ptrdiff_t>(i),
                        [&](const BucketRequest& r) { return r.key == requests[i].key; }));
    shard_index[i] = shard_of(requests[i].key);
    order[i] = shard_index[i];
  }
  // g++ 12 draws a false -Warray-bounds from this sort in the profile-guided build, which
  // inlines it differently: count <= order.size() is asserted above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
#pragma GCC diagnostic pop
  std::array<std::unique_lock<std::mutex>, kMaxBucketsPerDecision> locks;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0 && order[i] == order[i - 1]) continue;
    locks[i] = std::unique_lock(shards_[order[i]].mutex);
  }

  // Refill and check every bucket first; take only when all of them have a token.
  std::array<Bucket*, kMaxBucketsPerDecision> buckets{};
  std::size_t refused = count;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t capacity = std::min(requests[i].capacity, kMaxCapacity);
    const std::uint64_t window_ms = std::clamp<std::uint64_t>(
        static_cast<std::uint64_t>(std::max<std::int64_t>(requests[i].window.count(), 1)), 1, kMaxWindowMs);
    if (capacity == 0) {
      out[i] = RateLimitDecision{false, {}, 0, 0, milliseconds(window_ms), milliseconds(0), {}};
      if (refused == count) refused = i;
      continue;
    }
    Bucket& bucket = bucket_for(shards_[shard_index[i]], requests[i].key, capacity, window_ms, now_ms);
    refill(bucket, capacity, window_ms, now_ms);
    buckets[i] = &bucket;
    if (bucket.level < window_ms && refused == count) refused = i;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Bucket* bucket = buckets[i];
    if (bucket == nullptr) continue;  // zero capacity, already answered
    if (refused == count) bucket->level -= bucket->window_ms;
    const std::uint64_t full = bucket->capacity * bucket->window_ms;
    RateLimitDecision& decision = out[i];
    decision = RateLimitDecision{};
    decision.allowed = bucket->level >= bucket->window_ms || refused == count;
    decision.limit = bucket->capacity;
    decision.remaining = bucket->level / bucket->window_ms;
    decision.reset = milliseconds(ceil_div(full - bucket->level, bucket->capacity));
    if (!decision.allowed) {
      decision.retry_after = milliseconds(ceil_div(bucket->window_ms - bucket->level, bucket->capacity));
    }
  }
  return refused;
}

RateLimitDecision TokenBucketTable::decide(std::string_view key, std::uint64_t capacity,
                                           std::chrono::milliseconds window,
                                           std::chrono::steady_clock::time_point now) {
  const BucketRequest request{key, capacity, window};
  RateLimitDecision decision;
  decide_all(std::span(&request, 1), now, std::span(&decision, 1));
  return decision;
}

std::size_t TokenBucketTable::expire_idle(std::chrono::steady_clock::time_point now) {
  const std::int64_t now_ms = to_ms(now);
  std::size_t dropped = 0;
  for (std::size_t s = 0; s < options_.shards; ++s) {
    Shard& shard = shards_[s];
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      if (full_at(it->bucket, now_ms)) {
        shard.index.erase(std::string_view(it->key));
        it = shard.lru.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  expirations_.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

std::size_t TokenBucketTable::size() const {
  std::size_t total = 0;
  for (std::size_t s = 0; s < options_.shards; ++s) {
    std::lock_guard lock(shards_[s].mutex);
    total += shards_[s].lru.size();
  }
  return total;
}

std::size_t TokenBucketTable::capacity() const {
  return options_.shards * options_.max_entries_per_shard;
}

}  // namespace flexgate::policy
