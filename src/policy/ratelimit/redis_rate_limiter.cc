#include "policy/ratelimit/redis_rate_limiter.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <deque>
#include <utility>
#include <vector>

#include "net/socket_io.h"

namespace flexgate::policy {

// Level kept in 1/window tokens (as TokenBucketTable): a full bucket is capacity*window units, a
// token is window units, one millisecond adds capacity units. Lua numbers are doubles, so this is
// exact while capacity*window < 2^53 (e.g. 1e6 tokens per hour); numbers are stored with %d so no
// digit is lost on the way through Redis' string conversion. Fields: l = level, t = the time (ms)
// it was computed for (never moves back, even if Redis' clock does), c and w = the limit it was
// computed for (a changed limit keeps the bucket's fill fraction). A refused request writes
// nothing. PEXPIRE = window: by then an untouched bucket is full, the same as absent.
const std::string_view kRedisTokenBucketScript = R"lua(
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local cap, win, level, stamp = {}, {}, {}, {}
local refused = n
for i = 1, n do
  local c = tonumber(ARGV[2 * i - 1]) or 0
  local w = tonumber(ARGV[2 * i]) or 1
  if w < 1 then w = 1 end
  cap[i], win[i], stamp[i] = c, w, now
  local l = 0
  if c > 0 then
    local full = c * w
    l = full
    local s = redis.call('HMGET', KEYS[i], 'l', 't', 'c', 'w')
    local sl, st, sc, sw = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
    if sl and st and sc and sw and sc > 0 and sw > 0 then
      l = sl
      if sc ~= c or sw ~= w then l = math.floor(l / (sc * sw) * full) end
      if now > st then l = l + (now - st) * c else stamp[i] = st end
      if l > full then l = full end
      if l < 0 then l = 0 end
    end
  end
  level[i] = l
  if refused == n and l < w then refused = i - 1 end
end
local allowed = refused == n
local out = {allowed and 1 or 0, refused}
for i = 1, n do
  local c, w, l = cap[i], win[i], level[i]
  local remaining, retry, reset = 0, 0, 0
  if c <= 0 then
    retry = w
  else
    if allowed then
      l = l - w
      redis.call('HSET', KEYS[i], 'l', string.format('%d', l), 't', string.format('%d', stamp[i]),
                 'c', string.format('%d', c), 'w', string.format('%d', w))
      redis.call('PEXPIRE', KEYS[i], w)
    end
    remaining = math.floor(l / w)
    reset = math.ceil((c * w - l) / c)
    if not allowed and l < w then retry = math.ceil((w - l) / c) end
  end
  out[#out + 1] = remaining
  out[#out + 1] = retry
  out[#out + 1] = reset
end
return out
)lua";

const std::string& redis_token_bucket_script_sha() {
  static const std::string sha = [] {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    const int ok = EVP_Digest(kRedisTokenBucketScript.data(), kRedisTokenBucketScript.size(), digest, &size,
                              EVP_sha1(), nullptr);
    assert(ok == 1 && size == 20);
    (void)ok;
    constexpr std::string_view kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }();
  return sha;
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// {allowed 0/1, refused index, then remaining, retry_after, reset per level}, consistent.
bool is_script_reply(const redisReply& reply, std::size_t count) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 + 3 * count) return false;
  for (std::size_t i = 0; i < reply.elements; ++i) {
    const redisReply& item = *reply.element[i];
    if (item.type != REDIS_REPLY_INTEGER || item.integer < 0) return false;
  }
  const long long allowed = reply.element[0]->integer;
  const auto refused = static_cast<unsigned long long>(reply.element[1]->integer);
  return (allowed == 0 || allowed == 1) && refused <= count && (allowed == 1) == (refused == count);
}

std::string_view text_of(const redisReply& reply) {
  return std::string_view(reply.str, reply.len);
}

}  // namespace

// One decide() call, shared with the connection that owes it a reply: whichever side goes away
// first, the other still holds the waker and the answer.
struct RedisRateLimiter::Call {
  Call(const net::Executor& executor, Clock::time_point deadline, std::size_t levels)
      : waker(executor, deadline), levels(levels) {}

