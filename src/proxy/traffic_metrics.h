#pragma once
// The /metrics samples whose values live with their owners rather than in the metrics registry:
// connection admission (load shedder) and each upstream's breaker, ejection, health and retry
// budget state, read from the snapshot serving now.

#include <vector>

#include "http/message.h"
#include "observe/metrics.h"
#include "policy/loadshed/load_shedder.h"
#include "proxy/runtime.h"

namespace flexgate::proxy {

// The metrics label of a parsed method: observe keeps the same closed set in the same order, so
// the parser's one reading of the method is the only one (observe does not depend on http).
constexpr observe::MethodLabel method_label(http::Method method) {
  static_assert(static_cast<int>(http::Method::kGet) == static_cast<int>(observe::MethodLabel::kGet));
  static_assert(static_cast<int>(http::Method::kConnect) == static_cast<int>(observe::MethodLabel::kConnect));
  static_assert(static_cast<int>(http::Method::kOther) == static_cast<int>(observe::MethodLabel::kOther));
  return static_cast<observe::MethodLabel>(method);
}

void append_traffic_samples(const Runtime& runtime, const policy::LoadShedder& shedder,
                            std::vector<observe::MetricsRegistry::ExternalSample>& out);

}  // namespace flexgate::proxy
