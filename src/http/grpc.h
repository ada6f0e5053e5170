#pragma once
// The few pieces of the gRPC-over-HTTP/2 protocol a gateway acts on (grpc/doc/PROTOCOL-HTTP2.md):
// recognising a gRPC request, its grpc-timeout, and the grpc-status / grpc-message fields of a
// gateway's own "Trailers-Only" answer. Sans-I/O, no allocation except into the caller's string.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flexgate::http {

// gRPC status codes (google.rpc.Code) the gateway answers with.
enum class GrpcStatus : std::uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// True for `application/grpc` and `application/grpc+proto` (any `+suffix`, any parameters),
// case-insensitively: the requests the gateway answers in gRPC form.
bool is_grpc_content_type(std::string_view value);

// The longest grpc-timeout taken as given (about 11 years); longer ones are this.
inline constexpr std::chrono::hours kMaxGrpcTimeout{100'000};

// A grpc-timeout value: 1 to 8 ASCII digits and one unit (H M S m u n), at most kMaxGrpcTimeout.
// nullopt when malformed.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value);

// A grpc-status value: decimal digits, at most 10. nullopt when malformed.
std::optional<std::uint32_t> parse_grpc_status(std::string_view value);

// Appends `text` percent-encoded as grpc-message requires: bytes outside 0x20..0x7E and '%'
// become %XX (uppercase hex).
void append_grpc_message(std::string& out, std::string_view text);

}  // namespace flexgate::http
