#include "policy/ratelimit/redis_rate_limiter.h"

#include <algorithm>
#include <cmath>
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

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct RedisRateLimiter::Connection {
  explicit Connection(const asio::any_io_executor& executor) : socket(executor), resolver(executor) {}
  net::tcp::socket socket;
  net::tcp::resolver resolver;
  RespParser parser;
  std::array<char, 4096> buffer{};
  bool ready = false;      // handshake done
  bool timed_out = false;  // the deadline closed it
  void shut() {
    std::error_code ignored;
    resolver.cancel();
    socket.close(ignored);
  }
};

// One coroutine waiting for its turn. Removes itself from the queue if it goes away without
// being granted; passes the turn on if it was granted but never took it (frame destroyed).
struct RedisRateLimiter::Waiter {
  Waiter(RedisRateLimiter& owner, Clock::time_point deadline) : owner(owner), timer(owner.executor_, deadline) {}
  ~Waiter() {
    if (granted && !taken) {
      owner.release_turn();
    } else if (!granted) {
      auto& queue = owner.waiters_;
      queue.erase(std::remove(queue.begin(), queue.end(), this), queue.end());
    }
  }
  RedisRateLimiter& owner;
  asio::steady_timer timer;
  bool granted = false;
  bool taken = false;
};

// Holds the turn for the rest of a decide() call.
class RedisRateLimiter::Turn {
 public:
  explicit Turn(RedisRateLimiter& owner) : owner_(owner) {}
  ~Turn() {
    owner_.disarm();
    owner_.release_turn();
  }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

 private:
  RedisRateLimiter& owner_;
};

RedisRateLimiter::RedisRateLimiter(const asio::any_io_executor& executor, RedisEndpoint endpoint,
                                   milliseconds timeout, Options options)
    : executor_(executor),
      endpoint_(std::move(endpoint)),
      timeout_(std::max(timeout, milliseconds(1))),
      options_(std::move(options)),
      timer_(executor),
      random_(std::random_device{}()) {
  options_.backoff_initial = std::max(options_.backoff_initial, milliseconds(1));
  options_.backoff_max = std::max(options_.backoff_max, options_.backoff_initial);
}

RedisRateLimiter::~RedisRateLimiter() {
  if (conn_) conn_->shut();
}

bool RedisRateLimiter::in_backoff() const { return backoff_.count() > 0 && Clock::now() < retry_at_; }

void RedisRateLimiter::close() {
  if (conn_) conn_->shut();
  conn_.reset();
}

net::Task<bool> RedisRateLimiter::wait_turn(Clock::time_point deadline) {
  if (!busy_) {
    busy_ = true;
    co_return true;
  }
  Waiter waiter(*this, deadline);
  waiters_.push_back(&waiter);
  (void)co_await waiter.timer.async_wait(net::use_task);
  if (!waiter.granted) co_return false;  // timed out in the queue (the destructor dequeues it)
  waiter.taken = true;
  co_return true;
}

void RedisRateLimiter::release_turn() {
  if (waiters_.empty()) {
    busy_ = false;
    return;
  }
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;  // busy_ stays true: the turn passes straight to `next`
  next->timer.cancel();
}

void RedisRateLimiter::arm(Clock::time_point deadline) {
  const std::uint64_t generation = ++arm_generation_;
  timer_.expires_at(deadline);
  timer_.async_wait([weak = std::weak_ptr<Connection>(conn_), generation, this](std::error_code ec) {
    if (ec) return;
    auto conn = weak.lock();  // gone: the limiter (or that connection) no longer exists
    if (!conn || generation != arm_generation_) return;
    conn->timed_out = true;
    conn->shut();
  });
}

void RedisRateLimiter::disarm() {
  ++arm_generation_;
  timer_.cancel();
}

