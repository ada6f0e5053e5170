#include "upstream/upstream_set.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

namespace flexgate::upstream {
namespace {

// Resolves a host to TCP endpoints; numeric hosts never touch the resolver.
bool resolve(const std::string& host, std::uint16_t port, std::vector<net::tcp::endpoint>& out,
             std::string& error) {
  std::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (!ec) {
    out.emplace_back(address, port);
    return true;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0) {
    error = gai_strerror(rc);
    return false;
  }
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      net::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &sin->sin_addr, 4);
      out.emplace_back(net::ip::address_v4(bytes), port);
    } else if (ai->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      net::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
      out.emplace_back(net::ip::address_v6(bytes, sin6->sin6_scope_id), port);
    }
  }
  ::freeaddrinfo(result);
  if (out.empty()) {
    error = "no addresses";
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<UpstreamSet> UpstreamSet::build(const config::Config& config, std::vector<std::string>& errors) {
  auto set = std::make_unique<UpstreamSet>();
  std::size_t next_id = 0;
  for (std::size_t u = 0; u < config.upstreams.size(); ++u) {
    const auto& spec = config.upstreams[u];
    Upstream upstream;
    upstream.spec = &spec;
    for (std::size_t t = 0; t < spec.targets.size(); ++t) {
      const auto& target_spec = spec.targets[t];
      Target target;
      target.id = next_id++;
      target.weight = target_spec.weight == 0 ? 1 : target_spec.weight;
      bool v6 = target_spec.host.find(':') != std::string::npos;
      std::string host = v6 ? "[" + target_spec.host + "]" : target_spec.host;
      target.authority = host + ":" + std::to_string(target_spec.port);
      std::uint16_t default_port = target_spec.scheme == "https" ? 443 : 80;
      target.host_header = target_spec.port == default_port ? host : target.authority;
      std::string error;
      if (!resolve(target_spec.host, target_spec.port, target.endpoints, error)) {
        errors.push_back("upstreams[" + std::to_string(u) + "] '" + spec.name + "': cannot resolve '" +
                         target_spec.host + "': " + error);
      }
      upstream.targets.push_back(std::move(target));
    }
    set->upstreams_.push_back(std::move(upstream));
  }
  set->target_count_ = next_id;
  return set;
}

const Upstream* UpstreamSet::find(std::string_view name) const {
  for (const auto& upstream : upstreams_) {
    if (upstream.spec->name == name) return &upstream;
  }
  return nullptr;
}

int TargetPicker::pick(const Upstream& upstream) {
  const auto& targets = upstream.targets;
  if (targets.empty()) return -1;
  if (targets.size() == 1) return 0;
  // Smooth weighted round robin (nginx): each pick adds every weight, takes the largest, and
  // subtracts the total from it, which interleaves targets in proportion to their weights.
  std::int64_t total = 0;
  int best = -1;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    std::size_t id = targets[i].id;
    if (id >= current_weights_.size()) current_weights_.resize(id + 1, 0);
    current_weights_[id] += targets[i].weight;
    total += targets[i].weight;
    if (best < 0 || current_weights_[id] > current_weights_[targets[best].id]) best = static_cast<int>(i);
  }
  current_weights_[targets[best].id] -= total;
  return best;
}

}  // namespace flexgate::upstream
