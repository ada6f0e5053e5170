#pragma once
// Conversions between Asio's addresses and the plain IpAddress the policies use.

#include "net/asio.h"
#include "net/ip_address.h"

namespace flexgate::net {

inline IpAddress to_ip_address(const ip::address& address) {
  if (address.is_v4()) return IpAddress::from_v4(address.to_v4().to_bytes());
  return IpAddress::from_v6(address.to_v6().to_bytes());
}

}  // namespace flexgate::net
