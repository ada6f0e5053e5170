#include "net/dns_resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <system_error>

#include "core/errno_text.h"

namespace flexgate::net {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// c-ares needs one process-wide init before any channel; a function-local static runs it exactly
// once even when threads race, and keeps its result for every later caller.
int init_ares_library() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  return status;
}

struct ChannelDeleter {
  void operator()(ares_channeldata* channel) const { ares_destroy(channel); }
};
using ChannelPtr = std::unique_ptr<ares_channeldata, ChannelDeleter>;

struct AddrinfoDeleter {
  void operator()(ares_addrinfo* info) const { ares_freeaddrinfo(info); }
};
using AddrinfoPtr = std::unique_ptr<ares_addrinfo, AddrinfoDeleter>;

struct ServerListDeleter {
  void operator()(ares_addr_port_node* list) const { ares_free_data(list); }
};

// Parses "1.2.3.4", "1.2.3.4:53", "[::1]", "[::1]:53" or a bare "::1" into a c-ares server node
// (port 0 = c-ares' default, 53). Returns "" or why the text is not a server address.
std::string parse_server(std::string_view text, ares_addr_port_node& node) {
  std::string_view host = text;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "unclosed '['";
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "unexpected text after ']'";
      port_text = rest.substr(1);
      if (port_text.empty()) return "empty port";
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const std::size_t colon = text.find(':');
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return "empty port";
  }
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return "port is not a number";
    port = port * 10 + (c - '0');
    if (port > 65535) return "port out of range";
  }
  if (!port_text.empty() && port == 0) return "port out of range";
  std::error_code ec;
  const ip::address address = ip::make_address(std::string(host), ec);
  if (ec) return "not an IP address";
  node = ares_addr_port_node{};
  if (address.is_v4()) {
    node.family = AF_INET;
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(&node.addr.addr4, bytes.data(), bytes.size());
  } else {
    if (address.to_v6().scope_id() != 0) return "zone IDs are not supported";
    node.family = AF_INET6;
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(&node.addr.addr6, bytes.data(), bytes.size());
  }
  node.udp_port = port;
  node.tcp_port = port;
  return {};
}

bool is_localhost(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view kLocalhost = "localhost";
  return host.size() == kLocalhost.size() &&
         std::equal(host.begin(), host.end(), kLocalhost.begin(),
                    [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b; });
}

std::string describe(int status, milliseconds timeout) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "NXDOMAIN";
    case ARES_ENODATA:
      return "no A or AAAA records (NODATA)";
    case ARES_ETIMEOUT:
      return "timeout after " + std::to_string(timeout.count()) + " ms";
    case ARES_ESERVFAIL:
      return "SERVFAIL from the DNS server";
    case ARES_EREFUSED:
      return "query REFUSED by the DNS server";
    case ARES_ECONNREFUSED:
      // c-ares 1.18 also ends here when every server answered SERVFAIL or REFUSED.
      return "no DNS server answered (connection refused, SERVFAIL or REFUSED)";
    case ARES_EBADNAME:
      return "invalid host name";
    default:
      return ares_strerror(status);
  }
}

// What the getaddrinfo callback hands back to resolve().
struct Pending {
  bool done = false;
  int status = ARES_SUCCESS;
  AddrinfoPtr result;
};

void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  auto* pending = static_cast<Pending*>(arg);
  pending->done = true;
  pending->status = status;
  pending->result.reset(result);
}

timeval to_timeval(milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(duration.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((duration.count() % 1000) * 1000);
  return tv;
}

// A DNS TTL is 32 bits; one with the top bit set (negative here) counts as 0 (RFC 2181 §8).
milliseconds ttl_of(int seconds) {
  return milliseconds(std::max(seconds, 0) * std::int64_t{1000});
}

}  // namespace

