// The HTTP/2 server session from raw frames: a valid request becomes one event, and every
// malformed message the downgrade to HTTP/1.1 must never see is a stream error (RST_STREAM) or,
// for floods, a connection error (GOAWAY) — without reaching the handler.

#include "http2/server_session.h"

#include "frames.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flexgate::http2 {
namespace {

class Recorder : public Handler {
 public:
  void on_request(std::int32_t stream_id, const Request& request) override { requests.emplace_back(stream_id, request); }
  void on_body(std::int32_t, std::span<const std::uint8_t> data) override { body.append(data.begin(), data.end()); }
  void on_request_trailers(std::int32_t stream_id, Fields&& fields) override {
    trailers_received.emplace_back(stream_id, std::move(fields));
  }
  const Fields* response_trailers(std::int32_t) override { return &trailers_to_send; }
  void on_request_end(std::int32_t stream_id) override { ended.push_back(stream_id); }
  void on_stream_closed(std::int32_t stream_id, std::uint32_t error_code) override {
    closed.emplace_back(stream_id, error_code);
  }
  std::size_t read_response_body(std::int32_t, std::uint8_t* out, std::size_t room, bool& end) override {
    const std::size_t n = std::min(room, response_body.size());
    std::copy_n(response_body.begin(), n, out);
    response_body.erase(0, n);
    end = response_body.empty();
    return n;
  }
  std::vector<std::pair<std::int32_t, Request>> requests;
  std::string body;
  std::vector<std::int32_t> ended;
  std::vector<std::pair<std::int32_t, std::uint32_t>> closed;
  std::string response_body;
  std::vector<std::pair<std::int32_t, Fields>> trailers_received;
  Fields trailers_to_send;
};

class ServerSessionTest : public ::testing::Test {
 protected:
  // Sends the preface and an empty SETTINGS, then `frames`; returns what the server wrote.
  std::string exchange(const std::string& frames, bool* failed = nullptr) {
    std::string input = std::string(kPreface) + frame(kSettings, 0, 0, "") + frames;
    const bool error = static_cast<bool>(session_.receive(std::span<const char>(input.data(), input.size())));
    if (failed != nullptr) *failed = error;
    return drain();
  }
  std::string more(const std::string& frames, bool* failed = nullptr) {
    const bool error = static_cast<bool>(session_.receive(std::span<const char>(frames.data(), frames.size())));
    if (failed != nullptr) *failed = error;
    return drain();
  }
  std::string drain() {
    std::string out;
    for (auto bytes = session_.output(); !bytes.empty(); bytes = session_.output()) {
      out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return out;
  }
  // The RST_STREAM error code the server sent for `stream`, if any.
  static std::optional<std::uint32_t> reset_of(const std::string& output, std::uint32_t stream) {
    for (const Frame& f : parse_frames(output)) {
      if (f.type == kRstStream && f.stream == stream) return error_code_of(f);
    }
    return std::nullopt;
  }
  static std::optional<std::uint32_t> goaway_of(const std::string& output) {
    for (const Frame& f : parse_frames(output)) {
      if (f.type == kGoaway) return error_code_of(f);
    }
    return std::nullopt;
  }

  Recorder handler_;
  Limits limits_;
  ServerSession session_{handler_, limits_};
};

TEST_F(ServerSessionTest, AValidRequestIsOneEventWithItsBody) {
  Fields fields = get_request("/upload?x=1");
  fields[0].second = "POST";
  fields.emplace_back("content-type", "text/plain");
  fields.emplace_back("cookie", "a=1");
  fields.emplace_back("cookie", "b=2");
  const std::string output =
      exchange(frame(kHeaders, kEndHeaders, 1, block(fields)) + frame(kData, kEndStream, 1, "hello"));
  ASSERT_EQ(handler_.requests.size(), 1u);
  const Request& request = handler_.requests[0].second;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/upload?x=1");
  EXPECT_EQ(request.authority, "api.test");
  EXPECT_FALSE(request.end_stream);
  EXPECT_EQ(request.fields, (Fields{{"content-type", "text/plain"}, {"cookie", "a=1"}, {"cookie", "b=2"}}));
  EXPECT_EQ(handler_.body, "hello");
  EXPECT_EQ(handler_.ended, std::vector<std::int32_t>{1});
  EXPECT_FALSE(reset_of(output, 1));
  // The server's SETTINGS went out first, with our limits.
  const auto frames = parse_frames(output);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].type, kSettings);
}

