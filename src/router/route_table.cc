#include "router/route_table.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <unordered_set>
#include <utility>

namespace flexgate::router {
namespace {

constexpr std::uint32_t kNoNode = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kMaxHostLength = 255;  // a longer Host cannot name a configured host
constexpr std::size_t kMaxAllowSets = 4096;  // cap on precomputed Allow unions (see build_allow_sets)

// Standard methods get fixed bits so that Allow lists come out in this familiar order; tokens
// only found in the config follow in order of first appearance.
constexpr std::string_view kStandardMethods[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                                 "PATCH", "OPTIONS", "TRACE", "CONNECT"};
constexpr std::uint64_t kGetBit = 1u << 0;
constexpr std::uint64_t kHeadBit = 1u << 1;
constexpr std::size_t kMaxMethodBits = 64;

// A build-once map from short strings (path segments, host names) to node ids. Kept sorted
// while building; then a map with more than a few entries gets an open-addressing hash index,
// so a lookup is one hash and usually one compare instead of a binary search of compares.
class StringMap {
 public:
  // The value for `key`, or kNoNode. Valid both while building and after finalize().
  std::uint32_t find(std::string_view key) const {
    if (entries_.empty()) return kNoNode;  // a node without literal children; no named hosts
    if (slots_.empty()) {
      auto it = std::lower_bound(entries_.begin(), entries_.end(), key, less_key);
      return it != entries_.end() && it->first == key ? it->second : kNoNode;
    }
    const std::size_t hash = hash_key(key);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      const std::uint32_t entry = slots_[slot];
      if (entry == 0) return kNoNode;
      if (hashes_[entry - 1] == hash && entries_[entry - 1].first == key) return entries_[entry - 1].second;
    }
  }

  // Adds `key` (absent so far). Build time only.
  void insert(std::string_view key, std::uint32_t value) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key, less_key);
    entries_.insert(it, {std::string(key), value});
  }

  bool empty() const { return entries_.empty(); }

  // Builds the hash index (load factor <= 1/2) after the last insert.
  void finalize() {
    if (entries_.size() <= kLinearEntries) return;
    std::size_t capacity = 8;
    while (capacity < entries_.size() * 2) capacity *= 2;
    slots_.assign(capacity, 0);
    hashes_.resize(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      hashes_[i] = hash_key(entries_[i].first);
      std::size_t slot = hashes_[i] & (capacity - 1);
      while (slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
      slots_[slot] = static_cast<std::uint32_t>(i + 1);
    }
  }

 private:
  static constexpr std::size_t kLinearEntries = 4;  // a binary search of <= 4 beats hashing

  static bool less_key(const std::pair<std::string, std::uint32_t>& entry, std::string_view key) {
    return std::string_view(entry.first) < key;
  }
  static std::size_t hash_key(std::string_view key) { return std::hash<std::string_view>{}(key); }

  std::vector<std::pair<std::string, std::uint32_t>> entries_;  // sorted by key
  std::vector<std::size_t> hashes_;                             // parallel to entries_
  std::vector<std::uint32_t> slots_;                            // entry index + 1; 0 = empty
};

// One trie node: a pattern prefix. Reached by exactly one path from its root, so a walk visits
// each node at most once per request.
struct Node {
  StringMap literals;                          // literal segment -> child
  std::uint32_t param = kNoNode;               // ":name" child (names live per route)
  std::vector<std::uint32_t> exact_routes;     // patterns ending here (differ only by methods)
  std::vector<std::uint32_t> wildcard_routes;  // patterns "<this prefix>/*"
};

// Matching data kept apart from the public CompiledRoute.
struct RouteInfo {
  std::uint64_t methods = 0;  // method bits (HEAD set when GET is); unused when any_method
  bool any_method = true;
  std::uint32_t first_name = 0;  // index into Impl::param_names
  std::uint32_t name_count = 0;  // captured params (at most kMaxRouteParams)
};

char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower_copy(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = to_lower(c);
  return out;
}

}  // namespace

struct RouteTable::Impl {
  std::vector<CompiledRoute> routes;
  std::vector<RouteInfo> info;
  std::vector<std::string> param_names;   // views handed out by match() point here
  std::vector<std::string> method_names;  // bit i <-> method_names[i]
  std::vector<Node> nodes;
  StringMap exact_hosts;                                              // host -> root node
  std::vector<std::pair<std::string, std::uint32_t>> wildcard_hosts;  // ".suffix" -> root, longest first
  std::uint32_t any_host_root = kNoNode;
  bool host_routes = false;  // some route names a host: requests' hosts are looked up
  std::vector<std::pair<std::uint64_t, std::string>> allow_sets;  // sorted by mask
  std::string allow_all;  // union of every explicit method list: fallback beyond kMaxAllowSets

