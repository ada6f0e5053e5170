#include "policy/headers/header_plan.h"

#include <algorithm>

namespace flexgate::policy {
namespace {

enum class OpKind : std::uint8_t { kRemove, kRename, kSet, kAdd };

// One operation as configured; only compile() sees them.
struct Op {
  OpKind kind = OpKind::kRemove;
  std::string name;
  std::string to;           // kRename: the new name
  std::uint32_t value = 0;  // kSet/kAdd: the value's index in Builder::values
};

char lower_byte(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string to_lower(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), lower_byte);
  return out;
}

// `lower` is already lower case.
bool equals_lower(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (lower_byte(name[i]) != lower[i]) return false;
  }
  return true;
}

// Where a field named `name` ends up once `ops` have run over the edit list: dropped (a remove or
// a set names it), or under its last name (`renamed`: a rename gave it one).
struct Outcome {
  bool dropped = false;
  bool renamed = false;
  std::string name;
};

Outcome follow(std::span<const Op> ops, std::string_view name) {
  Outcome out{false, false, std::string(name)};
  for (const Op& op : ops) {
    if (!http::iequals(out.name, op.name)) continue;
    switch (op.kind) {
      case OpKind::kRemove:
      case OpKind::kSet:  // set always clears what the client or upstream (or an earlier level) sent
        out.dropped = true;
        return out;
      case OpKind::kRename:
        out.name = op.to;
        out.renamed = true;
        break;
      case OpKind::kAdd: break;
    }
  }
  return out;
}

std::uint32_t security_bits(std::span<const SecurityField> security, std::string_view name) {
  std::uint32_t bits = 0;
  for (std::size_t i = 0; i < security.size(); ++i) {
    if (http::iequals(security[i].name, name)) bits |= 1u << i;
  }
  return bits;
}

}  // namespace

// The operations and values of both directions while a plan is compiled.
struct HeaderPlan::Builder {
  std::vector<Op> request;
  std::vector<Op> response;
  std::vector<CompiledTemplate> values;
  std::vector<std::string> value_names;

  void add_level(const config::HeaderOpsSpec& spec, std::vector<Op>& ops, const PlanInputs& inputs,
                 std::span<const std::string> route_params, HeaderPlan& plan, std::string& error, bool& ok);
  void compile_edits(std::span<const Op> ops, std::uint8_t direction, std::span<const SecurityField> security,
                     HeaderPlan& plan, HeaderEdits& edits) const;
};

void HeaderPlan::Builder::add_level(const config::HeaderOpsSpec& spec, std::vector<Op>& ops, const PlanInputs& inputs,
                                    std::span<const std::string> route_params, HeaderPlan& plan, std::string& error,
                                    bool& ok) {
  for (const std::string& name : spec.remove) ops.push_back(Op{OpKind::kRemove, name, {}, 0});
  for (const config::HeaderRenameSpec& rename : spec.rename) {
    ops.push_back(Op{OpKind::kRename, rename.from, rename.to, 0});
  }
  const auto add_values = [&](const std::vector<config::HeaderValueSpec>& entries, OpKind kind) {
    for (const config::HeaderValueSpec& entry : entries) {
      CompiledTemplate compiled;
      if (!CompiledTemplate::compile(entry.value, route_params, compiled, error)) {
        ok = false;
        return;
      }
      // The plan belongs to one route and one upstream: their names are constants here.
      if (inputs.route_path != nullptr) compiled.bind(config::TemplateVar::kRoute, *inputs.route_path);
      if (inputs.upstream_name != nullptr) compiled.bind(config::TemplateVar::kUpstream, *inputs.upstream_name);
      ops.push_back(Op{kind, entry.name, {}, static_cast<std::uint32_t>(values.size())});
      values.push_back(std::move(compiled));
      value_names.push_back(entry.name);
    }
  };
  add_values(spec.set, OpKind::kSet);
  add_values(spec.add, OpKind::kAdd);
  for (const std::string& name : spec.keep) {
    if (http::iequals(name, "Server")) plan.hide_server_ = false;
    if (http::iequals(name, "X-Powered-By")) plan.hide_powered_by_ = false;
  }
}

