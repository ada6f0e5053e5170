#include "upstream/health/active_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/socket_io.h"
#include "unit/net/loopback_test_util.h"

namespace flexgate::upstream {
namespace {

using namespace std::chrono_literals;
using net::test::run_until;

// A tiny HTTP upstream on the test's io_context: reads one request head per connection, answers
// with fixed bytes and closes; with an empty response it never answers (reads until the peer
// closes). Counts what it saw. The state is shared with its coroutines, which may outlive it.
class FakeUpstream {
 public:
  explicit FakeUpstream(asio::io_context& io, std::string response,
                        net::ip::address address = net::ip::address_v4::loopback())
      : state_(std::make_shared<State>(io)) {
    state_->response = std::move(response);
    std::error_code ec;
    state_->acceptor.open(net::tcp::v4(), ec);
    if (!ec) state_->acceptor.bind(net::tcp::endpoint(address, 0), ec);
    if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) state_->endpoint = state_->acceptor.local_endpoint(ec);
    listening_ = !ec;
    if (listening_) asio::co_spawn(io, accept_loop(state_), asio::detached);
  }
  ~FakeUpstream() { close(); }

  bool listening() const { return listening_; }
  net::tcp::endpoint endpoint() const { return state_->endpoint; }
  void set_response(std::string response) { state_->response = std::move(response); }
  std::size_t accepted() const { return state_->accepted; }
  std::size_t answered() const { return state_->sent.size(); }
  // Responses written that start with `prefix` ("HTTP/1.1 503").
  std::size_t answered_with(std::string_view prefix) const {
    return static_cast<std::size_t>(
        std::count_if(state_->sent.begin(), state_->sent.end(),
                      [&](const std::string& s) { return s.starts_with(prefix); }));
  }
  std::size_t max_concurrent() const { return state_->max_concurrent; }
  const std::vector<std::string>& requests() const { return state_->requests; }
  // Stops accepting (open connections end when the checker closes its side).
  void close() {
    std::error_code ignored;
    state_->acceptor.close(ignored);
  }

 private:
  struct State {
    explicit State(asio::io_context& io) : acceptor(io) {}
    net::tcp::acceptor acceptor;
    net::tcp::endpoint endpoint;
    std::string response;
    std::size_t accepted = 0;
    std::size_t concurrent = 0;
    std::size_t max_concurrent = 0;
    std::vector<std::string> requests;
    std::vector<std::string> sent;
  };

  static net::Task<void> accept_loop(std::shared_ptr<State> state) {
    for (;;) {
      auto [ec, socket] = co_await state->acceptor.async_accept(net::use_task);
      if (ec) co_return;
      ++state->accepted;
      net::prepare_socket(socket);
      asio::co_spawn(state->acceptor.get_executor(), serve(state, std::move(socket)), asio::detached);
    }
  }

  static net::Task<void> serve(std::shared_ptr<State> state, net::tcp::socket socket) {
    state->max_concurrent = std::max(state->max_concurrent, ++state->concurrent);
    std::string request;
    std::array<char, 4096> chunk;
    while (request.find("\r\n\r\n") == std::string::npos) {
      auto read = co_await net::read_some(socket, chunk);
      if (read.error) break;
      request.append(chunk.data(), read.bytes);
    }
    state->requests.push_back(request);
    if (request.ends_with("\r\n\r\n")) {
      if (state->response.empty()) {
        // Never answer: wait for the peer to give up.
        while (!(co_await net::read_some(socket, chunk)).error) {
        }
      } else {
        const std::string response = state->response;
        state->sent.push_back(response);
        co_await net::write_all(socket, response);  // fails when the checker stops reading a body
      }
    }
    std::error_code ignored;
    socket.close(ignored);
    --state->concurrent;
  }

