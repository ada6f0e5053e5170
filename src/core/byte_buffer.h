#pragma once
// A flat, fixed-capacity byte buffer reused for the life of a connection: reads land in
// writable(), parsers look at readable(), consume() drops what was handled. No reallocation, so
// views into readable() stay valid until consume(), compact() or writable() (which may compact).

#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace flexgate {

class ByteBuffer {
 public:
  explicit ByteBuffer(std::size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}
  // A buffer on lent storage of `capacity` bytes (core/block_pool.h).
  ByteBuffer(std::unique_ptr<char[]> storage, std::size_t capacity) : data_(std::move(storage)), capacity_(capacity) {
    assert(data_ != nullptr);
  }

  // Lending: an idle connection gives its storage back (the buffer is emptied) and takes storage
  // of the same capacity again before its next read. Nothing may be read into a buffer without.
  bool has_storage() const { return data_ != nullptr; }
  std::unique_ptr<char[]> release_storage() {
    start_ = end_ = 0;
    return std::move(data_);
  }
  void adopt_storage(std::unique_ptr<char[]> storage) {
    assert(data_ == nullptr && storage != nullptr);
    data_ = std::move(storage);
  }

  std::string_view readable() const { return {data_.get() + start_, end_ - start_}; }
  std::size_t readable_size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }

  // Free space after the data; compacts first when the tail is short.
  std::span<char> writable() {
    if (capacity_ - end_ < capacity_ / 4 && start_ > 0) compact();
    return {data_.get() + end_, capacity_ - end_};
  }
  void commit(std::size_t n) {
    assert(end_ + n <= capacity_);
    end_ += n;
  }
  void consume(std::size_t n) {
    assert(start_ + n <= end_);
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  // Moves the unread bytes to the front (invalidates views into readable()).
  void compact() {
    if (start_ == 0) return;
    std::memmove(data_.get(), data_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  void clear() { start_ = end_ = 0; }
  std::size_t capacity() const { return capacity_; }
  bool full() const { return start_ == 0 && end_ == capacity_; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
};

}  // namespace flexgate
