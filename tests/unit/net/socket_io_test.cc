#include "net/socket_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "loopback_test_util.h"

namespace flexgate::net {
namespace {

using test::make_socket_pair;
using test::run_task;
using test::run_until;

// Reads until `want` bytes arrived (or an error), appending to `out`.
Task<IoResult> read_exactly(tcp::socket& socket, std::string& out, std::size_t want) {
  std::array<char, 4096> chunk;
  std::size_t total = 0;
  while (total < want) {
    auto read =
        co_await read_some(socket, std::span<char>(chunk.data(), std::min(chunk.size(), want - total)));
    if (read.error) co_return IoResult{read.error, total};
    out.append(chunk.data(), read.bytes);
    total += read.bytes;
  }
  co_return IoResult{{}, total};
}

TEST(SocketIoTest, WriteAllThenReadSomeDeliversTheBytes) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  IoResult written = run_task(io, write_all(pair.client, std::string_view("hello")));
  EXPECT_FALSE(written.error);
  EXPECT_EQ(written.bytes, 5u);
  std::string got;
  IoResult read = run_task(io, read_exactly(pair.server, got, 5));
  EXPECT_FALSE(read.error);
  EXPECT_EQ(got, "hello");
}

TEST(SocketIoTest, WriteNowWritesWhatFitsAndWriteRestTheRestAfterTheReaderDrains) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  // Far more than the socket buffers hold: write_now stops at "would block" with a partial count,
  // without a coroutine; write_rest finishes once the peer reads.
  const std::string big(8 * 1024 * 1024, 'x');
  const std::array<asio::const_buffer, 2> parts{asio::buffer(std::string_view("head:")), asio::buffer(big)};
  const IoResult first = write_now(pair.client, parts);
  ASSERT_TRUE(first.would_block());
  ASSERT_GT(first.bytes, 0u);
  ASSERT_LT(first.bytes, big.size() + 5);
  std::optional<IoResult> rest;
  asio::co_spawn(io, write_rest(pair.client, parts, first.bytes), [&](std::exception_ptr, IoResult r) { rest = r; });
  std::string got;
  const IoResult read = run_task(io, read_exactly(pair.server, got, big.size() + 5));
  EXPECT_FALSE(read.error);
  ASSERT_TRUE(run_until(io, [&] { return rest.has_value(); }));
  EXPECT_FALSE(rest->error);
  EXPECT_EQ(rest->bytes, big.size() + 5);  // the skipped bytes count too
  EXPECT_EQ(got.substr(0, 5), "head:");
  EXPECT_EQ(got.size(), big.size() + 5);
  EXPECT_EQ(got.find_first_not_of('x', 5), std::string::npos);
}

TEST(SocketIoTest, WriteNowOfASmallMessageCompletesAtOnce) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  const IoResult written = write_now(pair.client, std::string_view("pong"));
  EXPECT_FALSE(written.error);
  EXPECT_FALSE(written.would_block());
  EXPECT_EQ(written.bytes, 4u);
  std::string got;
  EXPECT_FALSE(run_task(io, read_exactly(pair.server, got, 4)).error);
  EXPECT_EQ(got, "pong");
}

TEST(SocketIoTest, ReadAfterWaitReturnsTheBytesThatArrive) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 64> buffer;
  std::optional<std::pair<std::error_code, std::size_t>> read;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        auto [ec, n] = co_await read_after_wait(pair.server, buffer);
        read.emplace(ec, n);
      },
      asio::detached);
  io.poll();
  ASSERT_FALSE(read.has_value());
  run_task(io, write_all(pair.client, std::string_view("late")));
  ASSERT_TRUE(run_until(io, [&] { return read.has_value(); }));
  EXPECT_FALSE(read->first);
  EXPECT_EQ(std::string_view(buffer.data(), read->second), "late");
}

TEST(SocketIoTest, ReadSomeWaitsUntilDataArrives) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 64> buffer;
  std::optional<IoResult> read;
  asio::co_spawn(io, read_some(pair.server, buffer), [&](std::exception_ptr, IoResult r) { read = r; });
  io.poll();  // the reader finds nothing and waits
  ASSERT_FALSE(read.has_value());
  run_task(io, write_all(pair.client, std::string_view("ping")));
  ASSERT_TRUE(run_until(io, [&] { return read.has_value(); }));
  EXPECT_FALSE(read->error);
  EXPECT_EQ(std::string_view(buffer.data(), read->bytes), "ping");
}

