#include "upstream/health/active_checker.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "http/parser.h"
#include "net/deadline.h"
#include "net/socket_io.h"

namespace flexgate::upstream {

// Everything one target's loop owns; reused from probe to probe.
struct ActiveHealthChecker::Target {
  Target(const net::Executor& executor, ProbeTarget target, std::optional<std::string> probe_request)
      : endpoints(std::move(target.endpoints)),
        request(std::move(probe_request)),
        socket(executor),
        timer(executor) {}

  void close_socket() {
    std::error_code ignored;
    socket.close(ignored);
  }

  std::vector<net::tcp::endpoint> endpoints;
  std::optional<std::string> request;  // nullopt: build_probe_request() refused host or path
  net::tcp::socket socket;
  net::SteadyTimer timer;                 // the wait between probes
  std::optional<net::Deadline> deadline;  // bounds one probe; there while the loop runs
  std::array<char, kMaxProbeHeadBytes> buffer{};
  http::ResponseHead head;
};

ActiveHealthChecker::ActiveHealthChecker(net::Executor executor, std::vector<ProbeTarget> targets,
                                         ActiveHealthCheckOptions options,
                                         std::shared_ptr<HealthTracker> tracker, AllowedFn allowed,
                                         OnChangeFn on_change)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      tracker_(std::move(tracker)),
      allowed_(std::move(allowed)),
      on_change_(std::move(on_change)) {
  assert(tracker_ && tracker_->target_count() == targets.size());
  targets_.reserve(targets.size());
  for (auto& target : targets) {
    auto request = build_probe_request(target.host_header, options_.path);
    targets_.push_back(std::make_unique<Target>(executor_, std::move(target), std::move(request)));
  }
}

ActiveHealthChecker::~ActiveHealthChecker() = default;

void ActiveHealthChecker::start() {
  if (stopping_.load() || started_.exchange(true)) return;
  // Never index past the tracker, even if the assert above is compiled out.
  const std::size_t count = std::min(targets_.size(), tracker_ ? tracker_->target_count() : 0);
  for (std::size_t i = 0; i < count; ++i) {
    asio::co_spawn(
        executor_, [self = shared_from_this(), i] { return self->run_target(i); }, asio::detached);
  }
}

void ActiveHealthChecker::stop() {
  stopping_.store(true);
  // Sockets and timers belong to the executor: close them there. Without an owner the checker
  // was never started (start() needs one), so there is nothing in flight to race with.
  if (auto self = weak_from_this().lock()) {
    asio::dispatch(executor_, [self = std::move(self)] { self->stop_on_executor(); });
  } else {
    stop_on_executor();
  }
}

void ActiveHealthChecker::stop_on_executor() {
  // Every wait of a loop is on its timer or its socket: both end at once with operation_aborted,
  // and the loop sees stopping_ and exits.
  for (auto& target : targets_) {
    target->timer.cancel();
    target->close_socket();
  }
}

net::Task<void> ActiveHealthChecker::run_target(std::size_t index) {
  auto self = shared_from_this();
  Target& target = *targets_[index];
  // The deadline closes the socket, which fails whatever step the probe is waiting on.
  target.deadline.emplace(executor_, [&target] { target.close_socket(); });
  while (!stopping_.load()) {
    const auto started = net::Clock::now();
    const ProbeResult result = co_await probe(target);
    if (result == ProbeResult::kInterrupted) break;
    const bool ok = result == ProbeResult::kHealthy;
    (ok ? probes_succeeded_ : probes_failed_).fetch_add(1, std::memory_order_relaxed);
    if (result == ProbeResult::kTimedOut) probes_timed_out_.fetch_add(1, std::memory_order_relaxed);
    if (tracker_->record_probe(index, ok) && on_change_) on_change_(index, tracker_->is_healthy(index));
    if (stopping_.load()) break;  // on_change may have called stop()
    target.timer.expires_at(started + options_.interval);
    co_await target.timer.async_wait(net::use_task);
  }
  target.deadline.reset();  // leaves the queue
  target.close_socket();
}

net::Task<ActiveHealthChecker::ProbeResult> ActiveHealthChecker::probe(Target& target) {
  probes_sent_.fetch_add(1, std::memory_order_relaxed);
  if (!target.request) co_return ProbeResult::kUnhealthy;
  target.deadline->set_after(options_.timeout);
  bool healthy = false;
  if (co_await connect(target)) {
    const net::IoResult written = co_await net::write_all(target.socket, *target.request);
    if (!written.error) healthy = co_await read_head_is_healthy(target);
  }
  const bool timed_out = target.deadline->expired();
  target.deadline->clear();
  // Connection: close was sent and the body is of no interest: done with this connection.
  target.close_socket();
  if (stopping_.load()) co_return ProbeResult::kInterrupted;
  if (healthy) co_return ProbeResult::kHealthy;
  co_return timed_out ? ProbeResult::kTimedOut : ProbeResult::kUnhealthy;
}

net::Task<bool> ActiveHealthChecker::connect(Target& target) {
  for (const net::tcp::endpoint& endpoint : target.endpoints) {
    // A closed socket (timeout, stop) must not be reopened for the next endpoint.
    if (stopping_.load() || target.deadline->expired()) co_return false;
    if (!allowed_ || !allowed_(endpoint.address())) {  // no guard: fail closed
      endpoints_denied_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    target.close_socket();  // a socket whose connect failed is not reused
    if (!co_await net::connect(target.socket, endpoint)) co_return true;
  }
  co_return false;
}

net::Task<bool> ActiveHealthChecker::read_head_is_healthy(Target& target) {
  http::Limits limits;
  limits.max_head_bytes = kMaxProbeHeadBytes;
  std::span<char> buffer(target.buffer);
  std::size_t used = 0;
  bool first_read = true;
  for (;;) {
    if (used > 0) {
      const std::string_view bytes(buffer.data(), used);
      const http::ParseOutcome outcome =
          http::parse_response_head(bytes, limits, http::Method::kGet, target.head);
      if (outcome.status == http::ParseStatus::kError) co_return false;
      if (outcome.status == http::ParseStatus::kComplete) {
        const unsigned status = target.head.status;
        if (status < 100 || status >= 200 || status == 101) {
          co_return is_healthy_status(status, options_.expected);
        }
        // An interim response (100 Continue, 103 Early Hints): the final head follows.
        std::copy(buffer.begin() + static_cast<std::ptrdiff_t>(outcome.consumed),
                  buffer.begin() + static_cast<std::ptrdiff_t>(used), buffer.begin());
        used -= outcome.consumed;
        continue;
      }
    }
    if (used == buffer.size()) co_return false;  // the head does not fit
    // The response cannot be there yet right after the request: wait before the first recv().
    net::IoResult read;
    if (first_read) {
      auto [read_error, read_bytes] = co_await net::read_after_wait(target.socket, buffer.subspan(used));
      read = net::IoResult{read_error, read_bytes};
    } else {
      read = co_await net::read_some(target.socket, buffer.subspan(used));
    }
    first_read = false;
    if (read.error) co_return false;  // eof before the head ended, reset, or closed by the deadline
    used += read.bytes;
  }
}

}  // namespace flexgate::upstream
