// The Redis backend against a real redis-server (tests/support/redis_server.h) and against fake
// servers that answer garbage.

#include "policy/ratelimit/redis_rate_limiter.h"

#include <gtest/gtest.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/redis_server.h"

namespace flexgate::policy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::RedisServer;

template <class T>
T run(asio::io_context& context, net::Task<T> task) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(context, std::move(task), [&](std::exception_ptr error, T value) {
    failure = error;
    out = std::move(value);
    context.stop();  // fake servers keep work pending: stop once the task is done
  });
  context.restart();
  context.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

RedisEndpoint endpoint_of(const std::string& url) {
  std::string error;
  auto endpoint = parse_redis_url(url, error);
  EXPECT_TRUE(endpoint) << error;
  return endpoint.value_or(RedisEndpoint{});
}

RedisEndpoint local(std::uint16_t port) {
  return RedisEndpoint{"127.0.0.1", port, "", "", 0};
}

// Calls decide() for one bucket until it answers ok (paced by 5 ms timers), within `bound`.
net::Task<RedisLimitResult> decide_until_ok(RedisRateLimiter& limiter, BucketRequest bucket,
                                            Clock::duration bound) {
  const auto limit = Clock::now() + bound;
  net::SteadyTimer pace(co_await asio::this_coro::executor);
  for (;;) {
    RedisLimitResult result = co_await limiter.decide(std::span(&bucket, 1));
    if (result.ok || Clock::now() > limit) co_return result;
    pace.expires_after(5ms);
    co_await pace.async_wait(net::use_task);
  }
}

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = RedisServer::start(error);
    ASSERT_TRUE(server_) << error;
  }
  std::unique_ptr<RedisServer> server_;
  asio::io_context context_;
};

TEST_F(RedisRateLimiterTest, TwoInstancesShareOneBucket) {
  RedisRateLimiter a(context_.get_executor(), local(server_->port()), 1s);
  RedisRateLimiter b(context_.get_executor(), local(server_->port()), 1s);
  const BucketRequest bucket{
      "global\x1f"
      "client:alice",
      5, 60s};
  int allowed = 0;
  RedisLimitResult last;
  for (int i = 0; i < 12; ++i) {
    RedisRateLimiter& limiter = i % 2 == 0 ? a : b;
    last = run(context_, limiter.decide(std::span(&bucket, 1)));
    ASSERT_TRUE(last.ok) << last.error;
    if (last.allowed) {
      ++allowed;
      EXPECT_EQ(last.remaining, 5 - allowed);
    }
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_FALSE(last.allowed);
  EXPECT_EQ(last.remaining, 0);
  EXPECT_EQ(last.refused, 0u);
  EXPECT_GT(last.retry_after_ms, 0);
  EXPECT_LE(last.retry_after_ms, 12000);  // one token per 12 s
  EXPECT_EQ(last.levels[0].retry_after.count(), last.retry_after_ms);
  EXPECT_GT(last.reset_ms, 0);
  EXPECT_TRUE(a.healthy());
  EXPECT_TRUE(b.healthy());
  EXPECT_EQ(a.stats().connects, 1u);
}

// Spawns `count` decide() calls of `bucket_of(i)` before the loop runs (so all are queued before
// any reply can arrive) and runs until every one has answered; results in call order.
template <class BucketOf>
std::vector<RedisLimitResult> decide_concurrently(asio::io_context& context, RedisRateLimiter& limiter,
                                                  int count, BucketOf bucket_of) {
  std::vector<RedisLimitResult> results(static_cast<std::size_t>(count));
  int done = 0;
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(context, limiter.decide(std::span(bucket_of(i), 1)),
                   [&, i](std::exception_ptr error, RedisLimitResult result) {
                     EXPECT_FALSE(error);
                     results[static_cast<std::size_t>(i)] = std::move(result);
                     if (++done == count) context.stop();  // the connection's reader keeps work pending
                   });
  }
  context.restart();
  context.run();
  EXPECT_EQ(done, count);
  return results;
}

