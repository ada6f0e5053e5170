#pragma once
// The route table: compiled once from the config, matched per request. The most specific route
// wins regardless of file order.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace flexgate::router {

inline constexpr std::size_t kMaxRouteParams = 8;

// A named path parameter captured by a match; views into the matched path.
struct RouteParam {
  std::string_view name;
  std::string_view value;
};

// One route ready for matching.
struct CompiledRoute {
  std::size_t index = 0;  // position in Config::routes
  const config::RouteSpec* spec = nullptr;
  std::string allow_header;  // "GET, HEAD, POST" for 405 answers ("" when all methods allowed)
  std::string prefix;        // literal part before "*" for wildcard routes (for stripPrefix/rewrite)
  bool wildcard = false;
};

// Result of matching one request.
struct RouteMatch {
  enum class Status : std::uint8_t { kMatched, kNotFound, kMethodNotAllowed };
  Status status = Status::kNotFound;
  const CompiledRoute* route = nullptr;  // set when kMatched
  std::string_view allow;                // set when kMethodNotAllowed: the Allow header value
  std::array<RouteParam, kMaxRouteParams> params{};
  std::size_t param_count = 0;
  std::size_t wildcard_offset = 0;  // index in the path where the "*" part starts (wildcard routes)
};

// Immutable after build; safe to share across threads.
class RouteTable {
 public:
  // `routes` must outlive the table (it points into them). Assumes the config was validated.
  explicit RouteTable(const std::vector<config::RouteSpec>& routes);
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;

  // `host` is the request's Host without port (any case); `path` is normalized.
  // HEAD matches a route that allows GET. The returned views point into `path` and the table.
  RouteMatch match(std::string_view host, std::string_view method, std::string_view path) const;

  const std::vector<CompiledRoute>& routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The path to forward upstream for a match: applies stripPrefix / rewrite (with ${path.NAME}).
// Appends to `out` (cleared first). `path` is the normalized path the match was made on.
void build_forward_path(const RouteMatch& match, std::string_view path, std::string& out);

}  // namespace flexgate::router
