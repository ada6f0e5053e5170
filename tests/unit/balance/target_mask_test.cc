#include "upstream/balance/target_mask.h"

#include <gtest/gtest.h>

namespace flexgate::upstream {
namespace {

TEST(TargetMask, EmptyByDefault) {
  TargetMask mask;
  EXPECT_EQ(mask.size(), 0u);
  EXPECT_EQ(mask.count(), 0u);
  EXPECT_FALSE(mask.any());
  EXPECT_FALSE(mask.test(0));
}

TEST(TargetMask, AllSetOrAllClear) {
  for (std::size_t size : {1u, 63u, 64u, 65u, 127u, 128u, 129u, 300u}) {
    TargetMask all(size);
    EXPECT_EQ(all.count(), size) << size;
    EXPECT_TRUE(all.any());
    EXPECT_TRUE(all.test(size - 1));
    EXPECT_FALSE(all.test(size)) << "past the end is never usable";
    TargetMask none(size, false);
    EXPECT_EQ(none.count(), 0u);
    EXPECT_FALSE(none.any());
  }
}

TEST(TargetMask, SetAndClearSingleTargets) {
  for (std::size_t size : {5u, 200u}) {
    TargetMask mask(size, false);
    mask.set(0);
    mask.set(size - 1);
    mask.set(3);
    mask.set(3, false);
    EXPECT_TRUE(mask.test(0));
    EXPECT_TRUE(mask.test(size - 1));
    EXPECT_FALSE(mask.test(3));
    EXPECT_EQ(mask.count(), 2u);
    mask.set(0, false);
    mask.set(size - 1, false);
    EXPECT_FALSE(mask.any());
  }
}

TEST(TargetMask, IntersectForRetries) {
  for (std::size_t size : {10u, 150u}) {
    TargetMask healthy(size);
    healthy.set(2, false);
    TargetMask not_tried(size);
    not_tried.set(7, false);
    TargetMask usable = healthy;
    usable &= not_tried;
    EXPECT_EQ(usable.count(), size - 2);
    EXPECT_FALSE(usable.test(2));
    EXPECT_FALSE(usable.test(7));
    EXPECT_TRUE(healthy.test(7)) << "a copy, the original is unchanged";
  }
}

TEST(TargetMask, ResetReusesAcrossSizes) {
  TargetMask mask(300);
  mask.reset(10, false);
  EXPECT_EQ(mask.size(), 10u);
  EXPECT_EQ(mask.count(), 0u);
  mask.reset(70);
  EXPECT_EQ(mask.count(), 70u);
  mask.reset(129);
  EXPECT_EQ(mask.count(), 129u);
  TargetMask copy;
  copy = mask;
  EXPECT_EQ(copy.count(), 129u);
  EXPECT_TRUE(copy.test(128));
}

TEST(TargetMask, OneWordSizesAtTheirEdges) {
  // The inline path for up to 64 targets, after larger sizes left bits and heap words behind.
  TargetMask mask(300);
  mask.reset(64);
  EXPECT_EQ(mask.count(), 64u);
  EXPECT_TRUE(mask.test(63));
  EXPECT_FALSE(mask.test(64));
  mask.reset(100);
  mask.reset(1);
  EXPECT_EQ(mask.count(), 1u);
  EXPECT_FALSE(mask.test(1));
  mask.set(0, false);
  EXPECT_FALSE(mask.any());
  mask.reset(0);
  EXPECT_FALSE(mask.any());
  EXPECT_EQ(mask.count(), 0u);
  mask.reset(3, false);
  mask.set(2);
  EXPECT_TRUE(mask.any());
  EXPECT_EQ(mask.count(), 1u);
  mask.reset(200, false);
  mask.set(199);
  EXPECT_TRUE(mask.any());
  EXPECT_TRUE(mask.test(199));
}

}  // namespace
}  // namespace flexgate::upstream
