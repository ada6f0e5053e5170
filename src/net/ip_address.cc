#include "net/ip_address.h"

#include <cstdio>

namespace flexgate::net {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal number without sign or leading zeros ("0" itself is fine): "010" is octal to some
// parsers (inet_aton) and decimal to others, so it is refused rather than guessed.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

// Exactly four decimal parts 0..255. No short ("1.2.3", "169.254.43518"), single-number
// ("2852039166"), hex ("0xA9FEA9FE") or octal ("0251.0376.0251.0376") forms: those are what
// inet_aton and URL parsers accept and what SSRF payloads use to slip past string checks.
std::optional<std::array<std::uint8_t, 4>> parse_v4(std::string_view text) {
  std::array<std::uint8_t, 4> out{};
  std::size_t part = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = text.find('.', start);
    const std::string_view piece =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part == 4) return std::nullopt;
    const auto value = parse_decimal(piece, 3);
    if (!value || *value > 255) return std::nullopt;
    out[part++] = static_cast<std::uint8_t>(*value);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (part != 4) return std::nullopt;
  return out;
}

// RFC 4291 text form: 1..4 hex digits per group, at most one "::", an optional dotted-quad tail
// for the last 32 bits. No zone ("%eth0"), no brackets.
std::optional<std::array<std::uint8_t, 16>> parse_v6(std::string_view text) {
  if (text.size() < 2 || text.size() > 45) return std::nullopt;
  std::uint16_t head[8] = {}, tail[8] = {};
  int head_count = 0, tail_count = 0;
  bool compressed = false;
  const auto push = [&](unsigned group) {
    if (head_count + tail_count >= 8) return false;
    if (compressed) {
      tail[tail_count++] = static_cast<std::uint16_t>(group);
    } else {
      head[head_count++] = static_cast<std::uint16_t>(group);
    }
    return true;
  };
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (text.starts_with("::")) {
    compressed = true;
    i = 2;
  } else if (text[0] == ':') {
    return std::nullopt;
  }
  while (i < n) {
    std::size_t j = text.find(':', i);
    if (j == std::string_view::npos) j = n;
    const std::string_view piece = text.substr(i, j - i);
    if (piece.find('.') != std::string_view::npos) {  // dotted-quad tail: the last 32 bits
      if (j != n) return std::nullopt;
      const auto v4 = parse_v4(piece);
      if (!v4) return std::nullopt;
      if (!push(static_cast<unsigned>((*v4)[0] << 8 | (*v4)[1])) ||
          !push(static_cast<unsigned>((*v4)[2] << 8 | (*v4)[3]))) {
        return std::nullopt;
      }
      break;
    }
    if (piece.empty() || piece.size() > 4) return std::nullopt;
    unsigned group = 0;
    for (char c : piece) {
      const int digit = hex_value(c);
      if (digit < 0) return std::nullopt;
      group = group * 16 + static_cast<unsigned>(digit);
    }
    if (!push(group)) return std::nullopt;
    if (j == n) break;
    if (j + 1 < n && text[j + 1] == ':') {
      if (compressed) return std::nullopt;
      compressed = true;
      i = j + 2;
    } else {
      i = j + 1;
      if (i == n) return std::nullopt;  // trailing single ':'
    }
  }
  const int total = head_count + tail_count;
  if (compressed ? total > 7 : total != 8) return std::nullopt;
  std::array<std::uint8_t, 16> out{};
  for (int g = 0; g < head_count; ++g) {
    out[2 * g] = static_cast<std::uint8_t>(head[g] >> 8);
    out[2 * g + 1] = static_cast<std::uint8_t>(head[g] & 0xff);
  }
  for (int g = 0; g < tail_count; ++g) {
    const int at = 8 - tail_count + g;
    out[2 * at] = static_cast<std::uint8_t>(tail[g] >> 8);
    out[2 * at + 1] = static_cast<std::uint8_t>(tail[g] & 0xff);
  }
  return out;
}

std::string format_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  // By hand: snprintf costs more than a request's routing (it runs per request for rate keys).
  char buf[16];
  char* p = buf;
  for (const std::uint8_t octet : {a, b, c, d}) {
    if (p != buf) *p++ = '.';
    if (octet >= 100) *p++ = static_cast<char>('0' + octet / 100);
    if (octet >= 10) *p++ = static_cast<char>('0' + octet / 10 % 10);
    *p++ = static_cast<char>('0' + octet % 10);
  }
  return std::string(buf, static_cast<std::size_t>(p - buf));
}

