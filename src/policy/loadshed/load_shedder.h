#pragma once
// Gateway-wide load shedding by request priority, shared by every worker thread.
//
// Requests in flight are counted against a hard limit `max_in_flight`; lower priorities are shed
// earlier, so when the gateway saturates, low-priority traffic goes first and critical last:
//   low       admitted while in_flight < floor(max_in_flight * low_shed_at)     (default 0.70)
//   normal    admitted while in_flight < floor(max_in_flight * normal_shed_at)  (default 0.85)
//   critical  admitted while in_flight < max_in_flight
// (in_flight counts the requests admitted before this one). `max_in_flight` 0 means unlimited:
// nothing is shed. Connections have their own counter and limit, `max_connections` (0 = unlimited).
//
// Admission is a compare-exchange loop on one atomic counter, so concurrent admissions never push
// the count past a limit. An admission is an RAII Ticket: releasing (or destroying) it gives the
// slot back. A refused Ticket carries the reason and the Retry-After to send with the 503.
// The shedder must outlive its tickets; reconfigure() keeps the counts across config reloads.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flexgate::policy {

// A route's priority for load shedding (config `priority`).
enum class Priority : std::uint8_t { kCritical, kNormal, kLow };

inline constexpr Priority kDefaultPriority = Priority::kNormal;

// "critical", "normal" or "low"; anything else fails with `error` naming the word.
std::optional<Priority> parse_priority(std::string_view word, std::string& error);
std::string_view to_string(Priority priority);

// Why an admission was refused (kNone: admitted); a log field and metrics label.
enum class ShedReason : std::uint8_t {
  kNone,
  kHardLimit,        // max_in_flight reached (any priority)
  kNormalThreshold,  // normal_shed_at reached
  kLowThreshold,     // low_shed_at reached
  kConnectionLimit,  // max_connections reached
};

std::string_view to_string(ShedReason reason);  // "none", "hard_limit", "normal_threshold", ...

// Sheds requests by priority (and connections) when the gateway is saturated.
class LoadShedder {
 public:
  // The gateway's limits and shedding thresholds.
  struct Options {
    std::uint64_t max_in_flight = 0;      // hard limit on requests in flight; 0 = unlimited
    double low_shed_at = 0.70;            // fraction of max_in_flight where low priority is shed
    double normal_shed_at = 0.85;         // fraction of max_in_flight where normal priority is shed
    std::uint64_t max_connections = 0;    // 0 = unlimited
    std::chrono::seconds retry_after{1};  // Retry-After sent with a refusal
  };

  // An admitted request or connection (holds one slot until released), or a refusal.
  class Ticket {
   public:
    Ticket() = default;  // holds nothing (refused with kNone): what a moved-from ticket becomes
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }

    bool admitted() const { return counter_ != nullptr; }
    explicit operator bool() const { return admitted(); }
    ShedReason reason() const { return reason_; }                      // kNone when admitted
    std::chrono::seconds retry_after() const { return retry_after_; }  // 0 when admitted
    // Gives the slot back now (idempotent).
    void release();

   private:
    friend class LoadShedder;
    explicit Ticket(std::atomic<std::uint64_t>* counter) : counter_(counter) {}
    Ticket(ShedReason reason, std::chrono::seconds retry_after)
        : reason_(reason), retry_after_(retry_after) {}

    std::atomic<std::uint64_t>* counter_ = nullptr;
    ShedReason reason_ = ShedReason::kNone;
    std::chrono::seconds retry_after_{0};
  };

  LoadShedder();
  explicit LoadShedder(const Options& options);
  LoadShedder(const LoadShedder&) = delete;
  LoadShedder& operator=(const LoadShedder&) = delete;

  // Admits one request of `priority`, or refuses it (counted in shed(priority)).
  Ticket admit(Priority priority);
  // Admits one downstream connection, or refuses it (counted in connections_refused()).
  Ticket admit_connection();

  // New limits for a config reload; tickets already out stay counted. Concurrent admissions may
  // see a mix of old and new limits for a moment.
  void reconfigure(const Options& options);

  std::uint64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  std::uint64_t shed(Priority priority) const;
  std::uint64_t connections_refused() const { return connections_refused_.load(std::memory_order_relaxed); }

 private:
  // Takes one slot of `counter` if it is below `limit`; `seen` is the count the decision saw.
  static bool try_take(std::atomic<std::uint64_t>& counter, std::uint64_t limit, std::uint64_t& seen);

  // Limits as counts (unlimited = UINT64_MAX), indexed by Priority.
  std::array<std::atomic<std::uint64_t>, 3> limits_{};
  std::atomic<std::uint64_t> connection_limit_{0};
  std::atomic<std::int64_t> retry_after_s_{1};
  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::array<std::atomic<std::uint64_t>, 3> shed_{};
  std::atomic<std::uint64_t> connections_refused_{0};
};

}  // namespace flexgate::policy
