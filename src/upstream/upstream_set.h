#pragma once
// Upstreams as the data path sees them: each config upstream with its targets resolved to
// addresses, ready for target selection. Built once per config snapshot; immutable after.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "net/asio.h"
#include "net/tls.h"

namespace flexgate::upstream {

// One endpoint of an upstream, with the addresses its host resolved to.
struct Target {
  std::size_t id = 0;  // unique across the snapshot: indexes per-worker pools
  std::string authority;  // "host:port" for logs
  std::string host_header;  // Host value to send ("host" or "host:port")
  std::vector<net::tcp::endpoint> endpoints;
  unsigned weight = 1;
  // How long `endpoints` stay valid: the DNS TTL clamped to [dns.minTtl, dns.maxTtl]; 0 for an IP
  // literal (or localhost, or a failed resolution), which has nothing to re-resolve.
  std::chrono::milliseconds ttl{0};
  // An https:// target: its upstream's TLS client context (shared by the upstream's https
  // targets), and the URL's host and port for SNI, the certificate name check and resumption.
  std::shared_ptr<net::ClientTls> tls;
  std::string tls_host;
  std::uint16_t port = 0;
};

// One configured upstream and its targets.
struct Upstream {
  const config::UpstreamSpec* spec = nullptr;
  std::size_t index = 0;  // in UpstreamSet::upstreams() (and the snapshot's upstream controls)
  std::vector<Target> targets;
};

// All upstreams of a snapshot, by config order.
class UpstreamSet {
 public:
  // Resolves every target's host through `config.dns` (blocking, at most dns.timeout per name;
  // called at load, off the workers). Failures are appended to `errors` as
  // "upstreams[i] 'name': cannot resolve 'host': reason".
  static std::unique_ptr<UpstreamSet> build(const config::Config& config, std::vector<std::string>& errors);

  const Upstream* find(std::string_view name) const;
  const std::vector<Upstream>& upstreams() const { return upstreams_; }
  std::size_t target_count() const { return target_count_; }
  // The shortest DNS TTL of any target (0 when every host is an IP literal): when to resolve again.
  std::chrono::milliseconds shortest_ttl() const;
  // True when every target of every upstream resolved to the same addresses in `other` (built
  // from the same config): a DNS refresh that changes nothing needs no new snapshot.
  bool same_addresses(const UpstreamSet& other) const;

 private:
  std::vector<Upstream> upstreams_;
  std::size_t target_count_ = 0;
};

// Picks targets for one worker (no shared state): smooth weighted round robin over the targets.
class TargetPicker {
 public:
  // Returns a target index of `upstream`, or -1 when it has none.
  int pick(const Upstream& upstream);

 private:
  std::vector<std::int64_t> current_weights_;  // by target id; grown on demand
};

}  // namespace flexgate::upstream
