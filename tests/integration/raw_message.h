#pragma once
// Helpers for tests that look at raw bytes: what the upstream received, what the gateway sent,
// and the standard checks on a refusal.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace flexgate::testing {

// A minimal keep-alive answer for scripted upstreams.
inline const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

inline std::string to_hex(std::size_t value) {
  std::ostringstream out;
  out << std::hex << value;
  return out.str();
}

inline std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Waits (bounded) for the first bytes the gateway sends on `connection` ("" if none).
inline std::string first_bytes(Connection& connection, std::chrono::milliseconds timeout = 5s) {
  pollfd pfd{connection.fd(), POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return "";
  char chunk[4096];
  ssize_t n = ::recv(connection.fd(), chunk, sizeof chunk, 0);
  return n > 0 ? std::string(chunk, static_cast<std::size_t>(n)) : "";
}

// The head (through the last field line) and the body of a raw message.
inline std::string head_of(const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n") + 2); }
inline std::string raw_body(const std::string& raw) { return raw.substr(raw.find("\r\n\r\n") + 4); }

// The value of `name` in a raw message head ("" when absent); `present` tells absent from empty.
inline std::string raw_header(const std::string& raw, const std::string& name, bool* present = nullptr) {
  std::string head = head_of(raw);
  std::string needle = "\r\n" + lower(name) + ":";
  auto at = lower(head).find(needle);
  if (present != nullptr) *present = at != std::string::npos;
  if (at == std::string::npos) return "";
  auto start = at + needle.size();
  std::string value = head.substr(start, head.find("\r\n", start) - start);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return value;
}

inline bool raw_has_header(const std::string& raw, const std::string& name) {
  bool present = false;
  raw_header(raw, name, &present);
  return present;
}

// The first request the upstream received that contains `needle` (a correlation id, a path).
inline std::optional<std::string> upstream_request_with(ScriptedUpstream& upstream, const std::string& needle) {
  for (const auto& raw : upstream.requests()) {
    if (raw.find(needle) != std::string::npos) return raw;
  }
  return std::nullopt;
}

// A sane, unique X-Correlation-ID, so the access log line and the upstream request can be found.
inline std::string next_cid(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return "t-" + prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

// Sends a head carrying "Expect: 100-continue", waits for the interim answer (returned in
// `interim`), then sends the body and reads the final response.
inline std::optional<Response> send_expecting_continue(Connection& connection, const std::string& head,
                                                       const std::string& body, std::string& interim) {
  connection.send(head);
  interim = first_bytes(connection);
  connection.send(body);
  return connection.read_response();
}

// A refusal by the gateway itself: JSON error with `status`, the access log has the status and an
// "error", and the request never reached the upstream.
inline void expect_refused(Gateway& gateway, ScriptedUpstream& upstream, const Response& response, int status,
                           const std::string& cid) {
  EXPECT_TRUE(IsJsonError(response, status));
  EXPECT_EQ(response.header("X-Correlation-ID"), cid);
  auto log = wait_for_access_log(*gateway.process, cid);
  ASSERT_TRUE(log.has_value()) << "no access log line for " << cid;
  EXPECT_EQ((*log)["status"], status) << log->dump();
  EXPECT_TRUE(log->contains("error") && (*log)["error"].is_string() && !(*log)["error"].get<std::string>().empty())
      << log->dump();
  EXPECT_FALSE(upstream_request_with(upstream, cid).has_value()) << "a refused request reached the upstream";
}

}  // namespace flexgate::testing
