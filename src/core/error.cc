#include "core/error.h"

namespace flexgate {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest: return "bad_request";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kMethodNotAllowed: return "method_not_allowed";
    case ErrorKind::kPayloadTooLarge: return "payload_too_large";
    case ErrorKind::kUriTooLong: return "uri_too_long";
    case ErrorKind::kHeaderFieldsTooLarge: return "header_fields_too_large";
    case ErrorKind::kNotImplemented: return "not_implemented";
    case ErrorKind::kVersionNotSupported: return "version_not_supported";
    case ErrorKind::kClientTimeout: return "client_timeout";
    case ErrorKind::kUpstreamConnectFailed: return "upstream_connect_failed";
    case ErrorKind::kUpstreamReset: return "upstream_reset";
    case ErrorKind::kBadUpstreamResponse: return "bad_upstream_response";
    case ErrorKind::kNoTargetAvailable: return "no_target_available";
    case ErrorKind::kServiceUnavailable: return "service_unavailable";
    case ErrorKind::kUpstreamTimeout: return "upstream_timeout";
    case ErrorKind::kRequestTimeout: return "request_timeout";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kUnauthorized: return "unauthorized";
    case ErrorKind::kTooManyRequests: return "too_many_requests";
    case ErrorKind::kUnsupportedMediaType: return "unsupported_media_type";
    case ErrorKind::kUnprocessableEntity: return "unprocessable_entity";
    case ErrorKind::kUpgradeRequired: return "upgrade_required";
    case ErrorKind::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace flexgate
