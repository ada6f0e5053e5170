#include "observe/metrics.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <utility>

namespace flexgate::observe {
namespace {

constexpr MetricFamilyInfo kFamilies[] = {
#define FLEXGATE_FAMILY_INFO(enumerator, name, type, help) {name, type, help},
    FLEXGATE_METRIC_FAMILIES(FLEXGATE_FAMILY_INFO)
#undef FLEXGATE_FAMILY_INFO
};
static_assert(std::size(kFamilies) == kMetricFamilyCount);

struct RejectionLabels {
  std::string_view policy;
  std::string_view reason;
};
constexpr RejectionLabels kRejections[] = {
#define FLEXGATE_REJECTION_LABELS(enumerator, policy, reason) {policy, reason},
    FLEXGATE_POLICY_REJECTIONS(FLEXGATE_REJECTION_LABELS)
#undef FLEXGATE_REJECTION_LABELS
};
static_assert(std::size(kRejections) == kRejectionCount);

constexpr std::string_view kOutcomes[] = {
#define FLEXGATE_OUTCOME_LABEL(enumerator, label) label,
    FLEXGATE_UPSTREAM_OUTCOMES(FLEXGATE_OUTCOME_LABEL)
#undef FLEXGATE_OUTCOME_LABEL
};
static_assert(std::size(kOutcomes) == kUpstreamOutcomeCount);

constexpr std::string_view kMethods[] = {"GET",     "HEAD",  "POST",  "PUT",     "DELETE",
                                         "OPTIONS", "PATCH", "TRACE", "CONNECT", "OTHER"};
static_assert(std::size(kMethods) == kMethodLabelCount);

// The le label of each bucket bound, as Prometheus clients print them.
constexpr std::string_view kBoundLabels[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                             "0.05",   "0.1",   "0.25",   "0.5",   "1",    "2.5",
                                             "5",      "10",    "30",     "60"};
static_assert(std::size(kBoundLabels) == kDurationBoundsMicros.size());

constexpr std::string_view kSizeLabels[] = {"100", "1000", "10000", "100000", "1e+06", "1e+07", "1e+08"};
static_assert(std::size(kSizeLabels) == kSizeBounds.size());

void append_uint(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

void append_int(std::string& out, std::int64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

// `units` / 10^decimals as an exact decimal ("1.000250"), no floating point: sums stay exact.
void append_fixed(std::string& out, std::uint64_t units, int decimals) {
  std::uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  append_uint(out, units / scale);
  out += '.';
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof(digits), units % scale);
  out.append(static_cast<std::size_t>(decimals) - static_cast<std::size_t>(result.ptr - digits), '0');
  out.append(digits, result.ptr);
}

// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP text escapes backslash and line feed.
void append_help_text(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_header(std::string& out, MetricFamily family) {
  const MetricFamilyInfo& info = family_info(family);
  out += "# HELP ";
  out += info.name;
  out += ' ';
  append_help_text(out, info.help);
  out += "\n# TYPE ";
  out += info.name;
  out += ' ';
  out += info.type;
  out += '\n';
}

// Writes `name{` — the caller appends labels, then close_labels().
void open_sample(std::string& out, std::string_view name, std::string_view suffix = {}) {
  out += name;
  out += suffix;
  out += '{';
}

void append_label(std::string& out, std::string_view label, std::string_view value, bool first = false) {
  if (!first) out += ',';
  out += label;
  out += "=\"";
  append_label_value(out, value);
  out += '"';
}

void close_labels(std::string& out) {
  out += "} ";
}

// One histogram series (left out while it has no observation): cumulative buckets, then _sum
// (`sum` in 10^-decimals units: micros with 6 for seconds, bytes with 0) and _count. +Inf and
// _count come from the same bucket reads, so they always agree.
template <std::size_t N>
void append_histogram(std::string& out, std::string_view name, std::string_view label, std::string_view value,
                      const std::array<std::uint64_t, N>& buckets, const std::string_view (&bounds)[N - 1],
                      std::uint64_t sum, int decimals) {
  std::uint64_t total = 0;
  for (const std::uint64_t count : buckets) total += count;
  if (total == 0) return;
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < N; ++b) {
    cumulative += buckets[b];
    open_sample(out, name, "_bucket");
    append_label(out, label, value, true);
    append_label(out, "le", b + 1 < N ? bounds[b] : "+Inf");
    close_labels(out);
    append_uint(out, cumulative);
    out += '\n';
  }
  open_sample(out, name, "_sum");
  append_label(out, label, value, true);
  close_labels(out);
  if (decimals == 0) {
    append_uint(out, sum);
  } else {
    append_fixed(out, sum, decimals);
  }
  out += '\n';
  open_sample(out, name, "_count");
  append_label(out, label, value, true);
  close_labels(out);
  append_uint(out, cumulative);
  out += '\n';
}

}  // namespace

const MetricFamilyInfo& family_info(MetricFamily family) {
  return kFamilies[static_cast<std::size_t>(family)];
}

std::string_view to_string(MethodLabel method) {
  return kMethods[static_cast<std::size_t>(method)];
}
std::string_view to_string(UpstreamOutcome outcome) {
  return kOutcomes[static_cast<std::size_t>(outcome)];
}
std::string_view policy_of(Rejection rejection) {
  return kRejections[static_cast<std::size_t>(rejection)].policy;
}
std::string_view reason_of(Rejection rejection) {
  return kRejections[static_cast<std::size_t>(rejection)].reason;
}

namespace detail {

SeriesTable::SeriesTable(std::uint32_t capacity) {
  // A power of two of at least 64 slots (16 lines), so probing wraps with a mask.
  const std::uint64_t slots = std::bit_ceil(std::max<std::uint64_t>(capacity, 64));
  mask_ = slots - 1;
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(slots));
  limit_ = static_cast<std::uint32_t>(slots / 4 * 3);
  lines_ = std::make_unique<Line[]>(slots / 4);
}

bool SeriesTable::insert(Slot& slot, std::uint64_t key) {
  if (used_ >= limit_) return false;
  ++used_;
  slot.count.add();  // the count first, then the key with release: a reader that sees the key sees it
  slot.key.store(key, std::memory_order_release);
  return true;
}

std::uint64_t SeriesTable::count(std::uint64_t key) const {
  std::uint64_t index = key * 0x9E3779B97F4A7C15ull >> shift_;
  for (std::uint64_t probes = 0; probes <= mask_; ++probes) {
    const Slot& slot = slot_at(index);
    const std::uint64_t found = slot.key.load(std::memory_order_acquire);
    if (found == key) return slot.count.value();
    if (found == 0) return 0;
    index = (index + 1) & mask_;
  }
  return 0;
}

}  // namespace detail

WorkerMetrics::WorkerMetrics(const MetricsLimits& limits)
    : requests_(limits.request_series),
      durations_(limits.max_routes),
      upstreams_(limits.max_upstreams),
      targets_(limits.max_targets) {}

MetricsRegistry::MetricsRegistry(unsigned workers, MetricsLimits limits) : limits_(limits) {
  limits_.max_routes = std::max<std::uint32_t>(limits_.max_routes, 1);  // room for "none"
  workers_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) workers_.push_back(std::make_unique<WorkerMetrics>(limits_));
  std::vector<std::string> errors;
  register_route("none", errors);  // kNoRoute
}