TEST_F(ServerSessionTest, EachStreamsRequestCarriesNothingOfTheStreamsBefore) {
  // A connection reuses the state a header block is gathered in: what one stream sent (a Host
  // standing in for :authority, a content-length, fields), or a stream refused half-way, must
  // leave no trace in the next request.
  const Fields first{{":method", "POST"}, {":scheme", "https"}, {":path", "/one"}, {"host", "h1.test"},
                     {"content-length", "5"}, {"x-first", "1"}};
  Fields refused = get_request("/refused");
  refused.emplace_back("host", "other.test");  // disagrees with :authority
  refused.emplace_back("x-refused", "1");
  (void)exchange(frame(kHeaders, kEndHeaders, 1, block(first)) + frame(kData, kEndStream, 1, "hello") +
                 frame(kHeaders, kEndHeaders | kEndStream, 3, block(get_request("/two"))) +
                 frame(kHeaders, kEndHeaders | kEndStream, 5, block(refused)) +
                 frame(kHeaders, kEndHeaders | kEndStream, 7, block(get_request("/three"))));
  ASSERT_EQ(handler_.requests.size(), 3u);
  const Request& one = handler_.requests[0].second;
  EXPECT_EQ(one.authority, "h1.test");
  EXPECT_EQ(one.content_length, 5);
  EXPECT_EQ(one.fields, (Fields{{"content-length", "5"}, {"x-first", "1"}}));
  for (const auto& [id, path] : {std::pair{3, "/two"}, std::pair{7, "/three"}}) {
    const auto& [stream_id, request] = handler_.requests[id == 3 ? 1 : 2];
    EXPECT_EQ(stream_id, id);
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.path, path);
    EXPECT_EQ(request.authority, "api.test");
    EXPECT_EQ(request.content_length, -1);
    EXPECT_TRUE(request.fields.empty()) << request.fields.front().first;
    EXPECT_TRUE(request.end_stream);
  }
}

