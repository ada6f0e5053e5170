#include "config/schema.h"

namespace flexgate::config {

const UpstreamSpec* Config::find_upstream(std::string_view name) const {
  // A linear scan: configs hold a handful of upstreams and this runs at snapshot build, not per request.
  for (const UpstreamSpec& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

}  // namespace flexgate::config
