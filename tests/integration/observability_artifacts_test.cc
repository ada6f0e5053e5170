// The observability artifacts under deploy/ are checked against the metrics the real binary
// exports: the Prometheus alerting rules pass `promtool check rules` and their unit tests
// (`promtool test rules`), the Grafana dashboard is well formed and its queries parse, a live
// scrape of a gateway with every interesting family turned on passes `promtool check metrics`
// with no complaint, and every metric, label and fixed label value that a dashboard query or an
// alert names exists in that scrape (with rate()/increase() only over counters), so renaming a
// metric or a label breaks this test instead of an on-call dashboard.
//
// promtool comes from the Debian package `prometheus` (scripts/install-deps.sh); without it these
// tests fail, they do not skip.

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "integration/harness.h"

namespace flexgate::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kRepo = FLEXGATE_SOURCE_DIR;
const fs::path kAlerts = kRepo / "deploy" / "prometheus" / "alerts.yml";
const fs::path kAlertTests = kRepo / "deploy" / "prometheus" / "alerts_test.yml";
const fs::path kDashboard = kRepo / "deploy" / "grafana" / "dashboard.json";

// Labels Prometheus attaches to every scraped series; the gateway does not export them.
const std::set<std::string> kTargetLabels = {"instance", "job"};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

// A path for a shell command line (ours have no quote in them).
std::string shell_quote(const fs::path& path) {
  return "'" + path.string() + "'";
}

// Runs a shell command; returns {exit code, stdout+stderr}.
std::pair<int, std::string> run_shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// True when promtool is on PATH; otherwise records a failure that says how to get it.
bool require_promtool() {
  if (run_shell("command -v promtool >/dev/null").first == 0) return true;
  ADD_FAILURE() << "promtool not found on PATH: install the Debian package `prometheus` "
                   "(scripts/install-deps.sh does); the observability artifacts cannot be checked without it";
  return false;
}

// ---------------------------------------------------------------------------------------------
// The exposition, as far as the checks need it.

struct Exposition {
  std::map<std::string, std::string> family_types;                              // # TYPE name type
  std::map<std::string, std::map<std::string, std::set<std::string>>> samples;  // name -> label -> values
};

Exposition parse_exposition(const std::string& text) {
  Exposition exposition;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      exposition.family_types[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::size_t at = 0;
    while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
    auto& labels = exposition.samples[line.substr(0, at)];
    if (at >= line.size() || line[at] != '{') continue;
    ++at;
    while (at < line.size() && line[at] != '}') {
      const std::size_t eq = line.find('=', at);
      if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
      const std::string name = line.substr(at, eq - at);
      std::string value;
      for (at = eq + 2; at < line.size() && line[at] != '"'; ++at) {
        if (line[at] == '\\' && at + 1 < line.size()) {
          ++at;
          value += line[at] == 'n' ? '\n' : line[at];
        } else {
          value += line[at];
        }
      }
      labels[name].insert(value);
      ++at;  // closing quote
      if (at < line.size() && line[at] == ',') ++at;
    }
  }
  return exposition;
}