TEST_F(ServerSessionTest, MalformedRequestsAreStreamErrorsAndNeverReachTheHandler) {
  struct Case {
    std::string name;
    Fields fields;
  };
  auto with = [](Fields base, std::string name, std::string value) {
    base.emplace_back(std::move(name), std::move(value));
    return base;
  };
  const std::vector<Case> cases = {
      {"uppercase name", with(get_request(), "X-Upper", "1")},
      {"connection-specific", with(get_request(), "connection", "close")},
      {"transfer-encoding", with(get_request(), "transfer-encoding", "chunked")},
      {"keep-alive", with(get_request(), "keep-alive", "5")},
      {"upgrade", with(get_request(), "upgrade", "websocket")},
      {"te other than trailers", with(get_request(), "te", "gzip")},
      {"CR in value", with(get_request(), "x-a", "a\rb")},
      {"LF in value", with(get_request(), "x-a", "a\nb")},
      {"NUL in value", with(get_request(), "x-a", std::string("a\0b", 3))},
      {"leading whitespace", with(get_request(), "x-a", " a")},
      {"trailing whitespace", with(get_request(), "x-a", "a ")},
      {"space in name", with(get_request(), "x a", "1")},
      {"missing :path", Fields{{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}}},
      {"unknown pseudo-header", with(get_request(), ":protocol-x", "1")},
      {"pseudo-header after a field", Fields{{":method", "GET"}, {"x-a", "1"}, {":scheme", "https"}, {":path", "/"}}},
      {"duplicate :path", with(get_request(), ":path", "/b")},
      {"empty :path", Fields{{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", ""}}},
      {"host disagreeing with :authority", with(get_request(), "host", "other.test")},
      {"CONNECT", Fields{{":method", "CONNECT"}, {":authority", "a:443"}}},
      {"asterisk path on GET", Fields{{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "*"}}},
  };
  std::uint32_t stream = 1;
  bool first = true;
  for (const Case& c : cases) {
    const std::string frames = frame(kHeaders, kEndHeaders | kEndStream, stream, block(c.fields));
    const std::string output = first ? exchange(frames) : more(frames);
    first = false;
    // Each is a stream error: the connection (and the next case on it) goes on.
    EXPECT_TRUE(reset_of(output, stream)) << c.name;
    EXPECT_FALSE(goaway_of(output)) << c.name;
    EXPECT_TRUE(handler_.requests.empty()) << c.name;
    stream += 2;
  }
}

TEST_F(ServerSessionTest, ContentLengthMustMatchTheData) {
  Fields fields = get_request();
  fields[0].second = "POST";
  fields.emplace_back("content-length", "10");
  const std::string output =
      exchange(frame(kHeaders, kEndHeaders, 1, block(fields)) + frame(kData, kEndStream, 1, "short"));
  EXPECT_TRUE(reset_of(output, 1));
  // The request head was valid, so it was seen; the body's end never is.
  EXPECT_TRUE(handler_.ended.empty());
}

TEST_F(ServerSessionTest, AHeaderListOverTheLimitIsRefused) {
  limits_.max_header_list_size = 200;
  ServerSession small(handler_, limits_);
  Fields fields = get_request();
  fields.emplace_back("x-big", std::string(120, 'a'));
  fields.emplace_back("x-big2", std::string(120, 'b'));
  std::string input = std::string(kPreface) + frame(kSettings, 0, 0, "") +
                      frame(kHeaders, kEndHeaders | kEndStream, 1, block(fields));
  (void)small.receive(std::span<const char>(input.data(), input.size()));
  std::string output;
  for (auto bytes = small.output(); !bytes.empty(); bytes = small.output()) {
    output.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  EXPECT_TRUE(reset_of(output, 1) || goaway_of(output));
  EXPECT_TRUE(handler_.requests.empty());
}

TEST_F(ServerSessionTest, RapidResetClosesTheConnection) {
  // CVE-2023-44487: open a stream and reset it at once, again and again.
  std::string frames;
  for (std::uint32_t stream = 1; stream < 2 * 400; stream += 2) {
    frames += frame(kHeaders, kEndHeaders, stream, block(get_request()));
    frames += frame(kRstStream, 0, stream, std::string("\0\0\0\x08", 4));  // CANCEL
  }
  bool failed = false;
  const std::string output = exchange(frames, &failed);
  EXPECT_TRUE(failed);
  const auto code = goaway_of(output);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0xbu) << "ENHANCE_YOUR_CALM";
  EXPECT_LT(handler_.requests.size(), 200u);
}

TEST_F(ServerSessionTest, ContinuationFloodClosesTheConnection) {
  // CVE-2024-27316 style: a header block that never ends, in many CONTINUATION frames.
  std::string frames = frame(kHeaders, 0, 1, block(get_request()));
  for (int i = 0; i < 100; ++i) frames += frame(kContinuation, 0, 1, literal("x-f", "1"));
  bool failed = false;
  const std::string output = exchange(frames, &failed);
  EXPECT_TRUE(failed);
  EXPECT_TRUE(goaway_of(output));
  EXPECT_TRUE(handler_.requests.empty());
}

TEST_F(ServerSessionTest, ResponsesGoOutAsHeadersAndData) {
  (void)exchange(frame(kHeaders, kEndHeaders | kEndStream, 1, block(get_request())));
  ASSERT_EQ(handler_.requests.size(), 1u);
  handler_.response_body = "hello, h2";
  session_.respond(1, 200, {{"content-type", "text/plain"}}, true);
  const auto frames = parse_frames(drain());
  bool headers = false;
  std::string data;
  bool ended = false;
  for (const Frame& f : frames) {
    if (f.stream != 1) continue;
    if (f.type == kHeaders) headers = true;
    if (f.type == kData) {
      data += f.payload;
      ended = ended || (f.flags & kEndStream) != 0;
    }
  }
  EXPECT_TRUE(headers);
  EXPECT_EQ(data, "hello, h2");
  EXPECT_TRUE(ended);
  ASSERT_FALSE(handler_.closed.empty());
  EXPECT_EQ(handler_.closed.back(), (std::pair<std::int32_t, std::uint32_t>{1, 0}));
}

TEST_F(ServerSessionTest, ResponseFieldsAreNeverAddedToTheEncodersDynamicTable) {
  // Like nginx and HAProxy: a response field is a literal (or a static-table entry), so encoding
  // searches no dynamic table. With one, the second block would name the field by a 1-byte index.
  const std::string requests = frame(kHeaders, kEndHeaders | kEndStream, 1, block(get_request())) +
                               frame(kHeaders, kEndHeaders | kEndStream, 3, block(get_request()));
  (void)exchange(requests);
  ASSERT_EQ(handler_.requests.size(), 2u);
  const std::vector<FieldView> fields{{"content-type", "application/json"}, {"x-served-by", "flexgate-unit-test"}};
  session_.respond(1, 200, fields, false);
  session_.respond(3, 200, fields, false);
  std::vector<std::size_t> block_sizes;
  for (const Frame& f : parse_frames(drain())) {
    if (f.type == kHeaders) block_sizes.push_back(f.payload.size());
  }
  ASSERT_EQ(block_sizes.size(), 2u);
  // The first block also starts with the 1-byte "table size 0" update; with a table, the second
  // would be about 3 bytes (three indexes) against 40.
  EXPECT_GE(block_sizes[1] + 1, block_sizes[0]);
}

TEST_F(ServerSessionTest, RequestBodyWindowOpensOnlyAsTheConsumerTakesBytes) {
  limits_.initial_window_size = 65535;
  ServerSession session(handler_, limits_);
  Fields fields = get_request();
  fields[0].second = "POST";
  std::string input = std::string(kPreface) + frame(kSettings, 0, 0, "") + frame(kHeaders, kEndHeaders, 1, block(fields));
  for (int i = 0; i < 3; ++i) input += frame(kData, 0, 1, std::string(16000, 'x'));
  ASSERT_FALSE(session.receive(std::span<const char>(input.data(), input.size())));
  auto drain_session = [&] {
    std::string out;
    for (auto bytes = session.output(); !bytes.empty(); bytes = session.output()) {
      out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return out;
  };
  EXPECT_EQ(handler_.body.size(), 48000u);
  // No WINDOW_UPDATE for the stream until its bytes are consumed.
  for (const Frame& f : parse_frames(drain_session())) {
    EXPECT_FALSE(f.type == 8 && f.stream == 1) << "window opened before consume()";
  }
  session.consume(1, 48000);
  bool updated = false;
  for (const Frame& f : parse_frames(drain_session())) updated = updated || (f.type == 8 && f.stream == 1);
  EXPECT_TRUE(updated);
}

TEST_F(ServerSessionTest, ResponseTrailersFollowTheLastDataAndEndTheStream) {
  (void)exchange(frame(kHeaders, kEndHeaders | kEndStream, 1, block(get_request())));
  handler_.response_body = "payload";
  handler_.trailers_to_send = {{"grpc-status", "0"}, {"grpc-message", "fine"}, {"connection", "close"}};
  session_.respond(1, 200, {{"content-type", "application/grpc"}}, true);
  const std::vector<Frame> frames = frames_of(1, drain());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].type, kHeaders);
  EXPECT_EQ(frames[0].flags & kEndStream, 0);
  EXPECT_EQ(frames[1].type, kData);
  EXPECT_EQ(frames[1].payload, "payload");
  EXPECT_EQ(frames[1].flags & kEndStream, 0) << "END_STREAM belongs to the trailers";
  EXPECT_EQ(frames[2].type, kHeaders);
  EXPECT_NE(frames[2].flags & kEndStream, 0);
  const std::vector<Fields> blocks = decode_header_blocks(frames);
  ASSERT_EQ(blocks.size(), 2u);
  // The connection-specific field never goes out in a trailer section.
  EXPECT_EQ(blocks[1], (Fields{{"grpc-status", "0"}, {"grpc-message", "fine"}}));
}

TEST_F(ServerSessionTest, NoTrailersMeansDataEndsTheStream) {
  (void)exchange(frame(kHeaders, kEndHeaders | kEndStream, 1, block(get_request())));
  handler_.response_body = "x";
  session_.respond(1, 200, {}, true);
  const std::vector<Frame> frames = frames_of(1, drain());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].type, kData);
  EXPECT_NE(frames[1].flags & kEndStream, 0);
}