bool zero(const std::array<std::uint8_t, 16>& bytes, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

bool is_mapped(const std::array<std::uint8_t, 16>& bytes) {
  return zero(bytes, 0, 10) && bytes[10] == 0xff && bytes[11] == 0xff;
}

// RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the first
// one on a tie) as "::"; IPv4-mapped addresses end in a dotted quad (section 5).
std::string format_v6(const std::array<std::uint8_t, 16>& bytes) {
  if (is_mapped(bytes)) return "::ffff:" + format_v4(bytes[12], bytes[13], bytes[14], bytes[15]);
  unsigned groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = static_cast<unsigned>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) best_start = i, best_len = j - i;
    i = j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", groups[i]);
    out += buf;
  }
  return out;
}

}  // namespace

IpAddress IpAddress::from_v4(const std::array<std::uint8_t, 4>& v4) {
  IpAddress address;
  address.bytes[10] = 0xff;
  address.bytes[11] = 0xff;
  for (std::size_t i = 0; i < 4; ++i) address.bytes[12 + i] = v4[i];
  address.is_v4 = true;
  return address;
}

IpAddress IpAddress::from_v6(const std::array<std::uint8_t, 16>& v6) {
  IpAddress address;
  address.bytes = v6;
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // The family is decided by ':' alone, so no text is ever tried as both.
  if (text.find(':') != std::string_view::npos) {
    const auto v6 = parse_v6(text);
    if (!v6) return std::nullopt;
    return from_v6(*v6);
  }
  const auto v4 = parse_v4(text);
  if (!v4) return std::nullopt;
  return from_v4(*v4);
}

std::string IpAddress::to_string() const {
  if (is_v4) return format_v4(bytes[12], bytes[13], bytes[14], bytes[15]);
  return format_v6(bytes);
}

std::optional<IpAddress> IpAddress::embedded_v4() const {
  if (is_v4) return std::nullopt;
  const auto tail = [this] { return from_v4({bytes[12], bytes[13], bytes[14], bytes[15]}); };
  if (is_mapped(bytes)) return tail();  // ::ffff:a.b.c.d
  if (zero(bytes, 0, 12)) {             // ::a.b.c.d (deprecated v4-compatible)
    // :: and ::1 are the IPv6 unspecified and loopback addresses, not 0.0.0.0 and 0.0.0.1.
    if (zero(bytes, 12, 15) && bytes[15] <= 1) return std::nullopt;
    return tail();
  }
  if (bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b) {
    if (zero(bytes, 4, 12)) return tail();  // 64:ff9b::/96, RFC 6052 well-known prefix
    // 64:ff9b:1::/48 (RFC 8215, local use): operators pick the prefix length inside it; the
    // IPv4 address is read from the last 32 bits, the /96 layout every common NAT64 uses.
    if (bytes[4] == 0x00 && bytes[5] == 0x01) return tail();
    return std::nullopt;
  }
  if (bytes[0] == 0x20 && bytes[1] == 0x02) {  // 2002:aabb:ccdd::/48, RFC 3056 6to4
    return from_v4({bytes[2], bytes[3], bytes[4], bytes[5]});
  }
  return std::nullopt;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned max_bits = address->is_v4 ? 32 : 128;
  unsigned prefix = max_bits;
  if (slash != std::string_view::npos) {
    const auto value = parse_decimal(text.substr(slash + 1), 3);
    if (!value || *value > max_bits) return std::nullopt;
    prefix = *value;
  }
  Cidr cidr = of(*address, prefix);
  // Host bits set ("10.1.2.3/8") usually means a typo in the address or the prefix: refuse it
  // rather than silently widen or narrow the range.
  if (cidr.network != *address) return std::nullopt;
  return cidr;
}

Cidr Cidr::of(const IpAddress& address, unsigned prefix) {
  Cidr cidr;
  cidr.network = address;
  const unsigned max_bits = address.is_v4 ? 32 : 128;
  cidr.prefix = prefix > max_bits ? max_bits : prefix;
  const unsigned first = (address.is_v4 ? 96 : 0) + cidr.prefix;  // first host bit in `bytes`
  for (unsigned bit = first; bit < 128; ++bit) {
    cidr.network.bytes[bit / 8] = static_cast<std::uint8_t>(cidr.network.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return cidr;
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.is_v4 != network.is_v4) return false;
  const unsigned bits = (network.is_v4 ? 96 : 0) + prefix;
  const unsigned whole = bits / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (address.bytes[i] != network.bytes[i]) return false;
  }
  if (const unsigned rest = bits % 8; rest != 0) {
    const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
    if ((address.bytes[whole] & mask) != (network.bytes[whole] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const {
  return network.to_string() + "/" + std::to_string(prefix);
}

bool CidrSet::contains(const IpAddress& address) const {
  return find(address) != nullptr;
}

const Cidr* CidrSet::find(const IpAddress& address) const {
  for (const Cidr& cidr : members_) {
    if (cidr.contains(address)) return &cidr;
  }
  return nullptr;
}

}  // namespace flexgate::net
