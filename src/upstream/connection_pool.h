#pragma once
// Per-worker keep-alive pools of upstream connections, one idle list per target. Only the owning
// worker touches its pool, so there are no locks.

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "core/block_pool.h"
#include "core/byte_buffer.h"
#include "net/asio.h"
#include "net/deadline.h"
#include "net/socket_io.h"
#include "net/stream.h"

namespace flexgate::upstream {

// The read buffer of an upstream connection: room for a large response head and big body reads.
inline constexpr std::size_t kUpstreamBufferCapacity = 64 * 1024;

// An open connection to one target, with its read buffer (whose storage it lends to its pool's
// spare blocks while idle).
struct UpstreamConnection {
  UpstreamConnection(const net::Executor& executor, std::unique_ptr<char[]> buffer_storage, std::size_t target)
      : stream(executor), buffer(std::move(buffer_storage), kUpstreamBufferCapacity), target_id(target) {}

  net::Stream stream;  // TLS once the handshake of an https:// target is done
  ByteBuffer buffer;   // without storage while idle in a pool
  std::size_t target_id;
  net::Clock::time_point expires_at{};  // while idle in the pool
  std::uint32_t requests_served = 0;    // 0 = fresh connection
  net::ReadGuess response_guess;        // whether a response is usually there right after its request
};

// Idle connections of one worker, by target id, and the spare buffer blocks of its connections:
// an idle connection holds no buffer memory.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::size_t target_count) : idle_(target_count) {}

  // A new connection to `target_id`, its buffer on a spare block.
  std::unique_ptr<UpstreamConnection> open(const net::Executor& executor, std::size_t target_id);
  // The most recently used idle connection to `target_id` that has not expired (with buffer
  // storage again), or nullptr.
  std::unique_ptr<UpstreamConnection> take(std::size_t target_id, net::Clock::time_point now);
  // Returns a connection for reuse; closes it instead when the target already has `max_idle`.
  void put(std::unique_ptr<UpstreamConnection> connection, net::Clock::time_point now,
           std::chrono::milliseconds idle_timeout, unsigned max_idle);
  // A connection that is not reused: closes it and keeps its buffer's block.
  void discard(std::unique_ptr<UpstreamConnection> connection);
  // Frees the spare blocks that no connection needed since the last call (call it every few
  // seconds); returns how many.
  std::size_t trim_spare_buffers() { return blocks_.trim(); }
  std::size_t spare_buffers() const { return blocks_.spare(); }
  // Closes every idle connection whose idle timeout has passed.
  void close_expired(net::Clock::time_point now);
  // Closes everything (shutdown).
  void close_all();
  // For a new snapshot: a pool of `target_count` targets holding the idle connections of every
  // target that `new_id_of[old id]` maps to a new id (>= 0); the others are closed. Unchanged
  // upstreams keep their warm connections across a reload; removed or changed ones drain.
  ConnectionPool carry_over(std::span<const std::ptrdiff_t> new_id_of, std::size_t target_count);
  std::size_t idle_count() const { return idle_total_; }

 private:
  // Front = oldest, back = most recently returned. A vector: connections come and go at the back
  // (the front only loses one when a target is over its max_idle).
  std::vector<std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  std::size_t idle_total_ = 0;  // over every target: the pool gauge is set per request
  BlockPool blocks_{kUpstreamBufferCapacity};
};

}  // namespace flexgate::upstream
