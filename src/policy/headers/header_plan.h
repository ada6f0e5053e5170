#pragma once
// The header transformations of one (route, upstream) pair, compiled once per snapshot from the
// route's and the upstream's `headers` and `securityHeaders`: an ordered list of operations over
// a HeaderList. Sans-I/O: the lifecycle collects the fields, calls render/apply in its named
// phases, and writes the result. Nothing here allocates once the scratch has warmed up.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/schema.h"
#include "http/header_token.h"
#include "http/message.h"
#include "policy/headers/header_template.h"

namespace flexgate::policy {

// An editable field list for one message. Names and values are views (into the parsed message,
// the plan, or the scratch's rendered values), so they must outlive the list's use.
class HeaderList {
 public:
  void clear() { entries_.clear(); }
  void push(std::string_view name, std::string_view value) { entries_.push_back({name, value, false}); }
  // Drops every field named `name` (case-insensitive); returns how many.
  std::size_t remove(std::string_view name);
  // Renames every field named `from` to `to` (a view that must outlive the list).
  void rename(std::string_view from, std::string_view to);
  bool contains(std::string_view name) const;
  // Calls f(name, value) for each field left, in order.
  template <typename F>
  void for_each(F&& f) const {
    for (const Entry& entry : entries_) {
      if (!entry.removed) f(entry.name, entry.value);
    }
  }
  std::size_t size() const;

 private:
  struct Entry {
    std::string_view name;
    std::string_view value;
    bool removed = false;
  };
  std::vector<Entry> entries_;
};

// Per-session scratch: one request's rendered values and the list being edited. Reused, so a
// steady connection allocates nothing.
struct TransformScratch {
  std::string values;                                         // rendered request-dependent values
  std::vector<std::pair<std::uint32_t, std::uint32_t>> spans;  // offset, length per value slot
  HeaderList list;
};

// What HeaderPlan::compile reads: the upstream's then the route's `headers` (the route's run
// last, so it wins), the securityHeaders that apply (route > upstream > global; null = off).
struct PlanInputs {
  const config::HeadersSpec* upstream_headers = nullptr;
  const config::HeadersSpec* route_headers = nullptr;
  const config::SecurityHeadersSpec* security = nullptr;
  std::span<const std::string> route_params;
};

// One field the gateway adds to responses that lack it (securityHeaders).
struct SecurityField {
  std::string name;
  std::string value;
  bool tls_only = false;  // HSTS: only meaningful (and only sent) on a TLS listener
};

// The compiled header operations of a (route, upstream) pair. Immutable; shared by all workers.
class HeaderPlan {
 public:
  // Compiles `inputs`; false and `error` when a template cannot be compiled (the loader has
  // already checked them, so this means a hand-built config).
  static bool compile(const PlanInputs& inputs, HeaderPlan& out, std::string& error);

  bool has_request_ops() const { return !request_ops_.empty(); }
  bool has_response_ops() const { return !response_ops_.empty(); }
  // True when some value depends on the request: render() must run before apply_*().
  bool needs_render() const { return dynamic_count_ > 0; }

  // Expands every request-dependent value (request and response operations alike: the response
  // side runs after the request head is gone) into `scratch`. False when a value came out with
  // a byte a header may not carry; `failed_header` then names the field.
  bool render(const TemplateContext& context, TransformScratch& scratch, std::string_view& failed_header) const;

  // Runs the request / response operations on `scratch.list` (values from the last render()).
  void apply_request(TransformScratch& scratch) const { apply(request_ops_, scratch); }
  void apply_response(TransformScratch& scratch) const { apply(response_ops_, scratch); }

  // An upstream response field that leaks internals (Server, X-Powered-By) unless kept.
  bool hides(const http::HeaderField& field) const {
    if (field.token == http::HeaderToken::kServer) return hide_server_;
    return hide_powered_by_ && field.name.size() == 12 && http::iequals(field.name, "X-Powered-By");
  }

  // Appends "Name: value\r\n" for each security header `has(name)` says the response lacks.
  // `tls`: the listener is TLS (HSTS is sent only then; no listener is TLS yet).
  template <typename Has>
  void append_security_headers(bool tls, Has&& has, std::string& out) const {
    for (const SecurityField& field : security_) {
      if ((field.tls_only && !tls) || has(field.name)) continue;
      out.append(field.name).append(": ").append(field.value).append("\r\n");
    }
  }
  std::span<const SecurityField> security_fields() const { return security_; }

 private:
  enum class OpKind : std::uint8_t { kRemove, kRename, kSet, kAdd };
  struct Op {
    OpKind kind = OpKind::kRemove;
    std::string name;
    std::string to;          // kRename: the new name
    std::uint32_t slot = 0;  // kSet/kAdd: the value's index in templates_
  };

  void add_level(const config::HeaderOpsSpec& spec, bool request, std::span<const std::string> route_params,
                 std::string& error, bool& ok);
  std::string_view value(std::uint32_t slot, const TransformScratch& scratch) const;
  void apply(const std::vector<Op>& ops, TransformScratch& scratch) const;

  std::vector<Op> request_ops_;
  std::vector<Op> response_ops_;
  std::vector<CompiledTemplate> templates_;
  std::vector<std::string> constants_;        // by slot: the value of a constant template
  std::vector<std::uint32_t> dynamic_slot_;   // by slot: index into scratch.spans, or kConstant
  std::uint32_t dynamic_count_ = 0;
  std::vector<std::string> slot_names_;       // by slot: the field name, for failures
  bool hide_server_ = true;
  bool hide_powered_by_ = true;
  std::vector<SecurityField> security_;
};

}  // namespace flexgate::policy