// The family a sample name belongs to (histogram series carry a suffix), "" if none.
std::string family_of(const Exposition& exposition, const std::string& sample) {
  if (exposition.family_types.contains(sample)) return sample;
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (sample.size() > suffix.size() && sample.ends_with(suffix)) {
      const std::string base = sample.substr(0, sample.size() - suffix.size());
      auto type = exposition.family_types.find(base);
      if (type != exposition.family_types.end() &&
          (type->second == "histogram" || type->second == "summary")) {
        return base;
      }
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// PromQL, as far as the checks need it: metric selectors with their matchers, and grouping labels.

struct Matcher {
  std::string label;
  std::string op;  // =, !=, =~, !~
  std::string value;
};

struct Selector {
  std::string metric;
  std::vector<Matcher> matchers;
  std::string function;  // the function whose argument the selector is ("rate", "sum", ...), or ""
};

struct Query {
  std::vector<Selector> selectors;           // metrics named flexgate_*
  std::vector<std::string> grouping_labels;  // by (...) / without (...)
};

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

// Reads a quoted string starting at `at` (on the quote); leaves `at` after the closing quote.
std::string read_string(const std::string& expr, std::size_t& at) {
  const char quote = expr[at++];
  std::string value;
  for (; at < expr.size() && expr[at] != quote; ++at) {
    if (expr[at] == '\\' && at + 1 < expr.size()) ++at;
    value += expr[at];
  }
  ++at;
  return value;
}

void skip_space(const std::string& expr, std::size_t& at) {
  while (at < expr.size() && std::isspace(static_cast<unsigned char>(expr[at]))) ++at;
}

// The word before `(` that opens the innermost parenthesis around position `at`, or "".
std::string enclosing_function(const std::string& expr, std::size_t at) {
  std::size_t end = at;
  while (end > 0 && std::isspace(static_cast<unsigned char>(expr[end - 1]))) --end;
  if (end == 0 || expr[end - 1] != '(') return "";
  --end;
  while (end > 0 && std::isspace(static_cast<unsigned char>(expr[end - 1]))) --end;
  std::size_t begin = end;
  while (begin > 0 && is_name_char(expr[begin - 1])) --begin;
  return expr.substr(begin, end - begin);
}

Query parse_query(const std::string& expr) {
  Query query;
  std::size_t at = 0;
  while (at < expr.size()) {
    const char c = expr[at];
    if (c == '"' || c == '\'' || c == '`') {
      read_string(expr, at);
      continue;
    }
    if (!is_name_char(c) || (at > 0 && is_name_char(expr[at - 1]))) {
      ++at;
      continue;
    }
    const std::size_t begin = at;
    while (at < expr.size() && is_name_char(expr[at])) ++at;
    const std::string word = expr.substr(begin, at - begin);
    if (word == "by" || word == "without") {
      std::size_t open = at;
      skip_space(expr, open);
      if (open < expr.size() && expr[open] == '(') {
        const std::size_t close = expr.find(')', open);
        std::istringstream labels(expr.substr(open + 1, close - open - 1));
        for (std::string label; std::getline(labels, label, ',');) {
          if (!trim(label).empty()) query.grouping_labels.push_back(trim(label));
        }
        at = close;
      }
      continue;
    }
    if (!word.starts_with("flexgate_")) continue;
    Selector selector{word, {}, enclosing_function(expr, begin)};
    std::size_t brace = at;
    skip_space(expr, brace);
    if (brace < expr.size() && expr[brace] == '{') {
      at = brace + 1;
      for (;;) {
        skip_space(expr, at);
        if (at >= expr.size() || expr[at] == '}') break;
        Matcher matcher;
        while (at < expr.size() && is_name_char(expr[at])) matcher.label += expr[at++];
        skip_space(expr, at);
        while (at < expr.size() && (expr[at] == '=' || expr[at] == '!' || expr[at] == '~'))
          matcher.op += expr[at++];
        skip_space(expr, at);
        if (at < expr.size() && (expr[at] == '"' || expr[at] == '\'' || expr[at] == '`')) {
          matcher.value = read_string(expr, at);
        }
        selector.matchers.push_back(matcher);
        skip_space(expr, at);
        if (at < expr.size() && expr[at] == ',') ++at;
        if (matcher.label.empty()) break;  // malformed: stop, the checks will report it
      }
      ++at;
    }
    query.selectors.push_back(selector);
  }
  return query;
}

// Checks one expression against a live scrape: every flexgate_* sample exists, its matchers name
// labels it has (and, for literal = and =~ matchers, values it has), counters are read only through
// rate()/increase() and gauges never are, and every grouping label is on one of its metrics.
// `label_values` queries (dashboard variables) skip the counter rule.
void check_query_against(const Exposition& exposition, const std::string& where, const std::string& expr,
                         bool variable_query = false) {
  SCOPED_TRACE(where + ": " + expr);
  const Query query = parse_query(expr);
  EXPECT_FALSE(query.selectors.empty()) << "no flexgate_ metric in the query";
  std::set<std::string> labels_in_query(kTargetLabels.begin(), kTargetLabels.end());
  for (const Selector& selector : query.selectors) {
    auto sample = exposition.samples.find(selector.metric);
    if (sample == exposition.samples.end()) {
      ADD_FAILURE() << selector.metric << " is not in the live scrape (renamed, or a family the test config "
                    << "does not produce?)";
      continue;
    }
    const std::string family = family_of(exposition, selector.metric);
    const std::string type = family.empty() ? "" : exposition.family_types.at(family);
    EXPECT_FALSE(family.empty()) << selector.metric << " has no # TYPE in the scrape";
    const bool over_range =
        selector.function == "rate" || selector.function == "irate" || selector.function == "increase";
    const bool cumulative = type == "counter" || type == "histogram" || type == "summary";
    if (!variable_query) {
      EXPECT_EQ(over_range, cumulative)
          << selector.metric << " is a " << type << " read through "
          << (selector.function.empty() ? "no function" : selector.function + "()")
          << ": counters need rate()/increase(), gauges must not have them";
    }
    for (const auto& [label, values] : sample->second) labels_in_query.insert(label);
    for (const Matcher& matcher : selector.matchers) {
      if (kTargetLabels.contains(matcher.label)) continue;
      auto values = sample->second.find(matcher.label);
      if (values == sample->second.end()) {
        ADD_FAILURE() << selector.metric << " has no label `" << matcher.label << "`";
        continue;
      }
      if (matcher.value.find('$') != std::string::npos) continue;  // a dashboard variable
      if (matcher.op == "=") {
        EXPECT_TRUE(values->second.count(matcher.value)) << selector.metric << "{" << matcher.label << "=\""
                                                         << matcher.value << "\"} matches no live series";
      } else if (matcher.op == "=~") {
        const std::regex pattern(matcher.value);  // PromQL regexes are anchored, like regex_match
        EXPECT_TRUE(std::any_of(values->second.begin(), values->second.end(),
                                [&](const std::string& value) { return std::regex_match(value, pattern); }))
            << selector.metric << "{" << matcher.label << "=~\"" << matcher.value
            << "\"} matches no live series";
      }
    }
  }
  for (const std::string& label : query.grouping_labels) {
    EXPECT_TRUE(labels_in_query.count(label))
        << "grouping label `" << label << "` is on none of the query's metrics";
  }
}

// ---------------------------------------------------------------------------------------------
// The artifacts.

struct AlertRule {
  std::string name;
  std::string expr;
  YAML::Node node;
};

std::vector<AlertRule> load_alert_rules() {
  std::vector<AlertRule> rules;
  const YAML::Node file = YAML::LoadFile(kAlerts.string());
  for (const auto& group : file["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["alert"])  // NOLINTNEXTLINE(cppcoreguidelines-slicing): the rule's node is what is kept
        rules.push_back({rule["alert"].as<std::string>(), rule["expr"].as<std::string>(), rule});
    }
  }
  return rules;
}

struct DashboardQuery {
  std::string where;  // panel title / variable name
  std::string expr;
  bool variable = false;
};

nlohmann::json load_dashboard() {
  return nlohmann::json::parse(read_text(kDashboard));
}

// Every panel, rows' nested panels included.
std::vector<nlohmann::json> dashboard_panels(const nlohmann::json& dashboard) {
  std::vector<nlohmann::json> panels;
  for (const auto& panel : dashboard.value("panels", nlohmann::json::array())) {
    panels.push_back(panel);
    for (const auto& nested : panel.value("panels", nlohmann::json::array())) panels.push_back(nested);
  }
  return panels;
}

std::vector<DashboardQuery> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<DashboardQuery> queries;
  for (const auto& panel : dashboard_panels(dashboard)) {
    for (const auto& target : panel.value("targets", nlohmann::json::array())) {
      queries.push_back({"panel \"" + panel.value("title", "") + "\" " + target.value("refId", ""),
                         target.value("expr", ""), false});
    }
  }
  for (const auto& variable : dashboard["templating"]["list"]) {
    if (variable.value("type", "") != "query") continue;
    const auto& query = variable["query"];
    queries.push_back({"variable $" + variable.value("name", ""),
                       query.is_object() ? query.value("query", "") : query.get<std::string>(), true});
  }
  return queries;
}

// A dashboard query with the Grafana variables replaced, so that promtool can parse it.
std::string without_grafana_variables(std::string expr) {
  const std::pair<std::string, std::string> replacements[] = {
      {"$__rate_interval", "5m"}, {"$__interval", "1m"}, {"$__range", "1h"},
      {"$instance", ".*"},        {"$route", ".*"},      {"$upstream", ".*"}};
  for (const auto& [from, to] : replacements) {
    for (std::size_t at; (at = expr.find(from)) != std::string::npos;) expr.replace(at, from.size(), to);
  }
  return expr;
}

// ---------------------------------------------------------------------------------------------
// A live gateway with every interesting family on, and real traffic through it.

std::string upstream_reply(int status, const std::string& body) {
  const std::string reason = status == 200   ? "OK"
                             : status == 500 ? "Internal Server Error"
                                             : "Service Unavailable";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Scrapes a gateway after 200s, a 404, a 429, a 500 and a retried 503. Cached: the tests share it.
const std::string& live_scrape() {
  static const std::string scraped = [] {
    ScriptedUpstream upstream([](const std::string& raw) {
      const std::string target = raw.substr(0, raw.find("\r\n"));
      if (target.find(" /api/boom ") != std::string::npos) return upstream_reply(500, "boom");
      if (target.find(" /api/busy ") != std::string::npos) return upstream_reply(503, "busy");
      return upstream_reply(200, "ok");
    });
    // Thresholds are far away so the breaker stays closed and nothing is ejected: the families are
    // exported whatever their value, and the traffic below stays deterministic.
    auto gateway = start_gateway(
        "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: 1\n  maxInFlight: 100\n"
        "upstreams:\n"
        "  - name: api\n    url: \"http://127.0.0.1:" +
        std::to_string(upstream.port()) +
        "\"\n"
        "    circuitBreaker: { enabled: true, failureThreshold: 50, minimumRequests: 1000, windowMs: 60000,"
        " openDuration: 30s }\n"
        "    retry: { attempts: 1, on: [503], backoff: { base: 1ms, max: 5ms }, budget: { ratio: 1.0 } }\n"
        "    outlierDetection: { consecutiveFailures: 1000, baseEjectionTime: 60s }\n"
        "    healthCheck: { path: /health, interval: 1s, timeout: 500ms }\n"
        "    maxConcurrent: 50\n"
        "routes:\n"
        "  - path: \"/api/*\"\n    upstream: api\n"
        "  - path: \"/limited/*\"\n    upstream: api\n    priority: low\n    rateLimit: { max: 1, windowMs: "
        "60000 }\n"
        "logging:\n  level: info\n");
    if (gateway.port == 0) return std::string();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(request(gateway.port, "GET", "/api/ok").status, 200);
    EXPECT_EQ(request(gateway.port, "GET", "/nowhere").status, 404);
    EXPECT_EQ(request(gateway.port, "GET", "/limited/a").status, 200);
    EXPECT_EQ(request(gateway.port, "GET", "/limited/a").status, 429);
    EXPECT_EQ(request(gateway.port, "GET", "/api/boom").status, 500);
    EXPECT_EQ(request(gateway.port, "GET", "/api/busy").status, 503);  // after one retry
    return scrape(gateway.port);
  }();
  return scraped;
}

// ---------------------------------------------------------------------------------------------

TEST(ObservabilityArtifacts, InstallDepsInstallsPromtool) {
  std::istringstream script(read_text(kRepo / "scripts" / "install-deps.sh"));
  bool in_packages = false;
  bool listed = false;
  for (std::string line; std::getline(script, line);) {
    line = trim(line.substr(0, line.find('#')));
    if (line.rfind("packages=(", 0) == 0) {
      in_packages = true;
      line = line.substr(10);
    }
    if (!in_packages) continue;
    std::istringstream words(line);
    for (std::string word; words >> word;) {
      if (word == ")") in_packages = false;
      if (word == "prometheus") listed = true;
    }
  }
  EXPECT_TRUE(listed) << "scripts/install-deps.sh must install the Debian package `prometheus` (promtool)";
}

TEST(ObservabilityArtifacts, AlertRulesPassPromtoolCheck) {
  if (!require_promtool()) return;
  const auto [code, output] = run_shell("promtool check rules " + shell_quote(kAlerts));
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("SUCCESS"), std::string::npos) << output;
}

TEST(ObservabilityArtifacts, AlertRuleUnitTestsPass) {
  if (!require_promtool()) return;
  const auto [code, output] = run_shell("promtool test rules " + shell_quote(kAlertTests));
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("SUCCESS"), std::string::npos) << output;
}

