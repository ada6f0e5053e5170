#include "core/block_pool.h"

#include <gtest/gtest.h>

namespace flexgate {
namespace {

TEST(BlockPool, TakeReusesGivenBlocksBeforeAllocating) {
  BlockPool pool(4096);
  auto first = pool.take();
  char* address = first.get();
  pool.give(std::move(first));
  EXPECT_EQ(pool.spare(), 1u);
  EXPECT_EQ(pool.take().get(), address);
  EXPECT_EQ(pool.spare(), 0u);
}

TEST(BlockPool, TrimFreesOnlyWhatStayedSpareThroughAWholeInterval) {
  BlockPool pool(4096);
  for (int i = 0; i < 4; ++i) pool.give(std::unique_ptr<char[]>(new char[4096]));
  EXPECT_EQ(pool.trim(), 0u) << "the first interval starts now";
  // The load takes three, then gives them back: only one block was never needed.
  auto a = pool.take();
  auto b = pool.take();
  auto c = pool.take();
  pool.give(std::move(a));
  pool.give(std::move(b));
  pool.give(std::move(c));
  EXPECT_EQ(pool.trim(), 1u);
  EXPECT_EQ(pool.spare(), 3u);
  // No load at all in the next interval: everything goes.
  EXPECT_EQ(pool.trim(), 3u);
  EXPECT_EQ(pool.spare(), 0u);
  // Taking from an empty pool allocates, and counts as "all spare blocks were needed".
  auto fresh = pool.take();
  EXPECT_NE(fresh, nullptr);
  pool.give(std::move(fresh));
  EXPECT_EQ(pool.trim(), 0u);
}

TEST(BlockPool, ANewBlockSizeFreesTheSpareBlocksAndOldSizedOnesGivenBack) {
  BlockPool pool(4096);
  auto kept = pool.take();
  pool.give(pool.take());
  EXPECT_EQ(pool.spare(), 1u);
  pool.use_block_size(4096);
  EXPECT_EQ(pool.spare(), 1u) << "the same size keeps the spare blocks";
  pool.use_block_size(8192);  // a reload changed the buffers' capacity
  EXPECT_EQ(pool.block_size(), 8192u);
  EXPECT_EQ(pool.spare(), 0u);
  pool.give_sized(std::move(kept), 4096);
  EXPECT_EQ(pool.spare(), 0u) << "a block of the old size is freed, never lent as a bigger one";
  pool.give_sized(pool.take(), 8192);
  EXPECT_EQ(pool.spare(), 1u);
}

}  // namespace
}  // namespace flexgate
