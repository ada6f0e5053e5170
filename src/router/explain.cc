#include "router/explain.h"

#include <algorithm>

namespace flexgate::router {
namespace {

constexpr std::size_t kMaxHostLength = 255;  // as in route_table.cc: a longer Host names no configured host

char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower_copy(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = to_lower(c);
  return out;
}

// A route's host pattern as the table keys it (see RouteTable::Impl::root_for_host).
struct HostPattern {
  bool any = true;
  bool wildcard = false;
  std::string key;  // exact: "api.example.com"; wildcard: ".example.com"
};

HostPattern host_pattern(std::string_view host) {
  HostPattern out;
  if (host.empty()) return out;
  out.any = false;
  out.wildcard = host.size() > 1 && host[0] == '*' && host[1] == '.';
  if (!out.wildcard && host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.key = lower_copy(out.wildcard ? host.substr(1) : host);
  if (!out.wildcard && !out.key.empty() && out.key.back() == '.') out.key.pop_back();
  return out;
}

// One segment of a path pattern, classified as RouteTable::Impl::add_route does.
struct Segment {
  enum class Kind : std::uint8_t { kLiteral, kParam, kWildcard };
  Kind kind = Kind::kLiteral;
  std::string_view text;  // as written (":id", "*", "users")
};

std::vector<Segment> pattern_segments(std::string_view pattern) {
  std::vector<Segment> out;
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  while (true) {
    const std::size_t slash = pattern.find('/');
    const std::string_view segment = pattern.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    Segment::Kind kind = Segment::Kind::kLiteral;
    if (last && segment == "*") {
      kind = Segment::Kind::kWildcard;
    } else if (segment.size() > 1 && segment.front() == ':') {
      kind = Segment::Kind::kParam;
    }
    out.push_back({kind, segment});
    if (last) break;
    pattern.remove_prefix(slash + 1);
  }
  return out;
}

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. `path` starts with '/'.
std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool segment_matches(const Segment& segment, std::string_view value) {
  switch (segment.kind) {
    case Segment::Kind::kLiteral:
      return segment.text == value;
    case Segment::Kind::kParam:
      return !value.empty();
    case Segment::Kind::kWildcard:
      return true;
  }
  return false;
}

// Why `pattern` does not match `path` (both valid, the match already failed), or "" when it does.
std::string path_mismatch_detail(std::string_view pattern, std::string_view path) {
  if (path.empty() || path.front() != '/') return "the path does not start with '/'";
  const std::vector<Segment> segments = pattern_segments(pattern);
  const std::vector<std::string_view> values = path_segments(path);
  const bool wildcard = segments.back().kind == Segment::Kind::kWildcard;
  const std::size_t fixed = wildcard ? segments.size() - 1 : segments.size();
  for (std::size_t i = 0; i < fixed && i < values.size(); ++i) {
    if (segment_matches(segments[i], values[i])) continue;
    const std::string n = std::to_string(i + 1);
    if (segments[i].kind == Segment::Kind::kParam) {
      return "segment " + n + " is empty and " + std::string(segments[i].text) + " needs a value";
    }
    return "segment " + n + " is '" + std::string(values[i]) + "', not '" + std::string(segments[i].text) +
           "'";
  }
  if (values.size() < fixed) {
    return "the path has " + std::to_string(values.size()) + " segment" + (values.size() == 1 ? "" : "s") +
           ", the pattern " + (wildcard ? "needs at least " : "has ") + std::to_string(fixed);
  }
  if (!wildcard && values.size() > fixed) {
    return "the path has " + std::to_string(values.size()) + " segments, the pattern " +
           std::to_string(fixed) + "; only a /* pattern matches deeper paths";
  }
  return "";
}

std::string method_list(const std::vector<std::string>& methods) {
  std::string out = "[";
  for (const std::string& method : methods) {
    if (out.size() > 1) out += ", ";
    out += method;
  }
  return out + "]";
}

// "api.example.com/users/:id" or "/users/:id": how a route is named in sentences.
std::string pattern_name(const config::RouteSpec& spec) {
  return spec.host + spec.path;
}

std::string route_name(std::size_t index, const config::RouteSpec& spec) {
  return "routes[" + std::to_string(index) + "] " + pattern_name(spec);
}

std::string host_mismatch_reason(const config::RouteSpec& spec, std::string_view request_host,
                                 std::string_view normalized) {
  if (normalized.empty()) {
    if (request_host.empty()) return "no Host was given; this route needs host " + spec.host;
    return "the Host is unusable (empty or over 255 characters); this route needs host " + spec.host;
  }
  std::string reason = "host " + std::string(normalized) + " does not match " + spec.host;
  const HostPattern pattern = host_pattern(spec.host);
  if (pattern.wildcard && normalized == std::string_view(pattern.key).substr(1)) {
    reason += " (a wildcard needs at least one label before " + pattern.key + ")";
  }
  return reason;
}

// Ranks for precedence: lower wins.
int host_class(const HostPattern& pattern) {
  return pattern.any ? 2 : pattern.wildcard ? 1 : 0;
}

int segment_rank(const std::vector<Segment>& segments, std::size_t i) {
  if (i >= segments.size()) return -1;  // the pattern ended: the exact pattern comes first
  return static_cast<int>(segments[i].kind);
}

std::string segment_text(const std::vector<Segment>& segments, std::size_t i) {
  const Segment& segment = segments[i];
  if (segment.kind == Segment::Kind::kLiteral) return "literal '" + std::string(segment.text) + "'";
  return std::string(segment.text);
}

// The rule from the winner's side: `win` beats `lose`.
std::string path_rule(const config::RouteSpec& win, const std::vector<Segment>& w,
                      const config::RouteSpec& lose, const std::vector<Segment>& l, std::size_t i) {
  if (i >= w.size()) {
    return "at an equal prefix the exact pattern " + win.path + " beats the wildcard " + lose.path;
  }
  return "segment " + std::to_string(i + 1) + ": " + segment_text(w, i) + " beats " + segment_text(l, i);
}

std::string host_rule(const config::RouteSpec& win, const HostPattern& w, const HostPattern& l,
                      const config::RouteSpec& lose) {
  const std::string winner = (w.wildcard ? "wildcard host " : "exact host ") + win.host;
  if (l.any) return winner + " beats any host";
  if (!w.wildcard) return winner + " beats wildcard host " + lose.host;
  return winner + " beats " + lose.host + ", a shorter suffix";
}

}  // namespace

std::string_view to_string(RouteOutcome outcome) {
  switch (outcome) {
    case RouteOutcome::kChosen:
      return "chosen";
    case RouteOutcome::kHostMismatch:
      return "host-mismatch";
    case RouteOutcome::kPathMismatch:
      return "path-mismatch";
    case RouteOutcome::kMethodMismatch:
      return "method-mismatch";
    case RouteOutcome::kLessSpecific:
      return "less-specific";
  }
  return "unknown";
}

std::string route_host(std::string_view host) {
  // The same steps as RouteTable::match: port, brackets and trailing dot off, then lower case.
  host = bare_host(host);
  if (host.size() > kMaxHostLength) return {};
  return lower_copy(host);
}

HostMatch match_host(std::string_view pattern_text, std::string_view host) {
  const HostPattern pattern = host_pattern(pattern_text);
  if (pattern.any) return HostMatch::kAny;
  if (host.empty()) return HostMatch::kNoMatch;
  if (pattern.wildcard) {
    return host.size() > pattern.key.size() && host.ends_with(pattern.key) ? HostMatch::kWildcard
                                                                           : HostMatch::kNoMatch;
  }
  return host == pattern.key ? HostMatch::kExact : HostMatch::kNoMatch;
}

bool match_path(std::string_view pattern, std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  const std::vector<Segment> segments = pattern_segments(pattern);
  const std::vector<std::string_view> values = path_segments(path);
  const bool wildcard = segments.back().kind == Segment::Kind::kWildcard;
  const std::size_t fixed = wildcard ? segments.size() - 1 : segments.size();
  if (wildcard ? values.size() < fixed : values.size() != fixed) return false;
  for (std::size_t i = 0; i < fixed; ++i) {
    if (!segment_matches(segments[i], values[i])) return false;
  }
  return true;
}

bool method_allowed(const std::vector<std::string>& methods, std::string_view method) {
  if (methods.empty()) return true;
  const auto listed = [&](std::string_view name) {
    return std::find(methods.begin(), methods.end(), name) != methods.end();
  };
  return listed(method) || (method == "HEAD" && listed("GET"));
}

Precedence compare_precedence(const config::RouteSpec& a, const config::RouteSpec& b) {
  const HostPattern ha = host_pattern(a.host);
  const HostPattern hb = host_pattern(b.host);
  const int class_a = host_class(ha);
  const int class_b = host_class(hb);
  if (class_a != class_b) {
    return class_a < class_b ? Precedence{-1, host_rule(a, ha, hb, b)}
                             : Precedence{1, host_rule(b, hb, ha, a)};
  }
  if (ha.wildcard && ha.key.size() != hb.key.size()) {
    return ha.key.size() > hb.key.size() ? Precedence{-1, host_rule(a, ha, hb, b)}
                                         : Precedence{1, host_rule(b, hb, ha, a)};
  }
  const std::vector<Segment> sa = pattern_segments(a.path);
  const std::vector<Segment> sb = pattern_segments(b.path);
  for (std::size_t i = 0; i < std::max(sa.size(), sb.size()); ++i) {
    const int ra = segment_rank(sa, i);
    const int rb = segment_rank(sb, i);
    if (ra == rb) continue;
    return ra < rb ? Precedence{-1, path_rule(a, sa, b, sb, i)} : Precedence{1, path_rule(b, sb, a, sa, i)};
  }
  return {0, "same host and path pattern"};
}

RouteExplanation explain_routes(const std::vector<config::RouteSpec>& routes, const RouteTable& table,
                                std::string_view host, std::string_view method, std::string_view path) {
  RouteExplanation out;
  out.match = table.match(host, method, path);
  out.host = route_host(host);
  const CompiledRoute* chosen = out.match.status == RouteMatch::Status::kMatched ? out.match.route : nullptr;
  const config::RouteSpec* chosen_spec = chosen != nullptr ? &routes[chosen->index] : nullptr;

  std::size_t host_and_path = 0;  // routes matching host and path, whatever their methods
  out.routes.reserve(routes.size());
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const config::RouteSpec& spec = routes[i];
    RouteVerdict verdict;
    verdict.index = i;
    verdict.spec = &spec;
    const bool host_ok = match_host(spec.host, out.host) != HostMatch::kNoMatch;
    const bool path_ok = host_ok && match_path(spec.path, path);
    if (path_ok) ++host_and_path;
    if (!host_ok) {
      verdict.outcome = RouteOutcome::kHostMismatch;
      verdict.reason = host_mismatch_reason(spec, host, out.host);
    } else if (!path_ok) {
      verdict.outcome = RouteOutcome::kPathMismatch;
      verdict.reason = "path " + std::string(path) + " does not match " + spec.path;
      if (const std::string detail = path_mismatch_detail(spec.path, path); !detail.empty()) {
        verdict.reason += " (" + detail + ")";
      }
    } else if (!method_allowed(spec.methods, method)) {
      verdict.outcome = RouteOutcome::kMethodMismatch;
      verdict.reason = "method " + std::string(method) + " not in " + method_list(spec.methods);
    } else if (chosen != nullptr && chosen->index == i) {
      verdict.outcome = RouteOutcome::kChosen;
      verdict.reason = "matches host, path and method";
    } else {
      verdict.outcome = RouteOutcome::kLessSpecific;
      if (chosen_spec == nullptr) {
        verdict.reason =
            "matches, yet the route table chose no route (explain disagrees with routing: a bug)";
      } else if (const Precedence order = compare_precedence(*chosen_spec, spec); order.order < 0) {
        verdict.reason = "matches, but " + route_name(chosen->index, *chosen_spec) +
                         " is more specific than " + pattern_name(spec) + " (" + order.rule + ")";
      } else if (order.order == 0) {
        verdict.reason = "matches, but " + route_name(chosen->index, *chosen_spec) +
                         " has the same host and path pattern and comes first";
      } else {
        verdict.reason =
            "matches and looks more specific than the chosen route (explain disagrees with routing: a bug)";
      }
    }
    out.routes.push_back(std::move(verdict));
  }