// Each alert carries a severity and readable annotations, and alerts_test.yml has a case where it
// fires and one where it does not.
TEST(ObservabilityArtifacts, EveryAlertIsAnnotatedAndTestedBothWays) {
  const auto rules = load_alert_rules();
  ASSERT_FALSE(rules.empty());
  std::set<std::string> names;
  for (const auto& rule : rules) {
    SCOPED_TRACE(rule.name);
    EXPECT_TRUE(names.insert(rule.name).second) << "duplicate alert name";
    EXPECT_TRUE(rule.name.starts_with("FlexGate"));
    const std::string severity = rule.node["labels"]["severity"].as<std::string>("");
    EXPECT_TRUE(severity == "warning" || severity == "critical") << "severity: '" << severity << "'";
    for (const char* annotation : {"summary", "description"}) {
      EXPECT_FALSE(trim(rule.node["annotations"][annotation].as<std::string>("")).empty())
          << "no " << annotation;
    }
    EXPECT_NE(rule.node["annotations"]["summary"].as<std::string>("").find("{{ $labels."), std::string::npos)
        << "the summary should name what it is about ({{ $labels.route }}, {{ $labels.upstream }}, ...)";
  }
  for (const char* required :
       {"FlexGateHighErrorRate", "FlexGateHighLatencyP99", "FlexGateCircuitBreakerOpen",
        "FlexGateRateLimitRedisFallback", "FlexGateConfigReloadFailing", "FlexGateLoadShedding",
        "FlexGateTargetsDown"}) {
    EXPECT_TRUE(names.count(required)) << "missing alert " << required;
  }

  const YAML::Node tests = YAML::LoadFile(kAlertTests.string());
  bool loads_rules = false;
  for (const auto& file : tests["rule_files"]) loads_rules |= file.as<std::string>() == "alerts.yml";
  EXPECT_TRUE(loads_rules) << "alerts_test.yml must load alerts.yml";
  std::set<std::string> fires, stays_quiet;
  for (const auto& test : tests["tests"]) {
    for (const auto& check : test["alert_rule_test"]) {
      const std::string name = check["alertname"].as<std::string>();
      const YAML::Node expected = check["exp_alerts"];
      (expected && expected.size() > 0 ? fires : stays_quiet).insert(name);
    }
  }
  for (const auto& name : names) {
    EXPECT_TRUE(fires.count(name)) << "alerts_test.yml has no case where " << name << " fires";
    EXPECT_TRUE(stays_quiet.count(name)) << "alerts_test.yml has no case where " << name << " does not fire";
  }
}

