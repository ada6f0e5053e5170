#include "policy/headers/header_template.h"

#include <algorithm>

#include "http/header_token.h"

namespace flexgate::policy {

bool valid_field_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
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
  return true;
}

bool CompiledTemplate::expand(const TemplateContext& context, std::string& out) const {
  const std::size_t start = out.size();
  bool checked = true;  // literals were checked at load; only request-made text needs a look
  for (const Part& part : parts_) {
    switch (part.var) {
      case config::TemplateVar::kLiteral: out.append(part.text); continue;
      case config::TemplateVar::kClientIp: out.append(context.client_ip); break;
      case config::TemplateVar::kCorrelationId: out.append(context.correlation_id); break;
      case config::TemplateVar::kRoute: out.append(context.route); break;
      case config::TemplateVar::kUpstream: out.append(context.upstream); break;
      case config::TemplateVar::kAuthClient: out.append(context.auth_client); break;
      case config::TemplateVar::kRequestHeader: {
        if (context.request_headers == nullptr) break;
        bool first = true;
        for (const http::HeaderField& field : *context.request_headers) {
          if (!http::iequals(field.name, part.text)) continue;
          if (!first) out.append(", ");
          out.append(field.value);
          first = false;
        }
        break;
      }
      case config::TemplateVar::kPathParam:
        if (part.param < context.path_params.size()) out.append(context.path_params[part.param]);
        break;
    }
    checked = false;
  }
  return checked || valid_field_value(std::string_view(out).substr(start));
}

}  // namespace flexgate::policy
