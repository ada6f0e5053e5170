// libFuzzer driver for the router: normalize_target on the input, then match the normalized path
// on a fixed table and build the forward path, aborting when an invariant breaks.
// Seeds: fuzz/corpus/router/.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "router/normalize.h"
#include "router/route_table.h"

namespace {

using flexgate::router::NormalizedTarget;
using flexgate::router::NormalizeError;
using flexgate::router::RouteMatch;
using flexgate::router::RouteTable;

void check(bool ok) {
  if (!ok) std::abort();
}

flexgate::config::RouteSpec route(std::string path, std::string host, std::vector<std::string> methods,
                                  bool strip_prefix, std::string rewrite) {
  flexgate::config::RouteSpec spec;
  spec.path = std::move(path);
  spec.host = std::move(host);
  spec.methods = std::move(methods);
  spec.upstream = "backend";
  spec.strip_prefix = strip_prefix;
  spec.rewrite = std::move(rewrite);
  return spec;
}

const std::vector<flexgate::config::RouteSpec>& specs() {
  static const std::vector<flexgate::config::RouteSpec> routes = {
      route("/*", "", {"GET"}, false, ""),
      route("/api/*", "", {}, true, ""),
      route("/api/v1/*", "", {"GET"}, false, "/v1"),
      route("/api/users/:id", "", {"GET", "PUT"}, false, "/people/${path.id}"),
      route("/api/users/:id", "", {"DELETE"}, false, ""),
      route("/api/users/me", "", {}, false, ""),
      route("/t/:tenant/*", "", {"POST"}, false, "/${path.tenant}/x"),
      route("/a/:b/c/:d/e/:f", "*.example.com", {}, false, ""),
      route("/admin/*", "admin.example.com", {"GET"}, true, ""),
      route("/", "", {"GET"}, false, ""),
  };
  return routes;
}

bool is_dot_segment(std::string_view segment) {
  return segment == "." || segment == "..";
}

void check_normalized_path(std::string_view path) {
  check(!path.empty() && path.front() == '/');
  check(path.find("//") == std::string_view::npos);
  std::size_t begin = 1;
  while (begin <= path.size()) {
    std::size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    check(!is_dot_segment(path.substr(begin, end - begin)));
    begin = end + 1;
  }
  for (char c : path) check(c != '?' && c != '#' && c != '\\' && c > 0x20 && c < 0x7f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const RouteTable table(specs());
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
  static constexpr std::string_view kHosts[] = {"gw.test", "a.example.com", "ADMIN.example.com:8443",
                                                "[::1]:80", ""};

  const std::string_view target(reinterpret_cast<const char*>(data), size);
  NormalizedTarget first;
  const NormalizeError error = flexgate::router::normalize_target(target, first);
  check(!flexgate::router::to_string(error).empty());
  if (error != NormalizeError::kNone) {
    check(first.path.empty() && first.query.empty() && !first.has_query && first.authority.empty());
    return 0;
  }
  check_normalized_path(first.path);
  check(first.has_query || first.query.empty());

  // Idempotent: the normalized form normalizes to itself.
  std::string again = first.path;
  if (first.has_query) again += "?" + first.query;
  NormalizedTarget second;
  check(flexgate::router::normalize_target(again, second) == NormalizeError::kNone);
  check(second.path == first.path && second.query == first.query && second.has_query == first.has_query);

  const std::string_view method = kMethods[size % std::size(kMethods)];
  const std::string_view host = kHosts[(size / 7) % std::size(kHosts)];
  const RouteMatch match = table.match(host, method, first.path);
  switch (match.status) {
    case RouteMatch::Status::kNotFound:
      break;
    case RouteMatch::Status::kMethodNotAllowed:
      check(!match.allow.empty());
      break;
    case RouteMatch::Status::kMatched: {
      check(match.route != nullptr && match.route->spec != nullptr);
      check(match.param_count <= flexgate::router::kMaxRouteParams);
      check(match.wildcard_offset <= first.path.size());
      const char* begin = first.path.data();
      const char* end = begin + first.path.size();
      for (std::size_t i = 0; i < match.param_count; ++i) {
        const auto& param = match.params[i];
        check(!param.name.empty() && !param.value.empty());
        check(param.value.data() >= begin && param.value.data() + param.value.size() <= end);
        check(param.value.find('/') == std::string_view::npos);
      }
      std::string forward;
      flexgate::router::build_forward_path(match, first.path, forward);
      check_normalized_path(forward);
      break;
    }
  }
  return 0;
}