TEST(ObservabilityArtifacts, DashboardIsWellFormed) {
  const nlohmann::json dashboard = load_dashboard();
  const int schema = dashboard.value("schemaVersion", 0);
  EXPECT_GE(schema, 36);
  EXPECT_LE(schema, 41);
  EXPECT_FALSE(dashboard.value("uid", "").empty());
  EXPECT_FALSE(dashboard.value("title", "").empty());

  std::map<std::string, nlohmann::json> variables;
  for (const auto& variable : dashboard["templating"]["list"])
    variables[variable.value("name", "")] = variable;
  ASSERT_TRUE(variables.count("datasource")) << "no ${datasource} variable";
  EXPECT_EQ(variables["datasource"].value("type", ""), "datasource");
  EXPECT_EQ(variables["datasource"].value("query", ""), "prometheus");
  for (const char* name : {"route", "upstream"}) {
    ASSERT_TRUE(variables.count(name)) << "no $" << name << " variable";
    const auto& query = variables[name]["query"];
    const std::string text = query.is_object() ? query.value("query", "") : query.get<std::string>();
    EXPECT_EQ(text.rfind("label_values(", 0), 0u) << name << ": " << text;
    EXPECT_NE(text.find(std::string(", ") + name + ")"), std::string::npos) << name << ": " << text;
    // Route patterns contain regex characters (/api/*): Grafana escapes multi-value variables only.
    EXPECT_TRUE(variables[name].value("multi", false) || variables[name].value("includeAll", false)) << name;
  }

  std::set<int> ids;
  std::set<std::string> metrics_shown;
  for (const auto& panel : dashboard_panels(dashboard)) {
    const std::string title = panel.value("title", "");
    SCOPED_TRACE("panel \"" + title + "\"");
    EXPECT_FALSE(title.empty());
    EXPECT_TRUE(ids.insert(panel.value("id", 0)).second) << "duplicate or missing panel id";
    const auto& grid = panel["gridPos"];
    ASSERT_TRUE(grid.is_object()) << "no gridPos";
    EXPECT_LE(grid.value("x", 0) + grid.value("w", 0), 24);
    if (panel.value("type", "") == "row") continue;
    EXPECT_EQ(panel["datasource"].value("uid", ""), "${datasource}");
    ASSERT_FALSE(panel.value("targets", nlohmann::json::array()).empty()) << "no query";
    std::set<std::string> refs;
    for (const auto& target : panel["targets"]) {
      EXPECT_EQ(target["datasource"].value("uid", ""), "${datasource}");
      EXPECT_TRUE(refs.insert(target.value("refId", "")).second) << "duplicate refId";
      EXPECT_FALSE(trim(target.value("expr", "")).empty());
      for (const auto& selector : parse_query(target.value("expr", "")).selectors)
        metrics_shown.insert(selector.metric);
    }
  }
  for (const char* metric :
       {"flexgate_http_requests_total", "flexgate_http_request_duration_seconds_bucket",
        "flexgate_http_requests_in_flight", "flexgate_circuit_breaker_state",
        "flexgate_rate_limit_hits_total", "flexgate_rate_limit_backend_fallbacks_total",
        "flexgate_rate_limit_backend_degraded_workers", "flexgate_load_shed_total",
        "flexgate_upstream_requests_total", "flexgate_upstream_retries_total",
        "flexgate_upstream_retries_refused_total", "flexgate_timeouts_total",
        "flexgate_upstream_targets_ejected", "flexgate_upstream_targets_healthy",
        "flexgate_config_reloads_total", "flexgate_config_last_reload_success_timestamp_seconds"}) {
    EXPECT_TRUE(metrics_shown.count(metric)) << "no panel shows " << metric;
  }
}