TEST_F(RedisRateLimiterTest, ConcurrentCallsOnOneWorkerArePipelined) {
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 5s);
  // Four buckets with different limits, 200 calls over them in turn. Redis runs the EVALSHAs in
  // the order they were sent, so the n-th call on a bucket of capacity c keeps c-1-n tokens while
  // n < c and is refused after: a reply handed to the wrong call shows as another bucket's count.
  const BucketRequest buckets[] = {{"pipe\x1f"
                                    "a",
                                    5, 3600s},
                                   {"pipe\x1f"
                                    "b",
                                    20, 3600s},
                                   {"pipe\x1f"
                                    "c",
                                    35, 3600s},
                                   {"pipe\x1f"
                                    "d",
                                    50, 3600s}};
  constexpr int kCalls = 200;
  const auto results = decide_concurrently(context_, limiter, kCalls, [&](int i) { return &buckets[i % 4]; });
  for (int i = 0; i < kCalls; ++i) {
    const RedisLimitResult& result = results[static_cast<std::size_t>(i)];
    ASSERT_TRUE(result.ok) << i << ": " << result.error;
    const std::uint64_t capacity = buckets[i % 4].capacity;
    const std::uint64_t nth = static_cast<std::uint64_t>(i / 4);
    EXPECT_EQ(result.allowed, nth < capacity) << i;
    EXPECT_EQ(result.levels[0].limit, capacity) << i;
    EXPECT_EQ(result.levels[0].remaining, nth < capacity ? capacity - 1 - nth : 0) << i;
  }
  EXPECT_EQ(limiter.stats().connects, 1u);
  EXPECT_EQ(limiter.stats().max_in_flight, std::uint64_t{kCalls});  // all on the one connection at once
  EXPECT_EQ(limiter.stats().failures, 0u);
}

TEST_F(RedisRateLimiterTest, AllOrNothingAcrossLevels) {
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 1s);
  const BucketRequest both[] = {{"global\x1f"
                                 "c",
                                 10, 60s},
                                {"route\x1f"
                                 "c",
                                 1, 60s}};
  auto first = run(context_, limiter.decide(both));
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.count, 2u);
  EXPECT_EQ(first.refused, 2u);
  EXPECT_EQ(first.levels[0].remaining, 9u);
  EXPECT_EQ(first.levels[1].remaining, 0u);
  EXPECT_EQ(first.remaining, 0);

  auto second = run(context_, limiter.decide(both));
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.allowed);
  EXPECT_EQ(second.refused, 1u);
  EXPECT_TRUE(second.levels[0].allowed);
  EXPECT_EQ(second.levels[0].retry_after.count(), 0);
  EXPECT_FALSE(second.levels[1].allowed);
  EXPECT_GT(second.retry_after_ms, 0);
  EXPECT_LE(second.retry_after_ms, 60000);

  // The refused request spent nothing from the global level.
  auto global = run(context_, limiter.decide(std::span(both, 1)));
  ASSERT_TRUE(global.ok);
  EXPECT_TRUE(global.allowed);
  EXPECT_EQ(global.remaining, 8);

  // Zero capacity refuses, with the window as Retry-After.
  const BucketRequest zero{"zero", 0, 2s};
  auto refused = run(context_, limiter.decide(std::span(&zero, 1)));
  ASSERT_TRUE(refused.ok);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 2000);
}

TEST_F(RedisRateLimiterTest, BucketsExpireAfterTheirWindow) {
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 1s);
  const BucketRequest levels[] = {{"global\x1f"
                                   "k",
                                   3, 60s},
                                  {"route\x1f"
                                   "k",
                                   3, 5s}};
  auto result = run(context_, limiter.decide(levels));
  ASSERT_TRUE(result.ok) << result.error;
  auto long_ttl = server_->command({"PTTL",
                                    "flexgate:rl:global\x1f"
                                    "k"});
  auto short_ttl = server_->command({"PTTL",
                                     "flexgate:rl:route\x1f"
                                     "k"});
  ASSERT_TRUE(long_ttl && short_ttl);
  EXPECT_GT(long_ttl->integer, 5000);
  EXPECT_LE(long_ttl->integer, 60000);
  EXPECT_GT(short_ttl->integer, 0);
  EXPECT_LE(short_ttl->integer, 5000);
  auto keys = server_->command({"DBSIZE"});
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->integer, 2);
}

TEST_F(RedisRateLimiterTest, ReloadsTheScriptAfterScriptFlush) {
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 1s);
  const BucketRequest bucket{"flush", 3, 60s};
  ASSERT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);
  auto flushed = server_->command({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed && flushed->text == "OK");
  auto result = run(context_, limiter.decide(std::span(&bucket, 1)));
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_TRUE(result.allowed);
  EXPECT_EQ(result.remaining, 1);
  EXPECT_EQ(limiter.stats().script_loads, 1u);
  EXPECT_EQ(limiter.stats().connects, 1u);  // same connection
  EXPECT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);
  EXPECT_EQ(limiter.stats().script_loads, 1u);
}

