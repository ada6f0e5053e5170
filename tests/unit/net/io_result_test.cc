#include "net/io_result.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace flexgate::net {
namespace {

TEST(IoResult, WouldBlockIsEagainInTheSystemCategoryOnly) {
  EXPECT_TRUE((IoResult{asio::error::would_block, 0}.would_block()));
  EXPECT_TRUE((IoResult{asio::error::try_again, 0}.would_block()));
  EXPECT_TRUE((IoResult{std::error_code(EAGAIN, asio::error::get_system_category()), 0}.would_block()));
  EXPECT_FALSE((IoResult{std::error_code(), 0}.would_block()));
  EXPECT_FALSE((IoResult{asio::error::eof, 0}.would_block()));
  EXPECT_FALSE((IoResult{asio::error::connection_reset, 0}.would_block()));
  // The same number in another category is another error.
  EXPECT_FALSE((IoResult{std::error_code(EAGAIN, std::generic_category()), 0}.would_block()));
  EXPECT_FALSE((IoResult{std::error_code(EAGAIN, asio::error::get_misc_category()), 0}.would_block()));
}

}  // namespace
}  // namespace flexgate::net
