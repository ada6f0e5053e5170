#pragma once
// Redis wire protocol (RESP2) without I/O: a command encoder, the reply reader (hiredis' sans-I/O
// reader behind an RAII wrapper that adds size limits), the RedisReply value type and the
// redis:// URL of `rateLimit.redis.url`. No Asio here, so config validation and tests can use it
// directly. hiredis' headers stay in the .cc files: its macros (REDIS_OK...) do not leak.
//
// The reader fails for good on a protocol error (hiredis cannot resynchronise a stream), and the
// connection must then be dropped. Memory is bounded: more than max_buffered bytes held without
// a complete reply, an array longer than max_elements or nested deeper than max_depth is a
// protocol error, so a hostile or broken server cannot make it allocate without limit.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;
struct redisReply;

namespace flexgate::policy {

struct RedisReply {
  enum class Type : std::uint8_t { kSimple, kError, kInteger, kBulk, kNil, kArray };
  Type type = Type::kNil;
  std::string text;                  // kSimple, kError, kBulk
  std::int64_t integer = 0;          // kInteger
  std::vector<RedisReply> elements;  // kArray

  bool is_error() const { return type == Type::kError; }
};

// Commands are encoded by hand rather than with redisFormatCommandArgv: the encoding is a dozen
// lines (an array of bulk strings), and appending into the connection's reused output buffer
// saves the malloc/free per command and the argv/argvlen arrays hiredis would need.
//
// `*N\r\n$len\r\narg\r\n...`: the form every Redis command is sent in (binary safe).
void append_redis_command(std::string& out, std::span<const std::string_view> args);
std::string encode_redis_command(std::span<const std::string_view> args);
std::string encode_redis_command(std::initializer_list<std::string_view> args);
// The same, piece by piece: the `*N\r\n` header, then N arguments. `prefix` is sent in front of
// `arg` as one argument (a key prefix needs no temporary string).
void append_redis_array_header(std::string& out, std::size_t count);
void append_redis_bulk(std::string& out, std::string_view arg, std::string_view prefix = {});
void append_redis_bulk(std::string& out, std::uint64_t number);

// Owns a reply object from hiredis' reader (freeReplyObject).
struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// The value form of a hiredis reply (deep copy).
RedisReply to_redis_reply(const redisReply& reply);
// A short description of a reply for error messages: the error text, "+OK", ":5", "nil"...
std::string describe_redis_reply(const redisReply& reply);

// Bytes in, replies out: hiredis' reader (redisReaderCreate / redisReaderFeed /
// redisReaderGetReply) plus the limits above.
class RedisReplyReader {
 public:
  struct Limits {
    std::size_t max_buffered = 4 << 20;  // bytes held waiting for a complete reply
    std::size_t max_elements = 1024;     // elements in one array
    std::size_t max_depth = 4;           // nested arrays (hiredis itself stops at 7)
  };
  enum class Status : std::uint8_t { kNeedMore, kReply, kError };

  RedisReplyReader() : RedisReplyReader(Limits{}) {}
  explicit RedisReplyReader(Limits limits);
  ~RedisReplyReader();
  RedisReplyReader(const RedisReplyReader&) = delete;
  RedisReplyReader& operator=(const RedisReplyReader&) = delete;

  // Appends received bytes. Fails the reader when more than max_buffered bytes would be held
  // without a complete reply.
  void feed(std::string_view bytes);
  // The next complete reply into `out` (kReply), kNeedMore, or kError (see error()).
  Status next(RedisReplyPtr& out);
  // The same, as a value.
  Status next(RedisReply& out);

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  // Bytes received since the end of the last complete reply.
  std::size_t buffered() const { return static_cast<std::size_t>(fed_ - consumed_); }

 private:
  struct ReaderDeleter {
    void operator()(redisReader* reader) const;
  };
  friend struct RedisReaderHooks;
  void fail(std::string message);

  Limits limits_;
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::uint64_t fed_ = 0;       // bytes fed so far
  std::uint64_t consumed_ = 0;  // of which ended a complete reply
  bool failed_ = false;
  std::string error_;
  std::string refusal_;  // why a hook refused an object (hiredis itself would say "Out of memory")
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
