#pragma once
// Raw HTTP/2 frames for the session tests: build frames and HPACK literals by hand (so a test can
// send what no well-behaved peer would), and split a session's output back into frames.

#include <nghttp2/nghttp2.h>

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

// The frames of `stream` in `bytes`, in order.
inline std::vector<Frame> frames_of(std::uint32_t stream, const std::string& bytes) {
  std::vector<Frame> out;
  for (Frame& f : parse_frames(bytes)) {
    if (f.stream == stream) out.push_back(std::move(f));
  }
  return out;
}

// Decodes the header blocks of the HEADERS frames in `frames` (in order, one HPACK context, as a
// client would): one field list per frame. Assumes no CONTINUATION and no padding/priority.
inline std::vector<Fields> decode_header_blocks(const std::vector<Frame>& frames) {
  std::vector<Fields> out;
  nghttp2_hd_inflater* inflater = nullptr;
  nghttp2_hd_inflate_new(&inflater);
  for (const Frame& f : frames) {
    if (f.type != 1 /* HEADERS */) continue;
    Fields fields;
    const auto* in = reinterpret_cast<const std::uint8_t*>(f.payload.data());
    std::size_t left = f.payload.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const auto used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
      if (used < 0) break;
      in += used;
      left -= static_cast<std::size_t>(used);
      if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
        fields.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                            std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
      }
      if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
        nghttp2_hd_inflate_end_headers(inflater);
        break;
      }
      if (used == 0 && left == 0) break;
    }
    out.push_back(std::move(fields));
  }
  nghttp2_hd_inflate_del(inflater);
  return out;
}

}  // namespace flexgate::http2
