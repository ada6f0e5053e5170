#include "policy/ratelimit/redis_protocol.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cassert>
#include <charconv>

namespace flexgate::policy {

// ---- commands ----

namespace {

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  assert(ec == std::errc{});
  out.append(digits, end);
}

}  // namespace

void append_redis_array_header(std::string& out, std::size_t count) {
  out += '*';
  append_decimal(out, count);
  out += "\r\n";
}

void append_redis_bulk(std::string& out, std::string_view arg, std::string_view prefix) {
  out += '$';
  append_decimal(out, prefix.size() + arg.size());
  out += "\r\n";
  out += prefix;
  out += arg;
  out += "\r\n";
}

void append_redis_bulk(std::string& out, std::uint64_t number) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, number);
  assert(ec == std::errc{});
  append_redis_bulk(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void append_redis_command(std::string& out, std::span<const std::string_view> args) {
  append_redis_array_header(out, args.size());
  for (auto arg : args) append_redis_bulk(out, arg);
}

std::string encode_redis_command(std::span<const std::string_view> args) {
  std::size_t size = 16;
  for (auto arg : args) size += arg.size() + 24;
  std::string out;
  out.reserve(size);
  append_redis_command(out, args);
  return out;
}

std::string encode_redis_command(std::initializer_list<std::string_view> args) {
  return encode_redis_command(std::span<const std::string_view>(args.begin(), args.size()));
}

// ---- replies ----

void RedisReplyDeleter::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

void RedisReplyReader::ReaderDeleter::operator()(redisReader* reader) const {
  redisReaderFree(reader);
}

RedisReply to_redis_reply(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kSimple;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kBulk;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i)
        out.elements.push_back(to_redis_reply(*reply.element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

std::string describe_redis_reply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_ERROR:
      return std::string(reply.str, reply.len);
    case REDIS_REPLY_STATUS:
      return "+" + std::string(reply.str, std::min<std::size_t>(reply.len, 64));
    case REDIS_REPLY_INTEGER:
      return ":" + std::to_string(reply.integer);
    case REDIS_REPLY_STRING:
      return "bulk of " + std::to_string(reply.len) + " bytes";
    case REDIS_REPLY_ARRAY:
      return "array of " + std::to_string(reply.elements);
    case REDIS_REPLY_NIL:
      return "nil";
    default:
      return "reply of type " + std::to_string(reply.type);
  }
}

// hiredis builds replies through a table of functions; ours is hiredis' own (taken from a reader
// made with the defaults, since the table itself is not exported) with createArray checked
// against the limits first. A refused object makes hiredis fail the reader with "Out of memory",
// so the hook leaves the real reason in refusal_.
struct RedisReaderHooks {
  static const redisReplyObjectFunctions& defaults() {
    static const redisReplyObjectFunctions functions = [] {
      redisReader* probe = redisReaderCreate();
      assert(probe != nullptr);
      const redisReplyObjectFunctions copy = *probe->fn;
      redisReaderFree(probe);
      return copy;
    }();
    return functions;
  }

  static redisReplyObjectFunctions* bounded() {
    static redisReplyObjectFunctions functions = [] {
      redisReplyObjectFunctions copy = defaults();
      copy.createArray = &create_array;
      return copy;
    }();
    return &functions;
  }

  static void* create_array(const redisReadTask* task, int elements) {
    auto& self = *static_cast<RedisReplyReader*>(task->privdata);
    std::size_t depth = 1;
    for (const redisReadTask* parent = task->parent; parent != nullptr; parent = parent->parent) ++depth;
    if (elements < 0 || static_cast<std::size_t>(elements) > self.limits_.max_elements) {
      self.refusal_ = "array of " + std::to_string(elements) + " elements (at most " +
                      std::to_string(self.limits_.max_elements) + ")";
      return nullptr;
    }
    if (depth > self.limits_.max_depth) {
      self.refusal_ = "arrays nested deeper than " + std::to_string(self.limits_.max_depth);
      return nullptr;
    }
    return defaults().createArray(task, elements);
  }
};

RedisReplyReader::RedisReplyReader(Limits limits)
    : limits_(limits), reader_(redisReaderCreateWithFunctions(RedisReaderHooks::bounded())) {
  if (!reader_) {
    fail("cannot allocate a reply reader");
    return;
  }
  reader_->privdata = this;  // for the hooks; the reader is neither copied nor moved
}

RedisReplyReader::~RedisReplyReader() = default;

void RedisReplyReader::fail(std::string message) {
  failed_ = true;
  error_ = "redis protocol error: " + std::move(message);
}

void RedisReplyReader::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    fail(reader_->errstr);
    return;
  }
  fed_ += bytes.size();
}

