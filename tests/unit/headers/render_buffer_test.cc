// RenderBuffer: the per-request bytes a header plan renders (appends, line ends, truncation, growth
// that keeps what was written and is then reused).

#include "policy/headers/render_buffer.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace flexgate::policy {
namespace {

TEST(RenderBuffer, AppendsEndsLinesAndTruncates) {
  RenderBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  buffer.append(std::string_view());  // an empty (null) view writes nothing
  buffer.append("X-Team: ");
  const std::size_t value_at = buffer.size();
  buffer.append("payments");
  buffer.append_crlf();
  EXPECT_EQ(buffer.view(), "X-Team: payments\r\n");
  buffer.append("X-Empty: ");
  buffer.truncate(buffer.size() - 9);  // the value came out empty: no field
  EXPECT_EQ(buffer.view(), "X-Team: payments\r\n");
  buffer.truncate(value_at);
  EXPECT_EQ(buffer.view(), "X-Team: ");
  buffer.truncate(1000);  // never grows
  EXPECT_EQ(buffer.view(), "X-Team: ");
  buffer.clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.view(), "");
}

TEST(RenderBuffer, GrowsPastItsCapacityAndKeepsTheBytes) {
  RenderBuffer buffer;
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    const std::string piece(static_cast<std::size_t>(i % 97), static_cast<char>('a' + i % 26));
    buffer.append(piece);
    buffer.append_crlf();
    expected += piece + "\r\n";
  }
  EXPECT_EQ(buffer.view(), expected);
  // Reused: the next request writes from the start.
  buffer.clear();
  buffer.append("again");
  EXPECT_EQ(buffer.view(), "again");
}

}  // namespace
}  // namespace flexgate::policy