  switch (out.match.status) {
    case RouteMatch::Status::kNotFound:
      out.why = routes.empty() ? "the config has no routes" : "no route matches this host and path";
      break;
    case RouteMatch::Status::kMethodNotAllowed:
      out.why = host_and_path == 1
                    ? "1 route matches this host and path, but it does not allow "
                    : std::to_string(host_and_path) + " routes match this host and path, but none allows ";
      out.why += std::string(method) + " (Allow: " + std::string(out.match.allow) + ")";
      break;
    case RouteMatch::Status::kMatched: {
      const RouteVerdict* runner_up = nullptr;  // the most specific of the other matching routes
      std::size_t candidates = 0;
      for (const RouteVerdict& verdict : out.routes) {
        if (verdict.outcome == RouteOutcome::kChosen) ++candidates;
        if (verdict.outcome != RouteOutcome::kLessSpecific) continue;
        ++candidates;
        if (runner_up == nullptr || compare_precedence(*verdict.spec, *runner_up->spec).order < 0)
          runner_up = &verdict;
      }
      if (runner_up == nullptr) {
        out.why = "the only route whose host, path and methods all match";
      } else {
        out.why = "the most specific of " + std::to_string(candidates) +
                  " matching routes: " + compare_precedence(*chosen_spec, *runner_up->spec).rule;
      }
      // A more specific route that matched host and path but not the method is passed over.
      for (const RouteVerdict& verdict : out.routes) {
        if (verdict.outcome == RouteOutcome::kMethodMismatch &&
            compare_precedence(*verdict.spec, *chosen_spec).order < 0) {
          out.why += "; " + route_name(verdict.index, *verdict.spec) +
                     " is more specific but does not allow " + std::string(method);
        }
      }
      break;
    }
  }
  return out;
}

}  // namespace flexgate::router
