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
  // EAGAIN, which is both asio::error::would_block and try_again. The categories are compared by
  // address, as error_category::operator== does, but without calling it: UBSan's vptr check of
  // that call opens a pipe on a type-cache miss, and at the descriptor limit (EMFILE) reports a
  // false "invalid vptr" and aborts the sanitized gateway.
  bool would_block() const {
    static_assert(static_cast<int>(asio::error::would_block) == static_cast<int>(asio::error::try_again));
    return error.value() == static_cast<int>(asio::error::would_block) &&
           &error.category() == &asio::error::get_system_category();
  }
};

}  // namespace flexgate::net
