#pragma once
// Correlation IDs: a client's ID is kept when it is a sane token, otherwise a new one is made.

#include <cstddef>
#include <string>
#include <string_view>

namespace flexgate::observe {

inline constexpr std::size_t kMaxCorrelationIdLength = 128;

// 1..128 visible ASCII characters (0x21-0x7E), excluding '"' and '\' so it is safe in JSON and logs.
bool is_sane_correlation_id(std::string_view id);

// Writes a new unique ID (32 lower-case hex chars: a random per-thread prefix and a counter) into
// `out`, replacing its content. No syscall, no lock.
void generate_correlation_id(std::string& out);

}  // namespace flexgate::observe
