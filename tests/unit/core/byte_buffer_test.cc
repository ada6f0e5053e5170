#include "core/byte_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace flexgate {
namespace {

// Copies `bytes` into the writable space and commits them, as a socket read would.
void fill(ByteBuffer& buffer, std::string_view bytes) {
  auto space = buffer.writable();
  ASSERT_GE(space.size(), bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  buffer.commit(bytes.size());
}

TEST(ByteBufferTest, NewBufferIsEmptyWithWholeCapacityWritable) {
  ByteBuffer buffer(64);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.readable_size(), 0u);
  EXPECT_EQ(buffer.readable(), "");
  EXPECT_EQ(buffer.capacity(), 64u);
  EXPECT_EQ(buffer.writable().size(), 64u);
  EXPECT_FALSE(buffer.full());
}

TEST(ByteBufferTest, CommitMakesWrittenBytesReadable) {
  ByteBuffer buffer(64);
  fill(buffer, "hello");
  EXPECT_EQ(buffer.readable(), "hello");
  EXPECT_EQ(buffer.readable_size(), 5u);
  EXPECT_EQ(buffer.writable().size(), 59u);
  fill(buffer, " world");
  EXPECT_EQ(buffer.readable(), "hello world");
}

TEST(ByteBufferTest, ConsumeDropsBytesFromTheFront) {
  ByteBuffer buffer(64);
  fill(buffer, "GET / HTTP/1.1\r\n");
  buffer.consume(4);
  EXPECT_EQ(buffer.readable(), "/ HTTP/1.1\r\n");
  buffer.consume(buffer.readable_size());
  EXPECT_TRUE(buffer.empty());
}

TEST(ByteBufferTest, ConsumingEverythingMakesTheWholeCapacityWritableAgain) {
  ByteBuffer buffer(16);
  fill(buffer, "0123456789");
  buffer.consume(10);
  EXPECT_EQ(buffer.writable().size(), 16u);
}

TEST(ByteBufferTest, ViewsStayValidWhileMoreBytesAreRead) {
  // A parser keeps views into a partial head while the next read appends to the buffer.
  ByteBuffer buffer(64);
  fill(buffer, "first second");
  std::string_view first = buffer.readable().substr(0, 5);
  std::string_view second = buffer.readable().substr(6);
  for (int i = 0; i < 10; ++i) fill(buffer, "+more");  // 62 of 64 bytes
  EXPECT_EQ(first, "first");
  EXPECT_EQ(second, "second");
  EXPECT_EQ(buffer.readable().data(), first.data());
}

TEST(ByteBufferTest, CompactMovesUnreadBytesToTheFront) {
  ByteBuffer buffer(16);
  fill(buffer, "abcdefghij");
  buffer.consume(6);
  EXPECT_EQ(buffer.writable().size(), 6u);  // tail of 6 >= 16/4: no automatic compaction
  buffer.compact();
  EXPECT_EQ(buffer.readable(), "ghij");
  EXPECT_EQ(buffer.writable().size(), 12u);
}

TEST(ByteBufferTest, WritableCompactsWhenTheTailIsShort) {
  ByteBuffer buffer(16);
  fill(buffer, "abcdefghijklmn");  // 14 of 16: tail of 2 < 16/4
  buffer.consume(10);
  auto space = buffer.writable();
  EXPECT_EQ(space.size(), 12u);
  EXPECT_EQ(buffer.readable(), "klmn");
  fill(buffer, "op");
  EXPECT_EQ(buffer.readable(), "klmnop");
}

TEST(ByteBufferTest, FullOnlyWhenEveryByteIsUnread) {
  ByteBuffer buffer(8);
  fill(buffer, "12345678");
  EXPECT_TRUE(buffer.full());
  EXPECT_EQ(buffer.writable().size(), 0u);
  buffer.consume(1);
  EXPECT_FALSE(buffer.full());
  // The freed front is reclaimed by compaction on the next writable().
  EXPECT_EQ(buffer.writable().size(), 1u);
  EXPECT_EQ(buffer.readable(), "2345678");
}

TEST(ByteBufferTest, ClearDropsEverything) {
  ByteBuffer buffer(8);
  fill(buffer, "1234");
  buffer.consume(1);
  buffer.clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.writable().size(), 8u);
}

TEST(ByteBufferTest, CompactOnAnAlignedBufferChangesNothing) {
  ByteBuffer buffer(8);
  fill(buffer, "abc");
  const char* before = buffer.readable().data();
  buffer.compact();
  EXPECT_EQ(buffer.readable(), "abc");
  EXPECT_EQ(buffer.readable().data(), before);
}

TEST(ByteBufferTest, StreamThroughManyTimesItsCapacityKeepsOrder) {
  // Reads of odd sizes and consumes of other odd sizes: the bytes come out in order.
  ByteBuffer buffer(32);
  std::string input;
  for (int i = 0; i < 2000; ++i) input += static_cast<char>('a' + i % 26);
  std::string output;
  std::size_t fed = 0;
  while (output.size() < input.size()) {
    auto space = buffer.writable();
    std::size_t n = std::min({space.size(), std::size_t{7}, input.size() - fed});
    std::memcpy(space.data(), input.data() + fed, n);
    buffer.commit(n);
    fed += n;
    std::size_t take = std::min<std::size_t>(buffer.readable_size(), 5);
    if (fed == input.size()) take = buffer.readable_size();
    output.append(buffer.readable().substr(0, take));
    buffer.consume(take);
  }
  EXPECT_EQ(output, input);
}

TEST(ByteBufferLending, StorageCanBeReleasedAndAdopted) {
  ByteBuffer buffer(std::unique_ptr<char[]>(new char[64]), 64);
  buffer.commit(10);
  auto storage = buffer.release_storage();
  EXPECT_FALSE(buffer.has_storage());
  EXPECT_TRUE(buffer.empty()) << "giving the storage back empties the buffer";
  buffer.adopt_storage(std::move(storage));
  EXPECT_TRUE(buffer.has_storage());
  EXPECT_EQ(buffer.writable().size(), 64u);
}

}  // namespace
}  // namespace flexgate
