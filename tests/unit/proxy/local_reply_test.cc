#include "proxy/local_reply.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/head_writer.h"
#include "http/parser.h"
#include "http/serializer.h"

namespace flexgate::proxy {
namespace {

std::vector<ErrorKind> all_kinds() {
  // kInternal is the enum's last kind (see tests/unit/core/error_test.cc).
  std::vector<ErrorKind> kinds;
  for (int i = 0; i <= static_cast<int>(ErrorKind::kInternal); ++i)
    kinds.push_back(static_cast<ErrorKind>(i));
  return kinds;
}

TEST(StatusForTest, EveryKindMapsToItsStatus) {
  const std::map<ErrorKind, std::uint16_t> expected = {
      {ErrorKind::kBadRequest, 400},
      {ErrorKind::kUnauthorized, 401},
      {ErrorKind::kForbidden, 403},
      {ErrorKind::kNotFound, 404},
      {ErrorKind::kMethodNotAllowed, 405},
      {ErrorKind::kClientTimeout, 408},
      {ErrorKind::kPayloadTooLarge, 413},
      {ErrorKind::kUriTooLong, 414},
      {ErrorKind::kUnsupportedMediaType, 415},
      {ErrorKind::kUnprocessableEntity, 422},
      {ErrorKind::kUpgradeRequired, 426},
      {ErrorKind::kTooManyRequests, 429},
      {ErrorKind::kHeaderFieldsTooLarge, 431},
      {ErrorKind::kInternal, 500},
      {ErrorKind::kNotImplemented, 501},
      {ErrorKind::kUpstreamConnectFailed, 502},
      {ErrorKind::kUpstreamReset, 502},
      {ErrorKind::kBadUpstreamResponse, 502},
      {ErrorKind::kNoTargetAvailable, 503},
      {ErrorKind::kServiceUnavailable, 503},
      {ErrorKind::kUpstreamTimeout, 504},
      {ErrorKind::kRequestTimeout, 504},
      {ErrorKind::kVersionNotSupported, 505},
  };
  for (ErrorKind kind : all_kinds()) {
    auto it = expected.find(kind);
    ASSERT_NE(it, expected.end()) << "kind " << to_string(kind) << " has no expected status in this test";
    EXPECT_EQ(status_for(kind), it->second) << to_string(kind);
  }
  EXPECT_EQ(expected.size(), all_kinds().size());
}

TEST(StatusForTest, EveryStatusHasAStandardReasonPhrase) {
  for (ErrorKind kind : all_kinds()) {
    EXPECT_NE(http::reason_phrase(status_for(kind)), "Unknown") << to_string(kind);
  }
}

// A serialized reply, parsed back as an upstream response would be.
struct ParsedReply {
  std::string wire;
  std::unique_ptr<http::ResponseHead> head = std::make_unique<http::ResponseHead>();
  http::ParseOutcome outcome;
  std::string body;

  std::string field(std::string_view name) const {
    const http::HeaderField* f = head->fields.find(name);
    return f == nullptr ? std::string("<absent>") : std::string(f->value);
  }
};

ParsedReply serialize_and_parse(const LocalReply& reply, std::string_view correlation_id,
                                http::Method method = http::Method::kGet) {
  ParsedReply p;
  http::HeadBuffer wire;
  serialize_local_reply(reply, correlation_id, wire);
  p.wire = wire.view();
  p.outcome = http::parse_response_head(p.wire, http::Limits{}, method, *p.head);
  if (p.outcome.status == http::ParseStatus::kComplete) p.body = p.wire.substr(p.outcome.consumed);
  return p;
}

TEST(LocalReplyTest, IsAParseableJsonResponse) {
  LocalReply reply;
  reply.status = 404;
  reply.message = "no route for GET /nope";
  ParsedReply p = serialize_and_parse(reply, "cid-42");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete) << http::to_string(p.outcome.error) << "\n"
                                                            << p.wire;
  EXPECT_EQ(p.head->status, 404);
  EXPECT_EQ(p.head->reason, "Not Found");
  EXPECT_EQ(p.head->version_minor, 1);
  EXPECT_EQ(p.field("Content-Type"), "application/json");
  EXPECT_EQ(p.field("X-Correlation-ID"), "cid-42");
  EXPECT_EQ(p.field("Connection"), "<absent>");
  ASSERT_EQ(p.head->framing, http::BodyFraming::kContentLength);
  EXPECT_EQ(p.head->content_length, p.body.size());
  EXPECT_TRUE(p.head->keep_alive);

  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(p.body)) << p.body;
  EXPECT_EQ(j,
            (nlohmann::json{
                {"error", "Not Found"}, {"message", "no route for GET /nope"}, {"correlationId", "cid-42"}}));
}

