#pragma once
// HeadBuffer: a message head's bytes, in storage reused from one head to the next.

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace flexgate::http {

class HeadWriter;

// The bytes of one outgoing message head (a request head to an upstream, a response head to a
// client), rewritten for every message on a connection. Its storage keeps the size of the largest
// head written so far and the head is a prefix of it, so a HeadWriter finds its room already
// there: sizing a std::string for a head writes every byte of the room first (C++20's string
// cannot grow without writing), 512 bytes per head that is about to overwrite them anyway.
class HeadBuffer {
 public:
  std::string_view view() const { return {storage_.data(), size_}; }
  std::size_t size() const { return size_; }

  void clear() { size_ = 0; }

  // Replaces the `length` bytes at `at` with `with` (a retry's Host value for another target).
  void replace(std::size_t at, std::size_t length, std::string_view with) {
    assert(at + length <= size_);
    const std::size_t tail = size_ - at - length;
    const std::size_t new_size = size_ - length + with.size();
    if (storage_.size() < new_size) storage_.resize(std::max(new_size, storage_.size() * 2));
    char* bytes = storage_.data();
    std::memmove(bytes + at + with.size(), bytes + at + length, tail);
    if (!with.empty()) std::memcpy(bytes + at, with.data(), with.size());
    size_ = new_size;
  }

 private:
  friend class HeadWriter;  // writes into storage_ and sets size_ when it closes

  std::string storage_;   // its size is the room: the bytes past size_ are left from earlier heads
  std::size_t size_ = 0;  // the head's bytes: storage_[0, size_)
};

}  // namespace flexgate::http
