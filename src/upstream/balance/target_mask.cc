#include "upstream/balance/target_mask.h"

#include <algorithm>
#include <bit>

namespace flexgate::upstream {

void TargetMask::reset_any_size(std::size_t size, bool value) {
  size_ = size;
  inline_.fill(0);
  heap_.clear();
  if (size > kInlineTargets) heap_.resize(word_count(size));
  const std::span<std::uint64_t> bits = words();
  if (!value || bits.empty()) return;
  std::fill(bits.begin(), bits.end(), ~std::uint64_t{0});
  if (size % 64 != 0) bits.back() = (std::uint64_t{1} << (size % 64)) - 1;
}

std::size_t TargetMask::count() const {
  std::size_t total = 0;
  for (const std::uint64_t word : words()) total += static_cast<std::size_t>(std::popcount(word));
  return total;
}

bool TargetMask::any_word() const {
  const std::span<const std::uint64_t> bits = words();
  return std::any_of(bits.begin(), bits.end(), [](std::uint64_t word) { return word != 0; });
}

TargetMask& TargetMask::operator&=(const TargetMask& other) {
  assert(other.size_ == size_);
  const std::span<std::uint64_t> mine = words();
  const std::span<const std::uint64_t> theirs = other.words();
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] &= i < theirs.size() ? theirs[i] : 0;
  return *this;
}

}  // namespace flexgate::upstream