  std::shared_ptr<State> state_;
  bool listening_ = false;
};

std::string response_with_status(unsigned status) {
  return "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Length: 0\r\n\r\n";
}

// An address on which nothing listens: bound, then released.
net::tcp::endpoint closed_endpoint(asio::io_context& io) {
  net::tcp::acceptor acceptor(io, net::tcp::endpoint(net::ip::address_v4::loopback(), 0));
  return acceptor.local_endpoint();
}

ProbeTarget target_for(const FakeUpstream& upstream) {
  return {"test.local", {upstream.endpoint()}};
}

// Runs the checker against fake upstreams on one io_context. Intervals are short and timeouts
// long (except where a timeout is the point), so a slow machine changes nothing but the pace.
class ActiveCheckerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (checker_) {
      checker_->stop();
      std::weak_ptr<ActiveHealthChecker> weak = checker_;
      checker_.reset();
      EXPECT_TRUE(run_until(io_, [&] { return weak.expired(); })) << "stop() did not end the loops";
    }
    for (auto& upstream : upstreams_) upstream->close();
    // Nothing may be left behind: no loop, no deadline watchdog, no connection.
    io_.restart();
    io_.run_for(net::test::kTestBound);
    EXPECT_TRUE(io_.stopped()) << "work left after stop()";
  }

  FakeUpstream& add_upstream(std::string response,
                             net::ip::address address = net::ip::address_v4::loopback()) {
    upstreams_.push_back(std::make_unique<FakeUpstream>(io_, std::move(response), address));
    return *upstreams_.back();
  }

  std::shared_ptr<ActiveHealthChecker> make_checker(std::vector<ProbeTarget> targets,
                                                    HealthTrackerOptions tracker_options = {},
                                                    ActiveHealthChecker::AllowedFn allowed = nullptr) {
    tracker_ = std::make_shared<HealthTracker>(targets.size(), tracker_options);
    if (!allowed) allowed = [](const asio::ip::address&) { return true; };
    checker_ =
        std::make_shared<ActiveHealthChecker>(io_.get_executor(), std::move(targets), options_, tracker_,
                                              std::move(allowed), [this](std::size_t target, bool healthy) {
                                                changes_.emplace_back(target, healthy);
                                                if (on_change_) on_change_(target, healthy);
                                              });
    return checker_;
  }

  bool changed(std::size_t target, bool healthy) const {
    return std::find(changes_.begin(), changes_.end(), std::pair{target, healthy}) != changes_.end();
  }

  // Stops the checker and runs the loop until the checker is gone.
  void stop_and_release() {
    checker_->stop();
    std::weak_ptr<ActiveHealthChecker> weak = checker_;
    checker_.reset();
    ASSERT_TRUE(run_until(io_, [&] { return weak.expired(); })) << "stop() did not end the loops";
  }

  asio::io_context io_;  // first: destroyed last
  std::vector<std::unique_ptr<FakeUpstream>> upstreams_;
  ActiveHealthCheckOptions options_{.path = "/healthz", .interval = 20ms, .timeout = 10s, .expected = {}};
  std::shared_ptr<HealthTracker> tracker_;
  std::shared_ptr<ActiveHealthChecker> checker_;
  std::vector<std::pair<std::size_t, bool>> changes_;
  std::function<void(std::size_t, bool)> on_change_;  // extra hook, runs inside on_change
};

TEST_F(ActiveCheckerTest, HealthyTargetStaysHealthyAndGetsTheProbeRequest) {
  options_.interval = 0ms;  // back to back: any overlap between probes would show
  auto& upstream = add_upstream(response_with_status(200));
  make_checker({target_for(upstream)})->start();
  ASSERT_TRUE(run_until(io_, [&] { return checker_->probes_succeeded() >= 5; }));
  EXPECT_TRUE(tracker_->is_healthy(0));
  EXPECT_TRUE(changes_.empty());
  EXPECT_EQ(checker_->probes_failed(), 0u);
  EXPECT_GE(checker_->probes_sent(), 5u);
  EXPECT_EQ(upstream.max_concurrent(), 1u);
  ASSERT_FALSE(upstream.requests().empty());
  EXPECT_EQ(upstream.requests().front(), build_probe_request("test.local", "/healthz"));
}

TEST_F(ActiveCheckerTest, FailingTargetGoesDownAfterThresholdAndComesBackAfterThreshold) {
  auto& upstream = add_upstream(response_with_status(503));
  std::size_t answered_503_at_down = 0;
  std::size_t answered_200_at_up = 0;
  on_change_ = [&](std::size_t, bool healthy) {
    (healthy ? answered_200_at_up : answered_503_at_down) =
        upstream.answered_with(healthy ? "HTTP/1.1 200" : "HTTP/1.1 503");
  };
  make_checker({target_for(upstream)}, {.healthy_threshold = 2, .unhealthy_threshold = 3})->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
  EXPECT_FALSE(tracker_->is_healthy(0));
  EXPECT_EQ(answered_503_at_down, 3u);  // exactly unhealthy_threshold probes

  upstream.set_response(response_with_status(200));
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, true); }));
  EXPECT_TRUE(tracker_->is_healthy(0));
  EXPECT_EQ(answered_200_at_up, 2u);  // exactly healthy_threshold probes
  EXPECT_EQ(tracker_->became_unhealthy(), 1u);
  EXPECT_EQ(tracker_->became_healthy(), 1u);
  EXPECT_EQ(changes_.size(), 2u);
}

