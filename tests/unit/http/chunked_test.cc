#include "http/chunked.h"

#include <gtest/gtest.h>

#include <string>

#include "http/serializer.h"
#include "http_test_util.h"

namespace flexgate::http {
namespace {

using namespace std::string_literals;

using Kind = ChunkedDecoder::Kind;
using test::ChunkedResult;
using test::decode_chunked_all_splits;

// Decodes with every split and expects success with `body`, all of `in` consumed.
void expect_body(std::string_view in, std::string_view body) {
  const ChunkedResult r = decode_chunked_all_splits(in);
  EXPECT_EQ(r.kind, Kind::kDone) << in << " -> " << to_string(r.error);
  EXPECT_EQ(r.body, body) << in;
  EXPECT_EQ(r.consumed, in.size()) << in;
}

ParseError error_of(std::string_view in, std::uint64_t max_body = UINT64_MAX) {
  const ChunkedResult r = decode_chunked_all_splits(in, max_body);
  EXPECT_EQ(r.kind, Kind::kError) << in;
  return r.error;
}

TEST(Chunked, Basic) {
  expect_body("0\r\n\r\n", "");
  expect_body("5\r\nhello\r\n0\r\n\r\n", "hello");
  expect_body("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
  expect_body("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789");
  expect_body("000005\r\nhello\r\n000\r\n\r\n", "hello");
  expect_body("1\r\n\r\r\n1\r\n\n\r\n0\r\n\r\n", "\r\n");  // data may contain CR and LF
}

TEST(Chunked, StepsAreViewsAndConsumedIsExact) {
  const std::string in = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  ChunkedDecoder d;
  ChunkedDecoder::Step s = d.next(in);
  ASSERT_EQ(s.kind, Kind::kData);
  EXPECT_EQ(s.data, "abc");
  EXPECT_EQ(s.data.data(), in.data() + 3);
  EXPECT_EQ(s.consumed, 6u);
  s = d.next(std::string_view(in).substr(6));
  ASSERT_EQ(s.kind, Kind::kDone);
  EXPECT_EQ(s.consumed, 7u);  // "\r\n0\r\n\r\n": the next request is left alone
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.body_bytes(), 3u);
  s = d.next("more");
  EXPECT_EQ(s.kind, Kind::kDone);
  EXPECT_EQ(s.consumed, 0u);
}

TEST(Chunked, NeedMoreConsumesEverything) {
  ChunkedDecoder d;
  ChunkedDecoder::Step s = d.next("1");
  EXPECT_EQ(s.kind, Kind::kNeedMore);
  EXPECT_EQ(s.consumed, 1u);
  s = d.next("0\r");
  EXPECT_EQ(s.kind, Kind::kNeedMore);
  EXPECT_EQ(s.consumed, 2u);
  s = d.next("\n0123456789ABCDEF");
  ASSERT_EQ(s.kind, Kind::kData);
  EXPECT_EQ(s.data, "0123456789ABCDEF");
  s = d.next("");
  EXPECT_EQ(s.kind, Kind::kNeedMore);
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_EQ(d.body_bytes(), 16u);
}

TEST(Chunked, ChunkSizeGrammar) {
  EXPECT_EQ(error_of("0x5\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("-5\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("+5\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("-0x0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of(" 5\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("\t5\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5 \r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\t\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0_2e\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5_\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("g\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\rhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\r\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("\xef\xbc\x95\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);  // fullwidth 5
  EXPECT_EQ(error_of("5\0\r\nhello\r\n0\r\n\r\n"s), ParseError::kBadChunk);
}

TEST(Chunked, ChunkData) {
  EXPECT_EQ(error_of("5\r\nhelloX\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\r\nhello\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\r\nhello\r0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("5\r\nhello\r\r\n0\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("3\r\nhello\r\n0\r\n\r\n"), ParseError::kBadChunk);         // size shorter than data
  const ChunkedResult r = decode_chunked_all_splits("8\r\nhello\r\n0\r\n\r\n");  // size longer: reads on
  EXPECT_EQ(r.kind, Kind::kError);
}

TEST(Chunked, SizeOverflow) {
  EXPECT_EQ(error_of("FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"), ParseError::kChunkSizeOverflow);
  EXPECT_EQ(error_of("10000000000000000\r\n"), ParseError::kChunkSizeOverflow);
  EXPECT_EQ(error_of("1000000000000000000000000000000000000000000000001\r\n"),
            ParseError::kChunkSizeOverflow);
  // 16 significant digits fit: the decoder waits for the data.
  ChunkedDecoder d;
  ChunkedDecoder::Step s = d.next("FFFFFFFFFFFFFFFF\r\nabc");
  ASSERT_EQ(s.kind, Kind::kData);
  EXPECT_EQ(s.data, "abc");
  // Leading zeros do not count.
  expect_body("00000000000000000000000000000001\r\nx\r\n0\r\n\r\n", "x");
  EXPECT_EQ(status_for(ParseError::kChunkSizeOverflow), 400);
}

TEST(Chunked, BodyLimit) {
  const ChunkedResult ok = decode_chunked_all_splits("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10);
  EXPECT_EQ(ok.kind, Kind::kDone);
  EXPECT_EQ(ok.body, "helloworld");
  // Refused when the size line is complete, before any of that chunk's data arrives.
  EXPECT_EQ(error_of("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10), ParseError::kBodyTooLarge);
  ChunkedDecoder d(10);
  ASSERT_EQ(d.next("b").kind, Kind::kNeedMore);
  const ChunkedDecoder::Step s = d.next(";ext\r\n");
  EXPECT_EQ(s.kind, Kind::kError);
  EXPECT_EQ(s.error, ParseError::kBodyTooLarge);
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_EQ(error_of("FFFFFFFFFFFFFFFF\r\n", 1000), ParseError::kBodyTooLarge);
  EXPECT_EQ(decode_chunked_all_splits("0\r\n\r\n", 0).kind, Kind::kDone);
  EXPECT_EQ(error_of("1\r\n", 0), ParseError::kBodyTooLarge);
  EXPECT_EQ(status_for(ParseError::kBodyTooLarge), 413);
}

TEST(Chunked, Extensions) {
  expect_body("5;name\r\nhello\r\n0\r\n\r\n", "hello");
  expect_body("5;name=value\r\nhello\r\n0\r\n\r\n", "hello");
  expect_body("5;a=1;b;c=\"quoted ; \\\" string\"\r\nhello\r\n0;last\r\n\r\n", "hello");
  expect_body("5 ;a=b\r\nhello\r\n0\r\n\r\n", "hello");        // BWS before ';'
  expect_body("5\t; a\t=\tb\r\nhello\r\n0\r\n\r\n", "hello");  // BWS everywhere the grammar has it
  expect_body("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello");
  expect_body("5;a=\"\x80\xff\t\"\r\nhello\r\n0\r\n\r\n", "hello");
  expect_body("5;a=b ;c\r\nhello\r\n0\r\n\r\n", "hello");

  for (std::string_view bad : {
           "5;\r\n",           "5; \r\n",
           "5;a \r\n",         "5;a=\r\n",
           "5;a= \r\n",        "5;a=b \r\n",
           "5;=b\r\n",         "5;a=b c\r\n",
           "5;a==b\r\n",       "5;a=\"b\r\n",
           "5;a=\"b\" x\r\n",  "5;a=\"b\"c\r\n",
           "5;a=\"\x01\"\r\n", "5;a=\"\\\x01\"\r\n",
           "5;a=b\x01\r\n",    "5;a\x7f\r\n",
           "5;a=\"\r\n\"\r\n", "5;a\n",
           "5;a=b\n",          "5;a\rb\r\n",
           "5;@\r\n",          "5;a=@\r\n",
           "5 x\r\n",          "5 \t \r\n",
           "5;a=\"b\"\n",
       }) {
    EXPECT_EQ(error_of(std::string(bad) + "hello\r\n0\r\n\r\n"), ParseError::kBadChunk) << bad;
  }
}

TEST(Chunked, LineLengthBound) {
  const std::string long_ext = "5;a=\"" + std::string(8 * 1024, 'x') + "\"\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(test::decode_chunked(long_ext).error, ParseError::kBadChunk);
  const std::string zeros = std::string(8 * 1024 + 1, '0') + "\r\n\r\n";
  EXPECT_EQ(test::decode_chunked(zeros).error, ParseError::kBadChunk);
  const std::string fits = "5;a=\"" + std::string(8 * 1024 - 16, 'x') + "\"\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(test::decode_chunked(fits).kind, Kind::kDone);
}

TEST(Chunked, Trailers) {
  expect_body("0\r\nExpires: never\r\n\r\n", "");
  expect_body("5\r\nhello\r\n0\r\nA: 1\r\nB:\r\nC: \t x y \t\r\nD: \x80\r\n\r\n", "hello");
  EXPECT_EQ(error_of("0\r\nA: 1\r\n folded\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA: 1\r\n\tfolded\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\n A: 1\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nNoColon\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA : 1\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\n: 1\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA: 1\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA: 1\r\n\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA: 1\rB: 2\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA: 1\0\r\n\r\n"s), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA: \x7f\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\nA\x01: 1\r\n\r\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\n\n"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\n\rX"), ParseError::kBadChunk);
  EXPECT_EQ(error_of("0\r\n0\r\n\r\n"), ParseError::kBadChunk);  // "0" is not a field line
}

// Decodes `in` in one piece and returns its trailer fields as "name=value;" pairs.
std::string trailers_of(std::string_view in) {
  ChunkedDecoder decoder;
  std::size_t used = 0;
  for (;;) {
    const auto step = decoder.next(in.substr(used));
    used += step.consumed;
    if (step.kind == Kind::kDone) break;
    if (step.kind == Kind::kError || step.consumed == 0) return "error";
  }
  std::string out;
  std::string_view section = decoder.trailer_section();
  HeaderField field;
  while (next_trailer_field(section, field)) {
    out.append(field.name).append("=").append(field.value).append(";");
  }
  return out;
}

TEST(Chunked, TrailerFieldsAreKept) {
  EXPECT_EQ(trailers_of("0\r\n\r\n"), "");
  EXPECT_EQ(trailers_of("5\r\nhello\r\n0\r\ngrpc-status: 0\r\n\r\n"), "grpc-status=0;");
  EXPECT_EQ(trailers_of("0\r\nA: 1\r\nB:\r\nC: \t x y \t\r\n\r\n"), "A=1;B=;C=x y;");
}

TEST(Chunked, TrailerSectionIsTheSameWhateverTheSplit) {
  const std::string in = "3\r\nabc\r\n0\r\nX-A: 1\r\nX-B: two words\r\n\r\n";
  for (std::size_t split = 0; split <= in.size(); ++split) {
    ChunkedDecoder decoder;
    std::string_view rest = std::string_view(in).substr(0, split);
    std::string_view second = std::string_view(in).substr(split);
    bool done = false;
    for (std::string_view piece : {rest, second}) {
      while (!piece.empty() && !done) {
        const auto step = decoder.next(piece);
        ASSERT_NE(step.kind, Kind::kError) << split;
        piece.remove_prefix(step.consumed);
        done = step.kind == Kind::kDone;
      }
    }
    ASSERT_TRUE(done) << split;
    EXPECT_EQ(decoder.trailer_section(), "X-A: 1\r\nX-B: two words\r\n") << split;
  }
}

TEST(Chunked, ResetForgetsTheTrailers) {
  ChunkedDecoder decoder;
  EXPECT_EQ(decoder.next("0\r\nX: 1\r\n\r\n").kind, Kind::kDone);
  EXPECT_FALSE(decoder.trailer_section().empty());
  decoder.reset();
  EXPECT_EQ(decoder.next("0\r\n\r\n").kind, Kind::kDone);
  EXPECT_TRUE(decoder.trailer_section().empty());
}

TEST(Chunked, ForbiddenTrailers) {
  const auto forbidden = [](std::string_view name, std::string_view options = {}) {
    return is_forbidden_trailer(HeaderField{name, "v", lookup_header_token(name)}, options);
  };
  for (std::string_view name : {"Content-Length", "transfer-encoding", "Host", "Connection", "Keep-Alive", "TE",
                                "Trailer", "Upgrade", "Proxy-Authorization", "Content-Type", "HTTP2-Settings"}) {
    EXPECT_TRUE(forbidden(name)) << name;
  }
  for (std::string_view name : {"grpc-status", "grpc-message", "X-Checksum", "Server-Timing"}) {
    EXPECT_FALSE(forbidden(name)) << name;
  }
  EXPECT_TRUE(forbidden("X-Hop", "close, x-hop"));
  EXPECT_FALSE(forbidden("X-Hop", "close, x-other"));
}

TEST(Chunked, TrailerSectionBound) {
  std::string in = "0\r\n";
  for (int i = 0; i < 200; ++i) in += "X-Trailer-" + std::to_string(i) + ": " + std::string(80, 'v') + "\r\n";
  in += "\r\n";
  EXPECT_EQ(test::decode_chunked(in).error, ParseError::kHeadTooLarge);
  EXPECT_EQ(test::decode_chunked("0\r\nX: " + std::string(16 * 1024, 'v') + "\r\n\r\n").error,
            ParseError::kHeadTooLarge);
  EXPECT_EQ(test::decode_chunked("0\r\nX: " + std::string(16 * 1024 - 16, 'v') + "\r\n\r\n").kind,
            Kind::kDone);
}

TEST(Chunked, ErrorsAreSticky) {
  ChunkedDecoder d;
  ChunkedDecoder::Step s = d.next("zz");
  ASSERT_EQ(s.kind, Kind::kError);
  EXPECT_EQ(s.consumed, 0u);
  s = d.next("0\r\n\r\n");
  EXPECT_EQ(s.kind, Kind::kError);
  EXPECT_EQ(s.error, ParseError::kBadChunk);
  d.reset();
  EXPECT_EQ(d.next("0\r\n\r\n").kind, Kind::kDone);
  d.reset(1);
  EXPECT_EQ(d.next("2\r\n").error, ParseError::kBodyTooLarge);
  d.reset();
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.body_bytes(), 0u);
}

TEST(Chunked, RoundTripWithSerializer) {
  std::string body;
  std::string wire;
  for (std::size_t n : {1u, 15u, 16u, 255u, 256u, 4095u}) {
    const std::string piece(n, static_cast<char>('a' + n % 26));
    append_chunk_size(wire, n);
    wire += piece;
    wire += kCrlf;
    body += piece;
  }
  wire += kLastChunk;
  const ChunkedResult r = test::decode_chunked(wire);
  EXPECT_EQ(r.kind, Kind::kDone);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.consumed, wire.size());
}

// Several inputs fed in every split: one cut anywhere, two cuts anywhere, byte by byte.
TEST(Chunked, SplitInvarianceExhaustive) {
  for (std::string_view in : {
           "5\r\nhello\r\n0\r\n\r\n",
           "3;a=\"x;y\\\"z\"\r\nabc\r\n1\r\nd\r\n0;e\r\nT: v\r\nU: w\r\n\r\nNEXT",
           "00a\r\n0123456789\r\n0\r\n\r\n",
           "5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n",
           "5 ;a=b\t;c\r\nhello\r\n0\r\n\r\n",
           "4\r\nab\r\n\r\n0\r\n\r\n",
           "FFFFFFFFFFFFFFFFF\r\n",
           "1\r\nx\r\n0\r\n\rX",
       }) {
    SCOPED_TRACE(in);
    decode_chunked_all_splits(in);
    decode_chunked_all_splits(in, 3);
  }
}

}  // namespace
}  // namespace flexgate::http
