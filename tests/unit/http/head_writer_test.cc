#include "http/head_writer.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

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

}  // namespace
}  // namespace flexgate::http
