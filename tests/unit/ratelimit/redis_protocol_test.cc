#include "policy/ratelimit/redis_protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace flexgate::policy {
namespace {

// The reader is hiredis': these tests check what we add (conversion, limits, failing for good),
// not RESP itself.

using Type = RedisReply::Type;
using Status = RedisReplyReader::Status;

Status parse_one(std::string_view bytes, RedisReply& out, RedisReplyReader::Limits limits = {}) {
  RedisReplyReader reader(limits);
  reader.feed(bytes);
  return reader.next(out);
}

TEST(RedisProtocol, EncodesCommandsAsArraysOfBulkStrings) {
  EXPECT_EQ(encode_redis_command({"SET", "k", "v"}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  EXPECT_EQ(encode_redis_command({"X", ""}), "*2\r\n$1\r\nX\r\n$0\r\n\r\n");
  const std::string binary("a\r\n\0b", 5);
  EXPECT_EQ(encode_redis_command({binary}), std::string("*1\r\n$5\r\na\r\n\0b\r\n", 15));

  // Piece by piece into a reused buffer: a prefixed key and numbers.
  std::string out = "*1\r\n$4\r\nPING\r\n";
  append_redis_array_header(out, 3);
  append_redis_bulk(out, "GET");
  append_redis_bulk(out, "key", "prefix:");
  append_redis_bulk(out, std::uint64_t{18446744073709551615u});
  EXPECT_EQ(out,
            "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nGET\r\n$10\r\nprefix:key\r\n$20\r\n18446744073709551615\r\n");

  // What we encode, hiredis reads back (commands are RESP arrays of bulk strings too).
  RedisReply decoded;
  ASSERT_EQ(parse_one(encode_redis_command({"EVALSHA", binary, ""}), decoded), Status::kReply);
  ASSERT_EQ(decoded.type, Type::kArray);
  ASSERT_EQ(decoded.elements.size(), 3u);
  EXPECT_EQ(decoded.elements[1].text, binary);
  EXPECT_EQ(decoded.elements[2].type, Type::kBulk);
  EXPECT_EQ(decoded.elements[2].text, "");
}

TEST(RedisProtocol, ConvertsEveryReplyType) {
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
  ASSERT_EQ(parse_one(std::string("$3\r\na\0b\r\n", 9), reply), Status::kReply);
  EXPECT_EQ(reply.text, std::string("a\0b", 3));
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
  EXPECT_EQ(reply.elements[1].elements[0].type, Type::kSimple);
  EXPECT_EQ(reply.elements[1].elements[0].text, "a");
  EXPECT_EQ(reply.elements[1].elements[1].type, Type::kNil);
  EXPECT_EQ(reply.elements[2].text, "xy");
}

TEST(RedisProtocol, DescribesRepliesForErrorMessages) {
  auto describe = [](std::string_view bytes) {
    RedisReplyReader reader;
    reader.feed(bytes);
    RedisReplyPtr reply;
    EXPECT_EQ(reader.next(reply), Status::kReply) << bytes;
    return reply ? describe_redis_reply(*reply) : std::string();
  };
  EXPECT_EQ(describe("-ERR wrong\r\n"), "ERR wrong");
  EXPECT_EQ(describe("+OK\r\n"), "+OK");
  EXPECT_EQ(describe(":7\r\n"), ":7");
  EXPECT_EQ(describe("$3\r\nabc\r\n"), "bulk of 3 bytes");
  EXPECT_EQ(describe("$-1\r\n"), "nil");
  EXPECT_EQ(describe("*2\r\n:1\r\n:2\r\n"), "array of 2");
}

TEST(RedisProtocol, ReadsIncrementallyAndSeveralRepliesInOneFeed) {
  const std::string stream = "*2\r\n$3\r\nfoo\r\n:7\r\n+OK\r\n-ERR bad\r\n";
  RedisReplyReader reader;
  std::vector<RedisReply> replies;
  for (char c : stream) {  // one byte at a time
    reader.feed(std::string_view(&c, 1));
    RedisReply reply;
    Status status;
    while ((status = reader.next(reply)) == Status::kReply) {
      replies.push_back(reply);
      EXPECT_EQ(reader.buffered(), 0u);  // each reply was complete with this byte
    }
    ASSERT_EQ(status, Status::kNeedMore);
  }
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].elements[0].text, "foo");
  EXPECT_EQ(replies[0].elements[1].integer, 7);
  EXPECT_EQ(replies[1].text, "OK");
  EXPECT_TRUE(replies[2].is_error());
  EXPECT_EQ(reader.buffered(), 0u);

  RedisReplyReader all;
  all.feed(stream + "*2\r\n:1");
  RedisReply reply;
  int count = 0;
  while (all.next(reply) == Status::kReply) ++count;
  EXPECT_EQ(count, 3);
  EXPECT_EQ(all.buffered(), 6u);  // the partial array, counted from the end of the last reply
}

TEST(RedisProtocol, MalformedRepliesAreErrorsAndTheReaderStaysFailed) {
  const std::vector<std::string> bad = {
      "?what\r\n",                  // unknown type byte
      "HTTP/1.1 200 OK\r\n",        // not Redis at all
      ":12a\r\n",                   // junk in an integer
      ":99999999999999999999\r\n",  // overflow
      "$-2\r\n",                    // negative length other than -1
      "$x\r\n",
      "*-5\r\n",
      "*1\r\n!\r\n",  // bad element
  };
  for (const auto& bytes : bad) {
    RedisReplyReader reader;
    reader.feed(bytes);
    RedisReply reply;
    EXPECT_EQ(reader.next(reply), Status::kError) << bytes;
    EXPECT_TRUE(reader.failed());
    EXPECT_NE(reader.error().find("protocol error"), std::string::npos) << reader.error();
    reader.feed("+OK\r\n");  // no resynchronisation
    EXPECT_EQ(reader.next(reply), Status::kError);
  }
}

TEST(RedisProtocol, BytesWithoutACompleteReplyAreBounded) {
  RedisReplyReader::Limits limits;
  limits.max_buffered = 64;
  RedisReply reply;
  // A bulk string or a line longer than the bound can never complete within it.
  EXPECT_EQ(parse_one("+" + std::string(100, 'a'), reply, limits), Status::kError);
  EXPECT_EQ(parse_one("$100\r\n" + std::string(70, 'a'), reply, limits), Status::kError);
  {
    RedisReplyReader reader(limits);
    reader.feed("$100\r\n" + std::string(70, 'a'));
    EXPECT_EQ(reader.next(reply), Status::kError);
    EXPECT_NE(reader.error().find("more than 64 bytes without a complete reply"), std::string::npos)
        << reader.error();
  }
  // Up to the bound is fine, and complete replies do not count: many replies in one large feed,
  // or one after the other, pass as long as no partial one outgrows the bound.
  EXPECT_EQ(parse_one("$50\r\n" + std::string(50, 'a') + "\r\n", reply, limits), Status::kReply);
  RedisReplyReader reader(limits);
  std::string many;
  for (int i = 0; i < 100; ++i) many += ":" + std::to_string(i) + "\r\n";
  many += "$40\r\n";  // and a partial one under the bound
  reader.feed(many);
  int count = 0;
  Status status;
  while ((status = reader.next(reply)) == Status::kReply) ++count;
  EXPECT_EQ(status, Status::kNeedMore);
  EXPECT_EQ(count, 100);
  reader.feed(std::string(40, 'b') + "\r\n");
  ASSERT_EQ(reader.next(reply), Status::kReply);
  EXPECT_EQ(reply.text, std::string(40, 'b'));
  for (int i = 0; i < 1000; ++i) {
    reader.feed("+" + std::string(30, 'c') + "\r\n");
    ASSERT_EQ(reader.next(reply), Status::kReply);
  }
  EXPECT_FALSE(reader.failed());
}

TEST(RedisProtocol, ArraysAreBoundedInLengthAndDepth) {
  RedisReplyReader::Limits limits;
  limits.max_elements = 2;
  limits.max_depth = 2;
  RedisReply reply;
  EXPECT_EQ(parse_one("*2\r\n:1\r\n:2\r\n", reply, limits), Status::kReply);
  EXPECT_EQ(parse_one("*1\r\n*1\r\n:1\r\n", reply, limits), Status::kReply);
  RedisReplyReader reader(limits);
  reader.feed("*3\r\n");  // refused from the header: no room is made for the claimed elements
  EXPECT_EQ(reader.next(reply), Status::kError);
  EXPECT_NE(reader.error().find("array of 3 elements"), std::string::npos) << reader.error();
  RedisReplyReader deep(limits);
  deep.feed("*1\r\n*1\r\n*1\r\n:1\r\n");
  EXPECT_EQ(deep.next(reply), Status::kError);
  EXPECT_NE(deep.error().find("nested deeper than 2"), std::string::npos) << deep.error();
  // A huge claimed length with the default limits.
  EXPECT_EQ(parse_one("*2147483647\r\n", reply), Status::kError);
}

TEST(RedisProtocol, IncompleteInputNeedsMore) {
  for (std::string partial :
       {"", "+", "+OK", "+OK\r", ":1", "$3\r\nab", "$3\r\nabc\r", "*2\r\n:1\r\n", "*2\r\n$1\r\n"}) {
    RedisReplyReader reader;
    reader.feed(partial);
    RedisReply reply;
    EXPECT_EQ(reader.next(reply), Status::kNeedMore) << partial;
    EXPECT_EQ(reader.buffered(), partial.size());
  }
}

TEST(RedisProtocol, RandomBytesNeverCrash) {
  std::mt19937 random(1234);
  const std::string alphabet = "+-:$*\r\n0123456789-abc";
  for (int round = 0; round < 20000; ++round) {
    RedisReplyReader::Limits limits;
    limits.max_buffered = 64;
    limits.max_elements = 16;
    RedisReplyReader reader(limits);
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes)
      c = random() % 4 == 0 ? static_cast<char>(random()) : alphabet[random() % alphabet.size()];
    std::size_t at = 0;
    while (at < bytes.size()) {
      const std::size_t n = std::min<std::size_t>(1 + random() % 7, bytes.size() - at);
      reader.feed(std::string_view(bytes).substr(at, n));
      at += n;
      RedisReply reply;
      while (reader.next(reply) == Status::kReply) {
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
  for (const char* url : {"http://h", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
                          "redis://h:", "redis://h:12x", "redis://h/x", "redis://h/-1", "redis://h/1/2",
                          "redis://h?db=1", "redis://[::1", "redis://[::1]x", "redis://[host]", "redis://h h",
                          "redis://:%zz@h", "redis://user:@h", "unix:///tmp/redis.sock"}) {
    error.clear();
    EXPECT_FALSE(parse_redis_url(url, error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
}

}  // namespace
}  // namespace flexgate::policy
