#pragma once
// Header value templates, compiled once per snapshot and expanded per request without parsing:
// each part is a literal, or a variable resolved from a TemplateContext. Sans-I/O.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "http/message.h"
#include "policy/headers/render_buffer.h"

namespace flexgate::policy {

// What a request offers to `${...}` variables; every view must stay valid during expand().
// Two come from the gateway itself and are copied without a byte check: `client_ip` (an address
// the gateway printed) and `correlation_id` (observe::is_sane_correlation_id() or generated:
// visible ASCII only). Everything else is checked as it is expanded.
struct TemplateContext {
  std::string_view client_ip;
  std::string_view correlation_id;
  std::string_view route;        // the route's path pattern
  std::string_view upstream;     // the chosen upstream's name
  std::string_view auth_client;  // "" when anonymous
  const http::HeaderFields* request_headers = nullptr;  // the client's fields, as received
  std::span<const std::string_view> path_params;        // by position in the route pattern
};

// One compiled template: parts with path parameters resolved to positions.
class CompiledTemplate {
 public:
  // `route_params`: the route's `:name` parameters in order (empty at upstream level). False and
  // `error` for a parameter the route does not have (the loader reports that already).
  static bool compile(const config::ValueTemplate& spec, std::span<const std::string> route_params,
                      CompiledTemplate& out, std::string& error);

  // Turns every `var` part into the literal `value`, for a variable known when the template is
  // compiled (a header plan belongs to one route and one upstream: ${route}, ${upstream}). A value
  // with a byte a header may not carry stays a run-time part, so expand() still fails on it.
  void bind(config::TemplateVar var, std::string_view value);

  // Appends the expansion to `out` (a std::string or a RenderBuffer). False when the result holds
  // a byte a header value may not carry (CR, LF, NUL, other controls except HTAB): the caller
  // fails the request, never sends it. Only request-made text is looked at: literals were checked
  // at load.
  template <typename Out>
  bool expand(const TemplateContext& context, Out& out) const;
  // True when no part depends on the request (the value is computed once, at compile time).
  bool is_constant() const { return constant_; }
  // The context member the value is, when it is one gateway-made variable and nothing else
  // (`${correlation_id}`, `${client_ip}`): a renderer copies it without calling expand(). Else null.
  std::string_view TemplateContext::*only_gateway_value() const { return only_gateway_value_; }
  std::string_view source() const { return source_; }

 private:
  struct Part {
    config::TemplateVar var = config::TemplateVar::kLiteral;
    std::string text;             // literal text or request header name
    std::uint32_t param = 0;      // kPathParam: position in the route pattern
  };
  void note_gateway_value();

  std::vector<Part> parts_;
  std::string source_;
  bool constant_ = true;
  std::string_view TemplateContext::*only_gateway_value_ = nullptr;
};

// True when `value` may be sent as a header field value (no CR, LF, NUL or other controls but HTAB).
bool valid_field_value(std::string_view value);

}  // namespace flexgate::policy
