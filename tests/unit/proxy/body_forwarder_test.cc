#include "proxy/body_forwarder.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../net/loopback_test_util.h"

namespace flexgate::proxy {
namespace {

namespace nt = net::test;

// Decodes the forwarder's chunked output, insisting that it is clean: every size line is bare hex
// (no extensions), no empty chunk before the last, nothing after the final CRLF.
std::optional<std::string> decode_clean_chunked(std::string_view wire, std::string& why) {
  std::string body;
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = wire.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      why = "size line without CRLF at " + std::to_string(pos);
      return std::nullopt;
    }
    std::string_view line = wire.substr(pos, eol - pos);
    if (line.empty() || line.size() > 16) {
      why = "bad size line '" + std::string(line) + "'";
      return std::nullopt;
    }
    std::uint64_t size = 0;
    for (char c : line) {
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) {
        why = "non-hex size line '" + std::string(line) + "'";
        return std::nullopt;
      }
      size = size * 16 + static_cast<unsigned>(digit);
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer lines may follow; then the final CRLF, and nothing after it.
      const std::string_view rest = wire.substr(pos);
      const std::size_t end_of_trailers = rest.find("\r\n\r\n");
      if (rest != "\r\n" && (end_of_trailers == std::string_view::npos || end_of_trailers + 4 != rest.size())) {
        why = "expected trailers and the final CRLF after the last chunk, got '" + std::string(rest) + "'";
        return std::nullopt;
      }
      return body;
    }
    if (wire.size() < pos + size + 2 || wire.substr(pos + size, 2) != "\r\n") {
      why = "chunk data of " + std::to_string(size) + " bytes not followed by CRLF";
      return std::nullopt;
    }
    body.append(wire.substr(pos, size));
    pos += size + 2;
  }
}

// Splits `text` into pieces of `size` bytes.
std::vector<std::string> pieces_of(std::string_view text, std::size_t size) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size(); i += size) out.emplace_back(text.substr(i, size));
  return out;
}

// Chunked encoding of `body` with varied chunk sizes, extensions on some size lines and a trailer.
std::string chunked_with_noise(std::string_view body) {
  static constexpr std::size_t kSizes[] = {1, 7, 300, 4096, 13, 9000, 2};
  static constexpr const char* kExtensions[] = {"", ";name", ";a=b", ";q=\"x;y\\\"z\"", " ;n=1;m"};
  std::string out;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < body.size(); ++i) {
    std::size_t n = std::min(kSizes[i % std::size(kSizes)], body.size() - pos);
    char hex[20];
    std::snprintf(hex, sizeof(hex), i % 2 ? "%zX" : "%zx", n);
    out += hex;
    out += kExtensions[i % std::size(kExtensions)];
    out += "\r\n";
    out.append(body.substr(pos, n));
    out += "\r\n";
    pos += n;
  }
  out += "0;last=1\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
  return out;
}

// One forwarding run: `source` feeds the forwarder's source socket, `sink` collects what it writes.
class BodyForwarderTest : public ::testing::Test {
 protected:
  struct Outcome {
    StreamResult result;
    std::string output;  // everything written to the sink
  };

  // Writes `pieces` to the source (yielding between pieces so the forwarder sees them one by one),
  // optionally shuts the source down, runs `forward`, then collects the sink output to its end.
  Outcome run(std::function<net::Task<StreamResult>()> forward, std::vector<std::string> pieces,
              bool close_source_after) {
    bool fed = false, collected = false;
    std::optional<StreamResult> result;
    std::string output;
    asio::co_spawn(io_, feed(std::move(pieces), close_source_after), [&](std::exception_ptr) { fed = true; });
    asio::co_spawn(io_, nt::read_to_end(sink_.server, output),
                   [&](std::exception_ptr, std::error_code) { collected = true; });
    asio::co_spawn(io_, forward(), [&](std::exception_ptr e, StreamResult r) {
      if (e) ADD_FAILURE() << "forwarder threw";
      result = r;
      sink_out_.socket().shutdown(net::tcp::socket::shutdown_send);  // lets the collector see the end
    });
    EXPECT_TRUE(nt::run_until(io_, [&] { return result.has_value() && collected; })) << "forwarding hung";
    if (!fed) {
      // The forwarder stopped before taking all input (an error case): unblock the feeder.
      source_.client.close();
      EXPECT_TRUE(nt::run_until(io_, [&] { return fed; }));
    }
    return {result.value_or(StreamResult{}), output};
  }