TEST(LocalReplyTest, EveryKindGivesAWellFormedResponse) {
  for (ErrorKind kind : all_kinds()) {
    LocalReply reply;
    reply.status = status_for(kind);
    reply.message = to_string(kind);
    ParsedReply p = serialize_and_parse(reply, "c");
    ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete) << to_string(kind);
    EXPECT_EQ(p.head->status, reply.status);
    EXPECT_EQ(p.head->content_length, p.body.size()) << to_string(kind);
    nlohmann::json j = nlohmann::json::parse(p.body);
    EXPECT_EQ(j["error"], std::string(http::reason_phrase(reply.status)));
  }
}

TEST(LocalReplyTest, ConnectionCloseWhenAsked) {
  LocalReply reply;
  reply.status = 400;
  reply.message = "bad request";
  reply.close = true;
  ParsedReply p = serialize_and_parse(reply, "cid");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete);
  EXPECT_EQ(p.field("Connection"), "close");
  EXPECT_FALSE(p.head->keep_alive);
  EXPECT_EQ(p.head->content_length, p.body.size());
}

TEST(LocalReplyTest, AnHttp10ClientIsToldTheConnectionStaysOpen) {
  // Without it an HTTP/1.0 client assumes close and waits for an end that never comes (ab -k did).
  LocalReply reply;
  reply.status = 401;
  reply.message = "missing API key";
  reply.request_version_minor = 0;
  ParsedReply p = serialize_and_parse(reply, "cid");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete);
  EXPECT_EQ(p.field("Connection"), "keep-alive");
  reply.close = true;
  EXPECT_EQ(serialize_and_parse(reply, "cid").field("Connection"), "close");
  reply.close = false;
  reply.request_version_minor = 1;  // HTTP/1.1 persists by default: no field
  ParsedReply p11 = serialize_and_parse(reply, "cid");
  EXPECT_EQ(p11.field("Connection"), "<absent>");
  EXPECT_TRUE(p11.head->keep_alive);
}

TEST(LocalReplyTest, HeadOnlyHasNoBodyButTheSameContentLength) {
  LocalReply reply;
  reply.status = 405;
  reply.message = "method not allowed";
  ParsedReply full = serialize_and_parse(reply, "cid");
  reply.head_only = true;
  ParsedReply head = serialize_and_parse(reply, "cid", http::Method::kHead);
  ASSERT_EQ(head.outcome.status, http::ParseStatus::kComplete);
  EXPECT_EQ(head.outcome.consumed, head.wire.size()) << "nothing after the head";
  EXPECT_EQ(head.field("Content-Length"), full.field("Content-Length"));
  EXPECT_EQ(head.field("Content-Length"), std::to_string(full.body.size()));
  EXPECT_EQ(head.wire, full.wire.substr(0, full.outcome.consumed));
}

TEST(LocalReplyTest, ExtraHeadersAreIncluded) {
  LocalReply reply;
  reply.status = 405;
  reply.message = "use GET";
  reply.extra_headers = "Allow: GET, HEAD\r\n";
  ParsedReply p = serialize_and_parse(reply, "cid");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete) << p.wire;
  EXPECT_EQ(p.field("Allow"), "GET, HEAD");
  EXPECT_EQ(p.head->content_length, p.body.size());
}

TEST(LocalReplyTest, MessageAndCorrelationIdAreJsonEscaped) {
  LocalReply reply;
  reply.status = 400;
  const std::string message = "bad \"header\" \\ value\n\x01";
  reply.message = message;
  ParsedReply p = serialize_and_parse(reply, "id-\"with\"-quotes");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete) << p.wire;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(p.body)) << p.body;
  EXPECT_EQ(j["message"], message);
  EXPECT_EQ(j["correlationId"], "id-\"with\"-quotes");
  EXPECT_EQ(p.head->content_length, p.body.size());
}

TEST(LocalReplyTest, EmptyCorrelationIdOmitsTheHeader) {
  LocalReply reply;
  reply.status = 503;
  ParsedReply p = serialize_and_parse(reply, "");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete);
  EXPECT_EQ(p.field("X-Correlation-ID"), "<absent>");
  nlohmann::json j = nlohmann::json::parse(p.body);
  EXPECT_EQ(j["correlationId"], "");
  EXPECT_EQ(j["error"], "Service Unavailable");
}