void HeaderPlan::Builder::compile_edits(std::span<const Op> ops, std::uint8_t direction,
                                        std::span<const SecurityField> security, HeaderPlan& plan,
                                        HeaderEdits& edits) const {
  edits.direction_ = direction;
  edits.has_operations_ = !ops.empty();
  // Fields that arrive: a fate for every name an operation or a security header mentions, unless
  // the operations leave such a field as it is. Every other name passes untouched.
  const auto add_fate = [&](std::string_view name) {
    std::string lower = to_lower(name);
    if (std::any_of(edits.fates_.begin(), edits.fates_.end(),
                    [&](const HeaderEdits::Fate& fate) { return fate.lower == lower; })) {
      return;
    }
    const Outcome outcome = follow(ops, name);
    HeaderEdits::Fate fate;
    fate.action = outcome.dropped   ? HeaderEdits::Action::kDrop
                  : outcome.renamed ? HeaderEdits::Action::kRename
                                    : HeaderEdits::Action::kKeep;
    if (outcome.renamed) fate.rename_to = outcome.name;
    if (!outcome.dropped) fate.security_bits = security_bits(security, outcome.name);
    if (fate.action == HeaderEdits::Action::kKeep && fate.security_bits == 0) return;
    edits.filter_ |= std::uint64_t{1} << HeaderEdits::filter_bit(lower);
    fate.lower = std::move(lower);
    edits.fates_.push_back(std::move(fate));
  };
  for (const Op& op : ops) {
    if (op.kind != OpKind::kAdd) add_fate(op.name);
  }
  for (const SecurityField& field : security) add_fate(field.name);

  // Fields the operations add, under the name the operations after them leave (none: dropped).
  // Constant values become lines here; they wait in `lines` for the next request-dependent value
  // (its lead) or the end (edits.added_).
  std::string lines;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.kind != OpKind::kSet && op.kind != OpKind::kAdd) continue;
    const Outcome outcome = follow(ops.subspan(i + 1), op.name);
    const CompiledTemplate& value = values[op.value];
    const std::uint32_t bits = outcome.dropped ? 0 : security_bits(security, outcome.name);
    if (value.is_constant()) {
      // An empty value adds no field.
      std::string text;
      value.expand(TemplateContext{}, text);
      if (outcome.dropped || text.empty()) continue;
      http::append_field(lines, outcome.name, text);
      edits.added_security_bits_ |= bits;
      continue;
    }
    // Rendered per request, even when dropped: a value that cannot be sent still fails the request.
    Piece piece;
    piece.direction = direction;
    piece.lead = std::move(lines);
    lines.clear();
    if (!outcome.dropped) {
      piece.lead.append(outcome.name).append(": ");
      piece.name_size = static_cast<std::uint32_t>(outcome.name.size() + 2);
    }
    piece.value = value;
    piece.name = value_names[op.value];
    piece.security_bits = bits;
    piece.order = op.value;
    plan.pieces_.push_back(std::move(piece));
    edits.rendered_ = true;
  }
  edits.added_ = std::move(lines);
}

