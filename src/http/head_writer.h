#pragma once
// HeadWriter: writes the pieces of an HTTP/1.1 message head into a HeadBuffer or a std::string
// through a cursor.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "http/head_buffer.h"
#include "http/message.h"
#include "http/serializer.h"

namespace flexgate::http {

// Appends the pieces of a message head with one bounds check per piece and no std::string call:
// the room is made up front and the head's size set when the writer closes. A head is some twenty
// pieces, and a std::string append costs a capacity check, a size update and a memcpy call each.
// Into a HeadBuffer (the gateway's heads) the room is the one earlier heads left; into a
// std::string it is sized on open, which writes it, and trimmed on close. Either holds exactly
// the bytes written only once the writer is gone.
class HeadWriter {
 public:
  explicit HeadWriter(HeadBuffer& out) : out_(out.storage_), kept_size_(&out.size_) { open(*kept_size_); }
  explicit HeadWriter(std::string& out) : out_(out) { open(out.size()); }
  ~HeadWriter() { close(); }
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  [[gnu::always_inline]] void append(std::string_view text) { copy(claim(text.size()), text); }

  // "Name: value\r\n" (the caller guarantees the name and value are valid).
  [[gnu::always_inline]] void field(std::string_view name, std::string_view value) {
    char* p = claim(name.size() + value.size() + 4);
    p = copy(p, name);
    *p++ = ':';
    *p++ = ' ';
    p = copy(p, value);
    *p++ = '\r';
    *p = '\n';
  }

  // field() for a field the parser produced, its views still into the parsed head: a line
  // already written "Name: value\r\n" there is copied in one piece (most are).
  void parsed_field(const HeaderField& parsed) {
    if (const std::string_view line = canonical_line_in_head(parsed); !line.empty()) {
      append(line);
      return;
    }
    field(parsed.name, parsed.value);
  }

  // "HTTP/1.1 404 Not Found\r\n": one copy from the table for 100..599 (every status a parsed
  // response can carry), else status_line_in_pieces().
  void status_line(std::uint16_t status) {
    if (const std::string_view line = tabled_status_line(status); !line.empty()) {
      append(line);
      return;
    }
    status_line_in_pieces(status);
  }
  // The same line built from its parts: for statuses outside the table, and to build the table.
  void status_line_in_pieces(std::uint16_t status) {
    append("HTTP/1.1 ");
    decimal(status);
    append(" ");
    append(reason_phrase(status));
    append(kCrlf);
  }

  // The decimal digits of `value`.
  void decimal(std::uint64_t value) {
    constexpr std::size_t kMaxDigits = 20;
    char* p = claim(kMaxDigits);
    p_ = std::to_chars(p, p + kMaxDigits, value).ptr;  // cannot fail: 20 digits hold any uint64
  }

  // `n` bytes at the cursor, for the caller to fill (all of them).
  [[gnu::always_inline]] char* claim(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) grow(n);
    char* at = p_;
    p_ += n;
    return at;
  }

  // Bytes in the head so far, those written before the writer opened included.
  std::size_t size() const { return static_cast<std::size_t>(p_ - out_.data()); }

 private:
  // Room made on open and on each growth beyond the need: most heads fit in the first. Sizing a
  // string writes every byte of it, so the room is no larger than a head needs.
  static constexpr std::size_t kRoom = 512;

  [[gnu::always_inline]] static char* copy(char* to, std::string_view from) {
    if (!from.empty()) std::memcpy(to, from.data(), from.size());
    return to + from.size();
  }
  void open(std::size_t used) {
    if (out_.size() < used + kRoom) out_.resize(used + kRoom);  // a HeadBuffer's room is kept
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }
  void close() {
    if (kept_size_ != nullptr) {
      *kept_size_ = size();
    } else {
      out_.resize(size());
    }
  }
  [[gnu::noinline, gnu::cold]] void grow(std::size_t need) {
    const std::size_t used = size();
    out_.resize(std::max(out_.size() * 2, used + need + kRoom));
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }

  std::string& out_;                  // the storage written into
  std::size_t* kept_size_ = nullptr;  // a HeadBuffer's head size (its storage keeps its room)
  char* p_ = nullptr;    // the next byte to write
  char* end_ = nullptr;  // one past the last byte the storage has room for
};

}  // namespace flexgate::http