TEST(SocketIoTest, GatherWriteLargerThanTheSocketBuffersArrivesWholeAndInOrder) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  test::shrink_send_buffer(pair.client);
  // Several pieces (one empty, one a single byte) totalling far more than the kernel buffers hold,
  // so the write is partial, would block, and resumes mid-buffer.
  const std::vector<std::string> pieces = {test::pattern_bytes(300000, 1), "x", "",
                                           test::pattern_bytes(200003, 2), test::pattern_bytes(77777, 3)};
  std::string expected;
  std::vector<asio::const_buffer> buffers;
  for (const auto& piece : pieces) {
    expected += piece;
    buffers.emplace_back(piece.data(), piece.size());
  }

  std::optional<IoResult> written;
  std::optional<IoResult> read;
  std::string received;
  asio::co_spawn(io, write_all(pair.client, buffers), [&](std::exception_ptr, IoResult r) { written = r; });
  io.poll();
  // Nobody reads yet: the kernel took part of the data and the writer is waiting (would block).
  ASSERT_FALSE(written.has_value());
  asio::co_spawn(io, read_exactly(pair.server, received, expected.size()),
                 [&](std::exception_ptr, IoResult r) { read = r; });
  ASSERT_TRUE(run_until(io, [&] { return written.has_value() && read.has_value(); }));
  EXPECT_FALSE(written->error) << written->error.message();
  EXPECT_EQ(written->bytes, expected.size());
  EXPECT_FALSE(read->error) << read->error.message();
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "bytes differ";
}

// BUG (reported to the lead): write_all() copies the buffer list into a fixed array of 16 and only
// assert()s the size, so a longer list aborts in Debug and overflows the stack array in Release.
// The header documents no limit. Enable once write_all() handles (or refuses) longer lists.
TEST(SocketIoTest, GatherWriteOfMoreThanSixteenBuffersWritesThemAll) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::vector<std::string> pieces;
  std::vector<asio::const_buffer> buffers;
  std::string expected;
  for (int i = 0; i < 20; ++i) pieces.emplace_back(3, static_cast<char>('a' + i));
  for (const auto& piece : pieces) {
    buffers.emplace_back(piece.data(), piece.size());
    expected += piece;
  }
  IoResult written = run_task(io, write_all(pair.client, buffers));
  EXPECT_FALSE(written.error);
  EXPECT_EQ(written.bytes, expected.size());
  std::string got;
  run_task(io, read_exactly(pair.server, got, expected.size()));
  EXPECT_EQ(got, expected);
}

TEST(SocketIoTest, WriteAllOfNothingSucceedsImmediately) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  IoResult written = run_task(io, write_all(pair.client, std::string_view()));
  EXPECT_FALSE(written.error);
  EXPECT_EQ(written.bytes, 0u);
}

TEST(SocketIoTest, PeerShutdownIsReportedAsEofAfterTheData) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  run_task(io, write_all(pair.client, std::string_view("last words")));
  pair.client.shutdown(tcp::socket::shutdown_send);
  std::string got;
  std::error_code end = run_task(io, test::read_to_end(pair.server, got));
  EXPECT_FALSE(end) << end.message();  // read_to_end maps eof to success
  EXPECT_EQ(got, "last words");

  std::array<char, 16> buffer;
  IoResult again = run_task(io, read_some(pair.server, buffer));
  EXPECT_EQ(again.error, asio::error::eof);
  EXPECT_EQ(again.bytes, 0u);
}

TEST(SocketIoTest, WriteToAClosedPeerFailsWithAnErrorCode) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  pair.server.close();
  const std::string big = test::pattern_bytes(4 << 20);
  IoResult written;
  EXPECT_NO_THROW(written = run_task(io, write_all(pair.client, big)));
  EXPECT_TRUE(written.error);
  EXPECT_LT(written.bytes, big.size());
}