std::optional<std::uint32_t> MetricsRegistry::intern(detail::LabelTable& table, std::string_view name,
                                                     std::uint32_t capacity, std::string_view kind,
                                                     std::vector<std::string>& errors, bool& added) {
  // Caller holds mutex_ (or is the constructor).
  added = false;
  std::string key(name);
  if (const auto it = table.ids.find(key); it != table.ids.end()) return it->second;
  if (table.names.size() >= capacity) {
    errors.push_back("metrics: more than " + std::to_string(capacity) + " distinct " + std::string(kind) +
                     " label values since start; cannot add " + std::string(kind) + " \"" + key +
                     "\" (restart the process to reset the metrics label tables)");
    return std::nullopt;
  }
  const auto id = static_cast<std::uint32_t>(table.names.size());
  table.names.push_back(key);
  table.ids.emplace(std::move(key), id);
  added = true;
  return id;
}

std::optional<RouteId> MetricsRegistry::register_route(std::string_view pattern,
                                                       std::vector<std::string>& errors) {
  if (pattern.empty()) return kNoRoute;
  const std::lock_guard lock(mutex_);
  bool added = false;
  const auto id = intern(routes_, pattern, limits_.max_routes, "route", errors, added);
  // Storage for a new id exists in every shard before the id is handed out.
  if (added) {
    for (const auto& worker : workers_) worker->durations_.ensure(*id);
  }
  return id;
}

