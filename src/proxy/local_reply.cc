#include "proxy/local_reply.h"

#include "core/json.h"
#include "http/head_writer.h"
#include "http/serializer.h"

namespace flexgate::proxy {

std::uint16_t status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest: return 400;
    case ErrorKind::kUnauthorized: return 401;
    case ErrorKind::kForbidden: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kMethodNotAllowed: return 405;
    case ErrorKind::kClientTimeout: return 408;
    case ErrorKind::kPayloadTooLarge: return 413;
    case ErrorKind::kUriTooLong: return 414;
    case ErrorKind::kTooManyRequests: return 429;
    case ErrorKind::kUnsupportedMediaType: return 415;
    case ErrorKind::kUnprocessableEntity: return 422;
    case ErrorKind::kUpgradeRequired: return 426;
    case ErrorKind::kHeaderFieldsTooLarge: return 431;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kNotImplemented: return 501;
    case ErrorKind::kUpstreamConnectFailed:
    case ErrorKind::kUpstreamReset:
    case ErrorKind::kBadUpstreamResponse: return 502;
    case ErrorKind::kNoTargetAvailable:
    case ErrorKind::kServiceUnavailable: return 503;
    case ErrorKind::kUpstreamTimeout:
    case ErrorKind::kRequestTimeout: return 504;
    case ErrorKind::kVersionNotSupported: return 505;
  }
  return 500;
}

http::GrpcStatus grpc_status_for(ErrorKind kind) {
  using http::GrpcStatus;
  switch (kind) {
    case ErrorKind::kUnauthorized: return GrpcStatus::kUnauthenticated;
    case ErrorKind::kForbidden: return GrpcStatus::kPermissionDenied;
    case ErrorKind::kNotFound:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kNotImplemented: return GrpcStatus::kUnimplemented;
    case ErrorKind::kUnprocessableEntity: return GrpcStatus::kInvalidArgument;
    case ErrorKind::kPayloadTooLarge:
    case ErrorKind::kUriTooLong:
    case ErrorKind::kHeaderFieldsTooLarge:
    case ErrorKind::kTooManyRequests: return GrpcStatus::kResourceExhausted;
    case ErrorKind::kUpstreamConnectFailed:
    case ErrorKind::kUpstreamReset:
    case ErrorKind::kBadUpstreamResponse:
    case ErrorKind::kNoTargetAvailable:
    case ErrorKind::kServiceUnavailable: return GrpcStatus::kUnavailable;
    case ErrorKind::kClientTimeout:
    case ErrorKind::kUpstreamTimeout:
    case ErrorKind::kRequestTimeout: return GrpcStatus::kDeadlineExceeded;
    case ErrorKind::kBadRequest:  // a malformed HTTP message: a transport fault (gRPC's 400 mapping)
    case ErrorKind::kUnsupportedMediaType:
    case ErrorKind::kUpgradeRequired:
    case ErrorKind::kVersionNotSupported:
    case ErrorKind::kInternal: return GrpcStatus::kInternal;
  }
  return GrpcStatus::kUnknown;
}

void end_gateway_head(http::HeadWriter& head, std::string_view correlation_id, std::string_view extra_fields,
                      bool close, std::uint8_t request_version_minor) {
  if (!correlation_id.empty()) head.field("X-Correlation-ID", correlation_id);
  head.append(extra_fields);
  head.append(http::connection_field(close, request_version_minor));
  head.append("\r\n");
}

namespace {

// gRPC's "Trailers-Only" answer: 200 with the status in the head and no body (over HTTP/2 the
// bridge sends it as one HEADERS frame with END_STREAM). The reply's extra fields (Retry-After,
// WWW-Authenticate, RateLimit...) ride along as metadata.
void serialize_grpc_reply(const LocalReply& reply, std::string_view correlation_id, http::HeadBuffer& out) {
  std::string message;
  http::append_grpc_message(message, reply.message);
  out.clear();
  http::HeadWriter head(out);
  head.status_line(200);
  head.append("Content-Type: application/grpc\r\ngrpc-status: ");
  head.decimal(static_cast<std::uint64_t>(reply.grpc_status));
  head.append("\r\ngrpc-message: ");
  head.append(message);
  head.append("\r\nContent-Length: 0\r\n");
  end_gateway_head(head, correlation_id, reply.extra_headers, reply.close, reply.request_version_minor);
}

}  // namespace

void serialize_local_reply(const LocalReply& reply, std::string_view correlation_id, http::HeadBuffer& out) {
  if (reply.grpc) {
    serialize_grpc_reply(reply, correlation_id, out);
    return;
  }
  std::string body;
  body.reserve(160);
  body += "{\"error\":";
  append_json_string(body, http::reason_phrase(reply.status));
  body += ",\"message\":";
  append_json_string(body, reply.message);
  body += ",\"correlationId\":";
  append_json_string(body, correlation_id);
  if (!reply.violations_json.empty()) {
    body += ",\"violations\":";
    body += reply.violations_json;
  }
  body += "}\n";

  out.clear();
  http::HeadWriter head(out);
  head.status_line(reply.status);
  head.append("Content-Type: application/json\r\nContent-Length: ");
  head.decimal(body.size());
  head.append("\r\n");
  end_gateway_head(head, correlation_id, reply.extra_headers, reply.close, reply.request_version_minor);
  if (!reply.head_only) head.append(body);
}

}  // namespace flexgate::proxy
