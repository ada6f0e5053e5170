#pragma once
// Running command-line tools (curl, h2load...) from the tests.

#include <cstdio>
#include <string>

namespace flexgate::testing {

// Runs a shell command; returns its stdout (stderr to /dev/null).
inline std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char chunk[4096];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
  ::pclose(pipe);
  return out;
}

}  // namespace flexgate::testing