std::optional<UpstreamId> MetricsRegistry::register_upstream(std::string_view name,
                                                             std::vector<std::string>& errors) {
  const std::lock_guard lock(mutex_);
  bool added = false;
  const auto id = intern(upstreams_, name, limits_.max_upstreams, "upstream", errors, added);
  if (added) {
    for (const auto& worker : workers_) worker->upstreams_.ensure(*id);
  }
  return id;
}

std::optional<TargetId> MetricsRegistry::register_target(std::string_view upstream, std::string_view target,
                                                         std::vector<std::string>& errors) {
  std::string key(upstream);
  key += '\x1f';
  key += target;
  const std::lock_guard lock(mutex_);
  bool added = false;
  const auto id = intern(targets_, key, limits_.max_targets, "upstream target", errors, added);
  if (added) {
    for (const auto& worker : workers_) worker->targets_.ensure(*id);
  }
  return id;
}

void MetricsRegistry::set_last_reload_error(std::string error) {
  const std::lock_guard lock(mutex_);
  last_reload_error_ = std::move(error);
}

std::string MetricsRegistry::last_reload_error() const {
  const std::lock_guard lock(mutex_);
  return last_reload_error_;
}

void MetricsRegistry::set_build_version(std::string_view version) {
  const std::lock_guard lock(mutex_);
  version_ = version;
}

void MetricsRegistry::record_config_load(std::chrono::system_clock::time_point when) {
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  last_success_unix_millis_.store(millis, std::memory_order_relaxed);
}

void MetricsRegistry::record_config_reload(bool success, std::chrono::system_clock::time_point when) {
  // Not a hot path, and a reload may come from the signal loop or the admin listener: fetch_add.
  if (success) {
    reload_successes_.fetch_add(1, std::memory_order_relaxed);
    record_config_load(when);
  } else {
    reload_failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

std::uint64_t MetricsRegistry::request_count(RouteId route, MethodLabel method, std::uint16_t status) const {
  const std::uint64_t key = detail::series_key(route, method, status);
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->requests_.count(key);
  return total;
}

DurationSnapshot MetricsRegistry::request_durations(RouteId route) const {
  DurationSnapshot snapshot;
  for (const auto& worker : workers_) {
    const detail::RouteDurations* durations = worker->durations_.find(route);
    if (durations == nullptr) continue;
    for (std::size_t i = 0; i < kDurationBucketCount; ++i)
      snapshot.buckets[i] += durations->buckets[i].value();
    snapshot.sum_micros += durations->sum_micros.value();
  }
  for (const std::uint64_t bucket : snapshot.buckets) snapshot.count += bucket;
  return snapshot;
}

std::int64_t MetricsRegistry::requests_in_flight() const {
  std::int64_t total = 0;
  for (const auto& worker : workers_) total += worker->in_flight_.value();
  return total;
}

std::uint64_t MetricsRegistry::rejection_count(Rejection rejection) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_)
    total += worker->rejections_[static_cast<std::size_t>(rejection)].value();
  return total;
}

std::uint64_t MetricsRegistry::upstream_request_count(UpstreamId upstream, UpstreamOutcome outcome) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) {
    if (const auto* counters = worker->upstreams_.find(upstream)) {
      total += counters->requests[static_cast<std::size_t>(outcome)].value();
    }
  }
  return total;
}

std::uint64_t MetricsRegistry::upstream_connections_opened(UpstreamId upstream) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) {
    if (const auto* counters = worker->upstreams_.find(upstream))
      total += counters->connections_opened.value();
  }
  return total;
}

std::uint64_t MetricsRegistry::upstream_pool_reuses(UpstreamId upstream) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) {
    if (const auto* counters = worker->upstreams_.find(upstream)) total += counters->pool_reuses.value();
  }
  return total;
}

std::uint64_t MetricsRegistry::rate_limit_hits(RouteId route) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) {
    if (const detail::RouteDurations* counters = worker->durations_.find(route)) total += counters->rate_limited.value();
  }
  return total;
}

