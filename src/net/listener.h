#pragma once
// Listening sockets: one per worker on the same address (SO_REUSEPORT), so the kernel spreads
// connections across workers without a shared accept lock.

#include <string>
#include <system_error>

#include "net/asio.h"

namespace flexgate::net {

// Resolves a numeric host ("0.0.0.0", "::1", "127.0.0.1") or "localhost" and a port.
std::error_code make_endpoint(const std::string& host, std::uint16_t port, tcp::endpoint& out);

// Opens, binds (SO_REUSEADDR + SO_REUSEPORT) and listens. On success `acceptor` is open.
std::error_code open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, int backlog = 4096);

// Parses "HOST:PORT" / "[V6]:PORT" / ":PORT" (host defaults to 0.0.0.0).
bool parse_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace flexgate::net
