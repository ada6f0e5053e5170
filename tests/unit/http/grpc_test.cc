#include "http/grpc.h"

#include <gtest/gtest.h>

namespace flexgate::http {
namespace {

using namespace std::chrono_literals;

TEST(Grpc, ContentTypes) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC+json"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc; charset=utf-8"));
  EXPECT_FALSE(is_grpc_content_type("application/grpc-web"));
  EXPECT_FALSE(is_grpc_content_type("application/grpcx"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
  EXPECT_FALSE(is_grpc_content_type(""));
}

TEST(Grpc, Timeouts) {
  EXPECT_EQ(parse_grpc_timeout("100m"), std::chrono::nanoseconds(100ms));
  EXPECT_EQ(parse_grpc_timeout("5S"), std::chrono::nanoseconds(5s));
  EXPECT_EQ(parse_grpc_timeout("1H"), std::chrono::nanoseconds(1h));
  EXPECT_EQ(parse_grpc_timeout("2M"), std::chrono::nanoseconds(2min));
  EXPECT_EQ(parse_grpc_timeout("7u"), std::chrono::nanoseconds(7us));
  EXPECT_EQ(parse_grpc_timeout("9n"), std::chrono::nanoseconds(9));
  EXPECT_EQ(parse_grpc_timeout("0m"), std::chrono::nanoseconds(0));
  // The largest values do not overflow nanoseconds (UBSan found 99999999H did): they are capped.
  EXPECT_EQ(parse_grpc_timeout("99999999H"), std::chrono::nanoseconds(kMaxGrpcTimeout));
  EXPECT_EQ(parse_grpc_timeout("99999999M"), std::chrono::nanoseconds(kMaxGrpcTimeout));
  EXPECT_EQ(parse_grpc_timeout("99999999S"), std::chrono::nanoseconds(std::chrono::seconds(99999999)));
  EXPECT_EQ(parse_grpc_timeout("100000H"), std::chrono::nanoseconds(kMaxGrpcTimeout));
  EXPECT_EQ(parse_grpc_timeout("99999H"), std::chrono::nanoseconds(std::chrono::hours(99999)));
  EXPECT_FALSE(parse_grpc_timeout("123456789m"));  // nine digits
  EXPECT_FALSE(parse_grpc_timeout("m"));
  EXPECT_FALSE(parse_grpc_timeout("10"));
  EXPECT_FALSE(parse_grpc_timeout("10s"));  // lowercase s is not a unit
  EXPECT_FALSE(parse_grpc_timeout("-1S"));
  EXPECT_FALSE(parse_grpc_timeout(" 1S"));
  EXPECT_FALSE(parse_grpc_timeout(""));
}

TEST(Grpc, Statuses) {
  EXPECT_EQ(parse_grpc_status("0"), 0u);
  EXPECT_EQ(parse_grpc_status("14"), 14u);
  EXPECT_FALSE(parse_grpc_status(""));
  EXPECT_FALSE(parse_grpc_status("1a"));
  EXPECT_FALSE(parse_grpc_status("99999999999"));
}

TEST(Grpc, MessagesArePercentEncoded) {
  std::string out;
  append_grpc_message(out, "no route for POST /pkg.Svc/Do: 100% \xc3\xa9\n");
  EXPECT_EQ(out, "no route for POST /pkg.Svc/Do: 100%25 %C3%A9%0A");
}

}  // namespace
}  // namespace flexgate::http
