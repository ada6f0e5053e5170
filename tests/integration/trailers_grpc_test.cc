// Trailer fields through the real binary (HTTP/1.1 and HTTP/2 clients, chunked HTTP/1.1
// upstreams) and the gateway's own answers to gRPC calls ("Trailers-Only": 200, grpc-status,
// grpc-message, one HEADERS frame with END_STREAM), seen with nghttp (nghttp2-client) and raw
// sockets. The gRPC library's view of the same answers is in grpc_test.cc.

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace flexgate::testing {
namespace {

constexpr std::string_view kGrpcAnswer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n0\r\ngrpc-status: 7\r\ngrpc-message: denied\r\nContent-Length: 99\r\n\r\n";

std::string gateway_config(std::uint16_t upstream_port, const std::string& routes, const std::string& extra = "",
                           const std::string& proxy_extra = "") {
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n  http2: {h2c: true}\n" + proxy_extra +
         "upstreams:\n  - name: backend\n    url: \"http://127.0.0.1:" +
         std::to_string(upstream_port) + "\"\nroutes:\n" + routes + "logging:\n  level: info\n" + extra;
}

// A file with a few bytes to send as a request body (nghttp -d).
std::string body_file() { return write_temp_file("grpc-frame-bytes", ".bin"); }

// `nghttp -nv` for one request to the gateway: the frame log.
std::string nghttp(std::uint16_t port, const std::string& path, const std::string& options) {
  return run_command("nghttp -nv --no-content-length " + options + " 'http://127.0.0.1:" + std::to_string(port) +
                     path + "'");
}

// A gRPC call's nghttp options: POST of a small body with the gRPC content type.
std::string grpc_call(const std::string& more = "") {
  return "-d " + body_file() + " -H 'content-type: application/grpc' -H 'te: trailers' " + more;
}

// Where nghttp logged receiving the field line `field` ("name: value") at or after `from`; npos
// when it did not (the fields it sent are logged too, as "send ...", and never match).
std::size_t find_received(const std::string& log, const std::string& field, std::size_t from = 0) {
  for (std::size_t at = log.find(") " + field + "\n", from); at != std::string::npos;
       at = log.find(") " + field + "\n", at + 1)) {
    const std::size_t line = log.rfind('\n', at);
    const std::size_t start = line == std::string::npos ? 0 : line + 1;
    if (log.substr(start, at - start).find("recv (stream_id=") != std::string::npos) return at;
  }
  return std::string::npos;
}

// The log of a Trailers-Only answer: the status in the first and only HEADERS frame, which ends
// the stream, and no DATA frame.
void expect_trailers_only(const std::string& log, int grpc_status) {
  EXPECT_NE(find_received(log, ":status: 200"), std::string::npos) << log;
  EXPECT_NE(find_received(log, "content-type: application/grpc"), std::string::npos) << log;
  EXPECT_NE(find_received(log, "grpc-status: " + std::to_string(grpc_status)), std::string::npos) << log;
  EXPECT_NE(log.find(") grpc-message: "), std::string::npos) << log;
  EXPECT_EQ(log.find("recv DATA frame"), std::string::npos) << log;
  const std::size_t headers = log.find("recv HEADERS frame");
  ASSERT_NE(headers, std::string::npos) << log;
  EXPECT_NE(log.find("END_STREAM", headers), std::string::npos) << log;
}

TEST(Trailers, ChunkedResponseTrailersReachAnHttp1Client) {
  ScriptedUpstream upstream([](const std::string&) { return std::string(kGrpcAnswer); });
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/*\"\n    upstream: backend\n"));
  Connection client(gateway.port);
  ASSERT_TRUE(client.send("GET /t HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  const std::string wire = client.read_until_close();
  EXPECT_NE(wire.find("\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 7\r\ngrpc-message: denied\r\n\r\n"), std::string::npos)
      << wire;
  EXPECT_EQ(wire.find("Length: 99"), std::string::npos) << "a Content-Length trailer was forwarded: " << wire;
}

TEST(Trailers, ChunkedResponseTrailersReachAnHttp2ClientAsALastHeadersFrame) {
  ScriptedUpstream upstream([](const std::string&) { return std::string(kGrpcAnswer); });
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/*\"\n    upstream: backend\n"));
  const std::string log = nghttp(gateway.port, "/t", "");
  const std::size_t data = log.find("recv DATA frame");
  ASSERT_NE(data, std::string::npos) << log;
  const std::size_t status = find_received(log, "grpc-status: 7", data);
  ASSERT_NE(status, std::string::npos) << "no grpc-status after the DATA: " << log;
  EXPECT_NE(find_received(log, "grpc-message: denied", data), std::string::npos) << log;
  EXPECT_EQ(log.find("content-length: 99"), std::string::npos) << log;
  const std::size_t trailer_frame = log.find("recv HEADERS frame", status);
  ASSERT_NE(trailer_frame, std::string::npos) << log;
  EXPECT_NE(log.find("END_STREAM", trailer_frame), std::string::npos) << log;
}

TEST(Trailers, Http2RequestTrailersReachTheUpstreamAsChunkedTrailers) {
  ScriptedUpstream upstream([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); });
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/*\"\n    upstream: backend\n"));
  const std::string log = nghttp(gateway.port, "/upload", "-d " + body_file() + " --trailer 'x-checksum: 42'");
  EXPECT_NE(find_received(log, ":status: 200"), std::string::npos) << log;
  ASSERT_TRUE(upstream.wait_requests(1));
  const std::string request = upstream.requests().at(0);
  EXPECT_NE(request.find("\r\n0\r\nx-checksum: 42\r\n\r\n"), std::string::npos) << request;
}

TEST(GrpcLocalReplies, UnknownRouteIsUnimplemented) {
  ScriptedUpstream upstream([](const std::string&) { return std::string(kGrpcAnswer); });
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/pkg.Echo/*\"\n    upstream: backend\n"));
  const std::string log = nghttp(gateway.port, "/other.Service/Call", grpc_call("-H 'x-correlation-id: grpc-404'"));
  expect_trailers_only(log, 12);
  // The log keeps the real answer (404, not_found) and adds the gRPC status.
  auto line = wait_for_access_log(*gateway.process, "grpc-404");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["status"], 404);
  EXPECT_EQ((*line)["error"], "not_found");
  EXPECT_EQ((*line)["grpcStatus"], 12);
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_grpc_responses_total{route=\"none\",grpc_status=\"12\"}"), 1);
  EXPECT_EQ(upstream.requests().size(), 0u);
}

TEST(GrpcLocalReplies, AuthAndRateLimitRefusalsHaveTheirGrpcStatus) {
  ScriptedUpstream upstream([](const std::string&) { return std::string(kGrpcAnswer); });
  const std::string routes =
      "  - path: \"/pkg.Private/*\"\n    upstream: backend\n    auth: required\n"
      "  - path: \"/pkg.Limited/*\"\n    upstream: backend\n    auth: none\n"
      "    rateLimit: { max: 1, windowMs: 3600000 }\n";
  auto gateway = start_gateway(gateway_config(upstream.port(), routes,
                                              "security:\n  auth:\n    type: apiKey\n    header: X-API-Key\n    keys:\n"
                                              "      - key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
                                              "        name: \"Client A\"\n"));
  expect_trailers_only(nghttp(gateway.port, "/pkg.Private/Get", grpc_call()), 16);
  // The first call goes through (the upstream's trailers carry its own status), the next is limited.
  const std::string first = nghttp(gateway.port, "/pkg.Limited/Get", grpc_call());
  EXPECT_NE(find_received(first, "grpc-status: 7"), std::string::npos) << first;
  expect_trailers_only(nghttp(gateway.port, "/pkg.Limited/Get", grpc_call()), 8);
  const std::string metrics = scrape(gateway.port);
  EXPECT_EQ(metric_sample(metrics, "flexgate_grpc_responses_total{route=\"/pkg.Private/*\",grpc_status=\"16\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_grpc_responses_total{route=\"/pkg.Limited/*\",grpc_status=\"7\"}"), 1);
  EXPECT_EQ(metric_sample(metrics, "flexgate_grpc_responses_total{route=\"/pkg.Limited/*\",grpc_status=\"8\"}"), 1);
}

TEST(GrpcLocalReplies, NonGrpcRequestsStillGetJson) {
  ScriptedUpstream upstream([](const std::string&) { return std::string(kGrpcAnswer); });
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/pkg.Echo/*\"\n    upstream: backend\n"));
  const std::string log = nghttp(gateway.port, "/nope", "-H 'content-type: application/grpc-web'");
  EXPECT_NE(find_received(log, ":status: 404"), std::string::npos) << log;
  EXPECT_EQ(log.find(") grpc-status"), std::string::npos) << log;
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_grpc_responses_total{route=\"none\",grpc_status=\"12\"}"), -1);
}

TEST(GrpcLocalReplies, GrpcTimeoutBoundsTheCallAndAnswersDeadlineExceeded) {
  SilentListener upstream;
  ASSERT_NE(upstream.port(), 0);
  // The route waits far longer than the client: only grpc-timeout can end this call.
  auto gateway = start_gateway(gateway_config(upstream.port(), "  - path: \"/*\"\n    upstream: backend\n", "",
                                              "  timeouts: { request: 120s, firstByte: 120s, perTry: 120s }\n"));
  const std::string log =
      nghttp(gateway.port, "/pkg.Slow/Wait", grpc_call("-H 'grpc-timeout: 200m' -H 'x-correlation-id: grpc-deadline'"));
  expect_trailers_only(log, 4);
  auto line = wait_for_access_log(*gateway.process, "grpc-deadline");
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["grpcStatus"], 4);
}

}  // namespace
}  // namespace flexgate::testing
