#pragma once
// W3C Trace Context, level 1 (https://www.w3.org/TR/trace-context/): parsing and validating the
// `traceparent` and `tracestate` request headers, making new trace and span ids, and formatting
// them. Sans-I/O: no socket, no lock, no allocation (formatting appends to the caller's string).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flexgate::observe {

// 16-byte trace id and 8-byte span id, big-endian as they appear in hex. Never all zero when valid.
using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

inline constexpr std::uint8_t kTraceFlagSampled = 0x01;
// "00-" + 32 + "-" + 16 + "-" + 2.
inline constexpr std::size_t kTraceparentLength = 55;
inline constexpr std::size_t kMaxTracestateMembers = 32;
inline constexpr std::size_t kMaxTracestateLength = 512;

// The caller's position in a trace, as read from `traceparent` (or made by new_trace()).
struct TraceContext {
  TraceId trace_id{};
  SpanId parent_id{};      // the caller's span: the parent of the span the gateway records
  std::uint8_t flags = 0;  // as received; append_traceparent() clears the bits level 1 leaves undefined

  bool sampled() const { return (flags & kTraceFlagSampled) != 0; }
};

// Parses a `traceparent` value strictly: `00-<32 lhex>-<16 lhex>-<2 lhex>` and nothing more for
// version 00; for a higher version (not "ff") the first 55 characters in that shape, followed by
// the end or '-' (the forward-compatibility rule). Lower-case hex only; all-zero ids are invalid.
// Leading/trailing spaces and tabs (HTTP OWS) are ignored. nullopt: the caller starts a new trace
// (and drops `tracestate`). A request with several `traceparent` fields is invalid too: the caller
// must not pass a combined value (it fails the length check anyway).
std::optional<TraceContext> parse_traceparent(std::string_view value);

// Whether a `tracestate` value (several fields joined with ',') follows the level 1 grammar:
// comma-separated `key=value` members with optional spaces/tabs around them, empty members
// allowed, at most 32 non-empty members, unique keys, at most 512 characters in all.
// key: lcalpha then up to 255 of [a-z0-9_-*/], or `tenant@system` (tenant: [a-z0-9] then up to
// 240 of those; system: lcalpha then up to 13). value: 1-256 of 0x20-0x7E except ',' and '=', not
// ending in a space. An empty or blank value is valid (nothing to forward). false: drop the header.
bool valid_tracestate(std::string_view value);

// A new random span id (never all zero) from a per-thread PRNG seeded from std::random_device.
// Not cryptographic: ids are unique, not secret.
SpanId new_span_id();
// A new random trace id (never all zero), same generator as new_span_id().
TraceId new_trace_id();
// A new root: a new trace id, and in parent_id a new span id, which is the id of the gateway's own
// span (the one sent upstream as parent, and exported with no parent). flags: sampled or not.
TraceContext new_trace(bool sampled);

// Appends the lower-case hex of `bytes` (2 characters per byte).
void append_hex(std::string& out, std::span<const std::uint8_t> bytes);
// Appends a version 00 `traceparent` value (55 characters). Only the sampled bit of `flags` is
// kept: level 1 says flags it does not define must be sent as zero.
void append_traceparent(std::string& out, const TraceId& trace_id, const SpanId& span_id, std::uint8_t flags);
// The same value written at `out`, which has room for kTraceparentLength characters.
void write_traceparent(char* out, const TraceId& trace_id, const SpanId& span_id, std::uint8_t flags);
// Lower-case hex of an id in a fixed buffer, for logs: std::string_view(hex.data(), hex.size()).
std::array<char, 32> trace_id_hex(const TraceId& trace_id);
std::array<char, 16> span_id_hex(const SpanId& span_id);

}  // namespace flexgate::observe
