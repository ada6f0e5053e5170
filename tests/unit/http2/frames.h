#pragma once
// Raw HTTP/2 frames for the session tests: build frames and HPACK literals by hand (so a test can
// send what no well-behaved peer would), and split a session's output back into frames.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flexgate::http2 {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::uint8_t kData = 0, kHeaders = 1, kRstStream = 3, kSettings = 4, kGoaway = 7, kContinuation = 9;
constexpr std::uint8_t kEndStream = 0x1, kEndHeaders = 0x4;

inline std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload) {
  std::string out;
  out += static_cast<char>((payload.size() >> 16) & 0xff);
  out += static_cast<char>((payload.size() >> 8) & 0xff);
  out += static_cast<char>(payload.size() & 0xff);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  out += static_cast<char>((stream >> 24) & 0x7f);
  out += static_cast<char>((stream >> 16) & 0xff);
  out += static_cast<char>((stream >> 8) & 0xff);
  out += static_cast<char>(stream & 0xff);
  return out + payload;
}

// HPACK "literal header field without indexing, new name" (RFC 7541 6.2.2), short strings only.
inline std::string literal(const std::string& name, const std::string& value) {
  std::string out(1, '\0');
  out += static_cast<char>(name.size());
  out += name;
  out += static_cast<char>(value.size());
  out += value;
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

inline std::string block(const Fields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) out += literal(name, value);
  return out;
}

inline Fields get_request(const std::string& path = "/a") {
  return {{":method", "GET"}, {":scheme", "https"}, {":authority", "api.test"}, {":path", path}};
}

struct Frame {
  std::uint8_t type;
  std::uint8_t flags;
  std::uint32_t stream;
  std::string payload;
};

inline std::vector<Frame> parse_frames(const std::string& bytes) {
  std::vector<Frame> out;
  std::size_t at = 0;
  while (at + 9 <= bytes.size()) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[at + i]); };
    const std::size_t length = (byte(0) << 16) | (byte(1) << 8) | byte(2);
    Frame f{byte(3), byte(4),
            static_cast<std::uint32_t>(((byte(5) & 0x7f) << 24) | (byte(6) << 16) | (byte(7) << 8) | byte(8)),
            bytes.substr(at + 9, length)};
    out.push_back(f);
    at += 9 + length;
  }
  return out;
}

inline std::uint32_t error_code_of(const Frame& f) {
  const std::string& p = f.payload;
  const std::size_t at = f.type == kGoaway ? 4 : 0;
  return (static_cast<std::uint8_t>(p[at]) << 24) | (static_cast<std::uint8_t>(p[at + 1]) << 16) |
         (static_cast<std::uint8_t>(p[at + 2]) << 8) | static_cast<std::uint8_t>(p[at + 3]);
}

}  // namespace flexgate::http2