void RedisRateLimiter::fail_connection() {
  if (conn_) conn_->shut();
  conn_.reset();
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

net::Task<std::string> RedisRateLimiter::send(std::string_view bytes) {
  const std::shared_ptr<Connection> hold = conn_;  // close() may drop conn_ while this waits
  Connection& conn = *hold;
  const net::IoResult io = co_await net::write_all(conn.socket, bytes);
  if (!io.error) co_return std::string{};
  co_return conn.timed_out ? std::string("timeout") : "redis write failed: " + io.error.message();
}

net::Task<std::optional<RedisReply>> RedisRateLimiter::read_reply(std::string& error, bool first) {
  const std::shared_ptr<Connection> hold = conn_;  // close() may drop conn_ while this waits
  Connection& conn = *hold;
  RedisReply reply;
  for (;;) {
    switch (conn.parser.next(reply)) {
      case RespParser::Status::kReply:
        co_return reply;
      case RespParser::Status::kError:
        error = conn.parser.error();
        co_return std::nullopt;
      case RespParser::Status::kNeedMore:
        break;
    }
    const std::span<char> buffer(conn.buffer);
    const net::IoResult io =
        first ? co_await net::read_after_wait(conn.socket, buffer) : co_await net::read_some(conn.socket, buffer);
    first = false;
    if (io.error) {
      if (conn.timed_out) {
        error = "timeout";
      } else if (io.error == asio::error::eof) {
        error = "redis closed the connection";
      } else {
        error = "redis read failed: " + io.error.message();
      }
      co_return std::nullopt;
    }
    conn.parser.feed(std::string_view(conn.buffer.data(), io.bytes));
  }
}

namespace {

bool is_sha(const RedisReply& reply) {
  return reply.type == RedisReply::Type::kBulk && reply.text.size() == 40 &&
         std::all_of(reply.text.begin(), reply.text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string describe(const RedisReply& reply) {
  switch (reply.type) {
    case RedisReply::Type::kError:
      return reply.text;
    case RedisReply::Type::kSimple:
      return "+" + reply.text.substr(0, 64);
    case RedisReply::Type::kInteger:
      return ":" + std::to_string(reply.integer);
    case RedisReply::Type::kBulk:
      return "bulk of " + std::to_string(reply.text.size()) + " bytes";
    case RedisReply::Type::kNil:
      return "nil";
    case RedisReply::Type::kArray:
      return "array of " + std::to_string(reply.elements.size());
  }
  return "?";
}

}  // namespace

// Resolve, connect, then AUTH / SELECT / SCRIPT LOAD in one write. "" on success.
net::Task<std::string> RedisRateLimiter::connect() {
  const std::shared_ptr<Connection> hold = conn_;  // close() may drop conn_ while this waits
  Connection& conn = *hold;
  std::vector<net::tcp::endpoint> endpoints;
  std::error_code ec;
  const auto address = net::ip::make_address(endpoint_.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, endpoint_.port);
  } else {
    auto [resolve_ec, results] =
        co_await conn.resolver.async_resolve(endpoint_.host, std::to_string(endpoint_.port), net::use_task);
    if (resolve_ec) {
      co_return conn.timed_out ? std::string("timeout")
                               : "cannot resolve redis host " + endpoint_.host + ": " + resolve_ec.message();
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  std::string error = "no address for redis host " + endpoint_.host;
  bool connected = false;
  for (const auto& endpoint : endpoints) {
    const std::error_code connect_ec = co_await net::connect(conn.socket, endpoint);
    if (!connect_ec) {
      connected = true;
      break;
    }
    if (conn.timed_out) co_return std::string("timeout");
    error = "cannot connect to redis at " + endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " +
            connect_ec.message();
    std::error_code ignored;
    conn.socket.close(ignored);
  }
  if (!connected) co_return error;

  std::string handshake;
  std::size_t replies = 0;
  if (!endpoint_.password.empty()) {
    handshake += endpoint_.username.empty() ? encode_redis_command({"AUTH", endpoint_.password})
                                            : encode_redis_command({"AUTH", endpoint_.username, endpoint_.password});
    ++replies;
  }
  std::string db;
  if (endpoint_.db != 0) {
    db = std::to_string(endpoint_.db);
    handshake += encode_redis_command({"SELECT", db});
    ++replies;
  }
  handshake += encode_redis_command({"SCRIPT", "LOAD", kRedisTokenBucketScript});
  ++replies;
  if (std::string write_error = co_await send(handshake); !write_error.empty()) co_return write_error;
  std::string first_error;
  for (std::size_t i = 0; i < replies; ++i) {
    std::string read_error;
    auto reply = co_await read_reply(read_error, i == 0);
    if (!reply) co_return read_error;
    const bool last = i + 1 == replies;
    if (!last) {  // AUTH / SELECT answer +OK
      if ((reply->type != RedisReply::Type::kSimple || reply->text != "OK") && first_error.empty()) {
        first_error = "redis handshake refused: " + describe(*reply);
      }
    } else if (!is_sha(*reply)) {
      if (first_error.empty()) first_error = "redis SCRIPT LOAD failed: " + describe(*reply);
    } else {
      script_sha_ = reply->text;
    }
  }
  if (!first_error.empty()) co_return first_error;
  conn.ready = true;
  co_return std::string{};
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
  if (in_backoff()) {
    ++stats_.skipped;
    co_return failure("redis unavailable (reconnect backoff)");
  }
  if (!co_await wait_turn(deadline)) {
    ++stats_.timeouts;
    co_return failure("timeout waiting for the redis connection");
  }
  Turn turn(*this);
  // The call before this one may have failed while this one waited.
  if (in_backoff()) {
    ++stats_.skipped;
    co_return failure("redis unavailable (reconnect backoff)");
  }
  if (Clock::now() >= deadline) {
    ++stats_.timeouts;
    co_return failure("timeout waiting for the redis connection");
  }

  // Any error below that is not a Redis error reply leaves the stream unusable.
  auto broken = [&](std::string error, bool connecting) {
    if (error == "timeout") {
      ++stats_.timeouts;
      error = connecting ? "timeout connecting to redis" : "timeout waiting for redis";
    }
    if (connecting) ++stats_.connect_failures;
    fail_connection();
    return failure(std::move(error));
  };

  if (!conn_ || !conn_->ready) {
    if (conn_) conn_->shut();
    conn_ = std::make_shared<Connection>(executor_);
    arm(deadline);
    if (std::string error = co_await connect(); !error.empty()) co_return broken(std::move(error), true);
    ++stats_.connects;
    healthy_ = true;
    backoff_ = milliseconds(0);
  } else {
    arm(deadline);
  }

  // EVALSHA sha n key... capacity window ...
  std::vector<std::string> owned;
  owned.reserve(levels.size() * 3 + 1);
  owned.push_back(std::to_string(levels.size()));
  for (const auto& level : levels) owned.push_back(options_.key_prefix + std::string(level.key));
  for (const auto& level : levels) {
    owned.push_back(std::to_string(level.capacity));
    owned.push_back(std::to_string(std::max<std::int64_t>(level.window.count(), 1)));
  }
  std::vector<std::string_view> args;
  args.reserve(owned.size() + 2);
  args.push_back("EVALSHA");
  args.push_back(script_sha_);
  for (const auto& arg : owned) args.push_back(arg);
  const std::string command = encode_redis_command(args);

  if (std::string error = co_await send(command); !error.empty()) co_return broken(std::move(error), false);
  std::string read_error;
  auto reply = co_await read_reply(read_error, true);
  if (!reply) co_return broken(std::move(read_error), false);
  if (reply->is_error() && reply->text.starts_with("NOSCRIPT")) {
    // The script cache was flushed: load it again and retry once, in one write.
    ++stats_.script_loads;
    std::string retry = encode_redis_command({"SCRIPT", "LOAD", kRedisTokenBucketScript});
    retry += command;  // the sha is the SHA1 of the script text, so it does not change
    if (std::string error = co_await send(retry); !error.empty()) co_return broken(std::move(error), false);
    auto loaded = co_await read_reply(read_error, true);
    if (!loaded) co_return broken(std::move(read_error), false);
    reply = co_await read_reply(read_error, false);
    if (!reply) co_return broken(std::move(read_error), false);
    if (!is_sha(*loaded)) co_return failure("redis SCRIPT LOAD failed: " + describe(*loaded));
    if (loaded->text != script_sha_) {
      // Not the sha the retried EVALSHA named: remember it; this call fails, the next one works.
      script_sha_ = loaded->text;
      co_return failure("redis SCRIPT LOAD returned a different sha");
    }
  }
  disarm();
  if (reply->is_error()) co_return failure("redis error: " + reply->text);

  // {allowed, refused, then remaining, retry_after, reset per level}
  const std::size_t count = levels.size();
  const auto& items = reply->elements;
  const bool shape_ok = reply->type == RedisReply::Type::kArray && items.size() == 2 + 3 * count &&
                        std::all_of(items.begin(), items.end(),
                                    [](const RedisReply& item) { return item.type == RedisReply::Type::kInteger; }) &&
                        (items[0].integer == 0 || items[0].integer == 1) && items[1].integer >= 0 &&
                        static_cast<std::uint64_t>(items[1].integer) <= count &&
                        (items[0].integer == 1) == (static_cast<std::size_t>(items[1].integer) == count) &&
                        std::all_of(items.begin() + 2, items.end(),
                                    [](const RedisReply& item) { return item.integer >= 0; });
  if (!shape_ok) co_return failure("unexpected reply to the rate-limit script: " + describe(*reply));

  result.ok = true;
  result.allowed = items[0].integer == 1;
  result.refused = static_cast<std::size_t>(items[1].integer);
  result.count = count;
  result.remaining = INT64_MAX;
  for (std::size_t i = 0; i < count; ++i) {
    RateLimitDecision& decision = result.levels[i];
    const std::int64_t remaining = items[2 + 3 * i].integer;
    const std::int64_t retry = items[3 + 3 * i].integer;
    const std::int64_t reset = items[4 + 3 * i].integer;
    decision.limit = levels[i].capacity;
    decision.remaining = static_cast<std::uint64_t>(remaining);
    decision.retry_after = milliseconds(retry);
    decision.reset = milliseconds(reset);
    decision.allowed = result.allowed || retry == 0;
    result.remaining = std::min(result.remaining, remaining);
    result.reset_ms = std::max(result.reset_ms, reset);
  }
  if (!result.allowed) result.retry_after_ms = items[3 + 3 * result.refused].integer;
  co_return result;
}

}  // namespace flexgate::policy