  void complete(RedisReplyPtr answer) {
    reply = std::move(answer);
    done = true;
    waker.cancel();
  }
  void abort(const std::string& why) {
    error = why;
    done = true;
    waker.cancel();
  }

  net::SteadyTimer waker;    // expires at the call's deadline; an answer cancels the wait
  std::size_t levels;          // the script answers 2 + 3 * levels integers
  std::uint64_t sequence = 0;  // of its latest EVALSHA on the connection
  bool done = false;
  RedisReplyPtr reply;  // done: the reply; null when the connection broke (see error)
  std::string error;
};

// One TCP connection and its pipeline: commands go into `output` as they come, the writer sends
// them, the reader matches each reply to `pending.front()`. Held by the limiter (while current)
// and by its connect, reader and writer coroutines, which touch nothing else but the calls.
struct RedisRateLimiter::Connection {
  enum class Expect : std::uint8_t { kAuth, kSelect, kHandshakeLoad, kScriptLoad, kEval };
  struct Pending {
    Expect expect;
    std::shared_ptr<Call> call;  // kEval only
  };

  Connection(const net::Executor& executor, RedisEndpoint endpoint)
      : socket(executor), resolver(executor), wake(executor), endpoint(std::move(endpoint)) {}

  void queue_handshake();
  void queue_script_load();
  void queue_eval(const std::shared_ptr<Call>& call, std::span<const BucketRequest> levels,
                  std::string_view prefix);
  // Closes the socket and fails every call still waiting (once; later calls are no-ops).
  void fail(const std::string& why);
  // Hands `reply` to the oldest command; false when it broke the connection instead.
  bool accept(RedisReplyPtr reply);

  static net::Task<void> run(std::shared_ptr<Connection> self);
  static net::Task<void> read_loop(std::shared_ptr<Connection> self);
  static net::Task<void> write_loop(std::shared_ptr<Connection> self);

  net::tcp::socket socket;
  net::tcp::resolver resolver;
  net::SteadyTimer wake;  // the idle writer waits on it; a queued command cancels the wait
  const RedisEndpoint endpoint;
  RedisReplyReader reader;
  std::string output;                // queued, not handed to the writer yet
  std::string writing;               // the write in flight (swapped with output: both reused)
  std::deque<Pending> pending;       // one per command queued, in order
  std::uint64_t sequence = 0;        // commands queued so far
  std::uint64_t script_load_at = 0;  // the sequence of the latest SCRIPT LOAD
  std::size_t calls = 0;             // EVALSHAs waiting for their reply
  bool ready = false;                // the handshake was answered
  bool closed = false;
  bool broken = false;   // closed with calls waiting or before the handshake finished
  bool counted = false;  // note_up() saw it
  bool writer_idle = false;
  std::string error;  // why it closed
  std::array<char, 16384> input{};