TEST_F(RedisRateLimiterTest, KilledServerFailsFastThenRecoversAfterBackoff) {
  RedisLimiterOptions options;
  options.backoff_initial = 300ms;
  options.backoff_max = 600ms;
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 500ms, options);
  const BucketRequest bucket{"outage", 100, 60s};
  ASSERT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);

  server_->kill();
  auto down = run(context_, limiter.decide(std::span(&bucket, 1)));
  EXPECT_FALSE(down.ok);
  EXPECT_FALSE(down.error.empty());
  EXPECT_FALSE(limiter.healthy());
  EXPECT_TRUE(limiter.in_backoff());

  // In backoff: answered at once, without the network.
  auto skipped = run(context_, limiter.decide(std::span(&bucket, 1)));
  EXPECT_FALSE(skipped.ok);
  EXPECT_NE(skipped.error.find("backoff"), std::string::npos) << skipped.error;
  EXPECT_EQ(limiter.stats().skipped, 1u);

  std::string error;
  ASSERT_TRUE(server_->restart(error)) << error;
  auto back = run(context_, decide_until_ok(limiter, bucket, 10s));
  ASSERT_TRUE(back.ok) << back.error;
  EXPECT_TRUE(back.allowed);
  EXPECT_EQ(back.remaining, 99);  // a fresh (empty) Redis
  EXPECT_TRUE(limiter.healthy());
  EXPECT_EQ(limiter.stats().connects, 2u);
}

TEST_F(RedisRateLimiterTest, HungServerTimesOutThenRecovers) {
  RedisLimiterOptions options;
  options.backoff_initial = 20ms;
  options.backoff_max = 40ms;
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 150ms, options);
  const BucketRequest bucket{"hang", 100, 60s};
  ASSERT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);

  server_->stop_responding();
  auto hung = run(context_, limiter.decide(std::span(&bucket, 1)));
  EXPECT_FALSE(hung.ok);
  EXPECT_NE(hung.error.find("timeout"), std::string::npos) << hung.error;
  EXPECT_FALSE(limiter.healthy());
  EXPECT_EQ(limiter.stats().timeouts, 1u);

  server_->resume();
  auto back = run(context_, decide_until_ok(limiter, bucket, 10s));
  ASSERT_TRUE(back.ok) << back.error;
  EXPECT_TRUE(limiter.healthy());
}

TEST_F(RedisRateLimiterTest, PipelinedCallThatTimesOutFailsEveryPendingCallThenReconnects) {
  RedisLimiterOptions options;
  options.backoff_initial = 20ms;
  options.backoff_max = 40ms;
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 200ms, options);
  const BucketRequest bucket{"stall", 100, 3600s};
  ASSERT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);

  server_->stop_responding();
  constexpr int kCalls = 6;
  const auto results = decide_concurrently(context_, limiter, kCalls, [&](int) { return &bucket; });
  for (const auto& result : results) {
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("timeout"), std::string::npos) << result.error;
  }
  EXPECT_EQ(limiter.stats().max_in_flight, std::uint64_t{kCalls});
  // One deadline passed; dropping the connection answered the calls behind it at once.
  EXPECT_EQ(limiter.stats().timeouts, 1u);
  EXPECT_EQ(limiter.stats().failures, std::uint64_t{kCalls});
  EXPECT_FALSE(limiter.healthy());

  server_->resume();
  auto back = run(context_, decide_until_ok(limiter, bucket, 10s));
  ASSERT_TRUE(back.ok) << back.error;
  EXPECT_TRUE(limiter.healthy());
  EXPECT_EQ(limiter.stats().connects, 2u);
}

TEST_F(RedisRateLimiterTest, NoscriptWhileSeveralCallsArePipelined) {
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 2s);
  const BucketRequest bucket{"flush-many", 100, 3600s};
  ASSERT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);
  auto flushed = server_->command({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed && flushed->text == "OK");

  // Every EVALSHA in the pipeline answers NOSCRIPT; each is sent again behind one SCRIPT LOAD, in
  // the order of the calls.
  constexpr int kCalls = 10;
  const auto results = decide_concurrently(context_, limiter, kCalls, [&](int) { return &bucket; });
  for (int i = 0; i < kCalls; ++i) {
    const RedisLimitResult& result = results[static_cast<std::size_t>(i)];
    ASSERT_TRUE(result.ok) << i << ": " << result.error;
    EXPECT_TRUE(result.allowed);
    EXPECT_EQ(result.remaining, 98 - i);
  }
  EXPECT_EQ(limiter.stats().script_loads, 1u);
  EXPECT_EQ(limiter.stats().connects, 1u);
  EXPECT_EQ(limiter.stats().max_in_flight, std::uint64_t{kCalls});
}

