#pragma once
// The header transformations of one (route, upstream) pair, compiled once per snapshot from the
// route's and the upstream's `headers` and `securityHeaders`. Sans-I/O: the lifecycle renders the
// request-dependent values in its transform phase and passes each field it forwards through the
// plan's edits while it writes the head.
//
// Everything that does not depend on the request is decided at load. The operations (remove,
// rename, set, add; the upstream's level, then the route's) run in order over an edit list, but
// what they do to a field depends only on its name: that is worked out once per name an operation
// mentions, so a forwarded field costs one bit test (a filter on its length and first and last
// byte; a name that passes is compared with the few names left) and is copied as parsed, renamed
// or dropped. The fields the operations add are whole lines ("Name: value\r\n"), written at load
// for constant values (${route} and ${upstream} included: a plan has one of each) and by render()
// for the others, all of one direction back to back so the head takes them in one append. Nothing
// here allocates once the scratch has warmed up.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.h"
#include "http/head_writer.h"
#include "http/header_token.h"
#include "http/message.h"
#include "http/serializer.h"
#include "policy/headers/header_template.h"
#include "policy/headers/render_buffer.h"

namespace flexgate::policy {

// Per-session scratch: the lines each direction's operations add, rendered for one request.
// Reused, so a steady connection allocates nothing.
struct TransformScratch {
  std::array<RenderBuffer, 2> added;                  // [0] request, [1] response
  std::array<std::uint32_t, 2> added_security_bits{};  // HeaderPlan::security_fields() among them
  std::vector<std::string_view> path_params;  // where the caller keeps TemplateContext::path_params
};

// What HeaderPlan::compile reads: the upstream's then the route's `headers` (the route's run
// last, so it wins), the securityHeaders that apply (route > upstream > global; null = off).
struct PlanInputs {
  const config::HeadersSpec* upstream_headers = nullptr;
  const config::HeadersSpec* route_headers = nullptr;
  const config::SecurityHeadersSpec* security = nullptr;
  std::span<const std::string> route_params;
  // The pair's route pattern and upstream name, when known: ${route} and ${upstream} are then
  // constants of the plan. Null: they are expanded from the TemplateContext per request.
  const std::string* route_path = nullptr;
  const std::string* upstream_name = nullptr;
};

// One field the gateway adds to responses that lack it (securityHeaders).
struct SecurityField {
  std::string name;
  std::string value;
  bool tls_only = false;  // HSTS: only meaningful (and only sent) on a TLS listener
};

// The compiled operations of one direction (request or response).
class HeaderEdits {
 public:
  // True when the direction has no operations: its fields are copied without asking.
  bool empty() const { return !has_operations_; }

  // Writes `field` (still pointing into its parsed head) as the operations leave it: unchanged,
  // under its new name, or not at all. Returns the HeaderPlan::security_fields() bits of the name
  // it was written under (0 when dropped). A name no operation mentions costs one bit test.
  std::uint32_t forward(const http::HeaderField& field, http::HeadWriter& out) const {
    if ((filter_ >> filter_bit(field.name) & 1) == 0) {
      out.parsed_field(field);
      return 0;
    }
    return forward_named(field, out);
  }

  // Writes the fields the operations add, in order: constant lines written at load, the lines
  // the last HeaderPlan::render() put in `scratch`, or lines whose values are copied from
  // `gateway_values` (its client_ip and correlation_id) right here. Returns the security bits of
  // their names.
  std::uint32_t append_added(const TransformScratch& scratch, const TemplateContext& gateway_values,
                             http::HeadWriter& out) const {
    if (!direct_.empty()) return append_direct(gateway_values, out);
    if (!rendered_) {
      out.append(added_);
      return added_security_bits_;
    }
    out.append(scratch.added[direction_].view());
    return scratch.added_security_bits[direction_];
  }
  // True when the added fields' values are copied while the head is written (every one of them
  // is ${correlation_id} or ${client_ip} alone): render() has nothing to do for this direction.
  bool writes_directly() const { return !direct_.empty(); }

 private:
  friend class HeaderPlan;
  enum class Action : std::uint8_t { kKeep, kRename, kDrop };
  // What the operations do to a field that arrives under one name (compared case-insensitively).
  struct Fate {
    std::string lower;  // the arriving name, lower case
    Action action = Action::kKeep;
    std::string rename_to;            // kRename: the name it leaves under
    std::uint32_t security_bits = 0;  // of the name it leaves under
  };

