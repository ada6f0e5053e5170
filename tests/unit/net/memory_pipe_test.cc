#include "net/memory_pipe.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/socket_io.h"

namespace flexgate::net {
namespace {

std::span<const asio::const_buffer> one(const asio::const_buffer& buffer) { return {&buffer, 1}; }

// A read of `end` started now; its result once the io_context ran.
struct PendingRead {
  std::array<char, 64> bytes{};
  std::optional<IoResult> result;
  std::string text() const { return std::string(bytes.data(), result ? result->bytes : 0); }
};

void start_read(asio::io_context& io, PipeEnd& end, PendingRead& read) {
  asio::co_spawn(io, end.read_some(read.bytes), [&read](const std::exception_ptr&, IoResult r) { read.result = r; });
}

TEST(MemoryPipe, BytesWrittenAtOneEndAreReadAtTheOtherBothWays) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  const std::string hello = "hello";
  EXPECT_FALSE(a->write_now(one(asio::buffer(hello))).error);
  EXPECT_EQ(b->available(), 5u);
  PendingRead at_b;
  start_read(io, *b, at_b);
  const std::string back = "back";
  EXPECT_FALSE(b->write_now(one(asio::buffer(back))).error);
  PendingRead at_a;
  start_read(io, *a, at_a);
  io.run();
  ASSERT_TRUE(at_b.result && at_a.result);
  EXPECT_EQ(at_b.text(), "hello");
  EXPECT_EQ(at_a.text(), "back");
}

TEST(MemoryPipe, AReadWaitsForTheWriteThatComesLater) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  PendingRead read;
  start_read(io, *b, read);
  io.run_one();  // the read parks: nothing to read yet
  io.restart();
  EXPECT_FALSE(read.result.has_value());
  const std::string late = "late";
  EXPECT_FALSE(a->write_now(one(asio::buffer(late))).error);
  io.run();
  ASSERT_TRUE(read.result.has_value());
  EXPECT_FALSE(read.result->error);
  EXPECT_EQ(read.text(), "late");
}

TEST(MemoryPipe, AFullDirectionMakesTheWriterWaitForTheReader) {
  asio::io_context io;
  auto ends = make_pipe(io.get_executor(), /*capacity=*/8);
  PipeEnd* a = ends.first.get();
  PipeEnd* b = ends.second.get();  // a plain name: lambdas capture it (C++20 cannot capture a binding)
  const std::string bytes = "0123456789ABCDEF";  // twice the capacity
  const asio::const_buffer all = asio::buffer(bytes);
  const IoResult first = a->write_now(one(all));
  EXPECT_TRUE(first.would_block());
  EXPECT_EQ(first.bytes, 8u);
  std::optional<IoResult> rest;
  asio::co_spawn(io, a->write_rest(one(all), first.bytes),
                 [&rest](const std::exception_ptr&, IoResult r) { rest = r; });
  std::string received;
  std::function<void()> read_more;  // reads until all 16 bytes arrived
  PendingRead read;
  read_more = [&] {
    asio::co_spawn(io, b->read_some(read.bytes), [&](const std::exception_ptr&, IoResult r) {
      received.append(read.bytes.data(), r.bytes);
      if (!r.error && received.size() < bytes.size()) read_more();
    });
  };
  read_more();
  io.run();
  ASSERT_TRUE(rest.has_value());
  EXPECT_FALSE(rest->error);
  EXPECT_EQ(rest->bytes, 16u);
  EXPECT_EQ(received, bytes);
}

TEST(MemoryPipe, ShutdownSendIsEndOfInputAfterTheLastByte) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  const std::string last = "last";
  EXPECT_FALSE(a->write_now(one(asio::buffer(last))).error);
  a->shutdown_send();
  EXPECT_EQ(a->write_now(one(asio::buffer(last))).error, asio::error::broken_pipe);
  PendingRead first;
  PendingRead second;
  start_read(io, *b, first);
  io.run();
  io.restart();
  start_read(io, *b, second);
  io.run();
  EXPECT_EQ(first.text(), "last");
  ASSERT_TRUE(second.result.has_value());
  EXPECT_EQ(second.result->error, asio::error::eof);
}

