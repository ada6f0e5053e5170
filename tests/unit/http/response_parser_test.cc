#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "http/parser.h"
#include "http_test_util.h"

namespace flexgate::http {
namespace {

using test::response_error;

class ResponseParserTest : public ::testing::Test {
 protected:
  // Parses `in` (checking the prefix invariant) and expects a complete head.
  // Parses a copy of `in` kept alive in the fixture (the head's views point into it).
  const ResponseHead& parse_ok(std::string_view in, Method method = Method::kGet) {
    input_ = std::string(in);
    EXPECT_EQ(response_error(input_, method), ParseError::kNone) << input_;
    const ParseOutcome out = parse_response_head(input_, Limits{}, method, *head_);
    EXPECT_EQ(out.status, ParseStatus::kComplete);
    EXPECT_EQ(out.consumed, input_.size());
    return *head_;
  }

 private:
  std::string input_;
  std::unique_ptr<ResponseHead> head_ = std::make_unique<ResponseHead>();
};

TEST_F(ResponseParserTest, ContentLength) {
  const ResponseHead& h = parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\n");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "OK");
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.framing, BodyFraming::kContentLength);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.fields.count, 2u);
  EXPECT_EQ(h.fields.find(HeaderToken::kServer)->value, "x");
}

TEST_F(ResponseParserTest, Chunked) {
  const ResponseHead& h = parse_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(h.framing, BodyFraming::kChunked);
  EXPECT_TRUE(h.keep_alive);
  // Responses may carry other codings before chunked: still chunk-framed.
  EXPECT_EQ(parse_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n").framing,
            BodyFraming::kChunked);
}

TEST_F(ResponseParserTest, UntilClose) {
  const ResponseHead& h = parse_ok("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(h.framing, BodyFraming::kUntilClose);
  EXPECT_FALSE(h.keep_alive);
  const ResponseHead& g = parse_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(g.framing, BodyFraming::kUntilClose);
  EXPECT_FALSE(g.keep_alive);
  EXPECT_EQ(parse_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").framing,
            BodyFraming::kUntilClose);
}

TEST_F(ResponseParserTest, NoBodyStatusesAndMethods) {
  const std::string cl_te = "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", Method::kHead).framing,
            BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 200 OK\r\n" + cl_te, Method::kHead).framing, BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 204 No Content\r\n" + cl_te).framing, BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").framing, BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 100 Continue\r\n\r\n").framing, BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").framing, BodyFraming::kNone);
  const ResponseHead& up =
      parse_ok("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ws\r\n\r\n");
  EXPECT_EQ(up.status, 101);
  EXPECT_EQ(up.framing, BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 200 Connection established\r\n\r\n", Method::kConnect).framing,
            BodyFraming::kNone);
  EXPECT_EQ(parse_ok("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", Method::kConnect).framing,
            BodyFraming::kContentLength);
  EXPECT_TRUE(parse_ok("HTTP/1.1 204 No Content\r\n\r\n").keep_alive);
}

TEST_F(ResponseParserTest, KeepAlive) {
  EXPECT_FALSE(parse_ok("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_ok("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  const ResponseHead& h = parse_ok("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.version_minor, 0);
  EXPECT_EQ(h.connection_tokens, "keep-alive");
  EXPECT_FALSE(parse_ok("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keep_alive);  // until close
}

// Found by fuzzing (proxy_replay_fuzz; same fault as the request side): an empty first Connection
// field hid the nomination in a later one, and the proxy forwarded X-Secret to the client.
TEST_F(ResponseParserTest, EmptyFirstConnectionFieldDoesNotHideNominations) {
  const ResponseHead& h =
      parse_ok("HTTP/1.1 200 OK\r\nConnection:\r\nConnection: X-Secret\r\nX-Secret: 1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(h.connection_tokens, "X-Secret");
  EXPECT_TRUE(connection_nominates(h.fields, "x-secret"));
}

TEST_F(ResponseParserTest, StatusLineShapes) {
  EXPECT_EQ(parse_ok("HTTP/1.1 200 \r\n\r\n").reason, "");
  EXPECT_EQ(parse_ok("HTTP/1.1 200\r\n\r\n").reason, "");
  EXPECT_EQ(parse_ok("HTTP/1.1 404 Not  Found \t\r\nContent-Length: 0\r\n\r\n").reason, "Not  Found \t");
  EXPECT_EQ(parse_ok("HTTP/1.1 599 x\xff\r\n\r\n").status, 599);
  EXPECT_EQ(parse_ok("HTTP/1.1 100 \r\n\r\n").status, 100);
}

TEST(ResponseErrors, StatusLine) {
  EXPECT_EQ(response_error("HTTP/1.1 099 X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1 600 X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1 20 X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1 2000 X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1 abc X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1 -20 X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1  200 X\r\n\r\n"), ParseError::kBadStatus);
  EXPECT_EQ(response_error("HTTP/1.1 200X\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(response_error("HTTP/1.1 200 O\x01K\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\n\r\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\rX\r\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(response_error("HTTP/1.1\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(response_error("HTTP/2.0 200 OK\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(response_error("HTTP/2 200 OK\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(response_error("HTTP/1.10 200 OK\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(response_error("http/1.1 200 OK\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(response_error("ICY 200 OK\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(response_error("\r\nHTTP/1.1 200 OK\r\n\r\n"), ParseError::kBadVersion);
}

TEST(ResponseErrors, Framing) {
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseError::kContentLengthWithTransferEncoding);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            ParseError::kBadContentLength);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"), ParseError::kBadContentLength);
  // A malformed Content-Length is refused even where no body follows: it would be forwarded.
  EXPECT_EQ(response_error("HTTP/1.1 304 Not Modified\r\nContent-Length: 5x\r\n\r\n"),
            ParseError::kBadContentLength);
  EXPECT_EQ(response_error("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n"),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n obs\r\n\r\n"),
            ParseError::kObsFold);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n"), ParseError::kBadHeaderValue);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), ParseError::kBadHeaderName);
  // The 204/304/HEAD rules ignore a malformed Transfer-Encoding as they ignore the body.
  EXPECT_EQ(response_error("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            ParseError::kNone);
}

TEST(ResponseErrors, Limits) {
  Limits limits;
  limits.max_head_bytes = 128;
  EXPECT_EQ(
      response_error("HTTP/1.1 200 OK\r\nX: " + std::string(200, 'a') + "\r\n\r\n", Method::kGet, limits),
      ParseError::kHeadTooLarge);
  limits.max_head_bytes = 1 << 16;
  limits.max_header_fields = 3;
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", Method::kGet, limits),
            ParseError::kTooManyHeaders);
}

TEST_F(ResponseParserTest, ByteByByte) {
  const std::string in =
      "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/2\r\nContent-Length: 2\r\n\r\n";
  auto head = std::make_unique<ResponseHead>();
  for (std::size_t k = 0; k < in.size(); ++k) {
    ASSERT_EQ(parse_response_head(std::string_view(in).substr(0, k), Limits{}, Method::kGet, *head).status,
              ParseStatus::kPartial);
  }
  const ParseOutcome out = parse_response_head(in + "ab", Limits{}, Method::kGet, *head);
  ASSERT_EQ(out.status, ParseStatus::kComplete);
  EXPECT_EQ(out.consumed, in.size());
}

}  // namespace
}  // namespace flexgate::http