// promtool parses each dashboard query (variables substituted) as a recording rule.
TEST(ObservabilityArtifacts, DashboardQueriesParse) {
  if (!require_promtool()) return;
  const auto queries = dashboard_queries(load_dashboard());
  ASSERT_FALSE(queries.empty());
  YAML::Emitter rules;
  rules << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq << YAML::BeginMap
        << YAML::Key << "name" << YAML::Value << "dashboard" << YAML::Key << "rules" << YAML::Value
        << YAML::BeginSeq;
  int index = 0;
  for (const auto& query : queries) {
    if (query.variable) continue;  // label_values() is Grafana's, not PromQL
    rules << YAML::BeginMap << YAML::Key << "record" << YAML::Value
          << "dashboard:query_" + std::to_string(index++) << YAML::Key << "expr" << YAML::Value
          << YAML::Literal << without_grafana_variables(query.expr) << YAML::EndMap;
  }
  rules << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  const std::string path = write_temp_file(rules.c_str(), ".yml");
  const auto [code, output] = run_shell("promtool check rules " + shell_quote(path));
  EXPECT_EQ(code, 0) << output << "\nqueries:\n" << rules.c_str();
  std::filesystem::remove(path);
}

TEST(ObservabilityArtifacts, LiveScrapePassesPromtoolCheckMetrics) {
  if (!require_promtool()) return;
  const std::string& exposition = live_scrape();
  ASSERT_FALSE(exposition.empty());
  const std::string path = write_temp_file(exposition, ".prom");
  const auto [code, output] = run_shell("promtool check metrics < " + shell_quote(path));
  // promtool prints one line per lint problem; a clean exposition prints nothing.
  EXPECT_EQ(code, 0) << "promtool check metrics failed:\n" << output;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!trim(line).empty()) ADD_FAILURE() << "promtool check metrics: " << line;
  }
  std::filesystem::remove(path);
}

