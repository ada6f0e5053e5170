#pragma once
// The resolver tests' DNS server: the shared dnsmasq fixture, under the names these tests use.

#include "support/dnsmasq.h"

namespace flexgate::net::test {
using flexgate::testing::Dnsmasq;
using flexgate::testing::find_dnsmasq;
using flexgate::testing::kDnsmasqLocalTtl;
}  // namespace flexgate::net::test