TEST_F(ServerSessionTest, RequestTrailersReachTheHandlerBeforeTheEnd) {
  Fields head = get_request();
  head[0].second = "POST";
  const std::string output = exchange(frame(kHeaders, kEndHeaders, 1, block(head)) + frame(kData, 0, 1, "body") +
                                      frame(kHeaders, kEndHeaders | kEndStream, 1,
                                            block({{"grpc-status-details-bin", "abc"}, {"x-checksum", "42"}})));
  EXPECT_FALSE(reset_of(output, 1).has_value());
  ASSERT_EQ(handler_.requests.size(), 1u);
  EXPECT_EQ(handler_.body, "body");
  ASSERT_EQ(handler_.trailers_received.size(), 1u);
  EXPECT_EQ(handler_.trailers_received[0].first, 1);
  EXPECT_EQ(handler_.trailers_received[0].second,
            (Fields{{"grpc-status-details-bin", "abc"}, {"x-checksum", "42"}}));
  EXPECT_EQ(handler_.ended, std::vector<std::int32_t>{1});
}

TEST_F(ServerSessionTest, RequestTrailersWithPseudoOrConnectionFieldsAreStreamErrors) {
  for (const Fields& trailers : {Fields{{":path", "/other"}}, Fields{{"connection", "close"}},
                                 Fields{{"transfer-encoding", "chunked"}}, Fields{{"content-length", "4"}},
                                 Fields{{"host", "evil"}}}) {
    Recorder handler;
    ServerSession session(handler, limits_);
    Fields head = get_request();
    head[0].second = "POST";
    std::string input = std::string(kPreface) + frame(kSettings, 0, 0, "") + frame(kHeaders, kEndHeaders, 1, block(head)) +
                        frame(kData, 0, 1, "body") + frame(kHeaders, kEndHeaders | kEndStream, 1, block(trailers));
    (void)session.receive(std::span<const char>(input.data(), input.size()));
    std::string output;
    for (auto bytes = session.output(); !bytes.empty(); bytes = session.output()) {
      output.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    EXPECT_TRUE(reset_of(output, 1).has_value()) << trailers[0].first;
    EXPECT_TRUE(handler.trailers_received.empty()) << trailers[0].first;
    EXPECT_TRUE(handler.ended.empty()) << trailers[0].first;
  }
}

}  // namespace
}  // namespace flexgate::http2