TEST(ObservabilityArtifacts, LiveScrapeHasTheTraffic) {
  const std::string& exposition = live_scrape();
  ASSERT_FALSE(exposition.empty());
  EXPECT_EQ(metric_sample(exposition,
                          "flexgate_http_requests_total{method=\"GET\",route=\"/api/*\",status=\"200\"}"),
            5);
  EXPECT_EQ(metric_sample(exposition,
                          "flexgate_http_requests_total{method=\"GET\",route=\"/api/*\",status=\"500\"}"),
            1);
  EXPECT_EQ(metric_sample(exposition,
                          "flexgate_http_requests_total{method=\"GET\",route=\"/api/*\",status=\"503\"}"),
            1);
  EXPECT_EQ(metric_sample(exposition,
                          "flexgate_http_requests_total{method=\"GET\",route=\"/limited/*\",status=\"429\"}"),
            1);
  EXPECT_EQ(metric_sample(exposition, "flexgate_rate_limit_hits_total{route=\"/limited/*\"}"), 1);
  EXPECT_GE(metric_sample(exposition, "flexgate_upstream_retries_total{upstream=\"api\"}"), 1);
  EXPECT_EQ(metric_sample(exposition, "flexgate_circuit_breaker_state{upstream=\"api\",state=\"closed\"}"),
            1);
  EXPECT_EQ(metric_sample(exposition, "flexgate_upstream_concurrency_limit{upstream=\"api\"}"), 50);
}

