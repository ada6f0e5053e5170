#pragma once
// `flexgate echo-server`: a small, fast HTTP/1.1 origin for tests and benchmarks, built on the same
// net/ and http/ pieces as the proxy so it is never the bottleneck of a measurement.
//
// Routes (the query string is ignored for routing):
//   any other path  200 application/json {"method","path","headers":{lower-case names},"bodySize"}
//                   (repeated header names joined with ", "; request bodies are counted, not kept)
//   /status/NNN     that status with {"status":NNN} (204/304 without body; a 1xx other than 101 is
//                   sent as an interim response followed by the default echo)
//   /delay/MS       the default echo after MS milliseconds (a timer: the worker keeps serving)
//   /bytes/N        N body bytes with Content-Length, byte i == kEchoPattern[i % 64]
//   /chunked/N      the same N bytes in chunks of at most 16 KiB (until-close for HTTP/1.0)
//   /close          the default echo, then the connection is closed
// A malformed request gets 400 (or the parser's 413/414/431/501/505) and the connection is closed.

#include <cstdint>
#include <string>
#include <string_view>

namespace flexgate::app {

struct EchoServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned workers = 1;  // 0 = one per CPU
};

// The 64-byte cycle /bytes and /chunked bodies are made of, so tests can check every byte.
inline constexpr std::string_view kEchoPattern =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Runs until SIGINT/SIGTERM; prints one JSON line {"event":"listening","service":"echo","port":N}
// on stdout (flushed) once bound (port 0 = pick a free port; the real one is reported).
// Returns the exit code (1 if the address cannot be bound).
int run_echo_server(const EchoServerOptions& options);

}  // namespace flexgate::app