TEST(MemoryPipe, ClosingAnEndAbortsItsPendingReadAndEndsThePeers) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  PendingRead own;
  PendingRead peer;
  start_read(io, *a, own);
  start_read(io, *b, peer);
  io.poll();
  io.restart();
  a->close();
  io.run();
  ASSERT_TRUE(own.result && peer.result);
  EXPECT_EQ(own.result->error, asio::error::operation_aborted);
  EXPECT_EQ(peer.result->error, asio::error::eof);
  const std::string late = "x";
  EXPECT_EQ(b->write_now(one(asio::buffer(late))).error, asio::error::broken_pipe) << "nobody reads any more";
  EXPECT_FALSE(a->is_open());
}

TEST(MemoryPipe, ShutdownReceiveEndsOwnReadsAndFailsThePeersWrites) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  b->shutdown_receive();
  PendingRead read;
  start_read(io, *b, read);
  io.run();
  ASSERT_TRUE(read.result.has_value());
  EXPECT_EQ(read.result->error, asio::error::eof);
  const std::string bytes = "x";
  EXPECT_EQ(a->write_now(one(asio::buffer(bytes))).error, asio::error::broken_pipe);
  // The other direction still works (half-close).
  EXPECT_FALSE(b->write_now(one(asio::buffer(bytes))).error);
}

TEST(MemoryPipe, AStreamOnAPipeEndUsesTheSameIoFunctions) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  Stream writer(io.get_executor(), a);
  Stream reader(io.get_executor(), b);
  EXPECT_FALSE(writer.plain());
  EXPECT_TRUE(writer.is_open());
  std::optional<IoResult> written;
  std::optional<IoResult> read;
  std::array<char, 16> buffer{};
  asio::co_spawn(io, write_all(writer, std::string_view("via stream")),
                 [&](const std::exception_ptr&, IoResult r) { written = r; });
  asio::co_spawn(io, read_some(reader, buffer), [&](const std::exception_ptr&, IoResult r) { read = r; });
  io.run();
  ASSERT_TRUE(written && read);
  EXPECT_EQ(std::string(buffer.data(), read->bytes), "via stream");
  writer.close();
  EXPECT_FALSE(writer.is_open());
}

// An end served by callbacks: records what it was told and, when asked, takes what it is told of.
struct RecordingListener final : PipeListener {
  explicit RecordingListener(PipeEnd& served) : end(served) { end.set_listener(this); }
  void on_pipe_readable() override {
    ++readable_calls;
    if (take_on_readable) {
      taken.append(end.readable());
      end.consume(end.readable().size());
    }
  }
  void on_pipe_writable() override { ++writable_calls; }

  PipeEnd& end;
  bool take_on_readable = false;
  int readable_calls = 0;
  int writable_calls = 0;
  std::string taken;
};

TEST(MemoryPipe, AListenerIsToldOfBytesAndReadsThemInPlace) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  RecordingListener listener(*b);
  const std::string hello = "hello";
  EXPECT_FALSE(a->write_now(one(asio::buffer(hello))).error);
  EXPECT_EQ(listener.readable_calls, 1) << "told from inside the write, no coroutine";
  EXPECT_EQ(b->readable(), "hello");
  b->consume(2);
  EXPECT_EQ(b->readable(), "llo");
  EXPECT_EQ(b->available(), 3u);
  b->consume(3);
  EXPECT_TRUE(b->readable().empty());
  EXPECT_FALSE(b->at_eof());
  a->shutdown_send();
  EXPECT_EQ(listener.readable_calls, 2) << "the end of the peer's sending side is news too";
  EXPECT_TRUE(b->at_eof());
}

// Everything `end` can read now, in order, taken part by part as readable() hands it out.
std::string take_all(PipeEnd& end) {
  std::string out;
  for (std::string_view part = end.readable(); !part.empty(); part = end.readable()) {
    out.append(part);
    end.consume(part.size());
  }
  return out;
}

TEST(MemoryPipe, BytesThatWrapAroundTheRingAreReadInTwoPartsInOrder) {
  // The unread bytes stay where they are while the reader takes some: the next write goes on
  // after them, wrapping around the end of the storage.
  asio::io_context io;
  auto ends = make_pipe(io.get_executor(), /*capacity=*/8);
  RecordingListener listener(*ends.second);
  const std::string first = "012345";
  EXPECT_EQ(ends.first->write_now(one(asio::buffer(first))).bytes, 6u);
  ends.second->consume(4);
  const std::string second = "6789AB";  // exactly the room left
  const IoResult written = ends.first->write_now(one(asio::buffer(second)));
  EXPECT_FALSE(written.error);
  EXPECT_EQ(written.bytes, 6u);
  EXPECT_EQ(ends.second->available(), 8u);
  EXPECT_EQ(ends.second->readable(), "4567");  // up to the end of the storage
  ends.second->consume(4);
  EXPECT_EQ(ends.second->readable(), "89AB");
  ends.second->consume(4);
  EXPECT_TRUE(ends.second->readable().empty());
}