std::uint64_t MetricsRegistry::grpc_responses(RouteId route, std::uint32_t grpc_status) const {
  if (grpc_status >= detail::kGrpcStatusCount) return 0;
  std::uint64_t total = 0;
  for (const auto& worker : workers_) {
    if (const detail::RouteDurations* counters = worker->durations_.find(route)) {
      total += counters->grpc_statuses[grpc_status].value();
    }
  }
  return total;
}

std::uint64_t MetricsRegistry::rate_limit_decisions(RateLimitStore store, RateLimitResult result) const {
  std::uint64_t total = 0;
  const std::size_t index = static_cast<std::size_t>(store) * 2 + static_cast<std::size_t>(result);
  for (const auto& worker : workers_) total += worker->rate_limit_decisions_[index].value();
  return total;
}

std::uint64_t MetricsRegistry::rate_limit_fallbacks(RateLimitFallback fallback) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->rate_limit_fallbacks_[static_cast<std::size_t>(fallback)].value();
  return total;
}

std::int64_t MetricsRegistry::rate_limit_degraded_workers() const {
  std::int64_t total = 0;
  for (const auto& worker : workers_) total += worker->rate_limit_degraded_.value();
  return total;
}

std::uint64_t MetricsRegistry::rate_limit_recoveries() const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->rate_limit_recoveries_.value();
  return total;
}

void MetricsRegistry::set_rate_limit_table_source(
    std::function<std::pair<std::uint64_t, std::uint64_t>()> evictions_and_size) {
  const std::lock_guard lock(mutex_);
  rate_limit_table_source_ = std::move(evictions_and_size);
}

std::uint64_t MetricsRegistry::load_shed(std::size_t priority) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += priority < 3 ? worker->load_shed_[priority].value() : 0;
  return total;
}

namespace {
#define FLEXGATE_TLS_RESULT_LABEL(enumerator, label) label,
constexpr std::array<std::string_view, kTlsResultCount> kTlsResultLabels{FLEXGATE_TLS_RESULTS(FLEXGATE_TLS_RESULT_LABEL)};
}  // namespace

TlsResult tls_result_from_label(std::string_view label) {
  for (std::size_t i = 0; i < kTlsResultLabels.size(); ++i) {
    if (kTlsResultLabels[i] == label) return static_cast<TlsResult>(i);
  }
  return TlsResult::kOther;
}

std::uint64_t MetricsRegistry::tls_handshakes(TlsSide side, TlsResult result) const {
  std::uint64_t total = 0;
  const std::size_t slot = static_cast<std::size_t>(side) * kTlsResultCount + static_cast<std::size_t>(result);
  for (const auto& worker : workers_) total += worker->tls_handshakes_[slot].value();
  return total;
}

std::int64_t MetricsRegistry::websocket_tunnels() const {
  std::int64_t total = 0;
  for (const auto& worker : workers_) total += worker->websocket_tunnels_.value();
  return total;
}

std::uint64_t MetricsRegistry::websocket_bytes(TunnelDirection direction) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->websocket_bytes_[static_cast<std::size_t>(direction)].value();
  return total;
}

std::uint64_t MetricsRegistry::timeouts(TimeoutKind kind) const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->timeouts_[static_cast<std::size_t>(kind)].value();
  return total;
}

void MetricsRegistry::set_external_source(std::function<void(std::vector<ExternalSample>&)> source) {
  const std::lock_guard lock(mutex_);
  external_source_ = std::move(source);
}

std::uint64_t MetricsRegistry::dropped_count() const {
  std::uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->dropped_.value();
  return total;
}

std::string MetricsRegistry::render_prometheus() const {
  std::string out;
  render_prometheus(out);
  return out;
}

