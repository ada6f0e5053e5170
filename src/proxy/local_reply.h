#pragma once
// The one place that maps an error kind to the response the gateway sends itself:
// status, reason and the JSON body {"error":…,"message":…,"correlationId":…}; for a gRPC request
// a "Trailers-Only" answer instead (200, grpc-status, grpc-message, no body).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "http/grpc.h"
#include "http/head_buffer.h"

namespace flexgate::proxy {

std::uint16_t status_for(ErrorKind kind);

// The gRPC status a gRPC client gets for the gateway's own answer (table in docs/grpc.md).
http::GrpcStatus grpc_status_for(ErrorKind kind);

// A response the gateway answers itself instead of proxying.
struct LocalReply {
  std::uint16_t status = 500;
  std::string_view message;        // human sentence for the body
  std::string_view extra_headers;  // complete "Name: value\r\n" lines (e.g. Allow), or ""
  std::string_view violations_json;  // a JSON array added as "violations" (422), or ""
  bool close = false;              // the connection closes after it (its Connection field says so)
  std::uint8_t request_version_minor = 1;  // HTTP/1.0: a connection kept open says keep-alive
  bool head_only = false;          // HEAD request: no body bytes
  bool grpc = false;               // a gRPC request: answered in gRPC form with grpc_status
  http::GrpcStatus grpc_status = http::GrpcStatus::kUnknown;
};

// The end of every head the gateway writes itself: its X-Correlation-ID (when it has one), the
// caller's extra "Name: value\r\n" lines, the Connection field and the blank line.
void end_gateway_head(http::HeadWriter& head, std::string_view correlation_id, std::string_view extra_fields,
                      bool close, std::uint8_t request_version_minor);

// Serializes the whole response (head + JSON body, or the gRPC form) into `out` (cleared first).
void serialize_local_reply(const LocalReply& reply, std::string_view correlation_id, http::HeadBuffer& out);

}  // namespace flexgate::proxy
