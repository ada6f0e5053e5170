#pragma once

#include <cstddef>
#include <system_error>

#include "net/asio.h"

namespace flexgate::net {

// Result of one I/O call: bytes moved and the error (eof is asio::error::eof).
struct IoResult {
  std::error_code error;
  std::size_t bytes = 0;

  // The call would have blocked: it stopped early, nothing failed.
  bool would_block() const { return error == asio::error::would_block || error == asio::error::try_again; }
};

}  // namespace flexgate::net