TEST(LocalReplyTest, OutputIsReplacedNotAppended) {
  LocalReply reply;
  reply.status = 404;
  http::HeadBuffer out;
  {
    http::HeadWriter garbage(out);
    garbage.append("garbage from a previous reply");
  }
  serialize_local_reply(reply, "cid", out);
  EXPECT_EQ(out.view().rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << out.view();
}

}  // namespace
}  // namespace flexgate::proxy

namespace flexgate::proxy {
namespace {

TEST(GrpcStatusForTest, TheDocumentedMapping) {
  using http::GrpcStatus;
  const std::map<ErrorKind, GrpcStatus> expected = {
      {ErrorKind::kBadRequest, GrpcStatus::kInternal},
      {ErrorKind::kUnauthorized, GrpcStatus::kUnauthenticated},
      {ErrorKind::kForbidden, GrpcStatus::kPermissionDenied},
      {ErrorKind::kNotFound, GrpcStatus::kUnimplemented},
      {ErrorKind::kMethodNotAllowed, GrpcStatus::kUnimplemented},
      {ErrorKind::kClientTimeout, GrpcStatus::kDeadlineExceeded},
      {ErrorKind::kPayloadTooLarge, GrpcStatus::kResourceExhausted},
      {ErrorKind::kUriTooLong, GrpcStatus::kResourceExhausted},
      {ErrorKind::kUnsupportedMediaType, GrpcStatus::kInternal},
      {ErrorKind::kUnprocessableEntity, GrpcStatus::kInvalidArgument},
      {ErrorKind::kUpgradeRequired, GrpcStatus::kInternal},
      {ErrorKind::kTooManyRequests, GrpcStatus::kResourceExhausted},
      {ErrorKind::kHeaderFieldsTooLarge, GrpcStatus::kResourceExhausted},
      {ErrorKind::kInternal, GrpcStatus::kInternal},
      {ErrorKind::kNotImplemented, GrpcStatus::kUnimplemented},
      {ErrorKind::kUpstreamConnectFailed, GrpcStatus::kUnavailable},
      {ErrorKind::kUpstreamReset, GrpcStatus::kUnavailable},
      {ErrorKind::kBadUpstreamResponse, GrpcStatus::kUnavailable},
      {ErrorKind::kNoTargetAvailable, GrpcStatus::kUnavailable},
      {ErrorKind::kServiceUnavailable, GrpcStatus::kUnavailable},
      {ErrorKind::kUpstreamTimeout, GrpcStatus::kDeadlineExceeded},
      {ErrorKind::kRequestTimeout, GrpcStatus::kDeadlineExceeded},
      {ErrorKind::kVersionNotSupported, GrpcStatus::kInternal},
  };
  for (ErrorKind kind : all_kinds()) {
    auto it = expected.find(kind);
    ASSERT_NE(it, expected.end()) << "kind " << to_string(kind) << " has no expected gRPC status in this test";
    EXPECT_EQ(grpc_status_for(kind), it->second) << to_string(kind);
  }
}

TEST(LocalReplyTest, GrpcRequestsGetATrailersOnlyAnswer) {
  LocalReply reply;
  reply.status = 401;
  reply.message = "missing API key: 100%";
  reply.extra_headers = "WWW-Authenticate: ApiKey\r\n";
  reply.grpc = true;
  reply.grpc_status = http::GrpcStatus::kUnauthenticated;
  ParsedReply p = serialize_and_parse(reply, "cid-7");
  ASSERT_EQ(p.outcome.status, http::ParseStatus::kComplete) << p.wire;
  EXPECT_EQ(p.head->status, 200);
  EXPECT_EQ(p.field("Content-Type"), "application/grpc");
  EXPECT_EQ(p.field("grpc-status"), "16");
  EXPECT_EQ(p.field("grpc-message"), "missing API key: 100%25");
  EXPECT_EQ(p.field("WWW-Authenticate"), "ApiKey");
  EXPECT_EQ(p.field("X-Correlation-ID"), "cid-7");
  ASSERT_EQ(p.head->framing, http::BodyFraming::kContentLength);
  EXPECT_EQ(p.head->content_length, 0u);
  EXPECT_TRUE(p.body.empty());
}

}  // namespace
}  // namespace flexgate::proxy
