#include "config/schema.h"

#include <algorithm>

namespace flexgate::config {

const UpstreamSpec* Config::find_upstream(std::string_view name) const {
  // A linear scan: configs hold a handful of upstreams and this runs at snapshot build, not per request.
  for (const UpstreamSpec& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

bool FailureConditions::matches_status(unsigned status) const {
  if (any_5xx && status >= 500 && status <= 599) return true;
  return std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

EffectiveTimeouts resolve_timeouts(const ProxySettings& proxy, const UpstreamSpec& upstream,
                                   const RouteSpec& route) {
  // The most specific `timeouts` that sets the field, else `fallback`.
  const auto pick = [&](std::optional<Millis> TimeoutsSpec::*field, Millis fallback) {
    for (const TimeoutsSpec* scope : {&route.timeouts, &upstream.timeouts, &proxy.timeouts}) {
      if (const std::optional<Millis>& value = scope->*field) return *value;
    }
    return fallback;
  };
  EffectiveTimeouts out;
  out.connect = pick(&TimeoutsSpec::connect, upstream.connect_timeout);
  // route.timeout comes before the upstream's: it is the route's own (older) spelling.
  out.first_byte = route.timeouts.first_byte.value_or(
      route.timeout.value_or(pick(&TimeoutsSpec::first_byte, upstream.timeout)));
  out.request = pick(&TimeoutsSpec::request, proxy.timeout);
  out.per_try = pick(&TimeoutsSpec::per_try, out.request);
  out.idle = pick(&TimeoutsSpec::idle, proxy.idle_timeout);
  return out;
}

}  // namespace flexgate::config
