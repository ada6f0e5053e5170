#include "http/head_writer.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "http/parser.h"

namespace flexgate::http {
namespace {

using namespace std::string_literals;

TEST(HeadWriter, WritesPiecesAfterWhatTheStringHeldAndTrimsOnClose) {
  std::string out = "before|";
  {
    HeadWriter head(out);
    head.append("GET / HTTP/1.1\r\n");
    head.field("Host", "example.com");
    head.field("X-Empty", "");
    head.append("Content-Length: ");
    head.decimal(0);
    head.append("\r\n");
    head.append("Big: ");
    head.decimal(std::numeric_limits<std::uint64_t>::max());
    head.append("\r\n\r\n");
    EXPECT_EQ(head.size(), out.find("\r\n\r\n") + 4);  // the string itself may hold spare room now
  }
  EXPECT_EQ(out,
            "before|GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\nContent-Length: 0\r\n"
            "Big: 18446744073709551615\r\n\r\n");
}

TEST(HeadWriter, GrowsPastItsFirstRoomWithoutLosingBytes) {
  std::string out;
  std::string expected;
  {
    HeadWriter head(out);
    for (int i = 0; i < 300; ++i) {
      const std::string value(static_cast<std::size_t>(i % 97), static_cast<char>('a' + i % 26));
      head.field("X-" + std::to_string(i), value);
      expected += "X-" + std::to_string(i) + ": " + value + "\r\n";
    }
    head.append(std::string(5000, 'z'));  // one piece larger than any room made so far
    expected += std::string(5000, 'z');
  }
  EXPECT_EQ(out, expected);
}

TEST(HeadWriter, ClaimedBytesAndDecimalsLandAtTheCursor) {
  std::string out = "prefix|";
  {
    HeadWriter head(out);
    head.append("A: 1\r\n");
    head.decimal(0);
    head.decimal(18446744073709551615ull);
    char* traceparent = head.claim(3);
    traceparent[0] = 'x';
    traceparent[1] = 'y';
    traceparent[2] = 'z';
    EXPECT_EQ(head.size(), 7u + 6u + 1u + 20u + 3u);
  }
  EXPECT_EQ(out, "prefix|A: 1\r\n018446744073709551615xyz");
}

TEST(HeadWriter, StatusLinesFromTheTableAndInPiecesReadTheSame) {
  std::string out;
  {
    HeadWriter head(out);
    head.status_line(404);
    head.status_line_in_pieces(404);
    head.status_line(600);  // outside the table: written in pieces
    head.status_line(99);
  }
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nHTTP/1.1 404 Not Found\r\nHTTP/1.1 600 Unknown\r\nHTTP/1.1 99 Unknown\r\n");
}

TEST(HeadWriter, ParsedFieldsAreWrittenInCanonicalForm) {
  // The first line is canonical in the head and copied whole; the other two (no space after the
  // colon, trailing whitespace) are rebuilt from name and value.
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX-Tight:b\r\nX-Trail: c  \r\n\r\n";
  auto request = std::make_unique<RequestHead>();
  ASSERT_EQ(parse_request_head(raw, Limits{}, *request).status, ParseStatus::kComplete);
  std::string out;
  {
    HeadWriter head(out);
    for (const HeaderField& field : request->fields) head.parsed_field(field);
  }
  EXPECT_EQ(out, "Host: a\r\nX-Tight: b\r\nX-Trail: c\r\n");
}

TEST(HeadBuffer, AHeadWrittenAfterALargerOneHoldsOnlyItsOwnBytes) {
  HeadBuffer buffer;
  const std::string large(3000, 'a');
  {
    HeadWriter head(buffer);
    head.append(large);
  }
  EXPECT_EQ(buffer.view(), large);
  buffer.clear();
  EXPECT_EQ(buffer.size(), 0u);
  {
    HeadWriter head(buffer);
    head.status_line(200);
    head.field("Content-Length", "0");
    head.append("\r\n");
  }
  EXPECT_EQ(buffer.view(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(buffer.size(), buffer.view().size());
}

TEST(HeadBuffer, TheRoomAnEarlierHeadLeftIsReusedWithoutBeingWrittenFirst) {
  // The point of the type: the second head's writer makes no room (sizing a string would have
  // zero-filled it), so the bytes past the new head are still the first head's.
  HeadBuffer buffer;
  {
    HeadWriter head(buffer);
    head.append(std::string(600, 'a'));
  }
  buffer.clear();
  {
    HeadWriter head(buffer);
    head.append("GET / HTTP/1.1\r\n\r\n");
  }
  ASSERT_EQ(buffer.view(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(std::string_view(buffer.view().data() + buffer.size(), 8), "aaaaaaaa");
}

TEST(HeadBuffer, AWriterContinuesWhereTheHeadEnds) {
  HeadBuffer buffer;
  {
    HeadWriter head(buffer);
    head.status_line(204);
  }
  std::string expected = "HTTP/1.1 204 No Content\r\n";
  {
    HeadWriter head(buffer);
    EXPECT_EQ(head.size(), expected.size());
    for (int i = 0; i < 100; ++i) head.field("X-Long", std::string(20, static_cast<char>('a' + i % 26)));
    head.append("\r\n");
  }
  for (int i = 0; i < 100; ++i) {
    expected += "X-Long: " + std::string(20, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  expected += "\r\n";
  EXPECT_EQ(buffer.view(), expected);
}

TEST(HeadBuffer, ReplaceShiftsTheRestOfTheHead) {
  HeadBuffer buffer;
  {
    HeadWriter head(buffer);
    head.append("GET / HTTP/1.1\r\nHost: a.example\r\nX: 1\r\n\r\n");
  }
  const std::size_t at = buffer.view().find("a.example");
  buffer.replace(at, 9, "b");
  EXPECT_EQ(buffer.view(), "GET / HTTP/1.1\r\nHost: b\r\nX: 1\r\n\r\n");
  const std::string longer(2000, 'c');  // past the storage's size: it grows
  buffer.replace(at, 1, longer);
  EXPECT_EQ(buffer.view(), "GET / HTTP/1.1\r\nHost: " + longer + "\r\nX: 1\r\n\r\n");
  buffer.replace(at, longer.size(), "");
  EXPECT_EQ(buffer.view(), "GET / HTTP/1.1\r\nHost: \r\nX: 1\r\n\r\n");
}

}  // namespace
}  // namespace flexgate::http
