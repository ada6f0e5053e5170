#pragma once
// Redis wire protocol (RESP2) without I/O: a command encoder, a strict incremental reply parser
// (bytes in, replies out) and the redis:// URL of `rateLimit.redis.url`. No Asio here, so config
// validation and tests can use it directly.
//
// The parser is strict: a line must end in CRLF, a length or integer is an optional '-' and
// decimal digits that fit in int64, a simple string or error has no CR/LF inside, a bulk string is
// followed by CRLF, and the type byte is one of + - : $ *. Anything else is a protocol error: the
// parser then stays failed (the stream cannot be resynchronised) and the connection must be
// dropped. Sizes are bounded (bulk length, array length, nesting depth, buffered bytes) so a
// hostile or broken server cannot make it allocate without limit.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flexgate::policy {

struct RedisReply {
  enum class Type : std::uint8_t { kSimple, kError, kInteger, kBulk, kNil, kArray };
  Type type = Type::kNil;
  std::string text;                 // kSimple, kError, kBulk
  std::int64_t integer = 0;         // kInteger
  std::vector<RedisReply> elements; // kArray

  bool is_error() const { return type == Type::kError; }
};

// `*N\r\n$len\r\narg\r\n...`: the form every Redis command is sent in (binary safe).
std::string encode_redis_command(std::span<const std::string_view> args);
std::string encode_redis_command(std::initializer_list<std::string_view> args);

class RespParser {
 public:
  struct Limits {
    std::size_t max_bulk = 1 << 20;         // bytes in one bulk string
    std::size_t max_elements = 1024;        // elements in one array
    std::size_t max_depth = 4;              // nested arrays
    std::size_t max_buffered = 4 << 20;     // bytes held waiting for a complete reply
  };
  enum class Status : std::uint8_t { kNeedMore, kReply, kError };

  RespParser() = default;
  explicit RespParser(Limits limits) : limits_(limits) {}

  // Appends received bytes. Fails the parser when more than max_buffered bytes would be waiting.
  void feed(std::string_view bytes);
  // The next complete reply into `out` (kReply), kNeedMore, or kError (see error()).
  Status next(RedisReply& out);

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  void reset();

 private:
  enum class Parse : std::uint8_t { kOk, kIncomplete, kBad };
  Parse parse(std::size_t& at, RedisReply& out, std::size_t depth);
  Parse line(std::size_t& at, std::string_view& out);
  Parse fail(std::string message);

  Limits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  bool failed_ = false;
  std::string error_;
};

// Where the shared rate limiter lives: redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  std::uint16_t port = 6379;
  std::string username;  // "" = AUTH with the password only
  std::string password;  // "" = no AUTH
  int db = 0;            // SELECT when not 0
};

// Parses `url`; nullopt with `error` set when it is not a usable redis:// URL. rediss:// (TLS) is
// refused ("TLS not supported yet"). The password and user may be percent-encoded.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& error);

}  // namespace flexgate::policy
