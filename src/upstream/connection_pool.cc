#include "upstream/connection_pool.h"

namespace flexgate::upstream {

std::unique_ptr<UpstreamConnection> ConnectionPool::open(const net::Executor& executor, std::size_t target_id) {
  return std::make_unique<UpstreamConnection>(executor, blocks_.take(), target_id);
}

std::unique_ptr<UpstreamConnection> ConnectionPool::take(std::size_t target_id, net::Clock::time_point now) {
  if (target_id >= idle_.size()) return nullptr;
  auto& list = idle_[target_id];
  while (!list.empty()) {
    auto connection = std::move(list.back());
    list.pop_back();
    --idle_total_;
    if (connection->expires_at > now) {
      connection->buffer.adopt_storage(blocks_.take());
      return connection;
    }
    // Expired: dropping it closes the socket.
  }
  return nullptr;
}

void ConnectionPool::discard(std::unique_ptr<UpstreamConnection> connection) {
  if (connection && connection->buffer.has_storage()) blocks_.give(connection->buffer.release_storage());
}

void ConnectionPool::put(std::unique_ptr<UpstreamConnection> connection, net::Clock::time_point now,
                         std::chrono::milliseconds idle_timeout, unsigned max_idle) {
  std::size_t target_id = connection->target_id;
  // An id this pool does not know belongs to another config snapshot: never pool it.
  if (target_id >= idle_.size() || max_idle == 0) {
    discard(std::move(connection));
    return;
  }
  auto& list = idle_[target_id];
  if (list.size() >= max_idle) {
    list.erase(list.begin());
    --idle_total_;
  }
  connection->expires_at = now + idle_timeout;
  if (connection->buffer.has_storage()) blocks_.give(connection->buffer.release_storage());
  list.push_back(std::move(connection));
  ++idle_total_;
}

void ConnectionPool::close_expired(net::Clock::time_point now) {
  for (auto& list : idle_) {
    // Oldest first; expiry times grow along the list only when timeouts are equal, so scan all.
    for (auto it = list.begin(); it != list.end();) {
      if ((*it)->expires_at <= now) {
        it = list.erase(it);
        --idle_total_;
      } else {
        ++it;
      }
    }
  }
}

void ConnectionPool::close_all() {
  for (auto& list : idle_) list.clear();
  idle_total_ = 0;
}

ConnectionPool ConnectionPool::carry_over(std::span<const std::ptrdiff_t> new_id_of, std::size_t target_count) {
  ConnectionPool next(target_count);
  next.blocks_ = std::move(blocks_);
  for (std::size_t old_id = 0; old_id < idle_.size(); ++old_id) {
    const std::ptrdiff_t new_id = old_id < new_id_of.size() ? new_id_of[old_id] : -1;
    if (new_id < 0 || static_cast<std::size_t>(new_id) >= target_count) continue;  // closed below
    for (auto& connection : idle_[old_id]) {
      connection->target_id = static_cast<std::size_t>(new_id);
      next.idle_[static_cast<std::size_t>(new_id)].push_back(std::move(connection));
      ++next.idle_total_;
    }
  }
  close_all();
  return next;
}


}  // namespace flexgate::upstream
