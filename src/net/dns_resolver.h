#pragma once
// Blocking DNS resolution of upstream host names through configurable servers (c-ares), with the
// TTL of each answer so callers know when to resolve again. Used where blocking is acceptable: the
// main thread while building a config snapshot, or a background thread.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/asio.h"

namespace flexgate::net {

// How names are resolved: which servers, how long to wait, how long answers may be kept.
struct DnsOptions {
  // "127.0.0.1:5353", "[::1]:53", "10.0.0.2" (port 53); empty = the system's resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{2000};  // for one whole resolve(), all servers and retries
  std::chrono::milliseconds min_ttl{1000};
  std::chrono::milliseconds max_ttl{300000};
};

// The addresses a name resolved to, or why it did not.
struct DnsAnswer {
  // A and AAAA records, no duplicates, ordered like getaddrinfo's (RFC 6724: reachable and
  // preferred destinations first).
  std::vector<ip::address> addresses;
  // Smallest TTL of the records used (CNAMEs included), clamped to [min_ttl, max_ttl].
  // 0 for IP literals and "localhost": their answer never changes.
  std::chrono::milliseconds ttl{0};
  std::string error;  // "" on success; else "NXDOMAIN", "timeout after 2000 ms", ...

  bool ok() const { return error.empty(); }
};

// Resolves names with one c-ares channel, waiting for the answer with poll(). Blocking and not
// thread-safe: one resolver per thread.
class DnsResolver {
  struct Channel;  // the c-ares channel and the sockets it watches, kept out of this header
  struct Key {     // only create() can construct, yet make_unique still works
    explicit Key() = default;
  };

 public:
  // Fails (nullptr, `error` set) on an invalid server address or a non-positive timeout.
  static std::unique_ptr<DnsResolver> create(const DnsOptions& options, std::string& error);

  DnsResolver(Key, DnsOptions options, std::unique_ptr<Channel> channel);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Queries A and AAAA in parallel, following CNAMEs, within options().timeout. IP literals come
  // back as they are and "localhost" as 127.0.0.1 and ::1, without any query. Names with a dot are
  // queried as absolute names (no search domains); configured servers also bypass /etc/hosts and
  // resolv.conf's search domains.
  DnsAnswer resolve(const std::string& host);

  const DnsOptions& options() const { return options_; }

 private:
  DnsOptions options_;
  std::unique_ptr<Channel> channel_;
};

}  // namespace flexgate::net