 private:
  void queued(Expect expect, std::shared_ptr<Call> call = {}) {
    pending.push_back(Pending{expect, std::move(call)});
    ++sequence;
    if (writer_idle) wake.cancel();
  }
};

void RedisRateLimiter::Connection::queue_handshake() {
  if (!endpoint.password.empty()) {
    if (endpoint.username.empty()) {
      const std::string_view args[] = {"AUTH", endpoint.password};
      append_redis_command(output, args);
    } else {
      const std::string_view args[] = {"AUTH", endpoint.username, endpoint.password};
      append_redis_command(output, args);
    }
    queued(Expect::kAuth);
  }
  if (endpoint.db != 0) {
    append_redis_array_header(output, 2);
    append_redis_bulk(output, "SELECT");
    append_redis_bulk(output, static_cast<std::uint64_t>(endpoint.db));
    queued(Expect::kSelect);
  }
  const std::string_view load[] = {"SCRIPT", "LOAD", kRedisTokenBucketScript};
  append_redis_command(output, load);
  queued(Expect::kHandshakeLoad);
  script_load_at = sequence;
}

void RedisRateLimiter::Connection::queue_script_load() {
  const std::string_view load[] = {"SCRIPT", "LOAD", kRedisTokenBucketScript};
  append_redis_command(output, load);
  queued(Expect::kScriptLoad);
  script_load_at = sequence;
}

// EVALSHA sha n key... capacity window ...
void RedisRateLimiter::Connection::queue_eval(const std::shared_ptr<Call>& call,
                                              std::span<const BucketRequest> levels,
                                              std::string_view prefix) {
  append_redis_array_header(output, 3 + 3 * levels.size());
  append_redis_bulk(output, "EVALSHA");
  append_redis_bulk(output, redis_token_bucket_script_sha());
  append_redis_bulk(output, static_cast<std::uint64_t>(levels.size()));
  for (const auto& level : levels) append_redis_bulk(output, level.key, prefix);
  for (const auto& level : levels) {
    append_redis_bulk(output, level.capacity);
    append_redis_bulk(output, static_cast<std::uint64_t>(std::max<std::int64_t>(level.window.count(), 1)));
  }
  ++calls;
  queued(Expect::kEval, call);
  call->sequence = sequence;
}

void RedisRateLimiter::Connection::fail(const std::string& why) {
  if (closed) return;
  closed = true;
  broken = calls > 0 || !ready;
  error = why;
  std::error_code ignored;
  resolver.cancel();
  socket.close(ignored);
  wake.cancel();
  std::deque<Pending> orphans;
  orphans.swap(pending);
  calls = 0;
  for (auto& entry : orphans) {
    if (entry.call) entry.call->abort(why);
  }
}

bool RedisRateLimiter::Connection::accept(RedisReplyPtr reply) {
  if (pending.empty()) {
    fail("redis protocol error: a reply to no command");
    return false;
  }
  Pending next = std::move(pending.front());
  pending.pop_front();
  const redisReply& answer = *reply;
  switch (next.expect) {
    case Expect::kAuth:
    case Expect::kSelect:
      if (answer.type != REDIS_REPLY_STATUS || text_of(answer) != "OK") {
        fail("redis handshake refused: " + describe_redis_reply(answer));
        return false;
      }
      return true;
    case Expect::kScriptLoad:
      // An error (OOM, BUSY...) fails only the EVALSHA queued behind it, with NOSCRIPT.
      if (answer.type == REDIS_REPLY_ERROR) return true;
      [[fallthrough]];
    case Expect::kHandshakeLoad:
      if (answer.type != REDIS_REPLY_STRING) {
        fail("redis SCRIPT LOAD failed: " + describe_redis_reply(answer));
        return false;
      }
      if (text_of(answer) != redis_token_bucket_script_sha()) {
        // Every EVALSHA names the local SHA1 of the script: with another one, none would run.
        fail("redis protocol error: SCRIPT LOAD answered an unexpected sha");
        return false;
      }
      if (next.expect == Expect::kHandshakeLoad) ready = true;
      return true;
    case Expect::kEval:
      assert(calls > 0 && next.call);
      --calls;
      if (answer.type != REDIS_REPLY_ERROR && !is_script_reply(answer, next.call->levels)) {
        const std::string why = "redis protocol error: unexpected reply to the rate-limit script: " +
                                describe_redis_reply(answer);
        fail(why);
        next.call->abort(why);
        return false;
      }
      next.call->complete(std::move(reply));
      return true;
  }
  return true;
}

// Resolve and connect, then start the writer (the handshake and the calls are already queued)
// and become the reader.
net::Task<void> RedisRateLimiter::Connection::run(std::shared_ptr<Connection> self) {
  Connection& conn = *self;
  const RedisEndpoint& target = conn.endpoint;
  std::vector<net::tcp::endpoint> endpoints;
  std::error_code ec;
  const auto address = net::ip::make_address(target.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, target.port);
  } else {
    auto [resolve_ec, results] =
        co_await conn.resolver.async_resolve(target.host, std::to_string(target.port), net::use_task);
    if (conn.closed) co_return;  // a call's deadline passed meanwhile
    if (resolve_ec) {
      conn.fail("cannot resolve redis host " + target.host + ": " + resolve_ec.message());
      co_return;
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  std::string error = "no address for redis host " + target.host;
  for (const auto& endpoint : endpoints) {
    const std::error_code connect_ec = co_await net::connect(conn.socket, endpoint);
    if (conn.closed) co_return;
    if (!connect_ec) {
      asio::co_spawn(conn.socket.get_executor(), write_loop(self), asio::detached);
      co_await read_loop(self);
      co_return;
    }
    error = "cannot connect to redis at " + target.host + ":" + std::to_string(target.port) + ": " +
            connect_ec.message();
    std::error_code ignored;
    conn.socket.close(ignored);
  }
  conn.fail(error);
}

net::Task<void> RedisRateLimiter::Connection::read_loop(std::shared_ptr<Connection> self) {
  Connection& conn = *self;
  RedisReplyPtr reply;
  for (;;) {
    for (;;) {
      const RedisReplyReader::Status status = conn.reader.next(reply);
      if (status == RedisReplyReader::Status::kNeedMore) break;
      if (status == RedisReplyReader::Status::kError) {
        conn.fail(conn.reader.error());
        co_return;
      }
      if (!conn.accept(std::move(reply))) co_return;
    }
    const net::IoResult io = co_await net::read_some(conn.socket, conn.input);
    if (conn.closed) co_return;
    if (io.error) {
      conn.fail(io.error == asio::error::eof ? std::string("redis closed the connection")
                                             : "redis read failed: " + io.error.message());
      co_return;
    }
    conn.reader.feed(std::string_view(conn.input.data(), io.bytes));
  }
}

// The single writer: sends what is queued, then whatever was queued during that write, in one
// write each time; sleeps on `wake` when nothing is left.
net::Task<void> RedisRateLimiter::Connection::write_loop(std::shared_ptr<Connection> self) {
  Connection& conn = *self;
  while (!conn.closed) {
    if (conn.output.empty()) {
      conn.writer_idle = true;
      conn.wake.expires_at(Clock::time_point::max());
      (void)co_await conn.wake.async_wait(net::use_task);
      conn.writer_idle = false;
      continue;
    }
    conn.writing.swap(conn.output);
    const net::IoResult io = co_await net::write_all(conn.socket, conn.writing);
    conn.writing.clear();
    if (conn.closed) co_return;
    if (io.error) {
      conn.fail("redis write failed: " + io.error.message());
      co_return;
    }
  }
}

RedisRateLimiter::RedisRateLimiter(net::Executor executor, RedisEndpoint endpoint,
                                   milliseconds timeout, Options options)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      timeout_(std::max(timeout, milliseconds(1))),
      options_(std::move(options)),
      random_(std::random_device{}()) {
  options_.backoff_initial = std::max(options_.backoff_initial, milliseconds(1));
  options_.backoff_max = std::max(options_.backoff_max, options_.backoff_initial);
  options_.max_pending = std::max<std::size_t>(options_.max_pending, 1);
}

RedisRateLimiter::~RedisRateLimiter() {
  if (conn_) conn_->fail("redis client closed");
}

bool RedisRateLimiter::in_backoff() const {
  return backoff_.count() > 0 && Clock::now() < retry_at_;
}

void RedisRateLimiter::close() {
  if (conn_) conn_->fail("redis connection closed");
  conn_.reset();
}

std::shared_ptr<RedisRateLimiter::Connection> RedisRateLimiter::open() {
  auto conn = std::make_shared<Connection>(executor_, endpoint_);
  conn->queue_handshake();
  asio::co_spawn(executor_, Connection::run(conn), asio::detached);
  return conn;
}

void RedisRateLimiter::note_up(Connection& conn) {
  if (conn.counted) return;
  conn.counted = true;
  ++stats_.connects;
  healthy_ = true;
  backoff_ = milliseconds(0);
}

void RedisRateLimiter::note_broken(const std::shared_ptr<Connection>& conn) {
  if (conn != conn_ || !conn->broken) return;  // already noted, closed by close(), or idle
  conn_.reset();
  if (!conn->ready) ++stats_.connect_failures;
  healthy_ = false;
  backoff_ = backoff_.count() == 0 ? options_.backoff_initial : std::min(backoff_ * 2, options_.backoff_max);
  const auto low = backoff_.count() / 2;
  std::uniform_int_distribution<std::int64_t> jitter(low, backoff_.count());
  retry_at_ = Clock::now() + milliseconds(jitter(random_));
}

RedisLimitResult RedisRateLimiter::failure(std::string error) {
  ++stats_.failures;
  RedisLimitResult result;
  result.error = std::move(error);
  return result;
}

net::Task<RedisLimitResult> RedisRateLimiter::decide(std::span<const BucketRequest> levels) {
  RedisLimitResult result;
  if (levels.empty()) {
    result.ok = true;
    result.allowed = true;
    co_return result;
  }
  ++stats_.calls;
  if (levels.size() > TokenBucketTable::kMaxBucketsPerDecision) {
    co_return failure("too many rate-limit levels for one decision");
  }
  const auto deadline = Clock::now() + timeout_;
  if (conn_ && conn_->closed) {
    note_broken(conn_);  // its calls have not all resumed yet: back off now
    conn_.reset();       // or the server closed an idle connection: just open another
  }
  if (in_backoff()) {
    ++stats_.skipped;
    co_return failure("redis unavailable (reconnect backoff)");
  }
  if (!conn_) conn_ = open();
  const std::shared_ptr<Connection> conn = conn_;
  if (conn->calls >= options_.max_pending) {
    ++stats_.overflows;
    co_return failure("redis pipeline full (" + std::to_string(options_.max_pending) + " calls pending)");
  }
  const auto call = std::make_shared<Call>(executor_, deadline, levels.size());
  conn->queue_eval(call, levels, options_.key_prefix);
  stats_.max_in_flight = std::max<std::uint64_t>(stats_.max_in_flight, conn->calls);

  bool retried = false;
  for (;;) {
    if (!call->done) (void)co_await call->waker.async_wait(net::use_task);
    if (!call->done) {
      // The deadline passed first. The replies queued behind this one are late too, and the
      // stream cannot skip a reply: drop the connection.
      assert(!conn->closed);  // closing it would have answered this call
      ++stats_.timeouts;
      std::string error = conn->ready ? "timeout waiting for redis" : "timeout connecting to redis";
      conn->fail(error);
      note_broken(conn);
      co_return failure(std::move(error));
    }
    if (!call->reply) {
      note_broken(conn);
      co_return failure(call->error);
    }
    note_up(*conn);
    const redisReply& reply = *call->reply;
    if (reply.type != REDIS_REPLY_ERROR) break;
    const std::string_view text = text_of(reply);
    if (!text.starts_with("NOSCRIPT") || retried) co_return failure("redis error: " + std::string(text));
    if (conn->closed) {
      note_broken(conn);
      co_return failure(conn->error);
    }
    // The script cache was flushed: load the script again, unless a call answered NOSCRIPT
    // before already queued a load behind this call's EVALSHA, and retry once.
    retried = true;
    if (conn->script_load_at < call->sequence) {
      conn->queue_script_load();
      ++stats_.script_loads;
    }
    call->done = false;
    call->reply.reset();
    conn->queue_eval(call, levels, options_.key_prefix);
  }

  // {allowed, refused, then remaining, retry_after, reset per level}: the reader checked the shape.
  const redisReply& reply = *call->reply;
  const std::size_t count = levels.size();
  auto item = [&](std::size_t i) { return static_cast<std::int64_t>(reply.element[i]->integer); };
  result.ok = true;
  result.allowed = item(0) == 1;
  result.refused = static_cast<std::size_t>(item(1));
  result.count = count;
  result.remaining = INT64_MAX;
  for (std::size_t i = 0; i < count; ++i) {
    RateLimitDecision& decision = result.levels[i];
    const std::int64_t remaining = item(2 + 3 * i);
    const std::int64_t retry = item(3 + 3 * i);
    const std::int64_t reset = item(4 + 3 * i);
    decision.limit = levels[i].capacity;
    decision.remaining = static_cast<std::uint64_t>(remaining);
    decision.retry_after = milliseconds(retry);
    decision.reset = milliseconds(reset);
    decision.allowed = result.allowed || retry == 0;
    result.remaining = std::min(result.remaining, remaining);
    result.reset_ms = std::max(result.reset_ms, reset);
  }
  if (!result.allowed) result.retry_after_ms = item(3 + 3 * result.refused);
  co_return result;
}

}  // namespace flexgate::policy