bool HeaderPlan::compile(const PlanInputs& inputs, HeaderPlan& out, std::string& error) {
  out = HeaderPlan{};
  Builder build;
  bool ok = true;
  // The upstream's operations first, the route's after them: the route has the last word.
  for (const config::HeadersSpec* level : {inputs.upstream_headers, inputs.route_headers}) {
    if (level == nullptr) continue;
    // Upstream-level templates have no route parameters (the loader refuses ${path.*} there).
    const std::span<const std::string> params =
        level == inputs.route_headers ? inputs.route_params : std::span<const std::string>();
    build.add_level(level->request, build.request, inputs, params, out, error, ok);
    build.add_level(level->response, build.response, inputs, params, out, error, ok);
  }
  if (!ok) return false;
  const config::SecurityHeadersSpec* security = inputs.security;
  if (security != nullptr && security->enabled) {
    out.security_.push_back({"X-Content-Type-Options", "nosniff", false});
    out.security_.push_back({"Referrer-Policy", security->referrer_policy, false});
    out.security_.push_back({"X-Frame-Options", security->frame_options, false});
    if (security->hsts) {
      std::string value = "max-age=" + std::to_string(security->hsts->max_age.count() / 1000);
      if (security->hsts->include_subdomains) value += "; includeSubDomains";
      if (security->hsts->preload) value += "; preload";
      out.security_.push_back({"Strict-Transport-Security", std::move(value), true});
    }
    // A response operation on one of these fields is explicit: it replaces the default.
    std::erase_if(out.security_, [&](const SecurityField& field) {
      return std::any_of(build.response.begin(), build.response.end(),
                         [&](const Op& op) { return op.kind != OpKind::kRename && http::iequals(op.name, field.name); });
    });
  }
  build.compile_edits(build.request, 0, {}, out, out.request_);
  build.compile_edits(build.response, 1, out.security_, out, out.response_);
  // A direction whose every request-dependent value is a lone gateway-made variable needs no
  // render(): its lines are written with the head (the cheaper way for the common X-Request-Id).
  for (HeaderEdits* edits : {&out.request_, &out.response_}) {
    const auto in_direction = [&](const Piece& piece) { return piece.direction == edits->direction_; };
    const bool direct = edits->rendered_ && std::all_of(out.pieces_.begin(), out.pieces_.end(), [&](const Piece& piece) {
                          return !in_direction(piece) || piece.value.only_gateway_value() != nullptr;
                        });
    if (!direct) continue;
    for (Piece& piece : out.pieces_) {
      if (!in_direction(piece)) continue;
      edits->direct_.push_back(
          {std::move(piece.lead), piece.name_size, piece.value.only_gateway_value(), piece.security_bits});
    }
    std::erase_if(out.pieces_, in_direction);
    edits->rendered_ = false;
  }
  // Rendered in the order of the configuration (the first bad value is the one reported).
  std::stable_sort(out.pieces_.begin(), out.pieces_.end(),
                   [](const Piece& a, const Piece& b) { return a.order < b.order; });
  return true;
}

bool HeaderPlan::render(const TemplateContext& context, TransformScratch& scratch,
                        std::string_view& failed_header) const {
  for (RenderBuffer& lines : scratch.added) lines.clear();
  scratch.added_security_bits = {request_.added_security_bits_, response_.added_security_bits_};
  for (const Piece& piece : pieces_) {
    RenderBuffer& out = scratch.added[piece.direction];
    out.append(piece.lead);
    const std::size_t value_at = out.size();
    if (const auto member = piece.value.only_gateway_value()) {
      out.append(context.*member);  // the most common value (X-Request-Id, X-Real-IP): no call
    } else if (!piece.value.expand(context, out)) {
      failed_header = piece.name;
      return false;
    }
    if (out.size() == value_at || piece.name_size == 0) {
      out.truncate(value_at - piece.name_size);  // empty, or dropped by a later operation: no field
    } else {
      out.append_crlf();
      scratch.added_security_bits[piece.direction] |= piece.security_bits;
    }
  }
  // The constant lines after the last request-dependent value.
  if (request_.rendered_) scratch.added[request_.direction_].append(request_.added_);
  if (response_.rendered_) scratch.added[response_.direction_].append(response_.added_);
  return true;
}

std::uint32_t HeaderEdits::forward_named(const http::HeaderField& field, http::HeadWriter& out) const {
  for (const Fate& fate : fates_) {
    if (!equals_lower(field.name, fate.lower)) continue;
    switch (fate.action) {
      case Action::kKeep: out.parsed_field(field); break;
      case Action::kRename: out.field(fate.rename_to, field.value); break;
      case Action::kDrop: break;
    }
    return fate.security_bits;
  }
  out.parsed_field(field);
  return 0;
}

std::uint32_t HeaderEdits::append_direct(const TemplateContext& gateway_values, http::HeadWriter& out) const {
  std::uint32_t bits = added_security_bits_;
  for (const DirectLine& line : direct_) {
    const std::string_view value = gateway_values.*line.value;
    if (value.empty() || line.name_size == 0) {
      // An empty value adds no field, nor does one a later operation drops: the lines before it only.
      out.append(std::string_view(line.lead).substr(0, line.lead.size() - line.name_size));
      continue;
    }
    out.append(line.lead);
    out.append(value);
    out.append("\r\n");
    bits |= line.security_bits;
  }
  out.append(added_);
  return bits;
}

bool HeaderPlan::security_present(std::uint32_t present, std::string_view name) const {
  for (std::size_t i = 0; i < security_.size(); ++i) {
    if (http::iequals(security_[i].name, name)) return (present >> i & 1) != 0;
  }
  return false;
}

}  // namespace flexgate::policy