TEST(SocketIoTest, CancelEndsAWaitingReadWithAnErrorCode) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 16> buffer;
  std::optional<IoResult> read;
  asio::co_spawn(io, read_some(pair.server, buffer), [&](std::exception_ptr, IoResult r) { read = r; });
  io.poll();
  ASSERT_FALSE(read.has_value());
  pair.server.cancel();
  ASSERT_TRUE(run_until(io, [&] { return read.has_value(); }));
  EXPECT_EQ(read->error, asio::error::operation_aborted);
  EXPECT_EQ(read->bytes, 0u);
}

// With the read queue hint, a read that empties the socket clears the reactor's readiness flag
// (the next read waits for an edge, no recv() that fails), but a FIN behind the bytes keeps it
// set: that FIN brings no edge of its own, and waiting for one would hang the connection.
TEST(SocketIoTest, ReadQueueHintClearsTheReadinessFlagOnlyWhenNothingNotEvenAFinIsLeft) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  ASSERT_TRUE(enable_read_queue_hint(pair.server));
  std::array<char, 64> buffer;

  run_task(io, write_all(pair.client, std::string_view("one")));
  IoResult read = read_now_with_hint(pair.server, buffer);
  ASSERT_FALSE(read.error) << read.error.message();
  EXPECT_EQ(std::string_view(buffer.data(), read.bytes), "one");
  EXPECT_FALSE(reactor_saw_readable(pair.server)) << "drained, no FIN: the flag must be clear";

  // The next bytes come through the reactor, read as the session reads a request: wait, then
  // read (an edge of bytes already read may wake the wait once; the read then finds nothing).
  std::optional<IoResult> next;
  asio::co_spawn(io, [&]() -> Task<void> {
    for (;;) {
      auto [error] = co_await wait_readable(pair.server);
      if (error) co_return;
      IoResult r = read_now_with_hint(pair.server, buffer);
      if (!r.would_block()) {
        next = r;
        co_return;
      }
    }
  }, asio::detached);
  io.poll();
  ASSERT_FALSE(next.has_value()) << "nothing to read yet";
  run_task(io, write_all(pair.client, std::string_view("two")));
  pair.client.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(run_until(io, [&] { return next.has_value(); }));
  read = *next;
  ASSERT_FALSE(read.error) << read.error.message();
  EXPECT_EQ(std::string_view(buffer.data(), read.bytes), "two");
  EXPECT_TRUE(reactor_saw_readable(pair.server)) << "a FIN is left behind the bytes: the flag must stay set";
  read = read_now_with_hint(pair.server, buffer);
  EXPECT_EQ(read.error, asio::error::eof);
}

// Without the hint a read cannot tell a drained socket from one with a FIN left: the flag stays
// set until a read finds nothing (the behaviour before the hint, and where TCP_INQ is missing).
TEST(SocketIoTest, WithoutTheHintOnlyAnEmptyReadClearsTheReadinessFlag) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 64> buffer;
  run_task(io, write_all(pair.client, std::string_view("one")));
  IoResult read = read_now_with_hint(pair.server, buffer);
  EXPECT_EQ(read.bytes, 3u);
  EXPECT_TRUE(reactor_saw_readable(pair.server));
  read = read_now_with_hint(pair.server, buffer);
  EXPECT_TRUE(read.would_block());
  EXPECT_FALSE(reactor_saw_readable(pair.server));
}

TEST(SocketIoTest, CancelEndsAWaitForReadability) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 16> buffer;
  ASSERT_TRUE(read_now_with_hint(pair.server, buffer).would_block());  // drained: the flag is clear
  std::optional<std::error_code> waited;
  asio::co_spawn(io, [&]() -> Task<void> {
    auto [error] = co_await wait_readable(pair.server);
    waited = error;
  }, asio::detached);
  io.poll();
  ASSERT_FALSE(waited.has_value());
  pair.server.cancel();
  ASSERT_TRUE(run_until(io, [&] { return waited.has_value(); }));
  EXPECT_EQ(*waited, asio::error::operation_aborted);
}

