#include "policy/ratelimit/redis_protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace flexgate::policy {
namespace {

using Type = RedisReply::Type;
using Status = RespParser::Status;

RespParser::Status parse_one(std::string_view bytes, RedisReply& out, RespParser::Limits limits = {}) {
  RespParser parser(limits);
  parser.feed(bytes);
  return parser.next(out);
}

TEST(RedisProtocol, EncodesCommandsAsArraysOfBulkStrings) {
  EXPECT_EQ(encode_redis_command({"SET", "k", "v"}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  EXPECT_EQ(encode_redis_command({"X", ""}), "*2\r\n$1\r\nX\r\n$0\r\n\r\n");
  const std::string binary("a\r\n\0b", 5);
  EXPECT_EQ(encode_redis_command({binary}), std::string("*1\r\n$5\r\na\r\n\0b\r\n", 15));
}

TEST(RedisProtocol, ParsesEveryReplyType) {
  RedisReply reply;
  ASSERT_EQ(parse_one("+OK\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kSimple);
  EXPECT_EQ(reply.text, "OK");
  ASSERT_EQ(parse_one("-NOSCRIPT No matching script\r\n", reply), Status::kReply);
  EXPECT_TRUE(reply.is_error());
  EXPECT_EQ(reply.text, "NOSCRIPT No matching script");
  ASSERT_EQ(parse_one(":-42\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kInteger);
  EXPECT_EQ(reply.integer, -42);
  ASSERT_EQ(parse_one(":9223372036854775807\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.integer, INT64_MAX);
  ASSERT_EQ(parse_one("$5\r\na\r\nbc\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kBulk);
  EXPECT_EQ(reply.text, "a\r\nbc");
  ASSERT_EQ(parse_one("$0\r\n\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kBulk);
  EXPECT_EQ(reply.text, "");
  ASSERT_EQ(parse_one("$-1\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kNil);
  ASSERT_EQ(parse_one("*-1\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kNil);
  ASSERT_EQ(parse_one("*0\r\n", reply), Status::kReply);
  EXPECT_EQ(reply.type, Type::kArray);
  EXPECT_TRUE(reply.elements.empty());
  ASSERT_EQ(parse_one("*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n$2\r\nxy\r\n", reply), Status::kReply);
  ASSERT_EQ(reply.elements.size(), 3u);
  EXPECT_EQ(reply.elements[0].integer, 1);
  ASSERT_EQ(reply.elements[1].elements.size(), 2u);
  EXPECT_EQ(reply.elements[1].elements[0].text, "a");
  EXPECT_EQ(reply.elements[1].elements[1].type, Type::kNil);
  EXPECT_EQ(reply.elements[2].text, "xy");
}

TEST(RedisProtocol, ParsesIncrementallyAndSeveralRepliesInOneFeed) {
  const std::string stream = "*2\r\n$3\r\nfoo\r\n:7\r\n+OK\r\n-ERR bad\r\n";
  RespParser parser;
  std::vector<RedisReply> replies;
  for (char c : stream) {  // one byte at a time
    parser.feed(std::string_view(&c, 1));
    RedisReply reply;
    Status status;
    while ((status = parser.next(reply)) == Status::kReply) replies.push_back(reply);
    ASSERT_EQ(status, Status::kNeedMore);
  }
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].elements[0].text, "foo");
  EXPECT_EQ(replies[0].elements[1].integer, 7);
  EXPECT_EQ(replies[1].text, "OK");
  EXPECT_TRUE(replies[2].is_error());
  EXPECT_EQ(parser.buffered(), 0u);

  RespParser all;
  all.feed(stream);
  RedisReply reply;
  int count = 0;
  while (all.next(reply) == Status::kReply) ++count;
  EXPECT_EQ(count, 3);
}

TEST(RedisProtocol, MalformedRepliesAreErrorsAndTheParserStaysFailed) {
  const std::vector<std::string> bad = {
      "?what\r\n",            // unknown type byte
      "HTTP/1.1 200 OK\r\n",  // not Redis at all
      "+OK\n",                // bare LF
      "+O\rK\r\n",            // bare CR
      ":12a\r\n",             // junk in an integer
      ":+1\r\n",              // '+' sign
      ":\r\n",                // empty integer
      ":-\r\n",
      ": 1\r\n",
      ":99999999999999999999\r\n",  // overflow
      "$-2\r\n",                    // negative length other than -1
      "$x\r\n",
      "$3\r\nabcXY",  // bulk not followed by CRLF
      "*-5\r\n",
      "*1\r\n!\r\n",  // bad element
      "\r\n",
  };
  for (const auto& bytes : bad) {
    RespParser parser;
    parser.feed(bytes);
    RedisReply reply;
    EXPECT_EQ(parser.next(reply), Status::kError) << bytes;
    EXPECT_TRUE(parser.failed());
    EXPECT_NE(parser.error().find("protocol error"), std::string::npos);
    parser.feed("+OK\r\n");  // no resynchronisation
    EXPECT_EQ(parser.next(reply), Status::kError);
  }
}

TEST(RedisProtocol, SizesAreBounded) {
  RespParser::Limits limits;
  limits.max_bulk = 8;
  limits.max_elements = 2;
  limits.max_depth = 2;
  limits.max_buffered = 64;
  RedisReply reply;
  EXPECT_EQ(parse_one("$9\r\n", reply, limits), Status::kError);
  EXPECT_EQ(parse_one("$8\r\n12345678\r\n", reply, limits), Status::kReply);
  EXPECT_EQ(parse_one("*3\r\n", reply, limits), Status::kError);
  EXPECT_EQ(parse_one("*1\r\n*1\r\n:1\r\n", reply, limits), Status::kReply);
  EXPECT_EQ(parse_one("*1\r\n*1\r\n*1\r\n:1\r\n", reply, limits), Status::kError);
  EXPECT_EQ(parse_one("+" + std::string(100, 'a'), reply, limits), Status::kError);  // > max_buffered
}

TEST(RedisProtocol, IncompleteInputNeedsMore) {
  for (std::string partial : {"", "+", "+OK", "+OK\r", ":1", "$3\r\nab", "$3\r\nabc\r", "*2\r\n:1\r\n", "*2\r\n$1\r\n"}) {
    RespParser parser;
    parser.feed(partial);
    RedisReply reply;
    EXPECT_EQ(parser.next(reply), Status::kNeedMore) << partial;
  }
}

TEST(RedisProtocol, RandomBytesNeverCrash) {
  std::mt19937 random(1234);
  const std::string alphabet = "+-:$*\r\n0123456789-abc";
  for (int round = 0; round < 20000; ++round) {
    RespParser::Limits limits;
    limits.max_bulk = 64;
    limits.max_elements = 16;
    RespParser parser(limits);
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes) c = random() % 4 == 0 ? static_cast<char>(random()) : alphabet[random() % alphabet.size()];
    std::size_t at = 0;
    while (at < bytes.size()) {
      const std::size_t n = std::min<std::size_t>(1 + random() % 7, bytes.size() - at);
      parser.feed(std::string_view(bytes).substr(at, n));
      at += n;
      RedisReply reply;
      while (parser.next(reply) == Status::kReply) {
      }
    }
  }
}

TEST(RedisUrl, ParsesHostPortPasswordAndDb) {
  std::string error;
  auto e = parse_redis_url("redis://127.0.0.1:6379", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->password, "");
  EXPECT_EQ(e->db, 0);

  e = parse_redis_url("redis://redis.internal", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->host, "redis.internal");
  EXPECT_EQ(e->port, 6379);

  e = parse_redis_url("redis://:s%40cret@cache:7000/3", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->host, "cache");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->username, "");
  EXPECT_EQ(e->password, "s@cret");
  EXPECT_EQ(e->db, 3);

  e = parse_redis_url("REDIS://gw:pw@[::1]:6380/", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->username, "gw");
  EXPECT_EQ(e->password, "pw");
  EXPECT_EQ(e->db, 0);

  e = parse_redis_url("redis://secret@h", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->password, "secret");
}

TEST(RedisUrl, RejectsWhatItCannotUse) {
  std::string error;
  EXPECT_FALSE(parse_redis_url("rediss://h:6379", error));
  EXPECT_NE(error.find("TLS not supported yet"), std::string::npos) << error;
  for (const char* url : {"http://h", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:",
                          "redis://h:12x", "redis://h/x", "redis://h/-1", "redis://h/1/2", "redis://h?db=1",
                          "redis://[::1", "redis://[::1]x", "redis://[host]", "redis://h h", "redis://:%zz@h",
                          "redis://user:@h", "unix:///tmp/redis.sock"}) {
    error.clear();
    EXPECT_FALSE(parse_redis_url(url, error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
}

}  // namespace
}  // namespace flexgate::policy
