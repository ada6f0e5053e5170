#pragma once
// Spare storage blocks of one size for ByteBuffers, owned by one worker (no locks). A connection
// that goes idle gives its buffer's storage back and takes a block again when it is used, so
// idle connections hold no buffer memory and steady traffic allocates nothing. trim() frees the
// blocks that stayed spare through a whole interval: memory follows the load back down.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace flexgate {

class BlockPool {
 public:
  explicit BlockPool(std::size_t block_size) : block_size_(block_size) {}

  std::size_t block_size() const { return block_size_; }
  std::size_t spare() const { return spare_.size(); }

  // A spare block, or a new one (uninitialized: only the pages a read touches become resident).
  std::unique_ptr<char[]> take() {
    if (spare_.empty()) {
      low_water_ = 0;
      return std::unique_ptr<char[]>(new char[block_size_]);
    }
    std::unique_ptr<char[]> block = std::move(spare_.back());
    spare_.pop_back();
    low_water_ = std::min(low_water_, spare_.size());
    return block;
  }

  // `block` must come from take() (or be block_size() bytes from new char[]).
  void give(std::unique_ptr<char[]> block) {
    if (block) spare_.push_back(std::move(block));
  }

  // Blocks of `block_size` from now on: spare blocks of another size are freed, and so is any
  // given back later (give_sized) with the old size.
  void use_block_size(std::size_t block_size) {
    if (block_size == block_size_) return;
    block_size_ = block_size;
    spare_.clear();
    low_water_ = 0;
  }
  void give_sized(std::unique_ptr<char[]> block, std::size_t size) {
    if (size == block_size_) give(std::move(block));
  }

  // Frees as many blocks as were never needed since the last trim (the fewest spare at any
  // time); returns how many.
  std::size_t trim() {
    const std::size_t unused = std::min(low_water_, spare_.size());
    spare_.resize(spare_.size() - unused);
    low_water_ = spare_.size();
    return unused;
  }

 private:
  std::size_t block_size_;
  std::vector<std::unique_ptr<char[]>> spare_;
  std::size_t low_water_ = 0;  // the fewest spare blocks since the last trim
};

}  // namespace flexgate