  net::Task<void> feed(std::vector<std::string> pieces, bool close_after) {
    for (const auto& piece : pieces) {
      auto written = co_await net::write_all(source_.client, piece);
      if (written.error) co_return;
      co_await asio::post(io_.get_executor(), asio::use_awaitable_t<net::Executor>{});
      co_await asio::post(io_.get_executor(), asio::use_awaitable_t<net::Executor>{});
    }
    if (close_after) source_.client.shutdown(net::tcp::socket::shutdown_send);
  }

  // Puts `bytes` straight into the source buffer, as if read along with the message head.
  static void preload(ByteBuffer& buffer, std::string_view bytes) {
    auto space = buffer.writable();
    ASSERT_GE(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    buffer.commit(bytes.size());
  }

  asio::io_context io_;
  nt::SocketPair source_ = nt::make_socket_pair(io_);  // .client feeds, .server is the source
  nt::SocketPair sink_ = nt::make_socket_pair(io_);    // .client is the sink, .server collects
  net::Stream source_in_{std::move(source_.server)};   // what the forwarder reads
  net::Stream sink_out_{std::move(sink_.client)};      // what the forwarder writes
};

// ─── forward_fixed_body ────────────────────────────────────────────────────────────────────────

TEST_F(BodyForwarderTest, FixedBodyMovesExactlyLengthBytes) {
  const std::string body = nt::pattern_bytes(300000, 1);
  ByteBuffer buffer(4096);
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, body.size()); },
                    pieces_of(body, 65536), false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, body.size());
  EXPECT_TRUE(out.output == body) << "output of " << out.output.size() << " bytes differs";
  EXPECT_TRUE(buffer.empty());
}

TEST_F(BodyForwarderTest, FixedBodyLeavesFollowingBytesInTheSourceBuffer) {
  ByteBuffer buffer(4096);
  preload(buffer, "0123456789GET /next HTTP/1.1\r\n");
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, 10); }, {}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, 10u);
  EXPECT_EQ(out.output, "0123456789");
  EXPECT_EQ(buffer.readable(), "GET /next HTTP/1.1\r\n");
}

TEST_F(BodyForwarderTest, FixedBodyReadFromTheSocketStopsAtTheLength) {
  ByteBuffer buffer(4096);
  preload(buffer, "abc");
  Outcome out =
      run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, 8); }, {"defghNEXT"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "abcdefgh");
  // Whatever of "NEXT" was read along is still in the buffer; the rest is still in the socket.
  std::string rest(buffer.readable());
  while (rest.size() < 4) {
    std::array<char, 16> more;
    net::IoResult read = nt::run_task(io_, net::read_some(source_in_, more));
    ASSERT_FALSE(read.error) << read.error.message();
    rest.append(more.data(), read.bytes);
  }
  EXPECT_EQ(rest, "NEXT");
}

TEST_F(BodyForwarderTest, FixedBodyWritesThePrefixFirst) {
  ByteBuffer buffer(4096);
  preload(buffer, "he");
  const std::string prefix = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, 5, prefix); },
                    {"llo"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, 5u);
  EXPECT_EQ(out.output, prefix + "hello");
}

TEST_F(BodyForwarderTest, FixedBodyOfZeroLengthWritesOnlyThePrefixAndReadsNothing) {
  ByteBuffer buffer(4096);
  Outcome out = run(
      [&] { return forward_fixed_body(source_in_, buffer, sink_out_, 0, "HEAD\r\n\r\n"); }, {}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, 0u);
  EXPECT_EQ(out.output, "HEAD\r\n\r\n");
}

TEST_F(BodyForwarderTest, FixedBodySourceClosingEarlyIsSourceClosed) {
  ByteBuffer buffer(4096);
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, 100, "P|"); },
                    {std::string(40, 'x')}, true);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kSourceClosed);
  EXPECT_EQ(out.result.error, asio::error::eof);
  EXPECT_EQ(out.result.body_bytes, 40u);
  EXPECT_EQ(out.output, "P|" + std::string(40, 'x'));
}

TEST_F(BodyForwarderTest, FixedBodyToAClosedSinkIsSinkError) {
  sink_.server.shutdown(net::tcp::socket::shutdown_both);
  sink_.server.close();
  const std::string body = nt::pattern_bytes(4 << 20, 2);
  ByteBuffer buffer(65536);
  std::optional<StreamResult> result;
  asio::co_spawn(io_, feed(pieces_of(body, 1 << 20), false), asio::detached);
  asio::co_spawn(io_, forward_fixed_body(source_in_, buffer, sink_out_, body.size()),
                 [&](std::exception_ptr, StreamResult r) { result = r; });
  ASSERT_TRUE(nt::run_until(io_, [&] { return result.has_value(); }));
  EXPECT_EQ(result->outcome, StreamOutcome::kSinkError);
  EXPECT_TRUE(result->error);
  source_.client.close();  // ends the feeder
  io_.poll();
}

