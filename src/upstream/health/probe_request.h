#pragma once
// Sans-I/O pieces of an active health check: the probe request's bytes and the verdict on the
// response status. The health-check loop does the I/O and feeds HealthTracker.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flexgate::upstream {

// The User-Agent every probe sends, so upstream logs can tell probes from traffic.
inline constexpr std::string_view kProbeUserAgent = "flexgate-health-check";

// "GET <path> HTTP/1.1" with Host, Connection: close and User-Agent, ending with the blank line.
// `host` is the Host header value as it should be sent ("api.internal:8080", "[::1]:8080").
// Returns nullopt (nothing to send) when `path` does not start with '/' or `host` is empty, or
// when either holds a byte outside visible ASCII (space, CR, LF, controls, non-ASCII): those
// would break the request line or inject headers.
std::optional<std::string> build_probe_request(std::string_view host, std::string_view path);

// The response statuses a probe counts as healthy, both ends included.
struct ExpectedStatus {
  unsigned min = 200;
  unsigned max = 299;
};

// True when `status` is within `expected` (2xx by default).
bool is_healthy_status(unsigned status, ExpectedStatus expected = {});

}  // namespace flexgate::upstream
