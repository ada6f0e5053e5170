#pragma once
// Which targets of an upstream may be picked right now. Callers combine health checks, outlier
// ejection and "already tried" (retries) into one mask and hand it to pick().

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace flexgate::upstream {

// A bitmask over target indexes 0..size()-1 (set = may be picked). Up to kInlineTargets it lives
// inline, so making, copying or resetting one never allocates; above that it allocates only when
// it grows (copy-assign into an existing mask to reuse its storage).
class TargetMask {
 public:
  static constexpr std::size_t kInlineTargets = 128;

  TargetMask() = default;
  // `size` targets, each set to `value` (all usable by default).
  explicit TargetMask(std::size_t size, bool value = true) { reset(size, value); }

  // Resizes to `size` targets, each set to `value`. Inline for one word (up to 64 targets): the
  // request path resets two masks per attempt.
  void reset(std::size_t size, bool value = true) {
    if (size <= 64 && heap_.empty()) {
      size_ = size;
      inline_.fill(0);
      if (value && size > 0) inline_[0] = size == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << size) - 1;
      return;
    }
    reset_any_size(size, value);
  }
  // Sets target `target` (< size()) usable or not.
  void set(std::size_t target, bool value = true) {
    assert(target < size_);
    if (target >= size_) return;
    const std::uint64_t bit = std::uint64_t{1} << (target % 64);
    std::uint64_t& word = size_ > kInlineTargets ? heap_[target / 64] : inline_[target / 64];
    word = value ? (word | bit) : (word & ~bit);
  }
  // Whether `target` may be picked; false for target >= size().
  bool test(std::size_t target) const {
    if (target >= size_) return false;
    return (words()[target / 64] >> (target % 64)) & 1U;
  }

  std::size_t size() const { return size_; }
  std::size_t count() const;  // usable targets
  bool any() const {          // at least one usable target
    if (size_ <= 64) return inline_[0] != 0;  // heap_ is unused, and bits above size_ are zero
    return any_word();
  }

  // Keeps only the targets usable in both masks (e.g. healthy &= not tried). Same size().
  TargetMask& operator&=(const TargetMask& other);

 private:
  void reset_any_size(std::size_t size, bool value);
  bool any_word() const;
  static std::size_t word_count(std::size_t size) { return (size + 63) / 64; }
  std::span<std::uint64_t> words() {
    if (size_ > kInlineTargets) return heap_;
    return std::span(inline_).first(word_count(size_));
  }
  std::span<const std::uint64_t> words() const {
    if (size_ > kInlineTargets) return heap_;
    return std::span(inline_).first(word_count(size_));
  }

  std::size_t size_ = 0;
  // Invariant: bits at or above size_ are zero, so count() and any() need no masking.
  std::array<std::uint64_t, kInlineTargets / 64> inline_{};
  std::vector<std::uint64_t> heap_;  // the words when size_ > kInlineTargets
};

}  // namespace flexgate::upstream