RedisReplyReader::Status RedisReplyReader::next(RedisReplyPtr& out) {
  if (failed_) return Status::kError;
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    fail(refusal_.empty() ? std::string(reader_->errstr) : refusal_);
    return Status::kError;
  }
  if (raw == nullptr) {
    // Checked here rather than in feed(): the bytes of complete replies fed together with a
    // partial one do not count, whatever the size of the reads.
    if (buffered() > limits_.max_buffered) {
      fail("more than " + std::to_string(limits_.max_buffered) + " bytes without a complete reply");
      return Status::kError;
    }
    return Status::kNeedMore;
  }
  out.reset(static_cast<redisReply*>(raw));
  // The reader stops right after the reply it returns: what it still holds comes after it.
  consumed_ = fed_ - (reader_->len - reader_->pos);
  return Status::kReply;
}

RedisReplyReader::Status RedisReplyReader::next(RedisReply& out) {
  RedisReplyPtr reply;
  const Status status = next(reply);
  if (status == Status::kReply) out = to_redis_reply(*reply);
  return status;
}

// ---- redis:// URLs ----

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int high = hex_value(in[i + 1]);
    const int low = hex_value(in[i + 2]);
    if (high < 0 || low < 0) return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& error) {
  auto bad = [&](std::string message) -> std::optional<RedisEndpoint> {
    error = std::move(message);
    return std::nullopt;
  };
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kTlsScheme = "rediss://";
  auto starts_with_nocase = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {  // NOLINT(modernize-loop-convert): i indexes url too
      char c = url[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (starts_with_nocase(kTlsScheme)) return bad("rediss:// is refused: TLS not supported yet");
  if (!starts_with_nocase(kScheme)) return bad("redis URL must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad("redis URL: query and fragment are not supported");
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return bad("redis URL: control or space character");
  }

  RedisEndpoint endpoint;
  std::string_view path;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // redis://secret@host: a lone userinfo is the password (what redis-cli and most clients do).
      if (!percent_decode(userinfo, endpoint.password))
        return bad("redis URL: bad percent-encoding in password");
    } else {
      if (!percent_decode(userinfo.substr(0, colon), endpoint.username) ||
          !percent_decode(userinfo.substr(colon + 1), endpoint.password)) {
        return bad("redis URL: bad percent-encoding in user or password");
      }
    }
    if (endpoint.password.empty() && !endpoint.username.empty())
      return bad("redis URL: user without a password");
  }

  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("redis URL: unterminated [IPv6] host");
    endpoint.host.assign(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("redis URL: junk after [IPv6] host");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("redis URL: empty port");
    }
    if (endpoint.host.find(':') == std::string::npos) return bad("redis URL: [..] must hold an IPv6 address");
  } else {
    const std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return bad("redis URL: empty port");
      rest = rest.substr(0, colon);
    }
    endpoint.host.assign(rest);
    if (endpoint.host.find_first_of("[]@") != std::string::npos) return bad("redis URL: bad host");
  }
  if (endpoint.host.empty()) return bad("redis URL: missing host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return bad("redis URL: port must be 1-65535");
    }
    endpoint.port = static_cast<std::uint16_t>(port);
  }
  if (!path.empty()) {
    int db = 0;
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc{} || end != path.data() + path.size() || db < 0 || path.front() == '+') {
      return bad("redis URL: database must be a non-negative number");
    }
    endpoint.db = db;
  }
  return endpoint;
}

}  // namespace flexgate::policy