TEST(MemoryPipe, StorageThatGrowsWhileBytesWrapKeepsThemInOrder) {
  asio::io_context io;
  auto ends = make_pipe(io.get_executor(), /*capacity=*/8192);
  RecordingListener listener(*ends.second);
  std::string expected;
  const auto write = [&](char first_letter, std::size_t n) {
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>(first_letter + i % 26);
    const IoResult written = ends.first->write_now(one(asio::buffer(bytes)));
    EXPECT_FALSE(written.error);
    EXPECT_EQ(written.bytes, n);
    expected += bytes;
  };
  write('a', 1000);  // the first storage: 1 KiB
  std::string taken(ends.second->readable().substr(0, 900));
  ends.second->consume(900);
  write('A', 900);   // wraps around the 1 KiB
  write('a', 5000);  // grows: laid out again from the start
  write('A', 2000);  // within the capacity: 8,000 unread bytes
  EXPECT_EQ(ends.second->available(), 8000u);
  taken += take_all(*ends.second);
  EXPECT_EQ(taken, expected);
}

TEST(MemoryPipe, AListenerThatTakesBytesAsToldLetsOneWriteCarryMoreThanTheCapacity) {
  asio::io_context io;
  auto ends = make_pipe(io.get_executor(), /*capacity=*/8);
  RecordingListener listener(*ends.second);
  listener.take_on_readable = true;
  const std::string bytes = "0123456789ABCDEFGHIJ";  // two and a half times the capacity
  const IoResult written = ends.first->write_now(one(asio::buffer(bytes)));
  EXPECT_FALSE(written.error);
  EXPECT_EQ(written.bytes, bytes.size());
  EXPECT_EQ(listener.taken, bytes);
  EXPECT_EQ(listener.readable_calls, 3);
}

TEST(MemoryPipe, BytesLeftInAListenersEndMakeTheWriterWaitUntilConsumed) {
  asio::io_context io;
  auto ends = make_pipe(io.get_executor(), /*capacity=*/8);
  PipeEnd* b = ends.second.get();
  RecordingListener listener(*b);  // takes nothing when told: backpressure
  const std::string bytes = "0123456789ABCDEF";
  const asio::const_buffer all = asio::buffer(bytes);
  const IoResult first = ends.first->write_now(one(all));
  ASSERT_TRUE(first.would_block());
  EXPECT_EQ(first.bytes, 8u);
  std::optional<IoResult> rest;
  asio::co_spawn(io, ends.first->write_rest(one(all), first.bytes),
                 [&rest](const std::exception_ptr&, IoResult r) { rest = r; });
  io.poll();
  io.restart();
  EXPECT_FALSE(rest.has_value()) << "the writer waits while the listener leaves the bytes";
  std::string received(b->readable());
  b->consume(received.size());  // wakes the waiting writer
  io.run();
  ASSERT_TRUE(rest.has_value());
  EXPECT_FALSE(rest->error);
  EXPECT_EQ(rest->bytes, 16u);
  received.append(b->readable());
  EXPECT_EQ(received, bytes);
}

TEST(MemoryPipe, AListenerIsToldWhenThePeerReadsAndNeverAfterItsEndCloses) {
  asio::io_context io;
  auto [a, b] = make_pipe(io.get_executor());
  RecordingListener listener(*a);
  const std::string request = "request";
  EXPECT_FALSE(a->write_now(one(asio::buffer(request))).error);
  PendingRead read;
  start_read(io, *b, read);
  io.run();
  io.restart();
  EXPECT_EQ(read.text(), "request");
  EXPECT_EQ(listener.writable_calls, 1) << "room again";
  b->shutdown_receive();
  EXPECT_EQ(listener.writable_calls, 2) << "the peer stopped reading: the listener's next write fails";
  a->close();
  const std::string late = "late";
  EXPECT_EQ(b->write_now(one(asio::buffer(late))).error, asio::error::broken_pipe);
  b->close();
  EXPECT_EQ(listener.readable_calls, 0);
  EXPECT_EQ(listener.writable_calls, 2) << "a closed end's listener is detached";
}

}  // namespace
}  // namespace flexgate::net
