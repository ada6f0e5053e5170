#include "policy/headers/header_plan.h"

#include <algorithm>

namespace flexgate::policy {
namespace {

constexpr std::uint32_t kConstant = 0xffffffffu;

}  // namespace

std::size_t HeaderList::remove(std::string_view name) {
  std::size_t count = 0;
  for (Entry& entry : entries_) {
    if (!entry.removed && http::iequals(entry.name, name)) {
      entry.removed = true;
      ++count;
    }
  }
  return count;
}

void HeaderList::rename(std::string_view from, std::string_view to) {
  for (Entry& entry : entries_) {
    if (!entry.removed && http::iequals(entry.name, from)) entry.name = to;
  }
}

bool HeaderList::contains(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& entry) { return !entry.removed && http::iequals(entry.name, name); });
}

std::size_t HeaderList::size() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const Entry& entry) { return !entry.removed; }));
}

void HeaderPlan::add_level(const config::HeaderOpsSpec& spec, bool request, std::span<const std::string> route_params,
                           std::string& error, bool& ok) {
  std::vector<Op>& ops = request ? request_ops_ : response_ops_;
  for (const std::string& name : spec.remove) ops.push_back(Op{OpKind::kRemove, name, {}, 0});
  for (const config::HeaderRenameSpec& rename : spec.rename) {
    ops.push_back(Op{OpKind::kRename, rename.from, rename.to, 0});
  }
  const auto add_values = [&](const std::vector<config::HeaderValueSpec>& values, OpKind kind) {
    for (const config::HeaderValueSpec& entry : values) {
      CompiledTemplate compiled;
      if (!CompiledTemplate::compile(entry.value, route_params, compiled, error)) {
        ok = false;
        return;
      }
      const auto slot = static_cast<std::uint32_t>(templates_.size());
      if (compiled.is_constant()) {
        // Constant values are rendered once, here.
        std::string text;
        compiled.expand(TemplateContext{}, text);
        constants_.push_back(std::move(text));
        dynamic_slot_.push_back(kConstant);
      } else {
        constants_.emplace_back();
        dynamic_slot_.push_back(dynamic_count_++);
      }
      slot_names_.push_back(entry.name);
      templates_.push_back(std::move(compiled));
      ops.push_back(Op{kind, entry.name, {}, slot});
    }
  };
  add_values(spec.set, OpKind::kSet);
  add_values(spec.add, OpKind::kAdd);
  for (const std::string& name : spec.keep) {
    if (http::iequals(name, "Server")) hide_server_ = false;
    if (http::iequals(name, "X-Powered-By")) hide_powered_by_ = false;
  }
}

bool HeaderPlan::compile(const PlanInputs& inputs, HeaderPlan& out, std::string& error) {
  out = HeaderPlan{};
  bool ok = true;
  // The upstream's operations first, the route's after them: the route has the last word.
  for (const config::HeadersSpec* level : {inputs.upstream_headers, inputs.route_headers}) {
    if (level == nullptr) continue;
    // Upstream-level templates have no route parameters (the loader refuses ${path.*} there).
    const std::span<const std::string> params =
        level == inputs.route_headers ? inputs.route_params : std::span<const std::string>();
    out.add_level(level->request, /*request=*/true, params, error, ok);
    out.add_level(level->response, /*request=*/false, params, error, ok);
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
      return std::any_of(out.response_ops_.begin(), out.response_ops_.end(),
                         [&](const Op& op) { return op.kind != OpKind::kRename && http::iequals(op.name, field.name); });
    });
  }
  return true;
}

bool HeaderPlan::render(const TemplateContext& context, TransformScratch& scratch,
                        std::string_view& failed_header) const {
  scratch.values.clear();
  scratch.spans.resize(dynamic_count_);
  for (std::size_t slot = 0; slot < templates_.size(); ++slot) {
    const std::uint32_t dynamic = dynamic_slot_[slot];
    if (dynamic == kConstant) continue;
    const auto start = static_cast<std::uint32_t>(scratch.values.size());
    if (!templates_[slot].expand(context, scratch.values)) {
      failed_header = slot_names_[slot];
      return false;
    }
    scratch.spans[dynamic] = {start, static_cast<std::uint32_t>(scratch.values.size() - start)};
  }
  return true;
}

std::string_view HeaderPlan::value(std::uint32_t slot, const TransformScratch& scratch) const {
  const std::uint32_t dynamic = dynamic_slot_[slot];
  if (dynamic == kConstant) return constants_[slot];
  if (dynamic >= scratch.spans.size()) return {};
  const auto [offset, length] = scratch.spans[dynamic];
  return std::string_view(scratch.values).substr(offset, length);
}

void HeaderPlan::apply(const std::vector<Op>& ops, TransformScratch& scratch) const {
  HeaderList& list = scratch.list;
  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::kRemove: list.remove(op.name); break;
      case OpKind::kRename: list.rename(op.name, op.to); break;
      case OpKind::kSet:
        // Set always clears what the client or upstream sent: an empty value must not let a
        // spoofed field through (`X-User: ${auth.client}` for an anonymous request).
        list.remove(op.name);
        [[fallthrough]];
      case OpKind::kAdd:
        if (std::string_view text = value(op.slot, scratch); !text.empty()) list.push(op.name, text);
        break;
    }
  }
}

}  // namespace flexgate::policy
