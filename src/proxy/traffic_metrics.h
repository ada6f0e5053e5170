#pragma once
// The /metrics samples whose values live with their owners rather than in the metrics registry:
// connection admission (load shedder) and each upstream's breaker, ejection, health and retry
// budget state, read from the snapshot serving now.

#include <vector>

#include "observe/metrics.h"
#include "policy/loadshed/load_shedder.h"
#include "proxy/runtime.h"

namespace flexgate::proxy {

void append_traffic_samples(const Runtime& runtime, const policy::LoadShedder& shedder,
                            std::vector<observe::MetricsRegistry::ExternalSample>& out);

}  // namespace flexgate::proxy