// Per-operation cancellation (what `||` between awaitables uses) ends the wait too.
TEST(SocketIoTest, ACancellationSignalEndsAWaitForReadability) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 16> buffer;
  ASSERT_TRUE(read_now_with_hint(pair.server, buffer).would_block());
  asio::cancellation_signal signal;
  std::optional<std::error_code> waited;
  auto handler = asio::bind_cancellation_slot(signal.slot(), [&](std::error_code error) { waited = error; });
  asio::async_initiate<decltype(handler), void(std::error_code)>(detail::InitiateWaitReadable{}, handler,
                                                                  &pair.server);
  io.poll();
  ASSERT_FALSE(waited.has_value());
  signal.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io, [&] { return waited.has_value(); }));
  EXPECT_EQ(*waited, asio::error::operation_aborted);
}

// A reply's first read is tried at once only while the peer has been ahead: once it falls behind,
// bytes that are there are left for the reactor's edge, which read_after_wait() then answers.
TEST(SocketIoTest, ReadNowIfAheadReadsWhileThePeerIsAheadAndStopsTryingOnceItFallsBehind) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 64> buffer;
  ASSERT_TRUE(receive_now(pair.server, buffer).would_block());  // drained: the flag is clear
  ReadGuess guess;

  run_task(io, write_all(pair.client, std::string_view("one")));
  std::optional<IoResult> read = read_now_if_ahead(pair.server, buffer, guess);
  ASSERT_TRUE(read.has_value()) << "the reply was there: read without the reactor";
  ASSERT_FALSE(read->error) << read->error.message();
  EXPECT_EQ(std::string_view(buffer.data(), read->bytes), "one");

  // Two replies that were not there yet: the peer is behind more often than ahead.
  EXPECT_FALSE(read_now_if_ahead(pair.server, buffer, guess).has_value());
  EXPECT_FALSE(read_now_if_ahead(pair.server, buffer, guess).has_value());
  // Sent without running the reactor, so no edge sets the flag: only the guess decides.
  ASSERT_EQ(::send(pair.client.native_handle(), "two", 3, MSG_DONTWAIT), 3);
  EXPECT_FALSE(read_now_if_ahead(pair.server, buffer, guess).has_value()) << "no recv() while behind";
  auto [error, bytes] = run_task(io, [&]() -> Task<IoResult> {
    auto [read_error, read_bytes] = co_await read_when_readable(pair.server, buffer);
    co_return IoResult{read_error, read_bytes};
  }());
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(std::string_view(buffer.data(), bytes), "two");
}

// When the reactor has seen the socket turn readable, the read happens at once whatever the guess
// says, and does not teach it: the guess is about the peer's timing, not about edges.
TEST(SocketIoTest, ReadNowIfAheadReadsAtOnceWhenTheReactorSawTheSocketReadable) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 64> buffer;
  ReadGuess guess;
  guess.learn(false);  // the peer is behind: a guessed read would wait
  ASSERT_TRUE(reactor_saw_readable(pair.server)) << "a new socket starts with the flag set";

  run_task(io, write_all(pair.client, std::string_view("one")));
  std::optional<IoResult> read = read_now_if_ahead(pair.server, buffer, guess);
  ASSERT_TRUE(read.has_value()) << "the reactor said readable: read without waiting for an edge";
  ASSERT_FALSE(read->error) << read->error.message();
  EXPECT_EQ(std::string_view(buffer.data(), read->bytes), "one");
  EXPECT_FALSE(reactor_saw_readable(pair.server)) << "a short read clears the flag";
  // A learnt hit would have brought the score back to 0, and a guess at 0 tries at once.
  EXPECT_FALSE(guess.try_now()) << "not a guessed read: nothing learnt, still behind";
}

// read_after_wait's first look: a read at once only while the reactor's flag is set.
TEST(SocketIoTest, ReadNowIfReadableReadsOnlyWhileTheFlagIsSet) {
  asio::io_context io;
  auto pair = make_socket_pair(io);
  std::array<char, 64> buffer;
  ASSERT_TRUE(reactor_saw_readable(pair.server));
  EXPECT_FALSE(read_now_if_readable(pair.server, buffer).has_value()) << "nothing there yet";
  EXPECT_FALSE(reactor_saw_readable(pair.server)) << "the EAGAIN cleared the flag";

  // Sent without running the reactor: the bytes are there, but no edge set the flag.
  ASSERT_EQ(::send(pair.client.native_handle(), "one", 3, MSG_DONTWAIT), 3);
  EXPECT_FALSE(read_now_if_readable(pair.server, buffer).has_value()) << "no recv() while the flag is clear";

  auto [error, bytes] = run_task(io, [&]() -> Task<IoResult> {
    auto [read_error, read_bytes] = co_await read_after_wait(pair.server, buffer);
    co_return IoResult{read_error, read_bytes};
  }());
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(std::string_view(buffer.data(), bytes), "one");
}

