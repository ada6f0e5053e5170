#include "upstream/breaker/circuit_breaker.h"

#include <algorithm>
#include <cassert>

namespace flexgate::upstream {
namespace {

using std::chrono::seconds;

CircuitBreakerOptions clamped(CircuitBreakerOptions options) {
  options.failure_threshold_percent = std::clamp(options.failure_threshold_percent, 1u, 100u);
  options.minimum_requests = std::max(options.minimum_requests, 1u);
  options.window = std::max(options.window, std::chrono::milliseconds(1));
  options.open_duration = std::max(options.open_duration, std::chrono::milliseconds(0));
  options.half_open_requests = std::max(options.half_open_requests, 1u);
  if (options.probe_timeout <= std::chrono::milliseconds(0)) options.probe_timeout = options.open_duration;
  options.probe_timeout = std::max(options.probe_timeout, std::chrono::milliseconds(1));
  return options;
}

}  // namespace

std::string_view to_string(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options)
    : options_(clamped(options)),
      // Rounded up, so kBuckets buckets always span at least the whole window.
      bucket_width_((std::chrono::duration_cast<Duration>(options_.window) + Duration(kBuckets - 1)) /
                    kBuckets) {
  probes_.reserve(options_.half_open_requests);
}

CircuitBreaker::TimePoint CircuitBreaker::advance(TimePoint now) {
  latest_ = std::max(latest_, now);
  return latest_;
}

void CircuitBreaker::record(bool failure, TimePoint now) {
  const std::int64_t index = now.time_since_epoch() / bucket_width_;
  constexpr auto count = static_cast<std::int64_t>(kBuckets);
  Bucket& bucket = buckets_[static_cast<std::size_t>((index % count + count) % count)];
  if (!bucket.used || bucket.index != index) bucket = Bucket{index, true, 0, 0};  // reuse an old slice
  ++bucket.total;
  if (failure) ++bucket.failures;
}

bool CircuitBreaker::should_open(TimePoint now) const {
  const std::int64_t current = now.time_since_epoch() / bucket_width_;
  std::uint64_t total = 0;
  std::uint64_t failures = 0;
  for (const Bucket& bucket : buckets_) {
    // `now` never goes back, so no bucket is newer than `current`.
    if (bucket.used && bucket.index > current - static_cast<std::int64_t>(kBuckets)) {
      total += bucket.total;
      failures += bucket.failures;
    }
  }
  return total >= options_.minimum_requests && failures * 100 >= options_.failure_threshold_percent * total;
}

void CircuitBreaker::reclaim_stale_probes(TimePoint now) {
  // A probe silent for probe_timeout is presumed lost; keeping its slot could wedge Half-open.
  std::erase_if(probes_,
                [&](const Probe& probe) { return now - probe.admitted_at >= options_.probe_timeout; });
}

BreakerTransition CircuitBreaker::move_to(BreakerState to, TimePoint now) {
  const BreakerTransition transition{state_, to};
  assert(transition.from != to);
  state_ = to;
  ++generation_;  // every ticket handed out so far is now stale
  switch (to) {
    case BreakerState::kClosed:
      buckets_ = {};
      break;
    case BreakerState::kOpen:
      open_until_ = now + options_.open_duration;
      break;
    case BreakerState::kHalfOpen:
      probes_.clear();
      probe_successes_ = 0;
      break;
  }
  state_mirror_.store(to, std::memory_order_relaxed);
  transitions_[static_cast<std::size_t>(to)].fetch_add(1, std::memory_order_relaxed);
  return transition;
}

CircuitBreaker::Admission CircuitBreaker::try_acquire(TimePoint now) {
  std::lock_guard lock(mutex_);
  now = advance(now);
  Admission admission;
  if (state_ == BreakerState::kClosed) {
    admission.ticket = Ticket(Ticket::Kind::kClosed, generation_, 0);
    return admission;
  }
  if (state_ == BreakerState::kOpen) {
    if (now < open_until_) {
      admission.retry_after = retry_after_locked(now);
      return admission;
    }
    admission.transition = move_to(BreakerState::kHalfOpen, now);
  }
  assert(state_ == BreakerState::kHalfOpen);
  reclaim_stale_probes(now);
  if (probes_.size() >= options_.half_open_requests) {
    admission.retry_after = retry_after_locked(now);
    return admission;
  }
  probes_.push_back(Probe{++last_probe_id_, now});
  admission.ticket = Ticket(Ticket::Kind::kProbe, generation_, last_probe_id_);
  return admission;
}

std::optional<BreakerTransition> CircuitBreaker::report(const Ticket& ticket, BreakerOutcome outcome,
                                                        TimePoint now) {
  if (!ticket.admitted()) return std::nullopt;
  std::lock_guard lock(mutex_);
  now = advance(now);
  if (ticket.generation_ != generation_) return std::nullopt;  // admitted before a transition

  // Open admits nothing, and entering it starts a generation: a current ticket is Closed or Half-open.
  if (state_ == BreakerState::kClosed) {
    assert(ticket.kind_ == Ticket::Kind::kClosed);
    if (outcome == BreakerOutcome::kAbandoned) return std::nullopt;
    record(outcome == BreakerOutcome::kFailure, now);
    if (should_open(now)) return move_to(BreakerState::kOpen, now);
    return std::nullopt;
  }
  assert(state_ == BreakerState::kHalfOpen && ticket.kind_ == Ticket::Kind::kProbe);
  const auto probe =
      std::find_if(probes_.begin(), probes_.end(), [&](const Probe& p) { return p.id == ticket.probe_id_; });
  if (probe == probes_.end()) return std::nullopt;  // its slot was reclaimed: too late to count
  probes_.erase(probe);
  switch (outcome) {
    case BreakerOutcome::kAbandoned:
      return std::nullopt;
    case BreakerOutcome::kFailure:
      return move_to(BreakerState::kOpen, now);
    case BreakerOutcome::kSuccess:
      if (++probe_successes_ >= options_.half_open_requests) return move_to(BreakerState::kClosed, now);
      return std::nullopt;
  }
  return std::nullopt;
}

std::chrono::seconds CircuitBreaker::retry_after_locked(TimePoint now) const {
  if (state_ == BreakerState::kClosed) return seconds(0);
  if (state_ == BreakerState::kHalfOpen || now >= open_until_) return seconds(1);
  return std::max(seconds(1), std::chrono::ceil<seconds>(open_until_ - now));
}

std::chrono::seconds CircuitBreaker::retry_after(TimePoint now) const {
  std::lock_guard lock(mutex_);
  return retry_after_locked(std::max(now, latest_));
}

}  // namespace flexgate::upstream
