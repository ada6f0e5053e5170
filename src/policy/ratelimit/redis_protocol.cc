#include "policy/ratelimit/redis_protocol.h"

#include <charconv>
#include <limits>

namespace flexgate::policy {

std::string encode_redis_command(std::span<const std::string_view> args) {
  std::size_t size = 16;
  for (auto arg : args) size += arg.size() + 24;
  std::string out;
  out.reserve(size);
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

std::string encode_redis_command(std::initializer_list<std::string_view> args) {
  return encode_redis_command(std::span<const std::string_view>(args.begin(), args.size()));
}

namespace {

// Strict decimal int64: optional '-', then at least one digit, nothing else.
bool parse_int(std::string_view text, std::int64_t& out) {
  if (text.empty() || text.front() == '+') return false;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (*first == '-' && text.size() == 1) return false;
  auto [end, ec] = std::from_chars(first, last, out);
  return ec == std::errc{} && end == last;
}

}  // namespace

void RespParser::reset() {
  buffer_.clear();
  consumed_ = 0;
  failed_ = false;
  error_.clear();
}

void RespParser::feed(std::string_view bytes) {
  if (failed_) return;
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  if (buffered() + bytes.size() > limits_.max_buffered) {
    fail("reply larger than " + std::to_string(limits_.max_buffered) + " bytes");
    return;
  }
  buffer_.append(bytes);
}

RespParser::Parse RespParser::fail(std::string message) {
  failed_ = true;
  error_ = "redis protocol error: " + std::move(message);
  return Parse::kBad;
}

RespParser::Status RespParser::next(RedisReply& out) {
  if (failed_) return Status::kError;
  std::size_t at = consumed_;
  RedisReply reply;
  switch (parse(at, reply, 0)) {
    case Parse::kOk:
      consumed_ = at;
      out = std::move(reply);
      return Status::kReply;
    case Parse::kIncomplete:
      return Status::kNeedMore;
    case Parse::kBad:
      break;
  }
  return Status::kError;
}

// The line starting at `at` up to (not including) its CRLF; `at` moves past the CRLF.
RespParser::Parse RespParser::line(std::size_t& at, std::string_view& out) {
  const std::string_view rest = std::string_view(buffer_).substr(at);
  const std::size_t limit = limits_.max_bulk + 64;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (i > limit) return fail("line too long");
    if (rest[i] == '\n') return fail("bare LF in a line");
    if (rest[i] == '\r') {
      if (i + 1 == rest.size()) return Parse::kIncomplete;
      if (rest[i + 1] != '\n') return fail("bare CR in a line");
      out = rest.substr(0, i);
      at += i + 2;
      return Parse::kOk;
    }
  }
  if (rest.size() > limit) return fail("line too long");
  return Parse::kIncomplete;
}

RespParser::Parse RespParser::parse(std::size_t& at, RedisReply& out, std::size_t depth) {
  if (at >= buffer_.size()) return Parse::kIncomplete;
  const char type = buffer_[at];
  std::size_t cursor = at + 1;
  std::string_view text;
  if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') {
    return fail("unknown reply type byte " + std::to_string(static_cast<unsigned char>(type)));
  }
  if (Parse result = line(cursor, text); result != Parse::kOk) return result;
  switch (type) {
    case '+':
    case '-':
      out.type = type == '+' ? RedisReply::Type::kSimple : RedisReply::Type::kError;
      out.text.assign(text);
      at = cursor;
      return Parse::kOk;
    case ':':
      if (!parse_int(text, out.integer)) return fail("bad integer");
      out.type = RedisReply::Type::kInteger;
      at = cursor;
      return Parse::kOk;
    case '$': {
      std::int64_t length = 0;
      if (!parse_int(text, length) || length < -1) return fail("bad bulk length");
      if (length == -1) {
        out.type = RedisReply::Type::kNil;
        at = cursor;
        return Parse::kOk;
      }
      if (static_cast<std::uint64_t>(length) > limits_.max_bulk) return fail("bulk string too long");
      const std::size_t size = static_cast<std::size_t>(length);
      if (buffer_.size() - cursor < size + 2) return Parse::kIncomplete;
      if (buffer_[cursor + size] != '\r' || buffer_[cursor + size + 1] != '\n') {
        return fail("bulk string not followed by CRLF");
      }
      out.type = RedisReply::Type::kBulk;
      out.text.assign(buffer_, cursor, size);
      at = cursor + size + 2;
      return Parse::kOk;
    }
    default: {  // '*'
      std::int64_t count = 0;
      if (!parse_int(text, count) || count < -1) return fail("bad array length");
      if (count == -1) {
        out.type = RedisReply::Type::kNil;
        at = cursor;
        return Parse::kOk;
      }
      if (static_cast<std::uint64_t>(count) > limits_.max_elements) return fail("array too long");
      if (depth + 1 > limits_.max_depth) return fail("arrays nested too deep");
      out.type = RedisReply::Type::kArray;
      out.elements.clear();
      out.elements.reserve(static_cast<std::size_t>(count));
      for (std::int64_t i = 0; i < count; ++i) {
        RedisReply element;
        if (Parse result = parse(cursor, element, depth + 1); result != Parse::kOk) return result;
        out.elements.push_back(std::move(element));
      }
      at = cursor;
      return Parse::kOk;
    }
  }
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
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      char c = url[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (starts_with_nocase(kTlsScheme)) return bad("rediss:// is refused: TLS not supported yet");
  if (!starts_with_nocase(kScheme)) return bad("redis URL must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("redis URL: query and fragment are not supported");
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("redis URL: control or space character");
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
      if (!percent_decode(userinfo, endpoint.password)) return bad("redis URL: bad percent-encoding in password");
    } else {
      if (!percent_decode(userinfo.substr(0, colon), endpoint.username) ||
          !percent_decode(userinfo.substr(colon + 1), endpoint.password)) {
        return bad("redis URL: bad percent-encoding in user or password");
      }
    }
    if (endpoint.password.empty() && !endpoint.username.empty()) return bad("redis URL: user without a password");
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
