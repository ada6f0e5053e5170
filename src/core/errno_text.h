#pragma once
// The text of an errno value, safe on any thread. glibc documents strerror() as MT-Unsafe (its
// buffer for unknown values is shared), and these messages are made on worker threads, the log
// writer and the reload thread at once; strerror_r() writes into the caller's buffer.

#include <cstring>
#include <string>

namespace flexgate {

// Same text as std::strerror(error). GNU strerror_r (g++ and clang++ define _GNU_SOURCE) returns
// either `buffer` or a static string; the XSI variant returns an int and would not compile here.
inline std::string errno_text(int error) {
  char buffer[256];
  return ::strerror_r(error, buffer, sizeof buffer);
}

}  // namespace flexgate
