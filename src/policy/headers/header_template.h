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

namespace flexgate::policy {

// What a request offers to `${...}` variables; every view must stay valid during expand().
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

  // Appends the expansion to `out`. False when the result holds a byte a header value may not
  // carry (CR, LF, NUL, other controls except HTAB): the caller fails the request, never sends it.
  bool expand(const TemplateContext& context, std::string& out) const;
  // True when no part depends on the request (the value is computed once, at compile time).
  bool is_constant() const { return constant_; }
  std::string_view source() const { return source_; }

 private:
  struct Part {
    config::TemplateVar var = config::TemplateVar::kLiteral;
    std::string text;             // literal text or request header name
    std::uint32_t param = 0;      // kPathParam: position in the route pattern
  };
  std::vector<Part> parts_;
  std::string source_;
  bool constant_ = true;
};

// True when `value` may be sent as a header field value (no CR, LF, NUL or other controls but HTAB).
bool valid_field_value(std::string_view value);

}  // namespace flexgate::policy