  std::uint32_t new_node() {
    nodes.emplace_back();
    return static_cast<std::uint32_t>(nodes.size() - 1);
  }
  // State of one match: candidates are offered in specificity order; the first that allows the
  // method wins, the others' methods are collected for a 405.
  struct Walk {
    Walk(std::string_view p, std::string_view m, RouteMatch* o) : path(p), method(m), out(o) {}
    std::string_view path;
    std::string_view method;
    RouteMatch* out;
    // The request method's bit (0 when no route names it), looked up when the first route with a
    // method list is offered: most routes take any method.
    std::uint64_t method_mask = 0;
    bool method_mask_known = false;
    std::uint64_t denied_methods = 0;
    bool denied = false;
    // Param values by position, left uninitialized: only [0, param_count) is ever read, and
    // zeroing them on every match is measurable.
    std::size_t value_begin[kMaxRouteParams];
    std::size_t value_size[kMaxRouteParams];
  };

  std::uint32_t add_method(std::string_view method);
  std::uint32_t find_method(std::string_view method) const;
  std::uint32_t root_for_host(std::string_view host);
  void add_route(std::size_t index, const config::RouteSpec& spec);
  std::string allow_string(std::uint64_t mask) const;
  void build_allow_sets();
  std::string_view find_allow(std::uint64_t mask) const;
  bool offer(Walk& walk, std::uint32_t route_id, std::size_t param_count, std::size_t offset) const;
  bool visit(Walk& walk, std::uint32_t node_id, std::size_t pos, std::size_t param_count) const;
};

std::uint32_t RouteTable::Impl::find_method(std::string_view method) const {
  for (std::size_t i = 0; i < method_names.size(); ++i) {
    if (method_names[i] == method) return static_cast<std::uint32_t>(i);
  }
  return kNoNode;
}

std::uint32_t RouteTable::Impl::add_method(std::string_view method) {
  if (const std::uint32_t bit = find_method(method); bit != kNoNode) return bit;
  if (method_names.size() >= kMaxMethodBits) return kNoNode;  // beyond 64 tokens: never allowed
  method_names.emplace_back(method);
  return static_cast<std::uint32_t>(method_names.size() - 1);
}

std::uint32_t RouteTable::Impl::root_for_host(std::string_view host) {
  if (host.empty()) {
    if (any_host_root == kNoNode) any_host_root = new_node();
    return any_host_root;
  }
  const bool wildcard = host.size() > 1 && host[0] == '*' && host[1] == '.';
  if (!wildcard && host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // "[::1]" names what a request's "[::1]:80" strips to
  }
  std::string key = lower_copy(wildcard ? host.substr(1) : host);      // "*.a.com" -> ".a.com"
  if (!wildcard && !key.empty() && key.back() == '.') key.pop_back();  // "a.com." names "a.com"
  if (!wildcard) {
    std::uint32_t root = exact_hosts.find(key);
    if (root == kNoNode) {
      root = new_node();
      exact_hosts.insert(key, root);
    }
    return root;
  }
  for (const auto& [suffix, root] : wildcard_hosts) {
    if (suffix == key) return root;
  }
  const std::uint32_t root = new_node();
  wildcard_hosts.emplace_back(std::move(key), root);
  return root;
}

void RouteTable::Impl::add_route(std::size_t index, const config::RouteSpec& spec) {
  CompiledRoute& route = routes[index];
  RouteInfo& route_info = info[index];
  route.index = index;
  route.spec = &spec;
  route_info.first_name = static_cast<std::uint32_t>(param_names.size());

  std::uint32_t node = root_for_host(spec.host);
  std::string_view pattern = spec.path;
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  std::size_t consumed = spec.path.size() - pattern.size();  // bytes of spec.path walked so far
  while (true) {
    const std::size_t slash = pattern.find('/');
    const std::string_view segment = pattern.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (last && segment == "*") {
      route.wildcard = true;
      // The literal prefix without the '/' before "*": "/api/*" -> "/api", "/*" -> "".
      route.prefix.assign(spec.path, 0, consumed == 0 ? 0 : consumed - 1);
      nodes[node].wildcard_routes.push_back(static_cast<std::uint32_t>(index));
      break;
    }
    if (segment.size() > 1 && segment.front() == ':') {
      if (nodes[node].param == kNoNode) {
        const std::uint32_t child = new_node();  // may reallocate `nodes`: index again below
        nodes[node].param = child;
      }
      if (route_info.name_count < kMaxRouteParams) {  // deeper params match but are not captured
        param_names.emplace_back(segment.substr(1));
        ++route_info.name_count;
      }
      node = nodes[node].param;
    } else {
      std::uint32_t child = nodes[node].literals.find(segment);
      if (child == kNoNode) {
        child = new_node();  // may reallocate `nodes`: index again below
        nodes[node].literals.insert(segment, child);
      }
      node = child;
    }
    if (last) {
      nodes[node].exact_routes.push_back(static_cast<std::uint32_t>(index));
      break;
    }
    pattern.remove_prefix(slash + 1);
    consumed += slash + 1;
  }

  route_info.any_method = spec.methods.empty();
  if (!route_info.any_method) {
    for (const std::string& method : spec.methods) {
      const std::uint32_t bit = add_method(method);
      if (bit != kNoNode) route_info.methods |= std::uint64_t{1} << bit;
    }
    if (route_info.methods & kGetBit) route_info.methods |= kHeadBit;  // HEAD is allowed where GET is
    route.allow_header = allow_string(route_info.methods);
  }
}

