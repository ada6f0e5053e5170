#include "policy/loadshed/load_shedder.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

namespace flexgate::policy {
namespace {

constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

std::size_t index_of(Priority priority) {
  return static_cast<std::size_t>(priority);
}

// floor(limit * fraction), computed in millionths so 0.7 * 10 is exactly 7 and nothing overflows.
std::uint64_t fraction_of(std::uint64_t limit, double fraction) {
  constexpr std::uint64_t kMillion = 1'000'000;
  const double clamped = fraction >= 0 ? std::min(fraction, 1.0) : 0.0;  // NaN -> 0
  const auto ppm = static_cast<std::uint64_t>(std::llround(clamped * 1e6));
  return limit / kMillion * ppm + limit % kMillion * ppm / kMillion;
}

}  // namespace

std::optional<Priority> parse_priority(std::string_view word, std::string& error) {
  if (word == "critical") return Priority::kCritical;
  if (word == "normal") return Priority::kNormal;
  if (word == "low") return Priority::kLow;
  error = "unknown priority \"" + std::string(word) + "\" (expected critical, normal or low)";
  return std::nullopt;
}

std::string_view to_string(Priority priority) {
  switch (priority) {
    case Priority::kCritical:
      return "critical";
    case Priority::kNormal:
      return "normal";
    case Priority::kLow:
      return "low";
  }
  return "unknown";
}

std::string_view to_string(ShedReason reason) {
  switch (reason) {
    case ShedReason::kNone:
      return "none";
    case ShedReason::kHardLimit:
      return "hard_limit";
    case ShedReason::kNormalThreshold:
      return "normal_threshold";
    case ShedReason::kLowThreshold:
      return "low_threshold";
    case ShedReason::kConnectionLimit:
      return "connection_limit";
  }
  return "unknown";
}

LoadShedder::Ticket::Ticket(Ticket&& other) noexcept
    : counter_(std::exchange(other.counter_, nullptr)),
      reason_(std::exchange(other.reason_, ShedReason::kNone)),
      retry_after_(std::exchange(other.retry_after_, std::chrono::seconds(0))) {}

LoadShedder::Ticket& LoadShedder::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    counter_ = std::exchange(other.counter_, nullptr);
    reason_ = std::exchange(other.reason_, ShedReason::kNone);
    retry_after_ = std::exchange(other.retry_after_, std::chrono::seconds(0));
  }
  return *this;
}

void LoadShedder::Ticket::release() {
  if (counter_ == nullptr) return;
  // Relaxed: the counter guards no other data.
  [[maybe_unused]] const std::uint64_t before = counter_->fetch_sub(1, std::memory_order_relaxed);
  assert(before > 0);
  counter_ = nullptr;
}

LoadShedder::LoadShedder() : LoadShedder(Options{}) {}

LoadShedder::LoadShedder(const Options& options) {
  reconfigure(options);
}

void LoadShedder::reconfigure(const Options& options) {
  const std::uint64_t hard = options.max_in_flight == 0 ? kUnlimited : options.max_in_flight;
  std::uint64_t normal = hard;
  std::uint64_t low = hard;
  if (options.max_in_flight != 0) {
    normal = fraction_of(hard, options.normal_shed_at);
    low = std::min(fraction_of(hard, options.low_shed_at), normal);  // low is never shed after normal
  }
  limits_[index_of(Priority::kCritical)].store(hard, std::memory_order_relaxed);
  limits_[index_of(Priority::kNormal)].store(normal, std::memory_order_relaxed);
  limits_[index_of(Priority::kLow)].store(low, std::memory_order_relaxed);
  connection_limit_.store(options.max_connections == 0 ? kUnlimited : options.max_connections,
                          std::memory_order_relaxed);
  retry_after_s_.store(std::max<std::int64_t>(options.retry_after.count(), 0), std::memory_order_relaxed);
}

bool LoadShedder::try_take(std::atomic<std::uint64_t>& counter, std::uint64_t limit, std::uint64_t& seen) {
  seen = counter.load(std::memory_order_relaxed);
  do {
    if (seen >= limit) return false;
  } while (!counter.compare_exchange_weak(seen, seen + 1, std::memory_order_relaxed));
  return true;
}

LoadShedder::Ticket LoadShedder::admit(Priority priority) {
  std::uint64_t seen = 0;
  if (try_take(in_flight_, limits_[index_of(priority)].load(std::memory_order_relaxed), seen)) {
    return Ticket(&in_flight_);
  }
  shed_[index_of(priority)].fetch_add(1, std::memory_order_relaxed);
  // Name the hard limit when it was reached (whatever the priority), else the priority's threshold.
  ShedReason reason = ShedReason::kHardLimit;
  if (seen < limits_[index_of(Priority::kCritical)].load(std::memory_order_relaxed)) {
    if (priority == Priority::kNormal) reason = ShedReason::kNormalThreshold;
    if (priority == Priority::kLow) reason = ShedReason::kLowThreshold;
  }
  return Ticket(reason, std::chrono::seconds(retry_after_s_.load(std::memory_order_relaxed)));
}

LoadShedder::Ticket LoadShedder::admit_connection() {
  std::uint64_t seen = 0;
  if (try_take(connections_, connection_limit_.load(std::memory_order_relaxed), seen))
    return Ticket(&connections_);
  connections_refused_.fetch_add(1, std::memory_order_relaxed);
  return Ticket(ShedReason::kConnectionLimit,
                std::chrono::seconds(retry_after_s_.load(std::memory_order_relaxed)));
}

std::uint64_t LoadShedder::shed(Priority priority) const {
  return shed_[index_of(priority)].load(std::memory_order_relaxed);
}

}  // namespace flexgate::policy
