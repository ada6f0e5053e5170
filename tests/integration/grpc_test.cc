// gRPC calls through the real binary, seen by the gRPC C++ library (Debian's 1.51) on an h2c
// listener: the gateway's own answers carry the status a gRPC client understands, and calls to
// tests/grpc/echo_server.cc (unary, server, client and bidirectional streaming, an error with a custom trailer)
// go through end to end over an HTTP/2 upstream (`upstreams[].protocol: h2c`). Built only when
// gRPC is found (FLEXGATE_GRPC_TESTS, tests/CMakeLists.txt).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "echo.grpc.pb.h"
#include "integration/harness.h"

namespace flexgate::testing {
namespace {

using flexgate::test::Echo;
using flexgate::test::EchoReply;
using flexgate::test::EchoRequest;
using flexgate::test::FailRequest;

constexpr const char* kApiKey = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";  // sha256("test")

// The gRPC test server (tests/grpc/echo_server.cc) on a free port.
struct GrpcEchoServer {
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;
};

GrpcEchoServer start_grpc_echo_server() {
  GrpcEchoServer server;
  server.process = std::make_unique<ChildProcess>(std::vector<std::string>{GRPC_ECHO_SERVER, "0"});
  const auto line = server.process->wait_for_line("listening ");
  EXPECT_TRUE(line.has_value()) << "grpc_echo_server did not start: " << server.process->stderr_text();
  if (line) server.port = static_cast<std::uint16_t>(std::stoi(line->substr(line->find(' ') + 1)));
  return server;
}

std::string gateway_config(std::uint16_t upstream_port, const std::string& routes, const std::string& extra = "",
                           const std::string& upstream_extra = "") {
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n  http2: {h2c: true}\n"
         "upstreams:\n  - name: backend\n    url: \"http://127.0.0.1:" +
         std::to_string(upstream_port) + "\"\n" + upstream_extra + "routes:\n" + routes +
         "logging:\n  level: info\n" + extra;
}

std::unique_ptr<Echo::Stub> stub_for(std::uint16_t port) {
  return Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// One unary Echo call; the status the client library reports.
grpc::Status unary(Echo::Stub& stub, const std::string& text, EchoReply* reply = nullptr,
                   const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  grpc::ClientContext context;
  for (const auto& [name, value] : metadata) context.AddMetadata(name, value);
  EchoRequest request;
  request.set_text(text);
  EchoReply ignored;
  return stub.Unary(&context, request, reply != nullptr ? reply : &ignored);
}

// An upstream that must never be reached by the local-reply tests (it answers a gRPC OK anyway).
ScriptedUpstream unused_upstream() {
  return ScriptedUpstream([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\ngrpc-status: 0\r\nContent-Length: 0\r\n\r\n");
  });
}

TEST(GrpcClient, UnknownRouteIsUnimplemented) {
  ScriptedUpstream upstream = unused_upstream();
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/other.Service/*\"\n    upstream: backend\n"));
  auto stub = stub_for(gateway.port);
  const grpc::Status status = unary(*stub, "hi");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  EXPECT_NE(status.error_message().find("no route"), std::string::npos) << status.error_message();
  EXPECT_TRUE(upstream.requests().empty());
}

TEST(GrpcClient, AuthRefusalsAreUnauthenticatedOrPermissionDenied) {
  ScriptedUpstream upstream = unused_upstream();
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/flexgate.test.Echo/*\"\n    upstream: backend\n    auth: required\n",
                                              std::string("security:\n  auth:\n    type: apiKey\n    header: X-API-Key\n    keys:\n"
                                                          "      - key: \"") + kApiKey + "\"\n        name: \"Client A\"\n"));
  auto stub = stub_for(gateway.port);
  EXPECT_EQ(unary(*stub, "hi").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // An unknown key is the gateway's 403: PERMISSION_DENIED.
  EXPECT_EQ(unary(*stub, "hi", nullptr, {{"x-api-key", "wrong"}}).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(upstream.requests().empty());
}

TEST(GrpcClient, RateLimitedCallsAreResourceExhausted) {
  ScriptedUpstream upstream = unused_upstream();
  auto gateway = start_gateway(gateway_config(
      upstream.port(), "  - path: \"/flexgate.test.Echo/*\"\n    upstream: backend\n    rateLimit: { max: 1, windowMs: 3600000 }\n"));
  auto stub = stub_for(gateway.port);
  (void)unary(*stub, "first");  // allowed: whatever the scripted upstream's answer means to the client
  const grpc::Status limited = unary(*stub, "second");
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << limited.error_message();
  EXPECT_EQ(upstream.requests().size(), 1u);
}

// ─── end to end: needs upstream HTTP/2 ──────────────────────────────────────────────────────

class GrpcEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = start_grpc_echo_server();
    ASSERT_NE(server_.port, 0);
    const std::string config = gateway_config(server_.port, "  - path: \"/flexgate.test.Echo/*\"\n    upstream: backend\n", "",
                                              "    protocol: h2c\n");
    gateway_ = start_gateway(config);
    stub_ = stub_for(gateway_.port);
  }

  GrpcEchoServer server_;
  Gateway gateway_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(GrpcEndToEnd, UnaryEcho) {
  EchoReply reply;
  const grpc::Status status = unary(*stub_, "hello through the gateway", &reply);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(reply.text(), "hello through the gateway");
  EXPECT_EQ(metric_sample(scrape(gateway_.port),
                          "flexgate_grpc_responses_total{route=\"/flexgate.test.Echo/*\",grpc_status=\"0\"}"),
            1);
}

TEST_F(GrpcEndToEnd, ServerStreaming) {
  grpc::ClientContext context;
  EchoRequest request;
  request.set_text("tick");
  request.set_repeat(3);
  auto reader = stub_->ServerStream(&context, request);
  std::vector<std::string> texts;
  EchoReply reply;
  while (reader->Read(&reply)) texts.push_back(reply.text());
  const grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(texts, (std::vector<std::string>{"tick 0", "tick 1", "tick 2"}));
}

TEST_F(GrpcEndToEnd, ClientStreaming) {
  grpc::ClientContext context;
  EchoReply reply;
  auto writer = stub_->ClientStream(&context, &reply);
  for (const char* text : {"a", "b", "c"}) {
    EchoRequest request;
    request.set_text(text);
    ASSERT_TRUE(writer->Write(request));
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.text(), "abc");
  EXPECT_EQ(reply.count(), 3);
}

// A ping-pong: each reply must come back before the next request is written, so the gateway
// has to carry the response while the request stream is still open (full duplex). Without it
// the first Read() waits for the request's end; the call's deadline then fails the test.
TEST_F(GrpcEndToEnd, BidirectionalPingPong) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub_->Chat(&context);
  for (int i = 1; i <= 3; ++i) {
    EchoRequest request;
    request.set_text("ping " + std::to_string(i));
    ASSERT_TRUE(stream->Write(request));
    EchoReply reply;
    ASSERT_TRUE(stream->Read(&reply)) << "no reply to ping " << i << " while the request stream is open";
    EXPECT_EQ(reply.text(), "re: ping " + std::to_string(i));
    EXPECT_EQ(reply.count(), i);
  }
  ASSERT_TRUE(stream->WritesDone());
  EchoReply extra;
  EXPECT_FALSE(stream->Read(&extra));
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
}

TEST_F(GrpcEndToEnd, AnErrorStatusAndACustomTrailerReachTheClient) {
  grpc::ClientContext context;
  FailRequest request;
  request.set_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  request.set_message("no such thing");
  request.set_trailer_value("from-the-server");
  EchoReply reply;
  const grpc::Status status = stub_->Fail(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no such thing");
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto found = trailers.find("x-test-trailer");
  ASSERT_NE(found, trailers.end());
  EXPECT_EQ(std::string(found->second.data(), found->second.size()), "from-the-server");
  EXPECT_EQ(metric_sample(scrape(gateway_.port),
                          "flexgate_grpc_responses_total{route=\"/flexgate.test.Echo/*\",grpc_status=\"5\"}"),
            1);
}

}  // namespace
}  // namespace flexgate::testing