// Reads a guess waits until it tries one.
int waits_before_next_try(ReadGuess& guess) {
  int waits = 0;
  while (!guess.try_now()) ++waits;
  return waits;
}

// Tried while hits are at least as many as misses; below that, one read in probe_every() probes.
TEST(ReadGuessTest, TriesWhileHitsKeepUpAndOnlyProbesAfterMoreMisses) {
  ReadGuess guess;
  EXPECT_EQ(waits_before_next_try(guess), 0);  // no history: try
  guess.learn(true);
  guess.learn(false);
  EXPECT_EQ(waits_before_next_try(guess), 0);  // one hit, one miss: still even
  guess.learn(false);                          // now a miss ahead
  EXPECT_EQ(waits_before_next_try(guess), ReadGuess::kFirstProbeEvery - 1);
  guess.learn(true);  // the probe hit: even again, tried at once
  EXPECT_EQ(waits_before_next_try(guess), 0);
}

// A peer that stays slow is probed ever more rarely (each missed probe doubles the interval, up to
// kMaxProbeEvery); a single hit brings the first interval back.
TEST(ReadGuessTest, EachMissedProbeDoublesTheIntervalUntilAHit) {
  ReadGuess guess;
  guess.learn(false);  // a miss ahead: probing starts
  int expected_interval = ReadGuess::kFirstProbeEvery;
  for (int probe = 0; probe < 6; ++probe) {
    EXPECT_EQ(waits_before_next_try(guess), expected_interval - 1);
    guess.learn(false);
    expected_interval = std::min<int>(expected_interval * 2, ReadGuess::kMaxProbeEvery);
  }
  EXPECT_EQ(guess.probe_every(), ReadGuess::kMaxProbeEvery);
  EXPECT_EQ(waits_before_next_try(guess), ReadGuess::kMaxProbeEvery - 1);
  guess.learn(true);  // the probe hit: still behind, but probed at the first interval again
  EXPECT_EQ(guess.probe_every(), ReadGuess::kFirstProbeEvery);
  EXPECT_EQ(waits_before_next_try(guess), ReadGuess::kFirstProbeEvery - 1);
}

// A long run of misses saturates: as many hits as kLimit bring the guess back, not the whole run.
TEST(ReadGuessTest, ALongRunOfMissesIsForgottenAfterLimitHits) {
  ReadGuess guess;
  for (int i = 0; i < 1000; ++i) guess.learn(false);
  for (int i = 0; i < ReadGuess::kLimit - 1; ++i) guess.learn(true);
  EXPECT_FALSE(guess.try_now());  // still one miss ahead
  guess.learn(true);
  EXPECT_TRUE(guess.try_now());
  EXPECT_TRUE(guess.try_now());
}

TEST(SocketIoTest, ConnectToAListenerSucceedsAndPreparesTheSocket) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(ip::address_v4::loopback(), 0));
  tcp::socket socket(io);
  std::error_code ec = run_task(io, connect(socket, acceptor.local_endpoint()));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(socket.is_open());
  EXPECT_TRUE(socket.non_blocking());
  tcp::no_delay no_delay;
  socket.get_option(no_delay);
  EXPECT_TRUE(no_delay.value());
}

TEST(SocketIoTest, ConnectToAClosedPortFailsWithAnErrorCodeNotAnException) {
  asio::io_context io;
  tcp::endpoint closed;
  {
    tcp::acceptor acceptor(io, tcp::endpoint(ip::address_v4::loopback(), 0));
    closed = acceptor.local_endpoint();
  }
  tcp::socket socket(io);
  std::error_code ec;
  EXPECT_NO_THROW(ec = run_task(io, connect(socket, closed)));
  EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
}

}  // namespace
}  // namespace flexgate::net
