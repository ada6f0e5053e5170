#pragma once
// The write side shared by both HTTP/2 bridges: nghttp2 hands out one frame per call, so a loop
// that wrote each would make one send per frame (HEADERS, DATA, WINDOW_UPDATE...).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace flexgate::proxy {

// Every frame `session` (an http2::ServerSession or ClientSession) has ready, up to about `limit`
// bytes, into `out` (cleared first): one write for all of them.
template <class Session>
void collect_http2_output(Session& session, std::string& out, std::size_t limit = 256 * 1024) {
  out.clear();
  while (out.size() < limit) {
    const std::span<const std::uint8_t> frames = session.output();
    if (frames.empty()) break;
    out.append(reinterpret_cast<const char*>(frames.data()), frames.size());
  }
}

}  // namespace flexgate::proxy