TEST_F(ActiveCheckerTest, TargetThatNeverAnswersTimesOut) {
  options_.timeout = 50ms;
  auto& silent = add_upstream("");
  auto& healthy = add_upstream(response_with_status(200));
  make_checker({target_for(silent), target_for(healthy)}, {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
  EXPECT_GE(checker_->probes_timed_out(), 1u);
  EXPECT_GE(silent.accepted(), 1u);
  EXPECT_EQ(silent.answered(), 0u);
  EXPECT_TRUE(tracker_->is_healthy(1));
}

TEST_F(ActiveCheckerTest, HungTargetDoesNotDelayTheOthersAndStopInterruptsIt) {
  options_.timeout = 60s;  // longer than the test bound: only stop() can end that probe
  auto& silent = add_upstream("");
  auto& healthy = add_upstream(response_with_status(200));
  make_checker({target_for(silent), target_for(healthy)})->start();
  ASSERT_TRUE(run_until(io_, [&] { return healthy.answered() >= 3; }));
  EXPECT_EQ(silent.accepted(), 1u);  // its first probe is still waiting, and nothing overlaps it
  EXPECT_EQ(checker_->probes_failed(), 0u);

  stop_and_release();
  EXPECT_EQ(silent.accepted(), 1u);
  EXPECT_EQ(changes_.size(), 0u);  // the interrupted probe was not recorded as a failure
}

TEST_F(ActiveCheckerTest, RefusedPortFails) {
  make_checker({ProbeTarget{"test.local", {closed_endpoint(io_)}}}, {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
  EXPECT_GE(checker_->probes_failed(), 1u);
  EXPECT_EQ(checker_->probes_timed_out(), 0u);
}

TEST_F(ActiveCheckerTest, NoEndpointsFails) {
  make_checker({ProbeTarget{"test.local", {}}}, {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
}

TEST_F(ActiveCheckerTest, FallsBackToTheNextEndpointWhenOneRefuses) {
  auto& upstream = add_upstream(response_with_status(200));
  make_checker({ProbeTarget{"test.local", {closed_endpoint(io_), upstream.endpoint()}}},
               {.unhealthy_threshold = 1})
      ->start();
  ASSERT_TRUE(run_until(io_, [&] { return checker_->probes_succeeded() >= 2; }));
  EXPECT_EQ(checker_->probes_failed(), 0u);
  EXPECT_TRUE(tracker_->is_healthy(0));
}

TEST_F(ActiveCheckerTest, MalformedOversizedOrTruncatedHeadsFail) {
  const std::vector<std::string> bad = {
      "garbage\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(kMaxProbeHeadBytes, 'a') + "\r\n\r\n",  // over the bound
      "HTTP/1.1 200 OK\r\nContent-Le",                                                   // closed mid-head
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",               // bad framing
      "HTTP/2.0 200 OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",  // bare LF
  };
  std::vector<ProbeTarget> targets;
  for (const auto& response : bad) targets.push_back(target_for(add_upstream(response)));
  make_checker(std::move(targets), {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] { return tracker_->healthy_count() == 0; }));
  EXPECT_EQ(checker_->probes_succeeded(), 0u);
  EXPECT_EQ(checker_->probes_timed_out(), 0u);
  for (const auto& upstream : upstreams_) EXPECT_GE(upstream->answered(), 1u);
}

TEST_F(ActiveCheckerTest, AcceptsWhatARealUpstreamMaySend) {
  options_.expected = {.min = 200, .max = 399};
  const std::vector<std::string> good = {
      // A big body is never read.
      "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000000, 'b'),
      // Interim heads are skipped.
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No "
      "Content\r\n\r\n",
      // Within `expected`, HTTP/1.0, body until close.
      "HTTP/1.0 302 Found\r\nLocation: /elsewhere\r\n\r\nbody",
      // Just under the bound.
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(kMaxProbeHeadBytes - 100, 'a') + "\r\n\r\n",
  };
  std::vector<ProbeTarget> targets;
  for (const auto& response : good) targets.push_back(target_for(add_upstream(response)));
  make_checker(std::move(targets), {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] {
    return std::all_of(upstreams_.begin(), upstreams_.end(),
                       [](const auto& u) { return u->answered() >= 2; }) &&
           checker_->probes_succeeded() >= 2 * upstreams_.size();
  }));
  EXPECT_EQ(checker_->probes_failed(), 0u);
  EXPECT_TRUE(changes_.empty());
}

TEST_F(ActiveCheckerTest, StatusOutsideExpectedFails) {
  options_.expected = {.min = 200, .max = 204};
  auto& upstream = add_upstream(response_with_status(302));
  make_checker({target_for(upstream)}, {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
}

TEST_F(ActiveCheckerTest, AddressRefusedByTheEgressGuardIsNeverConnectedTo) {
  const auto forbidden = net::ip::make_address("127.0.0.2");
  auto& internal = add_upstream(response_with_status(200), forbidden);
  if (!internal.listening()) GTEST_SKIP() << "cannot bind 127.0.0.2";
  auto& allowed = add_upstream(response_with_status(200));
  std::vector<asio::ip::address> asked;
  auto guard = [&](const asio::ip::address& address) {
    asked.push_back(address);
    return address != forbidden;
  };
  // Target 0 falls back to the allowed address; target 1 has only the forbidden one.
  make_checker({ProbeTarget{"test.local", {internal.endpoint(), allowed.endpoint()}},
                ProbeTarget{"test.local", {internal.endpoint()}}},
               {.unhealthy_threshold = 1}, guard)
      ->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(1, false) && allowed.answered() >= 2; }));
  EXPECT_EQ(internal.accepted(), 0u);
  EXPECT_TRUE(tracker_->is_healthy(0));
  EXPECT_GE(checker_->endpoints_denied(), 3u);
  EXPECT_TRUE(std::find(asked.begin(), asked.end(), allowed.endpoint().address()) != asked.end());
}

TEST_F(ActiveCheckerTest, UnsendableRequestFailsWithoutConnecting) {
  options_.path = "healthz";  // not origin-form: build_probe_request() refuses it
  auto& upstream = add_upstream(response_with_status(200));
  make_checker({target_for(upstream)}, {.unhealthy_threshold = 1})->start();
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
  EXPECT_EQ(upstream.accepted(), 0u);
}

TEST_F(ActiveCheckerTest, StopEndsEverythingAndTheCheckerIsReleased) {
  auto& healthy = add_upstream(response_with_status(200));
  auto& silent = add_upstream("");
  auto& failing = add_upstream(response_with_status(500));
  make_checker({target_for(healthy), target_for(silent), target_for(failing)})->start();
  ASSERT_TRUE(run_until(io_, [&] { return healthy.answered() >= 2 && failing.answered() >= 2; }));
  checker_->stop();
  checker_->stop();  // twice is fine
  EXPECT_TRUE(checker_->stopped());
  stop_and_release();
  const std::size_t probes = healthy.accepted() + silent.accepted() + failing.accepted();
  // No loop is left to probe again: the io_context runs out of work once the servers close.
  for (auto& upstream : upstreams_) upstream->close();
  io_.restart();
  io_.run_for(net::test::kTestBound);
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(healthy.accepted() + silent.accepted() + failing.accepted(), probes);
}

TEST_F(ActiveCheckerTest, StopFromOnChangeEndsTheLoops) {
  auto& failing = add_upstream(response_with_status(500));
  auto& healthy = add_upstream(response_with_status(200));
  on_change_ = [&](std::size_t, bool) { checker_->stop(); };
  make_checker({target_for(failing), target_for(healthy)}, {.unhealthy_threshold = 1})->start();
  std::weak_ptr<ActiveHealthChecker> weak = checker_;
  ASSERT_TRUE(run_until(io_, [&] { return changed(0, false); }));
  checker_.reset();
  ASSERT_TRUE(run_until(io_, [&] { return weak.expired(); }));
  EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(ActiveCheckerTest, StopBeforeStartProbesNothing) {
  auto& upstream = add_upstream(response_with_status(200));
  make_checker({target_for(upstream)});
  checker_->stop();
  checker_->start();
  upstream.close();
  io_.run_for(net::test::kTestBound);
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(checker_->probes_sent(), 0u);
  EXPECT_EQ(upstream.accepted(), 0u);
}

TEST_F(ActiveCheckerTest, UnstartedCheckerWithoutOwnerCanBeStopped) {
  auto tracker = std::make_shared<HealthTracker>(1, HealthTrackerOptions{});
  ActiveHealthChecker checker(
      io_.get_executor(), {ProbeTarget{"test.local", {}}}, options_, tracker,
      [](const asio::ip::address&) { return true; }, nullptr);
  checker.stop();
  EXPECT_TRUE(checker.stopped());
}

}  // namespace
}  // namespace flexgate::upstream