TEST(ObservabilityArtifacts, DashboardQueriesUseLiveMetricsAndLabels) {
  const Exposition exposition = parse_exposition(live_scrape());
  ASSERT_FALSE(exposition.samples.empty());
  const auto queries = dashboard_queries(load_dashboard());
  ASSERT_FALSE(queries.empty());
  for (const auto& query : queries) {
    check_query_against(exposition, query.where, query.expr, query.variable);
    if (!query.variable) continue;
    // label_values(selector, label): the label is on the selected metric.
    const std::size_t comma = query.expr.rfind(',');
    const std::string label = trim(query.expr.substr(comma + 1, query.expr.rfind(')') - comma - 1));
    const auto selectors = parse_query(query.expr).selectors;
    if (selectors.empty() || !exposition.samples.contains(selectors[0].metric)) continue;
    EXPECT_TRUE(exposition.samples.at(selectors[0].metric).contains(label) || kTargetLabels.contains(label))
        << query.where << ": " << selectors[0].metric << " has no label `" << label << "`";
  }
}

TEST(ObservabilityArtifacts, AlertRulesUseLiveMetricsAndLabels) {
  const Exposition exposition = parse_exposition(live_scrape());
  ASSERT_FALSE(exposition.samples.empty());
  const auto rules = load_alert_rules();
  ASSERT_FALSE(rules.empty());
  for (const auto& rule : rules) check_query_against(exposition, "alert " + rule.name, rule.expr);
}

// The checker itself: a renamed metric, a wrong label or value, or a gauge under rate() is caught.
TEST(ObservabilityArtifacts, QueryCheckerCatchesMistakes) {
  const Exposition exposition = parse_exposition(
      "# TYPE flexgate_x_total counter\nflexgate_x_total{route=\"/a\",status=\"500\"} 1\n"
      "# TYPE flexgate_g gauge\nflexgate_g{state=\"open\"} 0\n"
      "# TYPE flexgate_h histogram\nflexgate_h_bucket{le=\"+Inf\"} 1\nflexgate_h_sum 1\nflexgate_h_count "
      "1\n");
  auto failures = [&](const std::string& expr) {
    ::testing::TestPartResultArray results;
    {
      ::testing::ScopedFakeTestPartResultReporter reporter(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
      check_query_against(exposition, "self-test", expr);
    }
    return results.size();
  };
  EXPECT_EQ(failures("sum by (route) (rate(flexgate_x_total{status=~\"5..\", instance=~\"$i\"}[5m]))"), 0);
  EXPECT_EQ(failures("histogram_quantile(0.99, sum by (le) (rate(flexgate_h_bucket[5m]))) > 1"), 0);
  EXPECT_EQ(failures("flexgate_g{state=\"open\"} == 1"), 0);
  EXPECT_GT(failures("rate(flexgate_y_total[5m])"), 0);                      // not exported
  EXPECT_GT(failures("rate(flexgate_h_total[5m])"), 0);                      // wrong suffix
  EXPECT_GT(failures("rate(flexgate_x_total{code=\"500\"}[5m])"), 0);        // no such label
  EXPECT_GT(failures("rate(flexgate_x_total{status=~\"4..\"}[5m])"), 0);     // no such value
  EXPECT_GT(failures("flexgate_g{state=\"opened\"} == 1"), 0);               // no such value
  EXPECT_GT(failures("sum by (upstream) (rate(flexgate_x_total[5m]))"), 0);  // no such label
  EXPECT_GT(failures("rate(flexgate_g[5m]) > 0"), 0);                        // gauge under rate
  EXPECT_GT(failures("flexgate_x_total > 0"), 0);                            // bare counter
}

}  // namespace
}  // namespace flexgate::testing