// ─── forward_fixed_body by splice(2) ──────────────────────────────────────────────────────────

TEST_F(BodyForwarderTest, ALargeFixedBodyGoesByPipeSocketToSocketByteExact) {
  auto pipes = std::make_shared<net::SplicePipes>();
  const std::string body = nt::pattern_bytes(1 << 20, 3);
  ByteBuffer buffer(4096);
  preload(buffer, std::string_view(body).substr(0, 1000));  // as if read with the head
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, body.size(), "H|", pipes.get()); },
                    pieces_of(std::string_view(body).substr(1000), 100000), false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, body.size());
  EXPECT_TRUE(out.output == "H|" + body) << "output of " << out.output.size() << " bytes differs";
  EXPECT_EQ(pipes->made(), 1u);   // the body went through a pipe, not the buffer
  EXPECT_EQ(pipes->spare(), 1u);  // and the pipe came back empty, for the next body
}

TEST_F(BodyForwarderTest, ASplicedBodyWhoseSourceEndsEarlyIsSourceClosed) {
  auto pipes = std::make_shared<net::SplicePipes>();
  const std::string half = nt::pattern_bytes(50000, 4);
  ByteBuffer buffer(4096);
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, 100000, {}, pipes.get()); },
                    {half}, true);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kSourceClosed);
  EXPECT_EQ(out.result.error, asio::error::eof);
  EXPECT_EQ(out.result.body_bytes, half.size());
  EXPECT_TRUE(out.output == half);
  EXPECT_EQ(pipes->made(), 1u);
}

TEST_F(BodyForwarderTest, ASplicedBodyToAClosedSinkIsSinkErrorAndItsPipeIsNeverReused) {
  ::signal(SIGPIPE, SIG_IGN);  // splice(2) has no MSG_NOSIGNAL; the gateway ignores SIGPIPE too
  sink_.server.shutdown(net::tcp::socket::shutdown_both);
  sink_.server.close();
  auto pipes = std::make_shared<net::SplicePipes>();
  const std::string body = nt::pattern_bytes(4 << 20, 5);
  ByteBuffer buffer(4096);
  std::optional<StreamResult> result;
  asio::co_spawn(io_, feed(pieces_of(body, 1 << 20), false), asio::detached);
  asio::co_spawn(io_, forward_fixed_body(source_in_, buffer, sink_out_, body.size(), {}, pipes.get()),
                 [&](std::exception_ptr, StreamResult r) { result = r; });
  ASSERT_TRUE(nt::run_until(io_, [&] { return result.has_value(); }));
  EXPECT_EQ(result->outcome, StreamOutcome::kSinkError);
  EXPECT_TRUE(result->error);
  EXPECT_EQ(pipes->made(), 1u);
  EXPECT_EQ(pipes->spare(), 0u);  // it still held bytes of this body: closed, not pooled
  source_.client.close();         // ends the feeder
  io_.poll();
}

TEST_F(BodyForwarderTest, APipeIsReusedAndASmallRestIsCopiedWithoutOne) {
  auto pipes = std::make_shared<net::SplicePipes>();
  {
    auto first = pipes->take();
    auto second = pipes->take();
    ASSERT_TRUE(first && second);
  }
  EXPECT_EQ(pipes->made(), 2u);
  EXPECT_EQ(pipes->spare(), 2u);
  { auto again = pipes->take(); }
  EXPECT_EQ(pipes->made(), 2u);  // from the spares
  pipes->close_idle_spares();    // one was taken since the last look: kept
  EXPECT_EQ(pipes->spare(), 2u);
  pipes->close_idle_spares();    // none since: given back
  EXPECT_EQ(pipes->spare(), 0u);

  auto unused = std::make_shared<net::SplicePipes>();
  const std::string body = nt::pattern_bytes(kSpliceMinBytes - 1, 6);
  ByteBuffer buffer(65536);
  Outcome out = run([&] { return forward_fixed_body(source_in_, buffer, sink_out_, body.size(), {}, unused.get()); },
                    {body}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_TRUE(out.output == body);
  EXPECT_EQ(unused->made(), 0u);  // under kSpliceMinBytes: two splices would cost more than the copy
}

// ─── forward_chunked_body ──────────────────────────────────────────────────────────────────────

TEST_F(BodyForwarderTest, ChunkedIsReencodedWithoutExtensionsOrHopByHopTrailers) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  const std::string input = "5;ext=1\r\nhello\r\n6;a=\"q\"\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    {input}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, 11u);
  std::string why;
  auto body = decode_clean_chunked(out.output, why);
  ASSERT_TRUE(body.has_value()) << why << "\n" << out.output;
  EXPECT_EQ(*body, "hello world");
  EXPECT_EQ(out.output.find("ext"), std::string::npos);
  EXPECT_EQ(out.output.find("Trailer"), std::string::npos);
}

