#include "observe/log_sampling.h"

#include <cstring>

namespace flexgate::observe {

std::uint64_t sampling_hash(std::string_view correlation_id) {
  // FNV-1a over 64-bit words (an ID is 16-36 characters: a byte per step cost ~7 instructions per
  // character on every request), each word's high bits folded down so they reach the next
  // multiply; the last < 8 bytes one at a time.
  std::uint64_t h = 14695981039346656037ull;
  std::size_t i = 0;
  for (; i + 8 <= correlation_id.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, correlation_id.data() + i, sizeof word);
    h ^= word;
    h *= 1099511628211ull;
    h ^= h >> 32;
  }
  for (; i < correlation_id.size(); ++i) {
    h ^= static_cast<unsigned char>(correlation_id[i]);
    h *= 1099511628211ull;
  }
  // FNV alone leaves IDs that differ in their last characters close together in the high bits.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

bool keep_access_line(std::string_view correlation_id, bool is_error, const config::SamplingSpec& sampling) {
  const double rate = is_error ? sampling.error_rate : sampling.success_rate;
  if (!(rate > 0.0)) return false;  // also NaN
  if (rate >= 1.0) return true;
  // rate < 1 is at most 1 - 2^-53, so the threshold is below 2^64 and converts exactly (scaling
  // by a power of two is exact: the same value as std::ldexp(rate, 64), without the call).
  const auto threshold = static_cast<std::uint64_t>(rate * 0x1p64);
  return sampling_hash(correlation_id) < threshold;
}

}  // namespace flexgate::observe