  // A 64-bit filter over the fates' names: length, first and last byte (| 0x20 folds the case of
  // letters; any other byte is the same on both sides anyway).
  static unsigned filter_bit(std::string_view name) {
    if (name.empty()) return 0;
    const unsigned first = static_cast<unsigned char>(name.front()) | 0x20u;
    const unsigned last = static_cast<unsigned char>(name.back()) | 0x20u;
    return (static_cast<unsigned>(name.size()) + first * 7 + last * 13) & 63;
  }
  // An added field whose value is one gateway-made variable: nothing in it can make the request
  // fail, so it needs no render() ahead of the head and is written straight into it.
  struct DirectLine {
    std::string lead;             // the constant lines before it, then "Name: "
    std::uint32_t name_size = 0;  // of the "Name: " that ends `lead`; 0 when a later operation drops it
    std::string_view TemplateContext::*value = nullptr;
    std::uint32_t security_bits = 0;
  };
  std::uint32_t forward_named(const http::HeaderField& field, http::HeadWriter& out) const;
  std::uint32_t append_direct(const TemplateContext& gateway_values, http::HeadWriter& out) const;

  std::vector<Fate> fates_;   // every name an operation (or a security header) mentions
  std::uint64_t filter_ = 0;  // bit filter_bit(name) set for each of them
  // The added fields. Every value constant: `added_` holds all their lines. Else `direct_` (each
  // value a gateway-made variable), or (`rendered_`) render() writes them into
  // TransformScratch::added[direction_]; `added_` last either way.
  std::string added_;
  std::vector<DirectLine> direct_;
  std::uint32_t added_security_bits_ = 0;  // of the constant lines
  bool rendered_ = false;
  bool has_operations_ = false;
  std::uint8_t direction_ = 0;
};

// The compiled header operations of a (route, upstream) pair. Immutable; shared by all workers.
class HeaderPlan {
 public:
  // Compiles `inputs`; false and `error` when a template cannot be compiled (the loader has
  // already checked them, so this means a hand-built config).
  static bool compile(const PlanInputs& inputs, HeaderPlan& out, std::string& error);

  bool has_request_ops() const { return !request_.empty(); }
  bool has_response_ops() const { return !response_.empty(); }
  // True when some value depends on the request in a way that may fail it (anything but a lone
  // ${correlation_id} or ${client_ip}): render() must run before the edits are used.
  bool needs_render() const { return !pieces_.empty(); }

  // Renders every request-dependent value (request and response operations alike: the response
  // side runs after the request head is gone) into `scratch`. False when a value came out with
  // a byte a header may not carry; `failed_header` then names the field.
  bool render(const TemplateContext& context, TransformScratch& scratch, std::string_view& failed_header) const;

  const HeaderEdits& request_edits() const { return request_; }
  const HeaderEdits& response_edits() const { return response_; }

  // An upstream response field that leaks internals (Server, X-Powered-By) unless kept.
  bool hides(const http::HeaderField& field) const {
    if (field.token == http::HeaderToken::kServer) return hide_server_;
    return hide_powered_by_ && field.name.size() == 12 && http::iequals(field.name, "X-Powered-By");
  }

  // Appends "Name: value\r\n" for each security header `has(name)` says the response lacks.
  // `tls`: the listener is TLS (HSTS is sent only then; no listener is TLS yet).
  template <typename Has>
  void append_security_headers(bool tls, Has&& has, http::HeadWriter& out) const {
    for (const SecurityField& field : security_) {
      if ((field.tls_only && !tls) || has(field.name)) continue;
      out.field(field.name, field.value);
    }
  }
  std::span<const SecurityField> security_fields() const { return security_; }
  // True when `name` is one of security_fields() and its bit is set in `present` (the bits
  // HeaderEdits::forward / append_added returned for the fields written).
  bool security_present(std::uint32_t present, std::string_view name) const;

 private:
  // A request-dependent value of one direction, rendered per request with the constant lines
  // written before it: `lead` is those lines then "Name: " (no name when the field is dropped).
  struct Piece {
    std::uint8_t direction = 0;  // index into TransformScratch::added
    std::string lead;
    std::uint32_t name_size = 0;  // of the "Name: " that ends `lead`; 0 when a later operation drops it
    CompiledTemplate value;
    std::string name;  // as configured, for failures
    std::uint32_t security_bits = 0;
    std::uint32_t order = 0;  // the value's place in the configuration: the first bad one is named
  };
  struct Builder;

  std::vector<Piece> pieces_;  // in `order`
  HeaderEdits request_;
  HeaderEdits response_;
  bool hide_server_ = true;
  bool hide_powered_by_ = true;
  std::vector<SecurityField> security_;
};

}  // namespace flexgate::policy