TEST_F(RedisRateLimiterTest, ErrorReplyFailsOnlyItsCall) {
  RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 2s);
  // A key of the wrong type makes the script's HMGET fail (WRONGTYPE) for the calls naming it.
  ASSERT_TRUE(server_->command({"SET", "flexgate:rl:plain", "x"}));
  const BucketRequest good{"fine", 100, 3600s};
  const BucketRequest bad{"plain", 100, 3600s};
  const auto results =
      decide_concurrently(context_, limiter, 6, [&](int i) { return i % 2 == 0 ? &good : &bad; });
  for (int i = 0; i < 6; ++i) {
    const RedisLimitResult& result = results[static_cast<std::size_t>(i)];
    if (i % 2 == 0) {
      ASSERT_TRUE(result.ok) << result.error;
      EXPECT_EQ(result.remaining, 99 - i / 2);
    } else {
      EXPECT_FALSE(result.ok);
      EXPECT_NE(result.error.find("redis error"), std::string::npos) << result.error;
    }
  }
  EXPECT_TRUE(limiter.healthy());
  EXPECT_EQ(limiter.stats().connects, 1u);
  EXPECT_TRUE(run(context_, limiter.decide(std::span(&good, 1))).ok);
}

TEST_F(RedisRateLimiterTest, DestroyedWithAnOpenConnection) {
  const BucketRequest bucket{"bye", 5, 3600s};
  {
    RedisRateLimiter limiter(context_.get_executor(), local(server_->port()), 1s);
    ASSERT_TRUE(run(context_, limiter.decide(std::span(&bucket, 1))).ok);
  }  // the reader and writer are still waiting on the socket
  context_.restart();
  context_.run();  // they end (the socket was closed) without touching the limiter
  auto left = server_->command({"HGET", "flexgate:rl:bye", "l"});
  ASSERT_TRUE(left);
  EXPECT_EQ(left->type, RedisReply::Type::kBulk);
}

TEST(RedisRateLimiterAuth, AuthenticatesAndSelectsTheDatabase) {
  std::string error;
  auto server = RedisServer::start(error, {"--requirepass", "s3cret"});
  ASSERT_TRUE(server) << error;
  asio::io_context context;
  RedisRateLimiter limiter(context.get_executor(),
                           endpoint_of("redis://:s3cret@127.0.0.1:" + std::to_string(server->port()) + "/5"),
                           1s);
  const BucketRequest bucket{"auth", 2, 60s};
  auto result = run(context, limiter.decide(std::span(&bucket, 1)));
  ASSERT_TRUE(result.ok) << result.error;
  auto in_db5 = server->commands({{"AUTH", "s3cret"}, {"SELECT", "5"}, {"EXISTS", "flexgate:rl:auth"}});
  auto in_db0 = server->commands({{"AUTH", "s3cret"}, {"EXISTS", "flexgate:rl:auth"}});
  ASSERT_TRUE(in_db5 && in_db0);
  EXPECT_EQ(in_db5->integer, 1);
  EXPECT_EQ(in_db0->integer, 0);

  RedisRateLimiter wrong(context.get_executor(),
                         endpoint_of("redis://:nope@127.0.0.1:" + std::to_string(server->port())), 1s);
  auto refused = run(context, wrong.decide(std::span(&bucket, 1)));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("handshake refused"), std::string::npos) << refused.error;
  EXPECT_FALSE(wrong.healthy());

  // A host name is resolved.
  RedisRateLimiter by_name(context.get_executor(),
                           endpoint_of("redis://:s3cret@localhost:" + std::to_string(server->port())), 1s);
  auto named = run(context, by_name.decide(std::span(&bucket, 1)));
  EXPECT_TRUE(named.ok) << named.error;
}

// A fake Redis on the test's io_context: it answers each command it reads (parsed with the same
// reader as replies: commands are RESP too) with the next scripted answer (the last one repeats);
// an empty answer means "say nothing"; an answer ending in kClose is written and then the
// connection is closed. commands() lists the names of the commands it received.
const std::string kClose = std::string("\0close", 6);