TEST_F(BodyForwarderTest, ChunkedForwardsTrailerFieldsAfterTheLastChunk) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  const std::string input = "5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: \t ok \r\n\r\n";
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    {input}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n");
}

TEST_F(BodyForwarderTest, ChunkedTrailersSplitAcrossReadsArriveWhole) {
  ByteBuffer buffer(16);
  http::ChunkedDecoder decoder;
  const std::string input = "3\r\nabc\r\n0\r\nX-Checksum: 0123456789abcdef\r\nX-Other: 1\r\n\r\n";
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    pieces_of(input, 3), false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "3\r\nabc\r\n0\r\nX-Checksum: 0123456789abcdef\r\nX-Other: 1\r\n\r\n");
}

TEST_F(BodyForwarderTest, ChunkedDropsTrailersThatMustNotBeTrailers) {
  // Framing, routing, hop-by-hop, whatever the head's Connection nominates: never forwarded.
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  const std::string input =
      "0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nHost: evil\r\nConnection: close\r\n"
      "TE: trailers\r\nX-Private: 1\r\nContent-Type: text/html\r\nKept: yes\r\n\r\n";
  Outcome out = run(
      [&] {
        return forward_chunked_body(source_in_, buffer, sink_out_, decoder, {}, TrailerFilter{"x-private", nullptr});
      },
      {input}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "0\r\nKept: yes\r\n\r\n");
}

TEST_F(BodyForwarderTest, ChunkedWithOnlyForbiddenTrailersEndsWithAPlainLastChunk) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    {"2\r\nok\r\n0\r\nContent-Length: 2\r\n\r\n"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "2\r\nok\r\n0\r\n\r\n");
}

TEST_F(BodyForwarderTest, ChunkedWritesThePrefixFirst) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  const std::string prefix = "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  Outcome out =
      run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder, prefix); },
          {"3\r\nabc\r\n0\r\n\r\n"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  ASSERT_EQ(out.output.rfind(prefix, 0), 0u) << out.output;
  std::string why;
  auto body = decode_clean_chunked(std::string_view(out.output).substr(prefix.size()), why);
  ASSERT_TRUE(body.has_value()) << why;
  EXPECT_EQ(*body, "abc");
}

TEST_F(BodyForwarderTest, ChunkedPrefixIsWrittenEvenBeforeAnyChunkArrives) {
  // The first read holds only part of a size line: the prefix must not wait for body bytes.
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  Outcome out =
      run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder, "HEAD|"); },
          {"1", "0\r\n0123456789abcdef\r\n0\r\n\r\n"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  std::string why;
  ASSERT_EQ(out.output.rfind("HEAD|", 0), 0u);
  auto body = decode_clean_chunked(std::string_view(out.output).substr(5), why);
  ASSERT_TRUE(body.has_value()) << why;
  EXPECT_EQ(*body, "0123456789abcdef");
}

TEST_F(BodyForwarderTest, ChunkedManyChunksThroughASmallBufferDecodeToTheSameBytes) {
  const std::string body = nt::pattern_bytes(200000, 3);
  const std::string input = chunked_with_noise(body);
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    pieces_of(input, 50000), false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, body.size());
  std::string why;
  auto decoded = decode_clean_chunked(out.output, why);
  ASSERT_TRUE(decoded.has_value()) << why;
  EXPECT_TRUE(*decoded == body) << "decoded " << decoded->size() << " bytes differ";
}

TEST_F(BodyForwarderTest, ChunkedInputFedInTinyPiecesDecodesToTheSameBytes) {
  // A 16-byte source buffer and 3-byte writes: size lines, extensions, data and trailers all
  // arrive split at every possible place.
  const std::string body = nt::pattern_bytes(3000, 4);
  const std::string input = chunked_with_noise(body);
  ByteBuffer buffer(16);
  http::ChunkedDecoder decoder;
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder, "P|"); },
                    pieces_of(input, 3), false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, body.size());
  ASSERT_EQ(out.output.rfind("P|", 0), 0u);
  std::string why;
  auto decoded = decode_clean_chunked(std::string_view(out.output).substr(2), why);
  ASSERT_TRUE(decoded.has_value()) << why;
  EXPECT_TRUE(*decoded == body);
}

