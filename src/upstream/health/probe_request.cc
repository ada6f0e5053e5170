#include "upstream/health/probe_request.h"

#include <algorithm>

namespace flexgate::upstream {
namespace {

bool visible_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

std::optional<std::string> build_probe_request(std::string_view host, std::string_view path) {
  if (path.empty() || path.front() != '/' || host.empty()) return std::nullopt;
  if (!visible_ascii(path) || !visible_ascii(host)) return std::nullopt;
  std::string request;
  request.reserve(80 + host.size() + path.size());
  request.append("GET ").append(path).append(" HTTP/1.1\r\n");
  request.append("Host: ").append(host).append("\r\n");
  request.append("Connection: close\r\n");
  request.append("User-Agent: ").append(kProbeUserAgent).append("\r\n\r\n");
  return request;
}

bool is_healthy_status(unsigned status, ExpectedStatus expected) {
  return status >= expected.min && status <= expected.max;
}

}  // namespace flexgate::upstream
