#include "http/serializer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "http/parser.h"

namespace flexgate::http {
namespace {

TEST(Serializer, RequestHeadParsesBack) {
  std::string out;
  append_request_line(out, "POST", "/a?b=c");
  append_field(out, "Host", "example.com");
  append_field(out, "Content-Length", "3");
  out += kCrlf;
  EXPECT_EQ(out, "POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\n");
  auto head = std::make_unique<RequestHead>();
  const ParseOutcome r = parse_request_head(out, Limits{}, *head);
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(head->content_length, 3u);
}

TEST(Serializer, ParsedFieldsAreWrittenCanonicallyWhateverTheirSpacing) {
  // Canonical lines are copied whole; others (no space, extra spaces, tab) are rewritten.
  const std::string raw =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Tight:v\r\nX-Wide:   w  \r\nX-Tab:\tt\r\nX-Empty: \r\nX-Plain: p q\r\n\r\n";
  auto head = std::make_unique<RequestHead>();
  ASSERT_EQ(parse_request_head(raw, Limits{}, *head).status, ParseStatus::kComplete);
  std::string copied;
  std::string written;
  for (const HeaderField& field : head->fields) {
    append_parsed_field(copied, field);
    append_field(written, field.name, field.value);
  }
  EXPECT_EQ(copied, written);
  EXPECT_EQ(copied, "Host: a\r\nX-Tight: v\r\nX-Wide: w\r\nX-Tab: t\r\nX-Empty: \r\nX-Plain: p q\r\n");
}

TEST(Serializer, StatusLine) {
  std::string out;
  append_status_line(out, 502);
  EXPECT_EQ(out, "HTTP/1.1 502 Bad Gateway\r\n");
  out.clear();
  append_status_line(out, 299);
  EXPECT_EQ(out, "HTTP/1.1 299 Unknown\r\n");
  // 100-599 come from a table built once; the edges of it, and a status outside it, read the same.
  out = "x";
  append_status_line(out, 100);
  append_status_line(out, 599);
  append_status_line(out, 600);
  append_status_line(out, 200);
  EXPECT_EQ(out, "xHTTP/1.1 100 Continue\r\nHTTP/1.1 599 Unknown\r\nHTTP/1.1 600 Unknown\r\nHTTP/1.1 200 OK\r\n");
}

TEST(Serializer, ChunkSize) {
  std::string out;
  append_chunk_size(out, 0);
  append_chunk_size(out, 10);
  append_chunk_size(out, 0x1234abcd);
  append_chunk_size(out, UINT64_MAX);
  EXPECT_EQ(out, "0\r\na\r\n1234abcd\r\nffffffffffffffff\r\n");
  EXPECT_EQ(kLastChunk, "0\r\n\r\n");
}

TEST(Serializer, ReasonPhrases) {
  const std::pair<std::uint16_t, std::string_view> cases[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {200, "OK"},
      {204, "No Content"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {304, "Not Modified"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {404, "Not Found"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
      {0, "Unknown"},
      {999, "Unknown"},
  };
  for (const auto& [status, reason] : cases) EXPECT_EQ(reason_phrase(status), reason) << status;
  for (std::uint16_t s : {100, 101, 200, 201, 202, 203, 204, 205, 206, 301, 302, 303, 304, 307, 308,
                          400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414,
                          415, 416, 417, 421, 422, 426, 428, 429, 431, 500, 501, 502, 503, 504, 505}) {
    EXPECT_NE(reason_phrase(s), "Unknown") << s;
  }
}

}  // namespace
}  // namespace flexgate::http
