// The HTTP/2 client session: paired in memory with the server session (bytes from one fed to the
// other, no sockets) for whole exchanges, flow control and the stream limit; against raw frames
// for what a well-behaved server never sends (trailers after 1xx, malformed fields, resets, GOAWAY).

#include "http2/client_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frames.h"
#include "http2/server_session.h"

namespace flexgate::http2 {
namespace {

// What the client reported, per stream.
class ClientRecorder : public ClientHandler {
 public:
  struct Closed {
    std::uint32_t error_code;
    bool retryable;
  };
  void on_response(std::int32_t stream_id, ResponseHead head) override { heads[stream_id] = std::move(head); }
  void on_response_body(std::int32_t stream_id, std::span<const std::uint8_t> data) override {
    bodies[stream_id].append(data.begin(), data.end());
  }
  void on_trailers(std::int32_t stream_id, FieldList fields) override { trailers[stream_id] = std::move(fields); }
  void on_response_end(std::int32_t stream_id) override { ended.push_back(stream_id); }
  void on_stream_closed(std::int32_t stream_id, std::uint32_t error_code, bool retryable) override {
    closed[stream_id] = Closed{error_code, retryable};
  }
  std::size_t read_request_body(std::int32_t, std::uint8_t* out, std::size_t room, bool& end) override {
    const std::size_t n = std::min(room, request_body.size());
    std::copy_n(request_body.begin(), n, out);
    request_body.erase(0, n);
    end = request_body.empty() && request_body_complete;
    return n;
  }
  std::map<std::int32_t, ResponseHead> heads;
  std::map<std::int32_t, std::string> bodies;
  std::map<std::int32_t, FieldList> trailers;
  std::vector<std::int32_t> ended;
  std::map<std::int32_t, Closed> closed;
  std::string request_body;
  bool request_body_complete = true;
};

// The origin: records requests, answers from `response_bodies`.
class ServerRecorder : public Handler {
 public:
  void on_request(std::int32_t stream_id, const Request& request) override { requests[stream_id] = request; }
  void on_body(std::int32_t stream_id, std::span<const std::uint8_t> data) override {
    bodies[stream_id].append(data.begin(), data.end());
  }
  void on_request_end(std::int32_t stream_id) override { ended.push_back(stream_id); }
  void on_stream_closed(std::int32_t, std::uint32_t) override {}
  std::size_t read_response_body(std::int32_t stream_id, std::uint8_t* out, std::size_t room, bool& end) override {
    std::string& body = response_bodies[stream_id];
    const std::size_t n = std::min(room, body.size());
    std::copy_n(body.begin(), n, out);
    body.erase(0, n);
    end = body.empty();
    return n;
  }
  std::map<std::int32_t, Request> requests;
  std::map<std::int32_t, std::string> bodies;
  std::vector<std::int32_t> ended;
  std::map<std::int32_t, std::string> response_bodies;
};

OutgoingRequest request_for(const std::string& method, const std::string& path) {
  return OutgoingRequest{method, "http", "origin.test", path, {{"x-test", "1"}}};
}

std::string drain(ClientSession& session) {
  std::string out;
  for (auto bytes = session.output(); !bytes.empty(); bytes = session.output()) {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return out;
}

// A client and a server session wired back to back.
class PairedTest : public ::testing::Test {
 protected:
  // Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto bytes = client_.output(); !bytes.empty(); bytes = client_.output()) {
        ASSERT_FALSE(server_.receive(std::span<const char>(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
        moved = true;
      }
      for (auto bytes = server_.output(); !bytes.empty(); bytes = server_.output()) {
        ASSERT_FALSE(client_.receive(std::span<const char>(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
        moved = true;
      }
    }
  }

  Limits server_limits_;
  ClientRecorder client_events_;
  ServerRecorder server_events_;
  ServerSession server_{server_events_, server_limits_};
  ClientSession client_{client_events_, ClientLimits{}};
};

TEST_F(PairedTest, GetGetsItsResponse) {
  const std::int32_t id = client_.submit(request_for("GET", "/a?b=1"), false);
  ASSERT_GT(id, 0);
  pump();
  ASSERT_EQ(server_events_.requests.count(id), 1u);
  const Request& seen = server_events_.requests[id];
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/a?b=1");
  EXPECT_EQ(seen.authority, "origin.test");
  ASSERT_EQ(seen.fields.size(), 1u);
  EXPECT_EQ(seen.fields[0], (std::pair<std::string, std::string>{"x-test", "1"}));
  EXPECT_TRUE(seen.end_stream);

  server_events_.response_bodies[id] = "hello";
  server_.respond(id, 200, {{"content-type", "text/plain"}, {"content-length", "5"}}, true);
  pump();
  ASSERT_EQ(client_events_.heads.count(id), 1u);
  EXPECT_EQ(client_events_.heads[id].status, 200);
  EXPECT_EQ(client_events_.heads[id].content_length, 5);
  EXPECT_EQ(client_events_.bodies[id], "hello");
  EXPECT_EQ(client_events_.ended, std::vector<std::int32_t>{id});
  ASSERT_EQ(client_events_.closed.count(id), 1u);
  EXPECT_EQ(client_events_.closed[id].error_code, 0u);
  EXPECT_EQ(client_.open_streams(), 0u);
}

TEST_F(PairedTest, PostBodyIsPulledAndResumedAfterDeferral) {
  client_events_.request_body = "part1";
  client_events_.request_body_complete = false;
  const std::int32_t id = client_.submit(request_for("POST", "/upload"), true);
  pump();
  EXPECT_EQ(server_events_.bodies[id], "part1");
  EXPECT_TRUE(server_events_.ended.empty());  // the body is paused, not ended
  client_events_.request_body = "+part2";
  client_events_.request_body_complete = true;
  client_.resume(id);
  pump();
  EXPECT_EQ(server_events_.bodies[id], "part1+part2");
  EXPECT_EQ(server_events_.ended, std::vector<std::int32_t>{id});
}

TEST_F(PairedTest, ResponseBodyWindowOpensOnlyAsTheConsumerTakesBytes) {
  const std::int32_t id = client_.submit(request_for("GET", "/big"), false);
  pump();
  const std::size_t total = 1024 * 1024;
  server_events_.response_bodies[id] = std::string(total, 'x');
  server_.respond(id, 200, {}, true);
  pump();
  // Nothing consumed: the stream window (256 KiB) caps what was sent.
  const std::size_t first = client_events_.bodies[id].size();
  EXPECT_GT(first, 0u);
  EXPECT_LE(first, ClientLimits{}.initial_window_size);
  EXPECT_TRUE(client_events_.ended.empty());
  // Consuming all of it lets the rest flow, window by window.
  std::size_t consumed = 0;
  for (int round = 0; round < 16 && client_events_.ended.empty(); ++round) {
    const std::size_t received = client_events_.bodies[id].size();
    client_.consume(id, received - consumed);
    consumed = received;
    pump();
  }
  EXPECT_EQ(client_events_.bodies[id].size(), total);
  EXPECT_EQ(client_events_.ended, std::vector<std::int32_t>{id});
}

TEST_F(PairedTest, ServerMaxConcurrentStreamsStopsNewStreams) {
  server_limits_.max_concurrent_streams = 2;
  ServerSession limited(server_events_, server_limits_);
  ClientSession client(client_events_, ClientLimits{});
  // Exchange the SETTINGS first.
  std::string bytes = drain(client);
  ASSERT_FALSE(limited.receive(std::span<const char>(bytes.data(), bytes.size())));
  for (auto out = limited.output(); !out.empty(); out = limited.output()) {
    ASSERT_FALSE(client.receive(std::span<const char>(reinterpret_cast<const char*>(out.data()), out.size())));
  }
  EXPECT_TRUE(client.can_open_stream());
  EXPECT_GT(client.submit(request_for("GET", "/1"), false), 0);
  EXPECT_GT(client.submit(request_for("GET", "/2"), false), 0);
  EXPECT_FALSE(client.can_open_stream());
  EXPECT_LT(client.submit(request_for("GET", "/3"), false), 0);
  EXPECT_EQ(client.open_streams(), 2u);
}

// The client against hand-written server frames.
class RawServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_ = client_.submit(request_for("GET", "/"), false);
    ASSERT_EQ(id_, 1);
    const std::string sent = drain(client_);
    ASSERT_EQ(sent.substr(0, kPreface.size()), kPreface);
    feed(frame(kSettings, 0, 0, "") + frame(kSettings, 0x1 /* ACK */, 0, ""));
  }
  void feed(const std::string& frames) {
    EXPECT_FALSE(client_.receive(std::span<const char>(frames.data(), frames.size())));
    client_output_ += drain(client_);
  }
  static std::string headers(std::uint32_t stream, const Fields& fields, bool end_stream) {
    return frame(kHeaders, static_cast<std::uint8_t>(kEndHeaders | (end_stream ? kEndStream : 0)), stream, block(fields));
  }
  static std::string rst_stream(std::uint32_t stream, std::uint32_t code) {
    return frame(kRstStream, 0, stream,
                 std::string{static_cast<char>(code >> 24), static_cast<char>(code >> 16), static_cast<char>(code >> 8),
                             static_cast<char>(code)});
  }

  ClientRecorder events_;
  ClientSession client_{events_, ClientLimits{}};
  std::int32_t id_ = 0;
  std::string client_output_;
};

TEST_F(RawServerTest, TrailersAfterTheBodyAreDeliveredAsTrailers) {
  feed(headers(1, {{":status", "200"}, {"content-type", "application/grpc"}}, false) + frame(kData, 0, 1, "body") +
       headers(1, {{"grpc-status", "0"}, {"grpc-message", "ok"}}, true));
  EXPECT_EQ(events_.heads[1].status, 200);
  EXPECT_EQ(events_.bodies[1], "body");
  ASSERT_EQ(events_.trailers[1].size(), 2u);
  EXPECT_EQ(events_.trailers[1][0].first, "grpc-status");
  EXPECT_EQ(events_.trailers[1][1].second, "ok");
  EXPECT_EQ(events_.ended, std::vector<std::int32_t>{1});
  EXPECT_EQ(events_.closed[1].error_code, 0u);
}

TEST_F(RawServerTest, InterimResponsesAreDropped) {
  feed(headers(1, {{":status", "103"}, {"link", "</a.css>"}}, false) +
       headers(1, {{":status", "204"}, {"x-final", "yes"}}, true));
  ASSERT_EQ(events_.heads.count(1), 1u);
  EXPECT_EQ(events_.heads[1].status, 204);
  ASSERT_EQ(events_.heads[1].fields.size(), 1u);
  EXPECT_EQ(events_.heads[1].fields[0].first, "x-final");
  EXPECT_TRUE(events_.trailers.empty());
  EXPECT_EQ(events_.ended, std::vector<std::int32_t>{1});
}

TEST_F(RawServerTest, MalformedResponseFieldIsAStreamError) {
  feed(headers(1, {{":status", "200"}, {"Upper-Case", "x"}}, true));
  EXPECT_EQ(events_.heads.count(1), 0u);
  ASSERT_EQ(events_.closed.count(1), 1u);
  EXPECT_NE(events_.closed[1].error_code, 0u);
  EXPECT_FALSE(events_.closed[1].retryable);
}

TEST_F(RawServerTest, ConnectionSpecificResponseFieldIsAStreamError) {
  feed(headers(1, {{":status", "200"}, {"connection", "close"}}, true));
  EXPECT_EQ(events_.heads.count(1), 0u);
  ASSERT_EQ(events_.closed.count(1), 1u);
  EXPECT_NE(events_.closed[1].error_code, 0u);
}

TEST_F(RawServerTest, ContentLengthMismatchIsAStreamError) {
  feed(headers(1, {{":status", "200"}, {"content-length", "10"}}, false) + frame(kData, kEndStream, 1, "short"));
  EXPECT_TRUE(events_.ended.empty());
  ASSERT_EQ(events_.closed.count(1), 1u);
  EXPECT_NE(events_.closed[1].error_code, 0u);
}

TEST_F(RawServerTest, OversizedHeaderListIsAStreamError) {
  Fields fields{{":status", "200"}};
  for (int i = 0; i < 600; ++i) fields.emplace_back("x-filler-" + std::to_string(i), std::string(100, 'v'));
  // One header block in CONTINUATION-free form: a large frame is fine for the client's parser
  // only up to its max frame size, so split it at 16 KiB.
  const std::string payload = block(fields);
  std::string frames;
  const std::size_t chunk = 16384;
  for (std::size_t at = 0; at < payload.size(); at += chunk) {
    const bool first = at == 0;
    const bool last = at + chunk >= payload.size();
    frames += frame(first ? kHeaders : kContinuation,
                    static_cast<std::uint8_t>((last ? kEndHeaders : 0) | (first ? kEndStream : 0)), 1,
                    payload.substr(at, chunk));
  }
  ClientRecorder events;
  ClientLimits limits;
  limits.max_continuations = 16;
  ClientSession client(events, limits);
  ASSERT_EQ(client.submit(request_for("GET", "/"), false), 1);
  (void)drain(client);
  const std::string input = frame(kSettings, 0, 0, "") + frames;
  EXPECT_FALSE(client.receive(std::span<const char>(input.data(), input.size())));
  (void)drain(client);  // the stream closes as its RST_STREAM is sent
  EXPECT_EQ(events.heads.count(1), 0u);
  ASSERT_EQ(events.closed.count(1), 1u);
  EXPECT_NE(events.closed[1].error_code, 0u);
}

TEST_F(RawServerTest, RefusedStreamIsRetryableOtherResetsAreNot) {
  ASSERT_EQ(client_.submit(request_for("GET", "/second"), false), 3);
  (void)drain(client_);
  feed(rst_stream(1, 0x7 /* REFUSED_STREAM */) + rst_stream(3, 0x2 /* INTERNAL_ERROR */));
  EXPECT_EQ(events_.closed[1].error_code, 0x7u);
  EXPECT_TRUE(events_.closed[1].retryable);
  EXPECT_EQ(events_.closed[3].error_code, 0x2u);
  EXPECT_FALSE(events_.closed[3].retryable);
  EXPECT_TRUE(events_.heads.empty());
}

TEST_F(RawServerTest, GoawayRefusesStreamsAboveLastStreamIdAndStopsNewOnes) {
  ASSERT_EQ(client_.submit(request_for("GET", "/second"), false), 3);
  (void)drain(client_);
  // GOAWAY(last_stream_id = 1, NO_ERROR): stream 1 finishes, stream 3 was never seen.
  feed(frame(kGoaway, 0, 0, std::string("\0\0\0\1\0\0\0\0", 8)));
  EXPECT_TRUE(client_.goaway_received());
  EXPECT_FALSE(client_.can_open_stream());
  ASSERT_EQ(events_.closed.count(3), 1u);
  EXPECT_TRUE(events_.closed[3].retryable);
  EXPECT_EQ(events_.closed.count(1), 0u);
  feed(headers(1, {{":status", "200"}}, true));
  EXPECT_EQ(events_.heads[1].status, 200);
  EXPECT_EQ(events_.closed[1].error_code, 0u);
  EXPECT_LT(client_.submit(request_for("GET", "/third"), false), 0);
}

TEST_F(RawServerTest, GarbageIsAConnectionError) {
  feed(std::string(32, '\xff'));  // a frame longer than SETTINGS_MAX_FRAME_SIZE
  EXPECT_FALSE(client_.wants_read());
  EXPECT_FALSE(client_.wants_write());
  bool goaway = false;
  for (const Frame& f : parse_frames(client_output_)) goaway = goaway || f.type == kGoaway;
  EXPECT_TRUE(goaway);
}

}  // namespace
}  // namespace flexgate::http2
