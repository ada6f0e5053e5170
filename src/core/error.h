#pragma once
// The closed set of failure kinds every layer speaks, and the Error value that carries one.

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate {

// Where a failure came from; retry logic and logs read this instead of guessing.
enum class ErrorSource : std::uint8_t { kDownstream, kUpstream, kInternal, kConfig };

// Every failure the gateway can answer with. proxy/local_reply maps each to a status code.
enum class ErrorKind : std::uint8_t {
  kBadRequest,            // malformed or ambiguous request (400)
  kNotFound,              // no route (404)
  kMethodNotAllowed,      // route exists, method does not (405)
  kPayloadTooLarge,       // body over the limit (413)
  kUriTooLong,            // request target over the limit (414)
  kHeaderFieldsTooLarge,  // head or field count over the limit (431)
  kNotImplemented,        // unsupported transfer coding or method (501)
  kVersionNotSupported,   // HTTP version other than 1.0/1.1 (505)
  kClientTimeout,         // client too slow sending its head or body (408)
  kUpstreamConnectFailed, // refused, unreachable (502)
  kUpstreamReset,         // reset or closed mid-exchange (502)
  kBadUpstreamResponse,   // malformed upstream response (502)
  kNoTargetAvailable,     // no target to send to (503)
  kServiceUnavailable,    // a dependency or capacity limit refuses work now (503)
  kUpstreamTimeout,       // upstream connect/response timeout (504)
  kRequestTimeout,        // whole-request deadline passed (504)
  kForbidden,             // policy denied (403)
  kUnauthorized,          // credentials missing (401)
  kTooManyRequests,       // rate limited (429)
  kUnsupportedMediaType,  // body content type not accepted by the route (415)
  kUnprocessableEntity,   // body fails the route's schema (422)
  kUpgradeRequired,       // a WebSocket version the gateway does not speak (426)
  kInternal,              // a bug or resource exhaustion (500)
};

std::string_view to_string(ErrorKind kind);

// A failure as a value: what kind, where from, and a human sentence for logs and error bodies.
struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  ErrorSource source = ErrorSource::kInternal;
  std::string detail;
};

}  // namespace flexgate
