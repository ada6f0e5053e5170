#include "proxy/traffic_metrics.h"

#include "observe/access_log.h"
#include "observe/log.h"
#include "observe/span_exporter.h"

#include <chrono>
#include <string>

namespace flexgate::proxy {
namespace {

using Family = observe::MetricFamily;

// `upstream="NAME"` with the value escaped as the exposition format requires.
std::string upstream_label(std::string_view name) {
  std::string label = "upstream=\"";
  for (char c : name) {
    if (c == '\\' || c == '"') label += '\\';
    if (c == '\n') {
      label += "\\n";
      continue;
    }
    label += c;
  }
  label += '"';
  return label;
}

}  // namespace

void append_traffic_samples(const Runtime& runtime, const policy::LoadShedder& shedder,
                            std::vector<observe::MetricsRegistry::ExternalSample>& out) {
  out.push_back({Family::kDownstreamConnections, "", static_cast<double>(shedder.connections())});
  out.push_back({Family::kDownstreamConnectionsRefusedTotal, "", static_cast<double>(shedder.connections_refused())});
  out.push_back({Family::kLogLinesDroppedTotal, "", static_cast<double>(observe::log_lines_dropped())});
  out.push_back({Family::kLogOutputErrorsTotal, "", static_cast<double>(observe::log_output_errors())});
  out.push_back({Family::kAccessLinesSampledOutTotal, "", static_cast<double>(observe::access_lines_sampled_out())});
  if (const observe::SpanExporter* exporter = observe::process_span_exporter()) {
    out.push_back({Family::kTraceSpansExportedTotal, "", static_cast<double>(exporter->spans_exported())});
    out.push_back({Family::kTraceSpansDroppedTotal, "", static_cast<double>(exporter->spans_dropped())});
    out.push_back({Family::kTraceExportFailuresTotal, "", static_cast<double>(exporter->export_failures())});
  }
  const auto now = std::chrono::steady_clock::now();
  for (const upstream::Upstream& upstream : runtime.upstreams().upstreams()) {
    const upstream::UpstreamControls& controls = runtime.controls(upstream.index);
    const std::string label = upstream_label(upstream.spec->name);
    if (controls.breaker) {
      const upstream::BreakerState state = controls.breaker->state();
      for (auto each : {upstream::BreakerState::kClosed, upstream::BreakerState::kOpen, upstream::BreakerState::kHalfOpen}) {
        const std::string labels = label + ",state=\"" + std::string(upstream::to_string(each)) + "\"";
        out.push_back({Family::kCircuitBreakerState, labels, state == each ? 1.0 : 0.0});
        out.push_back({Family::kCircuitBreakerTransitionsTotal, labels,
                       static_cast<double>(controls.breaker->transitions_to(each))});
      }
    }
    if (controls.outliers) {
      out.push_back({Family::kUpstreamTargetsEjected, label, static_cast<double>(controls.outliers->ejected_count(now))});
      out.push_back({Family::kUpstreamEjectionsTotal, label, static_cast<double>(controls.outliers->ejections())});
    }
    if (controls.health) {
      out.push_back({Family::kUpstreamTargetsHealthy, label, static_cast<double>(controls.health->healthy_count())});
    }
    if (controls.concurrency) {
      out.push_back({Family::kUpstreamConcurrencyLimit, label, static_cast<double>(controls.concurrency->limit())});
      out.push_back({Family::kUpstreamConcurrencyInFlight, label, static_cast<double>(controls.concurrency->in_flight())});
      out.push_back({Family::kUpstreamConcurrencyLimitedTotal, label, static_cast<double>(controls.concurrency->rejected())});
    }
    if (controls.retry_budget) {
      out.push_back({Family::kUpstreamRetriesTotal, label, static_cast<double>(controls.retry_budget->retries_allowed())});
      out.push_back({Family::kUpstreamRetriesRefusedTotal, label,
                     static_cast<double>(controls.retry_budget->retries_refused())});
    }
  }
}

}  // namespace flexgate::proxy
