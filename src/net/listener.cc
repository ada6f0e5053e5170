#include "net/listener.h"

#include <charconv>
#include <sys/socket.h>

namespace flexgate::net {

std::error_code make_endpoint(const std::string& host, std::uint16_t port, tcp::endpoint& out) {
  std::error_code ec;
  const std::string& name = host == "localhost" ? std::string("127.0.0.1") : host;
  auto address = ip::make_address(name.empty() ? "0.0.0.0" : name, ec);
  if (ec) return ec;
  out = tcp::endpoint(address, port);
  return {};
}

std::error_code open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, int backlog) {
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return ec;
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return ec;
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return {errno, std::system_category()};
  }
  if (endpoint.address().is_v6()) acceptor.set_option(ip::v6_only(false), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return ec;
  acceptor.listen(backlog, ec);
  if (ec) return ec;
  acceptor.non_blocking(true, ec);
  return ec;
}

bool parse_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  std::string_view host_part;
  std::string_view port_part;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
    host_part = text.substr(1, close - 1);
    port_part = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host_part = text.substr(0, colon);
    port_part = text.substr(colon + 1);
    // An IPv6 host must be bracketed, or its last group would be read as the port.
    if (host_part.find(':') != std::string_view::npos) return false;
  }
  // Brackets belong around an IPv6 host only, never inside a host ("[[::1]:80", "a]:80").
  if (host_part.find_first_of("[]") != std::string_view::npos) return false;
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), value);
  if (ec != std::errc() || ptr != port_part.data() + port_part.size() || value > 65535) return false;
  host = host_part.empty() ? "0.0.0.0" : std::string(host_part);
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace flexgate::net
