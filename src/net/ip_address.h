#pragma once
// IP addresses and CIDR ranges as plain values (no Asio), parsed strictly: policies (egress,
// client allow/deny lists) and config validation share them.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flexgate::net {

// An IPv4 or IPv6 address. IPv4 is stored as its IPv4-mapped IPv6 form with is_v4 set, so one
// comparison path serves both families.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4 = false;

  static IpAddress from_v4(const std::array<std::uint8_t, 4>& v4);
  static IpAddress from_v6(const std::array<std::uint8_t, 16>& v6);  // a v4-mapped input stays v6
  // Strict text forms: dotted quad (4 decimal parts, no leading zeros) or RFC 4291 IPv6 (no zone).
  static std::optional<IpAddress> parse(std::string_view text);

  // Dotted quad for IPv4; RFC 5952 for IPv6 (lower case, longest zero run as "::", and the
  // IPv4-mapped form as "::ffff:a.b.c.d").
  std::string to_string() const;
  // The IPv4 address carried inside an IPv6 one: v4-mapped (::ffff:0:0/96), v4-compatible
  // (::/96, except :: and ::1), NAT64 (64:ff9b::/96 and 64:ff9b:1::/48) or 6to4 (2002::/16).
  std::optional<IpAddress> embedded_v4() const;
  // The four IPv4 bytes (meaningful when is_v4).
  std::array<std::uint8_t, 4> v4_bytes() const { return {bytes[12], bytes[13], bytes[14], bytes[15]}; }

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// A network: address plus prefix length (0..32 for IPv4, 0..128 for IPv6).
// Families never mix: an IPv4 network contains only IPv4 addresses and an IPv6 network only IPv6
// ones, so "::/0" does not contain 10.0.0.1 and "10.0.0.0/8" does not contain ::ffff:10.0.0.1.
// Callers that must see through IPv6 forms of IPv4 addresses check embedded_v4() as well (the
// egress guard does).
struct Cidr {
  IpAddress network;
  unsigned prefix = 0;

  // "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Host bits must be zero; the
  // prefix is decimal without leading zeros.
  static std::optional<Cidr> parse(std::string_view text);
  // The network of `address` with `prefix` bits kept and the host bits cleared (prefix clamped to
  // the family's width).
  static Cidr of(const IpAddress& address, unsigned prefix);
  // 32 for an IPv4 network, 128 for IPv6.
  unsigned max_prefix() const { return network.is_v4 ? 32 : 128; }
  bool contains(const IpAddress& address) const;
  // "10.0.0.0/8", "fd00::/8" (the prefix is always written).
  std::string to_string() const;

  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// A set of networks; contains() is true when any member contains the address.
class CidrSet {
 public:
  void add(const Cidr& cidr) { members_.push_back(cidr); }
  bool contains(const IpAddress& address) const;
  // The first member containing the address, or nullptr.
  const Cidr* find(const IpAddress& address) const;
  bool empty() const { return members_.empty(); }
  const std::vector<Cidr>& members() const { return members_; }

 private:
  std::vector<Cidr> members_;
};

}  // namespace flexgate::net
