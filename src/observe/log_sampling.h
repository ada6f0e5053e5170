#pragma once
// Access-log sampling: whether a request's access line is written, decided from its correlation
// ID alone so that every line (and every gateway) that sees the same ID decides the same way.

#include <cstdint>
#include <string_view>

#include "config/schema.h"

namespace flexgate::observe {

// A well-mixed 64-bit hash of the ID (FNV-1a over 64-bit words, then a MurmurHash3 finalizer).
std::uint64_t sampling_hash(std::string_view correlation_id);

// True when the line is kept: hash(id) < rate × 2^64, with `errorRate` for errors (status >= 500
// or refused by a policy) and `successRate` otherwise. Rate 1 keeps all, 0 none. The thresholds
// nest, so an ID kept at a low rate is kept at every higher one.
bool keep_access_line(std::string_view correlation_id, bool is_error, const config::SamplingSpec& sampling);

}  // namespace flexgate::observe
