#include "policy/auth/replay_cache.h"

#include <algorithm>
#include <cstring>

namespace flexgate::policy {

ReplayCache::ReplayCache(std::size_t capacity)
    : shard_capacity_(std::max<std::size_t>(1, (capacity + kShards - 1) / kShards)) {}

void ReplayCache::retain_at_least(std::int64_t seconds) {
  std::int64_t current = retention_.load(std::memory_order_relaxed);
  while (seconds > current &&
         !retention_.compare_exchange_weak(current, seconds, std::memory_order_relaxed)) {
  }
}

void ReplayCache::purge(Shard& shard, std::int64_t now) const {
  const std::int64_t retention = retention_.load(std::memory_order_relaxed);
  while (!shard.oldest.empty() && shard.oldest.top().timestamp < now - retention) {
    const Stamp stamp = shard.oldest.top();
    shard.oldest.pop();
    shard.timestamps.erase(stamp.id);  // one heap entry per map entry: the id is not re-added while present
    shard.forgotten_through = std::max(shard.forgotten_through, stamp.timestamp);
  }
}

ReplayCache::Outcome ReplayCache::remember(std::span<const std::uint8_t, 32> signature,
                                           std::int64_t timestamp, std::int64_t now) {
  Id id;
  std::memcpy(&id.high, signature.data(), sizeof id.high);
  std::memcpy(&id.low, signature.data() + sizeof id.high, sizeof id.low);
  Shard& shard = shards_[id.high % kShards];

  const std::lock_guard lock(shard.mutex);
  purge(shard, now);
  if (shard.timestamps.contains(id)) return Outcome::kReplay;
  // Another thread with a later clock may already have purged this signature: refuse instead of
  // trusting an absence that proves nothing.
  if (timestamp <= shard.forgotten_through) return Outcome::kExpired;
  if (shard.timestamps.size() >= shard_capacity_) return Outcome::kFull;
  shard.timestamps.emplace(id, timestamp);
  shard.oldest.push(Stamp{timestamp, id});
  return Outcome::kFresh;
}

std::size_t ReplayCache::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    const std::lock_guard lock(shard.mutex);
    total += shard.timestamps.size();
  }
  return total;
}

}  // namespace flexgate::policy
