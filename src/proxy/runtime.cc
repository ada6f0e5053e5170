#include "proxy/runtime.h"

#include <algorithm>

#include "policy/egress/egress_validation.h"
#include "policy/ipfilter/cidr_list.h"

namespace flexgate::proxy {

Runtime::Runtime(config::Config config) : config_(std::move(config)) {}

namespace {

// "FILE:LINE:COL: key.path: message", like the loader's errors.
std::string positioned(const config::Config& cfg, const config::SourcePos& pos, const std::string& key_path,
                       const std::string& message) {
  return cfg.source_path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + key_path +
         ": " + message;
}

// The `:name` parameters of a route path, in order: the positions the router captures them at.
std::vector<std::string> route_params(std::string_view path) {
  std::vector<std::string> params;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start + 1 && path[start] == ':') params.emplace_back(path.substr(start + 1, end - start - 1));
    start = end + 1;
  }
  if (params.size() > router::kMaxRouteParams) params.resize(router::kMaxRouteParams);
  return params;
}

// Header plans (one per upstream the route may use), CORS and the regex rewrite of route `index`:
// every template, list and expression is compiled here, once per snapshot.
bool compile_transformations(const config::Config& cfg, std::size_t index, RouteBinding& binding,
                             std::vector<std::string>& errors) {
  const config::RouteSpec& route = cfg.routes[index];
  const std::string route_key = "routes[" + std::to_string(index) + "]";
  const std::vector<std::string> params = route_params(route.path);
  std::vector<const upstream::Upstream*> used;
  for (const auto& entry : binding.split) used.push_back(entry.upstream);
  if (binding.fallback != nullptr) used.push_back(binding.fallback);
  bool ok = true;
  for (const upstream::Upstream* target : used) {
    if (target == nullptr) continue;
    const config::UpstreamSpec& spec = *target->spec;
    policy::PlanInputs inputs;
    inputs.upstream_headers = spec.headers ? &*spec.headers : nullptr;
    inputs.route_headers = route.headers ? &*route.headers : nullptr;
    // securityHeaders: the route's, else the upstream's, else the global one.
    inputs.security = route.security_headers  ? &*route.security_headers
                      : spec.security_headers ? &*spec.security_headers
                      : cfg.security_headers  ? &*cfg.security_headers
                                              : nullptr;
    inputs.route_params = params;
    inputs.route_path = &route.path;  // ${route} and ${upstream} are constants of the pair
    inputs.upstream_name = &spec.name;
    policy::HeaderPlan plan;
    std::string error;
    if (!policy::HeaderPlan::compile(inputs, plan, error)) {
      errors.push_back(positioned(cfg, route.headers ? route.headers->pos : route.pos, route_key + ".headers", error));
      ok = false;
      continue;
    }
    binding.header_plans.emplace_back(target->index, std::move(plan));
  }
  const config::CorsSpec* cors = route.cors ? (route.cors->enabled ? &*route.cors : nullptr)
                                 : cfg.cors ? &*cfg.cors
                                            : nullptr;
  if (cors != nullptr) {
    std::string error;
    binding.cors = policy::CorsPolicy::build(*cors, error);
    if (!binding.cors) {
      errors.push_back(positioned(cfg, cors->pos, route.cors ? route_key + ".cors" : std::string("cors"), error));
      ok = false;
    }
  }
  if (route.rewrite_regex) {
    std::string error;
    binding.path_rewrite = policy::PathRewrite::compile(*route.rewrite_regex, error);
    if (!binding.path_rewrite) {
      errors.push_back(positioned(cfg, route.rewrite_regex->regex_pos, route_key + ".rewrite.regex", error));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

std::shared_ptr<const Runtime> Runtime::build(config::Config config, std::vector<std::string>& errors,
                                              const Runtime* previous, observe::MetricsRegistry* metrics) {
  // Built in place: the route table and bindings point into config_, which must not move after.
  auto runtime = std::make_shared<Runtime>(std::move(config));
  const config::Config& cfg = runtime->config_;
  if (previous != nullptr) runtime->version_ = previous->version_ + 1;
  // Deny by default: an upstream the egress guard would refuse is a config error, not a
  // runtime surprise.
  for (const auto& violation : policy::validate_upstreams(cfg)) {
    const auto& upstream = cfg.upstreams[violation.upstream_index];
    const auto& target = upstream.targets[violation.target_index];
    std::string key = "upstreams[" + std::to_string(violation.upstream_index) + "]" +
                      (upstream.targets.size() > 1 ? ".targets[" + std::to_string(violation.target_index) + "]" : "") +
                      ".url";
    errors.push_back(positioned(cfg, target.pos, key, violation.message));
  }
  if (!errors.empty()) return nullptr;
  runtime->egress_ = std::make_unique<policy::EgressGuard>(policy::EgressGuard::build(cfg.security));
  runtime->auth_ = policy::AuthPolicy::build(cfg, previous != nullptr ? previous->auth_.replay_cache() : nullptr);
  // Buckets outlive a reload: a new snapshot must not hand every client a fresh burst.
  runtime->rate_limit_ =
      policy::RateLimitPolicy::build(cfg, previous != nullptr ? previous->rate_limit().table() : nullptr);
  std::string error;
  if (cfg.rate_limit.backend == "redis") {
    runtime->redis_endpoint_ = policy::parse_redis_url(cfg.rate_limit.redis.url, error);
    if (!runtime->redis_endpoint_) errors.push_back(cfg.source_path + ": rateLimit.redis.url: " + error);
  }
  runtime->header_rules_ = policy::HeaderRules::build(cfg.security, error);
  if (!runtime->header_rules_) errors.push_back(cfg.source_path + ": security: " + error);
  auto trusted = policy::parse_cidr_set(cfg.security.trusted_proxies, "security.trustedProxies", error);
  if (trusted) {
    runtime->trusted_proxies_ = std::move(*trusted);
  } else {
    errors.push_back(cfg.source_path + ": security.trustedProxies: " + error);
  }
  if (cfg.proxy.tls) {
    const config::ServerTlsSpec& spec = *cfg.proxy.tls;
    net::ServerTlsSettings settings;
    settings.certificate = {spec.cert, spec.key};
    for (const auto& named : spec.certificates) settings.certificates.push_back({named.hosts, {named.cert, named.key}});
    settings.min_version = spec.min_version;
    settings.ciphers = spec.ciphers;
    settings.client_ca = spec.client_ca;
    settings.require_client_cert = spec.require_client_cert;
    if (cfg.proxy.http2.enabled) settings.alpn = {"h2", "http/1.1"};
    std::string tls_error;
    runtime->server_tls_ = net::ServerTls::build(settings, tls_error, previous != nullptr ? previous->server_tls_.get() : nullptr);
    if (!runtime->server_tls_) errors.push_back(positioned(cfg, spec.pos, "proxy.tls", tls_error));
  }
  runtime->routes_ = std::make_unique<router::RouteTable>(cfg.routes);
  runtime->upstreams_ = upstream::UpstreamSet::build(cfg, errors);
  runtime->controls_ = upstream::build_upstream_controls(cfg, *runtime->upstreams_,
                                                         previous != nullptr ? &previous->controls_ : nullptr);
  if (previous != nullptr) {
    runtime->previous_ = previous;
    runtime->target_ids_from_previous_.assign(previous->upstreams().target_count(), -1);
    for (const auto& old_upstream : previous->upstreams().upstreams()) {
      const upstream::Upstream* kept = runtime->upstreams_->find(old_upstream.spec->name);
      if (kept == nullptr) continue;
      for (const auto& old_target : old_upstream.targets) {
        for (const auto& target : kept->targets) {
          if (target.authority == old_target.authority && target.endpoints == old_target.endpoints) {
            runtime->target_ids_from_previous_[old_target.id] = static_cast<std::ptrdiff_t>(target.id);
            break;
          }
        }
      }
    }
  }
  runtime->limits_.max_head_bytes = cfg.proxy.max_head_size;
  runtime->limits_.max_target_bytes = cfg.proxy.max_uri_size;
  runtime->limits_.max_header_fields = std::min<std::size_t>(cfg.proxy.max_header_count, http::kMaxHeaderFieldsCapacity);
  runtime->metrics_upstreams_.assign(runtime->upstreams_->upstreams().size(), 0);
  runtime->metrics_targets_.resize(runtime->upstreams_->upstreams().size());
  for (const auto& upstream : runtime->upstreams_->upstreams()) {
    auto& targets = runtime->metrics_targets_[upstream.index];
    targets.assign(upstream.targets.size(), 0);
    if (metrics == nullptr) continue;
    runtime->metrics_upstreams_[upstream.index] = metrics->register_upstream(upstream.spec->name, errors).value_or(0);
    for (std::size_t t = 0; t < upstream.targets.size(); ++t) {
      targets[t] = metrics->register_target(upstream.spec->name, upstream.targets[t].authority, errors).value_or(0);
    }
  }
  runtime->bindings_.resize(cfg.routes.size());
  for (std::size_t i = 0; i < cfg.routes.size(); ++i) {
    const auto& route = cfg.routes[i];
    RouteBinding& binding = runtime->bindings_[i];
    binding.upstream = runtime->upstreams_->find(route.upstream);
    if (binding.upstream == nullptr) {
      errors.push_back("routes[" + std::to_string(i) + "]: upstream '" + route.upstream + "' is not defined");
      continue;
    }
    binding.timeouts = config::resolve_timeouts(cfg.proxy, *binding.upstream->spec, route);
    if (route.upstreams.empty()) {
      binding.split.push_back({binding.upstream, 1});
    } else {
      for (const auto& entry : route.upstreams) {
        const upstream::Upstream* target = runtime->upstreams_->find(entry.name);
        if (target == nullptr) {
          errors.push_back("routes[" + std::to_string(i) + "]: upstream '" + entry.name + "' is not defined");
          continue;
        }
        binding.split.push_back({target, entry.weight});
      }
    }
    for (const auto& entry : binding.split) binding.split_total += entry.weight;
    for (const auto& entry : binding.split) {
      binding.upstream_timeouts.emplace_back(entry.upstream->index,
                                             config::resolve_timeouts(cfg.proxy, *entry.upstream->spec, route));
    }
    if (!route.fallback.empty()) {
      binding.fallback = runtime->upstreams_->find(route.fallback);
      if (binding.fallback == nullptr) {
        errors.push_back("routes[" + std::to_string(i) + "]: fallback upstream '" + route.fallback + "' is not defined");
      } else {
        binding.upstream_timeouts.emplace_back(binding.fallback->index,
                                               config::resolve_timeouts(cfg.proxy, *binding.fallback->spec, route));
      }
    }
    binding.max_body_size = route.max_body_size.value_or(cfg.proxy.max_body_size);
    std::string route_key = "routes[" + std::to_string(i) + "]";
    auto filter = policy::ClientFilter::build(route, error);
    if (!filter) {
      errors.push_back(positioned(cfg, route.pos, route_key, error));
    } else if (!filter->empty()) {
      binding.client_filter = std::move(filter);
    }
    if (metrics != nullptr) {
      binding.metrics_route = metrics->register_route(route.path, errors).value_or(observe::kNoRoute);
    }
    compile_transformations(cfg, i, binding, errors);
    runtime->any_cors_ = runtime->any_cors_ || binding.cors.has_value();
    if (route.validate) {
      // Schemas are compiled once, here: a broken schema is a load error, never a runtime one.
      binding.validator = policy::RouteValidator::compile(*route.validate, error);
      if (!binding.validator) errors.push_back(positioned(cfg, route.validate->pos, route_key + ".validate", error));
    }
  }
  if (!errors.empty()) return nullptr;
  return runtime;
}

}  // namespace flexgate::proxy
