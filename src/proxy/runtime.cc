#include "proxy/runtime.h"

#include <algorithm>

namespace flexgate::proxy {

Runtime::Runtime(config::Config config) : config_(std::move(config)) {}

std::shared_ptr<const Runtime> Runtime::build(config::Config config, std::vector<std::string>& errors) {
  // Built in place: the route table and bindings point into config_, which must not move after.
  auto runtime = std::make_shared<Runtime>(std::move(config));
  const config::Config& cfg = runtime->config_;
  runtime->routes_ = std::make_unique<router::RouteTable>(cfg.routes);
  runtime->upstreams_ = upstream::UpstreamSet::build(cfg, errors);
  runtime->limits_.max_head_bytes = cfg.proxy.max_head_size;
  runtime->limits_.max_target_bytes = cfg.proxy.max_uri_size;
  runtime->limits_.max_header_fields = std::min<std::size_t>(cfg.proxy.max_header_count, http::kMaxHeaderFieldsCapacity);
  runtime->bindings_.resize(cfg.routes.size());
  for (std::size_t i = 0; i < cfg.routes.size(); ++i) {
    const auto& route = cfg.routes[i];
    RouteBinding& binding = runtime->bindings_[i];
    binding.upstream = runtime->upstreams_->find(route.upstream);
    if (binding.upstream == nullptr) {
      errors.push_back("routes[" + std::to_string(i) + "]: upstream '" + route.upstream + "' is not defined");
      continue;
    }
    binding.response_timeout = route.timeout.value_or(binding.upstream->spec->timeout);
    binding.max_body_size = route.max_body_size.value_or(cfg.proxy.max_body_size);
  }
  if (!errors.empty()) return nullptr;
  return runtime;
}

}  // namespace flexgate::proxy