class FakeRedis {
 public:
  FakeRedis(asio::io_context& context, std::vector<std::string> answers)
      : acceptor_(context, net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        answers_(std::move(answers)) {
    asio::co_spawn(context, serve(), asio::detached);
  }
  ~FakeRedis() { stop(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  RedisEndpoint endpoint() const { return local(port()); }
  const std::vector<std::string>& commands() const { return commands_; }
  void stop() {
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto& socket : sockets_) socket->close(ignored);
  }

 private:
  net::Task<void> serve() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::use_task);
      if (ec) co_return;
      sockets_.push_back(std::make_shared<net::tcp::socket>(std::move(socket)));
      asio::co_spawn(acceptor_.get_executor(), answer(sockets_.back()), asio::detached);
    }
  }
  net::Task<void> answer(std::shared_ptr<net::tcp::socket> socket) {
    std::size_t next = 0;
    RedisReplyReader requests;
    std::vector<char> buffer(65536);
    for (;;) {
      auto [ec, n] = co_await socket->async_read_some(asio::buffer(buffer), net::use_task);
      if (ec) co_return;
      requests.feed(std::string_view(buffer.data(), n));
      std::string reply;
      bool close = false;
      RedisReply command;
      while (!close && requests.next(command) == RedisReplyReader::Status::kReply) {
        commands_.push_back(command.elements.empty() ? std::string() : command.elements[0].text);
        std::string next_answer = answers_[std::min(next++, answers_.size() - 1)];
        close = next_answer.ends_with(kClose);
        if (close) next_answer.resize(next_answer.size() - kClose.size());
        reply += next_answer;
      }
      if (!reply.empty()) {
        auto [write_ec, written] = co_await asio::async_write(*socket, asio::buffer(reply), net::use_task);
        if (write_ec) co_return;
      }
      if (close) {
        std::error_code ignored;
        socket->close(ignored);
        co_return;
      }
    }
  }

  net::tcp::acceptor acceptor_;
  std::vector<std::string> answers_;
  std::vector<std::shared_ptr<net::tcp::socket>> sockets_;
  std::vector<std::string> commands_;
};

const std::string kSha = "$40\r\n" + redis_token_bucket_script_sha() + "\r\n";

RedisLimitResult decide_against(asio::io_context& context, FakeRedis& fake,
                                std::chrono::milliseconds timeout = 300ms) {
  RedisRateLimiter limiter(context.get_executor(), fake.endpoint(), timeout);
  const BucketRequest bucket{"fake", 5, 60s};
  auto result = run(context, limiter.decide(std::span(&bucket, 1)));
  EXPECT_FALSE(limiter.healthy() && !result.ok && result.error.find("redis error") == std::string::npos &&
               result.error.find("unexpected reply") == std::string::npos)
      << "a broken connection must show as unhealthy: " << result.error;
  fake.stop();
  context.restart();
  context.run();  // let the fake's coroutines and the limiter's handlers end
  return result;
}

TEST(RedisRateLimiterGarbage, OkToEverythingIsAnError) {
  asio::io_context context;
  FakeRedis fake(context, {"+OK\r\n"});
  auto result = decide_against(context, fake);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("SCRIPT LOAD failed"), std::string::npos) << result.error;
}

TEST(RedisRateLimiterGarbage, JunkIsAProtocolError) {
  asio::io_context context;
  FakeRedis fake(context, {"HTTP/1.1 400 Bad Request\r\n\r\n"});
  auto result = decide_against(context, fake);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("protocol error"), std::string::npos) << result.error;
}

TEST(RedisRateLimiterGarbage, WrongShapedScriptReplies) {
  for (std::string reply : {":1\r\n", "*2\r\n:1\r\n:1\r\n", "*5\r\n:1\r\n:0\r\n:0\r\n:0\r\n:0\r\n",
                            "*5\r\n:2\r\n:1\r\n:0\r\n:0\r\n:0\r\n", "*5\r\n:1\r\n:1\r\n:-1\r\n:0\r\n:0\r\n",
                            "*5\r\n:1\r\n:1\r\n$1\r\n1\r\n:0\r\n:0\r\n", "-ERR something\r\n"}) {
    asio::io_context context;
    FakeRedis fake(context, {kSha, reply});
    auto result = decide_against(context, fake);
    EXPECT_FALSE(result.ok) << reply;
    EXPECT_FALSE(result.error.empty()) << reply;
  }
}

