#include "upstream/retry/backoff.h"

#include <algorithm>

namespace flexgate::upstream {
namespace {

std::chrono::milliseconds clamp_delay(std::chrono::milliseconds value) {
  return std::clamp<std::chrono::milliseconds>(value, std::chrono::milliseconds(0), Backoff::kMaxDelay);
}

}  // namespace

Backoff::Backoff(Options options, std::uint64_t seed) : options_(options), state_(seed) {
  options_.base = clamp_delay(options_.base);
  options_.max = clamp_delay(options_.max);
  options_.min_attempt = clamp_delay(options_.min_attempt);
}

Backoff::Clock::duration Backoff::ceiling(const Options& options, unsigned retry) {
  const Clock::duration base = clamp_delay(options.base);
  const Clock::duration max = clamp_delay(options.max);
  const unsigned shift = std::max(retry, 1u) - 1;
  if (base.count() == 0) return base;
  // base << shift would overflow for a large shift; anything past max is max anyway. After the
  // check base <= max >> shift, so base << shift <= max.
  if (base >= max || shift >= 63 || base.count() > (max.count() >> shift)) return max;
  return Clock::duration(base.count() << shift);
}

std::optional<Backoff::Clock::duration> Backoff::delay_before(unsigned retry, Clock::time_point now,
                                                              Clock::time_point deadline) {
  if (deadline <= now) return std::nullopt;
  const Clock::duration needed = std::max<Clock::duration>(options_.min_attempt, Clock::duration(1));
  Clock::duration longest = ceiling(options_, retry);
  // Compare before subtracting: deadline may be time_point::max() ("no deadline").
  if (deadline != Clock::time_point::max()) {
    const Clock::duration remaining = deadline - now;
    if (remaining <= needed) return std::nullopt;
    longest = std::min(longest, remaining - needed);
  }
  // Modulo bias is below longest / 2^64: irrelevant for delays of at most 24h in nanoseconds.
  const auto span = static_cast<std::uint64_t>(longest.count()) + 1;
  return Clock::duration(static_cast<Clock::rep>(next_random() % span));
}

std::uint64_t Backoff::next_random() {
  // splitmix64 (Steele, Lea, Flood 2014): one add and two multiplies per draw.
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace flexgate::upstream
