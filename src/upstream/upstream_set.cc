#include "upstream/upstream_set.h"

#include <optional>

#include "net/dns_resolver.h"

namespace flexgate::upstream {
namespace {

// Resolves target hosts through `config.dns`. The c-ares channel is opened on the first name that
// needs it, so a config of IP literals never reads resolv.conf or opens a socket.
class TargetResolver {
 public:
  explicit TargetResolver(const config::DnsSpec& dns) {
    options_.servers = dns.servers;
    options_.timeout = dns.timeout;
    options_.min_ttl = dns.min_ttl;
    options_.max_ttl = dns.max_ttl;
  }

  // Appends `host`'s addresses with `port` to `out` and sets `ttl`; returns "" or the reason.
  std::string resolve(const std::string& host, std::uint16_t port, std::vector<net::tcp::endpoint>& out,
                      std::chrono::milliseconds& ttl) {
    std::error_code ec;
    const auto literal = net::ip::make_address(host, ec);
    if (!ec) {
      out.emplace_back(literal, port);
      ttl = std::chrono::milliseconds(0);
      return {};
    }
    if (!resolver_) {
      std::string error;
      resolver_ = net::DnsResolver::create(options_, error);
      create_error_ = error;
    }
    if (!*resolver_) return create_error_;
    net::DnsAnswer answer = (*resolver_)->resolve(host);
    if (!answer.ok()) return answer.error;
    for (const auto& address : answer.addresses) out.emplace_back(address, port);
    ttl = answer.ttl;
    return {};
  }

 private:
  net::DnsOptions options_;
  std::optional<std::unique_ptr<net::DnsResolver>> resolver_;  // unset until first needed
  std::string create_error_;  // why creating it failed, repeated for every name
};

}  // namespace

std::unique_ptr<UpstreamSet> UpstreamSet::build(const config::Config& config, std::vector<std::string>& errors) {
  auto set = std::make_unique<UpstreamSet>();
  TargetResolver resolver(config.dns);
  std::size_t next_id = 0;
  for (std::size_t u = 0; u < config.upstreams.size(); ++u) {
    const auto& spec = config.upstreams[u];
    Upstream upstream;
    upstream.spec = &spec;
    upstream.index = u;
    std::shared_ptr<net::ClientTls> tls;  // built for the first https:// target
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
      target.port = target_spec.port;
      if (target_spec.scheme == "https") {
        if (!tls) {
          const config::UpstreamTlsSpec tls_spec = spec.tls.value_or(config::UpstreamTlsSpec{});
          net::ClientTlsSettings settings;
          settings.verify = tls_spec.verify;
          settings.ca = tls_spec.ca;
          settings.client_certificate = {tls_spec.cert, tls_spec.key};
          settings.server_name = tls_spec.server_name;
          settings.min_version = tls_spec.min_version;
          // protocol: h2 is chosen in the handshake; the server must select it (checked at connect).
          if (spec.protocol == config::UpstreamProtocol::kH2) settings.alpn = "h2";
          std::string error;
          tls = net::ClientTls::build(settings, error);
          if (!tls) errors.push_back("upstreams[" + std::to_string(u) + "] '" + spec.name + "': TLS: " + error);
        }
        target.tls = tls;
        target.tls_host = target_spec.host;
      }
      if (std::string error =
              resolver.resolve(target_spec.host, target_spec.port, target.endpoints, target.ttl);
          !error.empty()) {
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

std::chrono::milliseconds UpstreamSet::shortest_ttl() const {
  std::chrono::milliseconds shortest{0};
  for (const Upstream& upstream : upstreams_) {
    for (const Target& target : upstream.targets) {
      if (target.ttl.count() > 0 && (shortest.count() == 0 || target.ttl < shortest)) shortest = target.ttl;
    }
  }
  return shortest;
}

bool UpstreamSet::same_addresses(const UpstreamSet& other) const {
  if (upstreams_.size() != other.upstreams_.size()) return false;
  for (std::size_t u = 0; u < upstreams_.size(); ++u) {
    const auto& mine = upstreams_[u].targets;
    const auto& theirs = other.upstreams_[u].targets;
    if (mine.size() != theirs.size()) return false;
    for (std::size_t t = 0; t < mine.size(); ++t) {
      if (mine[t].endpoints != theirs[t].endpoints) return false;
    }
  }
  return true;
}

}  // namespace flexgate::upstream
