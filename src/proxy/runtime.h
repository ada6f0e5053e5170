#pragma once
// The immutable snapshot the data path runs on: the validated config plus everything compiled
// from it (route table, resolved upstreams, per-route settings). Swapped whole on reload;
// a request keeps the snapshot it started with.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.h"
#include "http/message.h"
#include "router/route_table.h"
#include "upstream/upstream_set.h"

namespace flexgate::proxy {

// What a matched route resolves to, computed once per snapshot.
struct RouteBinding {
  const upstream::Upstream* upstream = nullptr;
  std::chrono::milliseconds response_timeout{30000};  // route timeout, else the upstream's
  std::uint64_t max_body_size = 0;                     // route maxBodySize, else proxy.maxBodySize
};

// One config snapshot, ready to serve.
class Runtime {
 public:
  // Compiles `config`; returns nullptr and fills `errors` when it cannot be served (e.g. DNS).
  static std::shared_ptr<const Runtime> build(config::Config config, std::vector<std::string>& errors);

  const config::Config& config() const { return config_; }
  const router::RouteTable& routes() const { return *routes_; }
  const upstream::UpstreamSet& upstreams() const { return *upstreams_; }
  const RouteBinding& binding(std::size_t route_index) const { return bindings_[route_index]; }
  const http::Limits& limits() const { return limits_; }

  explicit Runtime(config::Config config);  // use build()

 private:
  config::Config config_;
  std::unique_ptr<router::RouteTable> routes_;
  std::unique_ptr<upstream::UpstreamSet> upstreams_;
  std::vector<RouteBinding> bindings_;
  http::Limits limits_;
};

}  // namespace flexgate::proxy
