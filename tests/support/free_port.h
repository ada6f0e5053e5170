#pragma once
// Free loopback ports for servers the tests start themselves.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace flexgate::testing {

// A loopback port free for both UDP and TCP (DNS servers bind both), released at once: the kernel
// picks a free TCP port, and it is kept only if UDP can bind it too. On a busy machine many TCP
// ports are held by TIME-WAIT connections, so a port free for UDP alone is often refused by a TCP
// listener. Callers retry if the port is taken before their server binds it.
inline std::uint16_t free_udp_and_tcp_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (tcp >= 0 && udp >= 0 && ::bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      port = ntohs(addr.sin_port);
    }
    if (tcp >= 0) ::close(tcp);
    if (udp >= 0) ::close(udp);
    if (port != 0) return port;
  }
  return 0;
}

}  // namespace flexgate::testing