std::string RouteTable::Impl::allow_string(std::uint64_t mask) const {
  std::string out;
  for (std::size_t bit = 0; bit < method_names.size(); ++bit) {
    if ((mask & (std::uint64_t{1} << bit)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += method_names[bit];
  }
  return out;
}

// A 405's Allow is the union of the method sets of every route that matched host and path. That
// union is a union of route masks, so precompute the closure of the distinct masks under union:
// match() then only looks a string up. Realistic configs have a handful of distinct masks; a
// pathological one stops at kMaxAllowSets and falls back to the union of all methods.
void RouteTable::Impl::build_allow_sets() {
  std::vector<std::uint64_t> distinct;
  std::uint64_t all = 0;
  for (const RouteInfo& route_info : info) {
    if (route_info.any_method || route_info.methods == 0) continue;
    all |= route_info.methods;
    if (std::find(distinct.begin(), distinct.end(), route_info.methods) == distinct.end()) {
      distinct.push_back(route_info.methods);
    }
  }
  std::vector<std::uint64_t> closure;
  std::unordered_set<std::uint64_t> seen;
  auto add = [&](std::uint64_t mask) {
    if (closure.size() < kMaxAllowSets && seen.insert(mask).second) closure.push_back(mask);
  };
  for (std::uint64_t mask : distinct) {
    const std::size_t existing = closure.size();
    for (std::size_t i = 0; i < existing; ++i) add(closure[i] | mask);
    add(mask);
  }
  std::sort(closure.begin(), closure.end());
  allow_sets.reserve(closure.size());
  for (std::uint64_t mask : closure) allow_sets.emplace_back(mask, allow_string(mask));
  allow_all = allow_string(all);
}

std::string_view RouteTable::Impl::find_allow(std::uint64_t mask) const {
  auto it = std::lower_bound(allow_sets.begin(), allow_sets.end(), mask,
                             [](const auto& entry, std::uint64_t key) { return entry.first < key; });
  if (it != allow_sets.end() && it->first == mask) return it->second;
  return allow_all;
}

bool RouteTable::Impl::offer(Walk& walk, std::uint32_t route_id, std::size_t param_count,
                             std::size_t offset) const {
  const RouteInfo& route_info = info[route_id];
  if (!route_info.any_method && !walk.method_mask_known) {
    const std::uint32_t bit = find_method(walk.method);
    walk.method_mask = bit == kNoNode ? 0 : std::uint64_t{1} << bit;
    walk.method_mask_known = true;
  }
  if (!route_info.any_method && (route_info.methods & walk.method_mask) == 0) {
    walk.denied = true;
    walk.denied_methods |= route_info.methods;
    return false;
  }
  RouteMatch& out = *walk.out;
  out.status = RouteMatch::Status::kMatched;
  out.route = &routes[route_id];
  out.param_count = std::min<std::size_t>(param_count, route_info.name_count);
  for (std::size_t i = 0; i < out.param_count; ++i) {
    out.params[i] = {param_names[route_info.first_name + i],
                     walk.path.substr(walk.value_begin[i], walk.value_size[i])};
  }
  out.wildcard_offset = offset;
  return true;
}

// `pos` is the index of the '/' before the next segment, or path.size() when none is left.
bool RouteTable::Impl::visit(Walk& walk, std::uint32_t node_id, std::size_t pos,
                             std::size_t param_count) const {
  const Node& node = nodes[node_id];
  const std::string_view path = walk.path;
  if (pos >= path.size()) {
    // Path exhausted: exact patterns first, then "<prefix>/*" (which also matches "<prefix>").
    for (std::uint32_t route : node.exact_routes) {
      if (offer(walk, route, param_count, 0)) return true;
    }
  } else {
    const std::size_t begin = pos + 1;
    std::size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(begin, end - begin);
    // A literal segment beats a param, which beats a wildcard.
    if (const std::uint32_t child = node.literals.find(segment);
        child != kNoNode && visit(walk, child, end, param_count)) {
      return true;
    }
    if (node.param != kNoNode && !segment.empty()) {
      if (param_count < kMaxRouteParams) {
        walk.value_begin[param_count] = begin;
        walk.value_size[param_count] = end - begin;
      }
      if (visit(walk, node.param, end, param_count + 1)) return true;
    }
  }
  for (std::uint32_t route : node.wildcard_routes) {
    if (offer(walk, route, param_count, pos)) return true;
  }
  return false;
}

RouteTable::RouteTable(const std::vector<config::RouteSpec>& routes) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.routes.resize(routes.size());
  impl.info.resize(routes.size());
  for (std::string_view method : kStandardMethods) impl.method_names.emplace_back(method);
  for (std::size_t i = 0; i < routes.size(); ++i) impl.add_route(i, routes[i]);
  // Longer wildcard suffixes are more specific; two equal-length suffixes never match one host.
  std::sort(impl.wildcard_hosts.begin(), impl.wildcard_hosts.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() > b.first.size() : a.first < b.first;
  });
  impl.exact_hosts.finalize();
  impl.host_routes = !impl.exact_hosts.empty() || !impl.wildcard_hosts.empty();
  for (Node& node : impl.nodes) node.literals.finalize();
  impl.build_allow_sets();
}

RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

const std::vector<CompiledRoute>& RouteTable::routes() const {
  return impl_->routes;
}

std::string_view bare_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (const std::size_t colon = host.find(':');
             colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

RouteMatch RouteTable::match(std::string_view host, std::string_view method, std::string_view path) const {
  RouteMatch result;
  match(host, method, path, result);
  return result;
}

void RouteTable::match(std::string_view host, std::string_view method, std::string_view path,
                       RouteMatch& result) const {
  result.clear();
  if (path.empty() || path.front() != '/') return;
  const Impl& impl = *impl_;
  Impl::Walk walk{path, method, &result};

  if (impl.host_routes) {
    host = bare_host(host);  // then lower-cased into a stack buffer
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): only [0, host.size()) is written and read
    std::array<char, kMaxHostLength> host_buffer;
    if (!host.empty() && host.size() <= host_buffer.size()) {
      for (std::size_t i = 0; i < host.size(); ++i) host_buffer[i] = to_lower(host[i]);
      const std::string_view lower_host(host_buffer.data(), host.size());
      // Host groups from most to least specific; within each, the trie walk orders the paths.
      if (const std::uint32_t root = impl.exact_hosts.find(lower_host);
          root != kNoNode && impl.visit(walk, root, 0, 0)) {
        return;
      }
      for (const auto& [suffix, root] : impl.wildcard_hosts) {
        // "*.example.com" needs at least one label before ".example.com".
        if (lower_host.size() > suffix.size() && lower_host.ends_with(suffix) && impl.visit(walk, root, 0, 0)) {
          return;
        }
      }
    }
  }
  if (impl.any_host_root != kNoNode && impl.visit(walk, impl.any_host_root, 0, 0)) return;
  if (walk.denied) {
    result.status = RouteMatch::Status::kMethodNotAllowed;
    result.allow = impl.find_allow(walk.denied_methods);
  }
}

namespace {

// Appends `text` with every "${path.NAME}" replaced by the captured parameter NAME.
void append_expanded(std::string_view text, const RouteMatch& match, std::string& out) {
  constexpr std::string_view kOpen = "${path.";
  while (!text.empty()) {
    const std::size_t open = text.find(kOpen);
    const std::size_t close =
        open == std::string_view::npos ? std::string_view::npos : text.find('}', open + kOpen.size());
    if (close == std::string_view::npos) {
      out.append(text);
      return;
    }
    out.append(text.substr(0, open));
    const std::string_view name = text.substr(open + kOpen.size(), close - open - kOpen.size());
    for (std::size_t i = 0; i < match.param_count; ++i) {
      if (match.params[i].name == name) {
        out.append(match.params[i].value);
        break;
      }
    }
    text.remove_prefix(close + 1);
  }
}

}  // namespace

void build_forward_path(const RouteMatch& match, std::string_view path, std::string& out) {
  out.clear();
  const CompiledRoute* route = match.status == RouteMatch::Status::kMatched ? match.route : nullptr;
  if (route == nullptr || route->spec == nullptr) {
    out.append(path);
    return;
  }
  const config::RouteSpec& spec = *route->spec;
  // What the "*" matched: "" or "/rest" (wildcard_offset is where the literal prefix ends).
  const std::string_view rest =
      route->wildcard ? path.substr(std::min(match.wildcard_offset, path.size())) : std::string_view{};
  if (!spec.rewrite.empty()) {
    append_expanded(spec.rewrite, match, out);
    if (!rest.empty()) {
      // Join without producing "//": rest always starts with '/'.
      if (!out.empty() && out.back() == '/') out.pop_back();
      out.append(rest);
    }
  } else if (spec.strip_prefix && route->wildcard) {
    out.append(rest);
  } else {
    out.append(path);
    return;
  }
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
}

}  // namespace flexgate::router