TEST_F(BodyForwarderTest, ChunkedLeavesTheNextMessageInTheSourceBuffer) {
  ByteBuffer buffer(4096);
  preload(buffer, "3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n");
  http::ChunkedDecoder decoder;
  Outcome out =
      run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); }, {}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(buffer.readable(), "GET /next HTTP/1.1\r\n");
}

TEST_F(BodyForwarderTest, ChunkedBodyOverTheLimitIsTooLarge) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder(10);
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kTooLarge);
  EXPECT_EQ(out.output.find("world"), std::string::npos) << "bytes past the limit must not be forwarded";
}

TEST_F(BodyForwarderTest, ChunkedBodyExactlyAtTheLimitIsForwarded) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder(11);
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"}, false);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, 11u);
}

TEST_F(BodyForwarderTest, MalformedChunkedIsBadFraming) {
  const std::vector<std::string> inputs = {
      "5\r\nhelloXX\r\n0\r\n\r\n",  // data not followed by CRLF
      "zz\r\nhello\r\n0\r\n\r\n",   // size not hex
      "-5\r\nhello\r\n",            // sign
      "5\nhello\r\n0\r\n\r\n",      // bare LF
  };
  for (const auto& input : inputs) {
    asio::io_context io;
    auto source = nt::make_socket_pair(io);
    auto sink = nt::make_socket_pair(io);
    ByteBuffer buffer(4096);
    preload(buffer, input);
    http::ChunkedDecoder decoder;
    net::Stream source_stream(std::move(source.server));
    net::Stream sink_stream(std::move(sink.client));
    StreamResult result = nt::run_task(io, forward_chunked_body(source_stream, buffer, sink_stream, decoder));
    EXPECT_EQ(result.outcome, StreamOutcome::kBadFraming) << input;
  }
}

TEST_F(BodyForwarderTest, ChunkedSourceClosingMidBodyIsSourceClosed) {
  ByteBuffer buffer(4096);
  http::ChunkedDecoder decoder;
  Outcome out = run([&] { return forward_chunked_body(source_in_, buffer, sink_out_, decoder); },
                    {"a\r\n01234"}, true);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kSourceClosed);
  EXPECT_EQ(out.result.body_bytes, 5u);
  EXPECT_EQ(out.output.find("0\r\n\r\n"), std::string::npos) << "a truncated body must not look complete";
}

// ─── forward_until_close ───────────────────────────────────────────────────────────────────────

TEST_F(BodyForwarderTest, UntilCloseForwardsEverythingUntilTheSourceCloses) {
  const std::string body = nt::pattern_bytes(100000, 5);
  ByteBuffer buffer(4096);
  preload(buffer, body.substr(0, 100));
  Outcome out = run([&] { return forward_until_close(source_in_, buffer, sink_out_, false, "HEAD|"); },
                    pieces_of(std::string_view(body).substr(100), 30000), true);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, body.size());
  EXPECT_TRUE(out.output == "HEAD|" + body);
}

TEST_F(BodyForwarderTest, UntilCloseCanChunkEncode) {
  const std::string body = nt::pattern_bytes(50000, 6);
  ByteBuffer buffer(4096);
  Outcome out = run([&] { return forward_until_close(source_in_, buffer, sink_out_, true, "HEAD|"); },
                    pieces_of(body, 7000), true);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.result.body_bytes, body.size());
  ASSERT_EQ(out.output.rfind("HEAD|", 0), 0u);
  std::string why;
  auto decoded = decode_clean_chunked(std::string_view(out.output).substr(5), why);
  ASSERT_TRUE(decoded.has_value()) << why;
  EXPECT_TRUE(*decoded == body);
}

TEST_F(BodyForwarderTest, UntilCloseWithAnEmptyBody) {
  ByteBuffer buffer(4096);
  Outcome plain =
      run([&] { return forward_until_close(source_in_, buffer, sink_out_, false, "H|"); }, {}, true);
  EXPECT_EQ(plain.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(plain.output, "H|");
}

TEST_F(BodyForwarderTest, UntilCloseChunkedWithAnEmptyBodyEndsWithTheLastChunk) {
  ByteBuffer buffer(4096);
  Outcome out =
      run([&] { return forward_until_close(source_in_, buffer, sink_out_, true, "H|"); }, {}, true);
  EXPECT_EQ(out.result.outcome, StreamOutcome::kDone);
  EXPECT_EQ(out.output, "H|0\r\n\r\n");
}

}  // namespace
}  // namespace flexgate::proxy
