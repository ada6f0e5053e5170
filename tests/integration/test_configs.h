#pragma once
// YAML snippets shared by the integration tests.

#include <cstdint>
#include <string>

namespace flexgate::testing {

// A gateway on port 0 with one upstream `echo` at 127.0.0.1:`upstream_port` and the given routes
// (YAML list items under `routes:`); `proxy_extra` and `upstream_extra` are extra YAML keys.
inline std::string gateway_config(std::uint16_t upstream_port, const std::string& routes,
                                  const std::string& proxy_extra = "", const std::string& upstream_extra = "") {
  std::string workers = proxy_extra.find("workers:") == std::string::npos ? "  workers: 2\n" : "";
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n" + workers + proxy_extra +
         "upstreams:\n  - name: echo\n    url: \"http://127.0.0.1:" + std::to_string(upstream_port) + "\"\n" +
         upstream_extra + "routes:\n" + routes + "logging:\n  level: info\n";
}

inline const std::string kCatchAllRoute = "  - path: \"/*\"\n    upstream: echo\n";

}  // namespace flexgate::testing
