#pragma once
// Signatures already accepted, so a captured signed request cannot be sent again while its
// timestamp is still inside the accepted clock skew.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <queue>
#include <span>
#include <unordered_map>
#include <vector>

namespace flexgate::policy {

// Accepted HMAC signatures, remembered until their timestamp leaves the window. One per process:
// shared by every worker thread and carried across reloads (AuthPolicy::build takes the previous
// one), so a reload never reopens a window. Thread-safe; memory bounded by `capacity` entries.
class ReplayCache {
 public:
  // About 80 bytes per live entry: 1 Mi entries cap the cache near 80 MiB, enough for ~1700 signed
  // requests per second sustained over a 10-minute window (a timestamp may be up to maxSkew ahead).
  static constexpr std::size_t kDefaultCapacity = std::size_t{1} << 20;

  enum class Outcome : std::uint8_t {
    kFresh,    // first use: recorded, the request may pass
    kReplay,   // already used and still remembered: refuse (403)
    kExpired,  // at or before the newest timestamp already forgotten: freshness cannot be proven (401)
    kFull,     // capacity reached with live entries: refuse rather than forget (fail closed)
  };

  explicit ReplayCache(std::size_t capacity = kDefaultCapacity);
  ReplayCache(const ReplayCache&) = delete;
  ReplayCache& operator=(const ReplayCache&) = delete;

  // An entry lives while now <= its timestamp + retention. Only ever grows: shrinking it on a reload
  // would forget signatures an older, wider maxSkew may still accept in flight.
  void retain_at_least(std::int64_t seconds);
  std::int64_t retention() const { return retention_.load(std::memory_order_relaxed); }

  // Records `signature` (signed at `timestamp`, unix seconds) unless it was seen. Call only after
  // the signature was verified, so forged requests cannot fill the cache. `now` drives expiry.
  Outcome remember(std::span<const std::uint8_t, 32> signature, std::int64_t timestamp, std::int64_t now);

  std::size_t size() const;  // remembered entries (live, or expired but not yet purged)
  std::size_t capacity() const { return shard_capacity_ * kShards; }

 private:
  // The first 128 bits of the signature: an HMAC output, so collisions are out of reach.
  struct Id {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    friend bool operator==(const Id&, const Id&) = default;
  };
  struct IdHash {
    std::size_t operator()(const Id& id) const { return static_cast<std::size_t>(id.low); }
  };
  struct Stamp {
    std::int64_t timestamp = 0;
    Id id;
  };
  struct LaterFirst {
    bool operator()(const Stamp& a, const Stamp& b) const { return a.timestamp > b.timestamp; }
  };
  // Sharded by signature bits so worker threads rarely wait on each other's lock.
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<Id, std::int64_t, IdHash> timestamps;            // signature -> its timestamp
    std::priority_queue<Stamp, std::vector<Stamp>, LaterFirst> oldest;  // expiry order, oldest on top
    // Newest timestamp purged so far: a signature at or before it might have been forgotten.
    std::int64_t forgotten_through = std::numeric_limits<std::int64_t>::min();
  };
  static constexpr std::size_t kShards = 16;

  void purge(Shard& shard, std::int64_t now) const;

  std::array<Shard, kShards> shards_;
  std::size_t shard_capacity_;
  std::atomic<std::int64_t> retention_{0};
};

}  // namespace flexgate::policy