TEST(RedisRateLimiterGarbage, ClosedMidReplyAndSilentServer) {
  {
    asio::io_context context;
    FakeRedis fake(context, {kSha, "*5\r\n:1\r\n" + kClose});
    auto result = decide_against(context, fake);
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("closed"), std::string::npos) << result.error;
  }
  {
    asio::io_context context;
    FakeRedis fake(context, {""});  // accepts, never answers
    auto result = decide_against(context, fake, 100ms);
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("timeout"), std::string::npos) << result.error;
  }
  {
    asio::io_context context;
    FakeRedis fake(context, {kSha, "-NOSCRIPT gone\r\n", kSha, "-NOSCRIPT still gone\r\n"});
    auto result = decide_against(context, fake);
    EXPECT_FALSE(result.ok);  // retried once, not forever
    EXPECT_NE(result.error.find("NOSCRIPT"), std::string::npos) << result.error;
    EXPECT_EQ(fake.commands(), (std::vector<std::string>{"SCRIPT", "EVALSHA", "SCRIPT", "EVALSHA"}));
  }
}

TEST(RedisRateLimiterGarbage, ShaMismatchAndOversizedRepliesDropTheConnection) {
  {
    asio::io_context context;
    FakeRedis fake(context, {"$40\r\n" + std::string(40, 'a') + "\r\n"});
    auto result = decide_against(context, fake);
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("unexpected sha"), std::string::npos) << result.error;
  }
  {
    // 5 MB of a bulk string: more than the reader holds without a complete reply.
    asio::io_context context;
    FakeRedis fake(context, {kSha, "$5000000\r\n" + std::string(5000000, 'x') + "\r\n"});
    auto result = decide_against(context, fake, 5s);
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("without a complete reply"), std::string::npos) << result.error;
  }
}

TEST(RedisRateLimiterGarbage, QueuedCallsTimeOutTooWithoutCrashing) {
  asio::io_context context;
  FakeRedis fake(context, {""});
  RedisRateLimiter limiter(context.get_executor(), fake.endpoint(), 100ms);
  const BucketRequest bucket{"q", 5, 60s};
  int done = 0, ok = 0;
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(context, limiter.decide(std::span(&bucket, 1)),
                   [&](std::exception_ptr error, RedisLimitResult r) {
                     EXPECT_FALSE(error);
                     ok += r.ok;
                     if (++done == 4) fake.stop();
                   });
  }
  context.run();
  EXPECT_EQ(done, 4);
  EXPECT_EQ(ok, 0);
  EXPECT_EQ(limiter.stats().timeouts, 1u);
  EXPECT_EQ(limiter.stats().connect_failures, 1u);
}

TEST(RedisRateLimiterPipeline, CallsBeyondMaxPendingFailFast) {
  asio::io_context context;
  FakeRedis fake(context, {""});  // accepts, never answers
  RedisLimiterOptions options;
  options.max_pending = 3;
  RedisRateLimiter limiter(context.get_executor(), fake.endpoint(), 200ms, options);
  const BucketRequest bucket{"full", 5, 60s};
  constexpr int kCalls = 8;
  std::vector<std::string> errors;  // in the order the calls answered
  for (int i = 0; i < kCalls; ++i) {
    asio::co_spawn(context, limiter.decide(std::span(&bucket, 1)),
                   [&](std::exception_ptr error, RedisLimitResult r) {
                     EXPECT_FALSE(error);
                     EXPECT_FALSE(r.ok);
                     errors.push_back(r.error);
                     if (errors.size() == kCalls) fake.stop();
                   });
  }
  context.run();
  ASSERT_EQ(errors.size(), std::size_t{kCalls});
  // The five beyond the limit answered first, without waiting; the three queued ones at their
  // deadline.
  for (int i = 0; i < kCalls; ++i) {
    const bool overflow = i < kCalls - 3;
    EXPECT_EQ(errors[i].find("pipeline full") != std::string::npos, overflow) << i << ": " << errors[i];
    EXPECT_EQ(errors[i].find("timeout") != std::string::npos, !overflow) << i << ": " << errors[i];
  }
  EXPECT_EQ(limiter.stats().overflows, 5u);
  EXPECT_EQ(limiter.stats().timeouts, 1u);
  EXPECT_EQ(limiter.stats().max_in_flight, 3u);
  EXPECT_EQ(limiter.stats().failures, std::uint64_t{kCalls});
}

}  // namespace
}  // namespace flexgate::policy