void MetricsRegistry::render_prometheus(std::string& out) const {
  // Copy the label names, so the mutex is held only for that: registration (a reload) never
  // waits for a scrape to finish formatting. Ids registered after this copy show up next scrape.
  std::vector<std::string> route_names;
  std::vector<std::string> upstream_names;
  std::vector<std::string> target_names;
  std::string version;
  std::pair<std::uint64_t, std::uint64_t> table_stats{0, 0};
  {
    const std::lock_guard lock(mutex_);
    route_names = routes_.names;
    upstream_names = upstreams_.names;
    target_names = targets_.names;
    version = version_;
    if (rate_limit_table_source_) table_stats = rate_limit_table_source_();
  }
  std::vector<ExternalSample> external;
  std::function<void(std::vector<ExternalSample>&)> external_source;
  {
    const std::lock_guard lock(mutex_);
    external_source = external_source_;
  }
  if (external_source) external_source(external);  // outside the mutex: it may take its owners' locks
  out.reserve(out.size() + 4096 + 160 * route_names.size() + 400 * upstream_names.size());

  // flexgate_http_requests_total: merge the shards' series, ordered by (route, method, status).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> series;
  for (const auto& worker : workers_) {
    worker->requests_.for_each(
        [&series](std::uint64_t key, std::uint64_t count) { series.emplace_back(key, count); });
  }
  std::sort(series.begin(), series.end());
  {
    const std::string_view name = family_info(MetricFamily::kHttpRequestsTotal).name;
    append_header(out, MetricFamily::kHttpRequestsTotal);
    for (std::size_t i = 0; i < series.size();) {
      const std::uint64_t key = series[i].first;
      std::uint64_t count = 0;
      for (; i < series.size() && series[i].first == key; ++i) count += series[i].second;
      const std::uint64_t route = (key >> 14) - 1;
      if (route >= route_names.size()) continue;  // registered after the name copy
      open_sample(out, name);
      append_label(out, "method", kMethods[(key >> 10) & 0xF], true);
      append_label(out, "route", route_names[route]);
      out += ",status=\"";
      append_uint(out, key & 0x3FF);
      out += '"';
      close_labels(out);
      append_uint(out, count);
      out += '\n';
    }
  }

  // flexgate_http_request_duration_seconds: cumulative buckets; +Inf and _count are the same sum
  // of the bucket reads, so they always agree even while workers write.
  {
    const std::string_view name = family_info(MetricFamily::kHttpRequestDurationSeconds).name;
    append_header(out, MetricFamily::kHttpRequestDurationSeconds);
    for (std::size_t route = 0; route < route_names.size(); ++route) {
      const DurationSnapshot snapshot = request_durations(static_cast<RouteId>(route));
      if (snapshot.count == 0) continue;
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < kDurationBucketCount; ++b) {
        cumulative += snapshot.buckets[b];
        open_sample(out, name, "_bucket");
        append_label(out, "route", route_names[route], true);
        append_label(out, "le", b < kDurationBoundsMicros.size() ? kBoundLabels[b] : "+Inf");
        close_labels(out);
        append_uint(out, cumulative);
        out += '\n';
      }
      open_sample(out, name, "_sum");
      append_label(out, "route", route_names[route], true);
      close_labels(out);
      append_fixed(out, snapshot.sum_micros, 6);
      out += '\n';
      open_sample(out, name, "_count");
      append_label(out, "route", route_names[route], true);
      close_labels(out);
      append_uint(out, cumulative);
      out += '\n';
    }
  }

  append_header(out, MetricFamily::kHttpRequestsInFlight);
  out += family_info(MetricFamily::kHttpRequestsInFlight).name;
  out += ' ';
  append_int(out, requests_in_flight());
  out += '\n';

  // Request and response sizes by route (routes with a request only).
  for (const bool request_side : {true, false}) {
    const MetricFamily family = request_side ? MetricFamily::kHttpRequestSizeBytes : MetricFamily::kHttpResponseSizeBytes;
    const std::string_view name = family_info(family).name;
    append_header(out, family);
    for (std::size_t route = 0; route < route_names.size(); ++route) {
      std::array<std::uint64_t, kSizeBucketCount> buckets{};
      std::uint64_t bytes = 0;
      for (const auto& worker : workers_) {
        const detail::RouteDurations* counters = worker->durations_.find(static_cast<RouteId>(route));
        if (counters == nullptr) continue;
        const auto& sizes = request_side ? counters->request_sizes : counters->response_sizes;
        for (std::size_t b = 0; b < kSizeBucketCount; ++b) buckets[b] += sizes[b].value();
        bytes += (request_side ? counters->request_bytes : counters->response_bytes).value();
      }
      append_histogram(out, name, "route", route_names[route], buckets, kSizeLabels, bytes, 0);
    }
  }

  // Closed sets are rendered whole, zeros included: every series exists from the start.
  {
    const std::string_view name = family_info(MetricFamily::kPolicyRejectionsTotal).name;
    append_header(out, MetricFamily::kPolicyRejectionsTotal);
    for (std::size_t r = 0; r < kRejectionCount; ++r) {
      open_sample(out, name);
      append_label(out, "policy", kRejections[r].policy, true);
      append_label(out, "reason", kRejections[r].reason);
      close_labels(out);
      append_uint(out, rejection_count(static_cast<Rejection>(r)));
      out += '\n';
    }
  }

  {
    const std::string_view name = family_info(MetricFamily::kUpstreamRequestsTotal).name;
    append_header(out, MetricFamily::kUpstreamRequestsTotal);
    for (std::size_t u = 0; u < upstream_names.size(); ++u) {
      for (std::size_t o = 0; o < kUpstreamOutcomeCount; ++o) {
        open_sample(out, name);
        append_label(out, "upstream", upstream_names[u], true);
        append_label(out, "outcome", kOutcomes[o]);
        close_labels(out);
        append_uint(out, upstream_request_count(static_cast<UpstreamId>(u), static_cast<UpstreamOutcome>(o)));
        out += '\n';
      }
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kUpstreamResponseDurationSeconds).name;
    append_header(out, MetricFamily::kUpstreamResponseDurationSeconds);
    for (std::size_t u = 0; u < upstream_names.size(); ++u) {
      std::array<std::uint64_t, kDurationBucketCount> buckets{};
      std::uint64_t micros = 0;
      for (const auto& worker : workers_) {
        const detail::UpstreamCounters* counters = worker->upstreams_.find(static_cast<UpstreamId>(u));
        if (counters == nullptr) continue;
        for (std::size_t b = 0; b < kDurationBucketCount; ++b) buckets[b] += counters->latency[b].value();
        micros += counters->latency_sum_micros.value();
      }
      append_histogram(out, name, "upstream", upstream_names[u], buckets, kBoundLabels, micros, 6);
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kUpstreamTargetRequestsTotal).name;
    append_header(out, MetricFamily::kUpstreamTargetRequestsTotal);
    for (std::size_t t = 0; t < target_names.size(); ++t) {
      const std::string_view key = target_names[t];
      const std::size_t split = key.find('\x1f');
      for (std::size_t o = 0; o < kUpstreamOutcomeCount; ++o) {
        std::uint64_t count = 0;
        for (const auto& worker : workers_) {
          if (const detail::TargetCounters* counters = worker->targets_.find(static_cast<TargetId>(t))) {
            count += counters->requests[o].value();
          }
        }
        open_sample(out, name);
        append_label(out, "upstream", key.substr(0, split), true);
        append_label(out, "target", key.substr(split + 1));
        append_label(out, "outcome", kOutcomes[o]);
        close_labels(out);
        append_uint(out, count);
        out += '\n';
      }
    }
  }
  {
    std::int64_t idle = 0;
    for (const auto& worker : workers_) idle += worker->pool_idle_.value();
    append_header(out, MetricFamily::kUpstreamPoolIdleConnections);
    out += family_info(MetricFamily::kUpstreamPoolIdleConnections).name;
    out += ' ';
    append_int(out, idle);
    out += '\n';
  }
  for (const MetricFamily family :
       {MetricFamily::kUpstreamConnectionsOpenedTotal, MetricFamily::kUpstreamPoolReusesTotal}) {
    append_header(out, family);
    for (std::size_t u = 0; u < upstream_names.size(); ++u) {
      open_sample(out, family_info(family).name);
      append_label(out, "upstream", upstream_names[u], true);
      close_labels(out);
      const auto id = static_cast<UpstreamId>(u);
      append_uint(out, family == MetricFamily::kUpstreamConnectionsOpenedTotal
                           ? upstream_connections_opened(id)
                           : upstream_pool_reuses(id));
      out += '\n';
    }
  }

  {
    const std::string_view name = family_info(MetricFamily::kRateLimitHitsTotal).name;
    append_header(out, MetricFamily::kRateLimitHitsTotal);
    for (std::size_t route = 0; route < route_names.size(); ++route) {
      const std::uint64_t hits = rate_limit_hits(static_cast<RouteId>(route));
      if (hits == 0) continue;  // only routes that refused something: most routes have no limit
      open_sample(out, name);
      append_label(out, "route", route_names[route], true);
      close_labels(out);
      append_uint(out, hits);
      out += '\n';
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kGrpcResponsesTotal).name;
    append_header(out, MetricFamily::kGrpcResponsesTotal);
    for (std::size_t route = 0; route < route_names.size(); ++route) {
      for (std::uint32_t status = 0; status < detail::kGrpcStatusCount; ++status) {
        const std::uint64_t count = grpc_responses(static_cast<RouteId>(route), status);
        if (count == 0) continue;  // only statuses seen: most routes carry no gRPC
        open_sample(out, name);
        append_label(out, "route", route_names[route], true);
        append_label(out, "grpc_status", std::to_string(status));
        close_labels(out);
        append_uint(out, count);
        out += '\n';
      }
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kRateLimitDecisionsTotal).name;
    append_header(out, MetricFamily::kRateLimitDecisionsTotal);
    for (const auto& [store, store_label] : {std::pair{RateLimitStore::kMemory, "memory"},
                                             std::pair{RateLimitStore::kRedis, "redis"}}) {
      for (const auto& [result, result_label] : {std::pair{RateLimitResult::kAllowed, "allowed"},
                                                 std::pair{RateLimitResult::kLimited, "limited"}}) {
        open_sample(out, name);
        append_label(out, "backend", store_label, true);
        append_label(out, "result", result_label);
        close_labels(out);
        append_uint(out, rate_limit_decisions(store, result));
        out += '\n';
      }
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kRateLimitBackendFallbacksTotal).name;
    append_header(out, MetricFamily::kRateLimitBackendFallbacksTotal);
    for (const auto& [fallback, label] : {std::pair{RateLimitFallback::kOpen, "open"},
                                          std::pair{RateLimitFallback::kLocal, "local"},
                                          std::pair{RateLimitFallback::kClosed, "closed"}}) {
      open_sample(out, name);
      append_label(out, "mode", label, true);
      close_labels(out);
      append_uint(out, rate_limit_fallbacks(fallback));
      out += '\n';
    }
  }
  append_header(out, MetricFamily::kRateLimitBackendDegradedWorkers);
  out += family_info(MetricFamily::kRateLimitBackendDegradedWorkers).name;
  out += ' ';
  append_int(out, rate_limit_degraded_workers());
  out += '\n';
  append_header(out, MetricFamily::kRateLimitBackendRecoveriesTotal);
  out += family_info(MetricFamily::kRateLimitBackendRecoveriesTotal).name;
  out += ' ';
  append_uint(out, rate_limit_recoveries());
  out += '\n';
  append_header(out, MetricFamily::kRateLimitBucketEvictionsTotal);
  out += family_info(MetricFamily::kRateLimitBucketEvictionsTotal).name;
  out += ' ';
  append_uint(out, table_stats.first);
  out += '\n';
  append_header(out, MetricFamily::kRateLimitBuckets);
  out += family_info(MetricFamily::kRateLimitBuckets).name;
  out += ' ';
  append_uint(out, table_stats.second);
  out += '\n';

  {
    const std::string_view name = family_info(MetricFamily::kTimeoutsTotal).name;
    append_header(out, MetricFamily::kTimeoutsTotal);
    for (const auto& [kind, label] :
         {std::pair{TimeoutKind::kConnect, "connect"}, std::pair{TimeoutKind::kUpstreamResponse, "upstream_response"},
          std::pair{TimeoutKind::kRequest, "request"}, std::pair{TimeoutKind::kClientHead, "client_head"},
          std::pair{TimeoutKind::kClientBody, "client_body"}, std::pair{TimeoutKind::kWebsocketIdle, "websocket_idle"}}) {
      open_sample(out, name);
      append_label(out, "kind", label, true);
      close_labels(out);
      append_uint(out, timeouts(kind));
      out += '\n';
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kTlsHandshakesTotal).name;
    append_header(out, MetricFamily::kTlsHandshakesTotal);
    for (const auto& [side, side_label] : {std::pair{TlsSide::kDownstream, "downstream"}, std::pair{TlsSide::kUpstream, "upstream"}}) {
      for (std::size_t result = 0; result < kTlsResultCount; ++result) {
        const std::uint64_t count = tls_handshakes(side, static_cast<TlsResult>(result));
        // ok is always shown; failure kinds once they happened (keeps the exposition short).
        if (count == 0 && result != 0) continue;
        open_sample(out, name);
        append_label(out, "side", side_label, true);
        append_label(out, "result", kTlsResultLabels[result], false);
        close_labels(out);
        append_uint(out, count);
        out += '\n';
      }
    }
  }
  {
    const std::string_view name = family_info(MetricFamily::kLoadShedTotal).name;
    append_header(out, MetricFamily::kLoadShedTotal);
    for (const auto& [priority, label] : {std::pair{0, "critical"}, std::pair{1, "normal"}, std::pair{2, "low"}}) {
      open_sample(out, name);
      append_label(out, "priority", label, true);
      close_labels(out);
      append_uint(out, load_shed(static_cast<std::size_t>(priority)));
      out += '\n';
    }
  }

  append_header(out, MetricFamily::kWebsocketConnections);
  out += family_info(MetricFamily::kWebsocketConnections).name;
  out += ' ';
  append_int(out, websocket_tunnels());
  out += '\n';
  {
    const std::string_view name = family_info(MetricFamily::kWebsocketBytesTotal).name;
    append_header(out, MetricFamily::kWebsocketBytesTotal);
    for (const auto& [direction, label] : {std::pair{TunnelDirection::kToUpstream, "to_upstream"},
                                           std::pair{TunnelDirection::kToClient, "to_client"}}) {
      open_sample(out, name);
      append_label(out, "direction", label, true);
      close_labels(out);
      append_uint(out, websocket_bytes(direction));
      out += '\n';
    }
  }

  {
    const std::string_view name = family_info(MetricFamily::kConfigReloadsTotal).name;
    append_header(out, MetricFamily::kConfigReloadsTotal);
    const std::pair<std::string_view, std::uint64_t> results[] = {
        {"success", reload_successes_.load(std::memory_order_relaxed)},
        {"failure", reload_failures_.load(std::memory_order_relaxed)}};
    for (const auto& [result, count] : results) {
      open_sample(out, name);
      append_label(out, "result", result, true);
      close_labels(out);
      append_uint(out, count);
      out += '\n';
    }
  }

  append_header(out, MetricFamily::kConfigLastReloadSuccessTimestampSeconds);
  out += family_info(MetricFamily::kConfigLastReloadSuccessTimestampSeconds).name;
  out += ' ';
  const std::int64_t millis = last_success_unix_millis_.load(std::memory_order_relaxed);
  append_fixed(out, static_cast<std::uint64_t>(std::max<std::int64_t>(millis, 0)), 3);
  out += '\n';

  append_header(out, MetricFamily::kBuildInfo);
  open_sample(out, family_info(MetricFamily::kBuildInfo).name);
  append_label(out, "version", version, true);
  close_labels(out);
  out += "1\n";

  append_header(out, MetricFamily::kMetricsDroppedTotal);
  out += family_info(MetricFamily::kMetricsDroppedTotal).name;
  out += ' ';
  append_uint(out, dropped_count());
  out += '\n';

  // External samples, grouped by family in declaration order (one header per family).
  std::stable_sort(external.begin(), external.end(),
                   [](const ExternalSample& a, const ExternalSample& b) { return a.family < b.family; });
  for (std::size_t i = 0; i < external.size(); ++i) {
    const ExternalSample& sample = external[i];
    if (i == 0 || external[i - 1].family != sample.family) append_header(out, sample.family);
    out += family_info(sample.family).name;
    if (!sample.labels.empty()) {
      out += '{';
      out += sample.labels;
      out += '}';
    }
    out += ' ';
    if (sample.value == static_cast<double>(static_cast<std::int64_t>(sample.value))) {
      append_int(out, static_cast<std::int64_t>(sample.value));
    } else {
      out += std::to_string(sample.value);
    }
    out += '\n';
  }
}

}  // namespace flexgate::observe