// The channel and the sockets it asked us to watch (kept current by its socket-state callback, so
// waiting needs neither fd_set, which breaks above FD_SETSIZE, nor a 16-socket bitmask).
struct DnsResolver::Channel {
  std::vector<pollfd> sockets;  // declared before `handle`: ares_destroy still reports closes
  ChannelPtr handle;

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto& sockets = static_cast<Channel*>(data)->sockets;
    auto it = std::find_if(sockets.begin(), sockets.end(), [fd](const pollfd& p) { return p.fd == fd; });
    if (readable == 0 && writable == 0) {
      if (it != sockets.end()) sockets.erase(it);
      return;
    }
    if (it == sockets.end()) it = sockets.insert(sockets.end(), pollfd{fd, 0, 0});
    it->events = static_cast<short>((readable != 0 ? POLLIN : 0) | (writable != 0 ? POLLOUT : 0));
  }

  // Opens a channel; `per_try` is the first attempt's timeout (c-ares doubles it each round).
  static std::unique_ptr<Channel> open(const DnsOptions& options, milliseconds per_try, std::string& error) {
    auto channel = std::make_unique<Channel>();
    ares_options opts{};
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    opts.timeout = static_cast<int>(std::clamp<milliseconds::rep>(per_try.count(), 1, 60000));
    opts.tries = kTries;
    opts.sock_state_cb = &Channel::on_socket_state;
    opts.sock_state_cb_data = channel.get();
    char dns_only[] = "b";
    if (!options.servers.empty()) {
      // Explicit servers are the whole truth: no /etc/hosts, no search domains from resolv.conf.
      mask |= ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS;
      opts.lookups = dns_only;
      opts.ndomains = 0;
    }
    ares_channel raw = nullptr;
    if (int rc = ares_init_options(&raw, &opts, mask); rc != ARES_SUCCESS) {
      error = std::string("cannot create DNS channel: ") + ares_strerror(rc);
      return nullptr;
    }
    channel->handle.reset(raw);
    if (options.servers.empty()) return channel;

    std::vector<ares_addr_port_node> nodes(options.servers.size());
    for (std::size_t i = 0; i < options.servers.size(); ++i) {
      if (std::string why = parse_server(options.servers[i], nodes[i]); !why.empty()) {
        error = "invalid DNS server '" + options.servers[i] + "': " + why;
        return nullptr;
      }
      if (i > 0) nodes[i - 1].next = &nodes[i];
    }
    if (int rc = ares_set_servers_ports(channel->handle.get(), nodes.data()); rc != ARES_SUCCESS) {
      error = std::string("cannot set DNS servers: ") + ares_strerror(rc);
      return nullptr;
    }
    return channel;
  }

  std::size_t server_count() const {
    ares_addr_port_node* raw = nullptr;
    if (ares_get_servers_ports(handle.get(), &raw) != ARES_SUCCESS) return 1;
    std::unique_ptr<ares_addr_port_node, ServerListDeleter> list(raw);
    std::size_t count = 0;
    for (auto* node = list.get(); node != nullptr; node = node->next) ++count;
    return std::max<std::size_t>(count, 1);
  }

  // Drives the channel until `done` or `deadline`. Returns 0 when done, ETIMEDOUT at the
  // deadline, or poll()'s errno.
  int wait(const bool& done, SteadyClock::time_point deadline) {
    while (!done) {
      const auto now = SteadyClock::now();
      if (now >= deadline) return ETIMEDOUT;
      timeval bound = to_timeval(std::chrono::ceil<milliseconds>(deadline - now));
      timeval storage{};
      const timeval* next = ares_timeout(handle.get(), &bound, &storage);
      const auto wait_ms = static_cast<int>(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000);
      std::vector<pollfd> ready = sockets;  // a copy: processing opens and closes sockets
      const int n = ::poll(ready.data(), ready.size(), wait_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) {
        ares_process_fd(handle.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retries and timeouts
        continue;
      }
      for (const pollfd& p : ready) {
        if (p.revents == 0 || (p.revents & POLLNVAL) != 0) continue;
        // An error (ICMP port unreachable on UDP) surfaces on read, so errors count as readable.
        const bool readable = (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (p.revents & POLLOUT) != 0;
        ares_process_fd(handle.get(), readable ? p.fd : ARES_SOCKET_BAD, writable ? p.fd : ARES_SOCKET_BAD);
      }
    }
    return 0;
  }

  // Two rounds per server: the per-try timeout t then 2t, so one server uses 3t of the budget.
  static constexpr int kTries = 2;
};

std::unique_ptr<DnsResolver> DnsResolver::create(const DnsOptions& options, std::string& error) {
  if (options.timeout <= milliseconds(0)) {
    error = "DNS timeout must be positive";
    return nullptr;
  }
  if (int rc = init_ares_library(); rc != ARES_SUCCESS) {
    error = std::string("cannot initialise c-ares: ") + ares_strerror(rc);
    return nullptr;
  }
  // Spread the budget over every server's attempts (c-ares tries each server in turn per round);
  // resolve() still enforces options.timeout overall, this just lets later servers be reached.
  const auto per_try_for = [&](std::size_t servers) {
    return std::max(milliseconds(1), options.timeout / static_cast<int>(3 * servers));
  };
  auto channel = Channel::open(options, per_try_for(std::max<std::size_t>(options.servers.size(), 1)), error);
  if (channel == nullptr) return nullptr;
  if (options.servers.empty()) {
    // resolv.conf's server count is known only once a channel has read it.
    if (const std::size_t system_servers = channel->server_count(); system_servers > 1) {
      channel = Channel::open(options, per_try_for(system_servers), error);
      if (channel == nullptr) return nullptr;
    }
  }
  return std::make_unique<DnsResolver>(Key{}, options, std::move(channel));
}

DnsResolver::DnsResolver(Key, DnsOptions options, std::unique_ptr<Channel> channel)
    : options_(std::move(options)), channel_(std::move(channel)) {}

DnsResolver::~DnsResolver() = default;

DnsAnswer DnsResolver::resolve(const std::string& host) {
  DnsAnswer answer;
  if (host.empty()) {
    answer.error = "empty host name";
    return answer;
  }
  std::error_code ec;
  const ip::address literal = ip::make_address(host, ec);
  if (!ec) {
    answer.addresses.push_back(literal);
    return answer;
  }
  if (is_localhost(host)) {
    // RFC 6761 §6.3: localhost is loopback, and is never sent to a DNS server.
    answer.addresses = {ip::address_v4::loopback(), ip::address_v6::loopback()};
    return answer;
  }

  // A trailing dot makes a dotted name absolute, so a miss is not retried under search domains
  // (c-ares 1.18's getaddrinfo ignores ARES_FLAG_NOSEARCH).
  std::string query_name = host;
  if (host.find('.') != std::string::npos && host.back() != '.') query_name += '.';
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;  // A and AAAA, queried in parallel
  hints.ai_socktype = SOCK_STREAM;
  Pending pending;
  const auto deadline = SteadyClock::now() + options_.timeout;
  ares_getaddrinfo(channel_->handle.get(), query_name.c_str(), nullptr, &hints, &on_addrinfo, &pending);
  if (int rc = channel_->wait(pending.done, deadline); rc != 0) {
    ares_cancel(channel_->handle.get());  // completes the query (ARES_ECANCELLED) synchronously
    answer.error = rc == ETIMEDOUT ? describe(ARES_ETIMEOUT, options_.timeout)
                                   : std::string("poll failed: ") + errno_text(rc);
    return answer;
  }
  if (pending.status != ARES_SUCCESS) {
    answer.error = describe(pending.status, options_.timeout);
    return answer;
  }

  auto ttl = milliseconds::max();
  for (const ares_addrinfo_node* node = pending.result->nodes; node != nullptr; node = node->ai_next) {
    ip::address address;
    if (node->ai_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, node->ai_addr, sizeof sin);
      ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &sin.sin_addr, bytes.size());
      address = ip::address_v4(bytes);
    } else if (node->ai_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, node->ai_addr, sizeof sin6);
      ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &sin6.sin6_addr, bytes.size());
      address = ip::address_v6(bytes, sin6.sin6_scope_id);
    } else {
      continue;
    }
    ttl = std::min(ttl, ttl_of(node->ai_ttl));
    if (std::find(answer.addresses.begin(), answer.addresses.end(), address) == answer.addresses.end()) {
      answer.addresses.push_back(address);
    }
  }
  if (answer.addresses.empty()) {
    answer.error = describe(ARES_ENODATA, options_.timeout);
    return answer;
  }
  // The chain is only as fresh as its shortest-lived link.
  for (const ares_addrinfo_cname* cname = pending.result->cnames; cname != nullptr; cname = cname->next) {
    ttl = std::min(ttl, ttl_of(cname->ttl));
  }
  answer.ttl = std::max(std::min(ttl, options_.max_ttl), options_.min_ttl);
  return answer;
}

}  // namespace flexgate::net
