#pragma once
// What every request policy sees, and how it answers. Policies know the request and their own
// config, never each other; the lifecycle runs them in a fixed order.

#include <string>
#include <string_view>

#include "core/error.h"
#include "http/message.h"
#include "net/ip_address.h"

namespace flexgate::policy {

// The request as the policies see it.
struct RequestView {
  const http::RequestHead* head = nullptr;  // parsed head; field views valid during the phase
  std::string_view method;
  std::string_view path;   // normalized (what is routed and forwarded)
  std::string_view query;  // without the '?'
  bool has_query = false;
  net::IpAddress peer;     // the TCP peer address
  net::IpAddress client;   // the client address (peer, or from X-Forwarded-For of a trusted proxy)
  std::string_view body;   // the buffered body, only when the route buffers it (validate, HMAC)
  bool body_buffered = false;
};

// A policy's answer: allow, or a local reply with a kind, a message and extra header lines.
struct Verdict {
  bool allowed = true;
  ErrorKind kind = ErrorKind::kForbidden;
  std::string message;        // for the JSON error body and the log; never a secret
  std::string extra_headers;  // complete "Name: value\r\n" lines (e.g. WWW-Authenticate)
  std::string_view reason;    // a short static token for metrics ("missing_key"); "" = the policy's default

  static Verdict allow() { return {}; }
  static Verdict deny(ErrorKind kind, std::string message, std::string extra_headers = {}) {
    return Verdict{false, kind, std::move(message), std::move(extra_headers), {}};
  }
  // Names why, for the rejection metric: `return Verdict::deny(...).because("replay");`
  Verdict because(std::string_view why) && {
    reason = why;
    return std::move(*this);
  }
};

}  // namespace flexgate::policy
