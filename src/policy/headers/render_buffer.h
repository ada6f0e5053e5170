#pragma once
// The bytes a header plan renders for one request. Appends are a bounds check and a memcpy (no
// std::string bookkeeping per call: a rendered line is several short pieces); the storage grows
// past the largest request seen so far and is then reused, so a steady connection allocates
// nothing.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace flexgate::policy {

// Why not an http::HeadWriter: this buffer outlives the request (its bytes are read after the
// render, by the head writers of both directions) and never shrinks or zero-fills its storage.
class RenderBuffer {
 public:
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {storage_.data(), size_}; }

  void append(std::string_view bytes) {
    if (bytes.empty()) return;  // (memcpy from a null view is undefined even for 0 bytes)
    if (bytes.size() > storage_.size() - size_) grow(bytes.size());
    std::memcpy(storage_.data() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  // Ends a line: two stores, no memcpy call.
  void append_crlf() {
    if (storage_.size() - size_ < 2) grow(2);
    storage_[size_] = '\r';
    storage_[size_ + 1] = '\n';
    size_ += 2;
  }
  // Drops the bytes after the first `size` (a line that turned out empty).
  void truncate(std::size_t size) { size_ = std::min(size, size_); }

 private:
  void grow(std::size_t more) {
    storage_.resize(std::max({storage_.size() * 2, size_ + more, std::size_t{256}}));
  }

  std::string storage_;  // its size is the capacity; bytes past size_ are stale
  std::size_t size_ = 0;
};

}  // namespace flexgate::policy
