#include "policy/headers/header_template.h"

#include <algorithm>
#include <cstring>

#include "http/header_token.h"

namespace flexgate::policy {
namespace {

bool valid_byte(unsigned char byte) { return (byte >= 0x20 || byte == '\t') && byte != 0x7f; }

bool valid_bytes(const char* data, std::size_t size) {
  return std::all_of(data, data + size, [](char c) { return valid_byte(static_cast<unsigned char>(c)); });
}

}  // namespace

bool valid_field_value(std::string_view value) {
  // Eight bytes at a time: a word with no byte below 0x20 and none equal to 0x7F is fine as it is
  // (the usual case); only a word that has one (an HTAB, say) is looked at byte by byte. Both
  // tests are exact as yes/no answers ("has a byte less than n" / "has a zero byte").
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  const char* data = value.data();
  std::size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
    const std::uint64_t del = word ^ (kOnes * 0x7f);
    const std::uint64_t has_del = (del - kOnes) & ~del & kHigh;
    if ((below_space | has_del) != 0 && !valid_bytes(data + i, 8)) return false;
  }
  return valid_bytes(data + i, value.size() - i);
}

bool CompiledTemplate::compile(const config::ValueTemplate& spec, std::span<const std::string> route_params,
                               CompiledTemplate& out, std::string& error) {
  out = CompiledTemplate{};
  out.source_ = spec.source;
  for (const config::TemplatePart& part : spec.parts) {
    Part compiled{part.var, part.text, 0};
    if (part.var == config::TemplateVar::kPathParam) {
      const auto at = std::find(route_params.begin(), route_params.end(), part.text);
      if (at == route_params.end()) {
        error = "${path." + part.text + "} names no parameter of the route";
        return false;
      }
      compiled.param = static_cast<std::uint32_t>(at - route_params.begin());
    }
    if (part.var != config::TemplateVar::kLiteral) out.constant_ = false;
    out.parts_.push_back(std::move(compiled));
  }
  out.note_gateway_value();
  return true;
}

void CompiledTemplate::note_gateway_value() {
  only_gateway_value_ = nullptr;
  if (parts_.size() != 1) return;
  if (parts_[0].var == config::TemplateVar::kClientIp) only_gateway_value_ = &TemplateContext::client_ip;
  if (parts_[0].var == config::TemplateVar::kCorrelationId) only_gateway_value_ = &TemplateContext::correlation_id;
}

void CompiledTemplate::bind(config::TemplateVar var, std::string_view value) {
  if (var == config::TemplateVar::kLiteral || !valid_field_value(value)) return;
  bool constant = true;
  for (Part& part : parts_) {
    if (part.var == var) {
      part.var = config::TemplateVar::kLiteral;
      part.text.assign(value);
    }
    if (part.var != config::TemplateVar::kLiteral) constant = false;
  }
  constant_ = constant;
  note_gateway_value();
}

template <typename Out>
bool CompiledTemplate::expand(const TemplateContext& context, Out& out) const {
  for (const Part& part : parts_) {
    std::string_view text;
    switch (part.var) {
      // Checked before they got here: literals at load, the other two where the gateway made them.
      case config::TemplateVar::kLiteral: out.append(std::string_view(part.text)); continue;
      case config::TemplateVar::kClientIp: out.append(context.client_ip); continue;
      case config::TemplateVar::kCorrelationId: out.append(context.correlation_id); continue;
      case config::TemplateVar::kRoute: text = context.route; break;
      case config::TemplateVar::kUpstream: text = context.upstream; break;
      case config::TemplateVar::kAuthClient: text = context.auth_client; break;
      case config::TemplateVar::kRequestHeader: {
        if (context.request_headers == nullptr) continue;
        bool first = true;
        for (const http::HeaderField& field : *context.request_headers) {
          if (!http::iequals(field.name, part.text)) continue;
          if (!valid_field_value(field.value)) return false;
          if (!first) out.append(std::string_view(", "));
          out.append(field.value);
          first = false;
        }
        continue;
      }
      case config::TemplateVar::kPathParam:
        if (part.param < context.path_params.size()) text = context.path_params[part.param];
        break;
    }
    if (!valid_field_value(text)) return false;
    out.append(text);
  }
  return true;
}

template bool CompiledTemplate::expand(const TemplateContext&, std::string&) const;
template bool CompiledTemplate::expand(const TemplateContext&, RenderBuffer&) const;

}  // namespace flexgate::policy
