#include "app/explain_command.h"

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "admin/explain.h"
#include "config/loader.h"
#include "net/ip_address.h"
#include "proxy/runtime.h"

namespace flexgate::app {
namespace {

constexpr const char* kExplainUsage =
    "usage: flexgate explain -c FILE METHOD URL [-H 'Name: value']... [--client IP] [--json]\n"
    "  URL is a path with an optional query (/api/users/42?x=1) or an absolute http URL\n"
    "  (http://api.example.com/users/42, whose authority is the Host).\n";

int usage(const std::string& message) {
  std::fprintf(stderr, "flexgate explain: %s\n%s", message.c_str(), kExplainUsage);
  return 1;
}

// "Name: value" -> {Name, value}; nullopt without a colon or a name.
std::optional<std::pair<std::string, std::string>> parse_header(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string value = text.substr(colon + 1);
  const std::size_t first = value.find_first_not_of(" \t");
  value = first == std::string::npos ? std::string() : value.substr(first);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  return std::make_pair(text.substr(0, colon), std::move(value));
}

// Loads and compiles the file as `run` and `validate` do, printing every error like `validate`.
std::shared_ptr<const proxy::Runtime> load(const std::string& path) {
  auto loaded = config::load_config_file(path);
  std::vector<std::string> errors;
  std::shared_ptr<const proxy::Runtime> runtime;
  if (loaded.ok()) {
    runtime = proxy::Runtime::build(std::move(*loaded.config), errors);
  } else {
    for (const auto& error : loaded.errors) errors.push_back(error.to_string());
  }
  for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "%zu error%s; the configuration was not loaded.\n", errors.size(),
                 errors.size() == 1 ? "" : "s");
  }
  return runtime;
}

}  // namespace

int explain_command(const std::vector<std::string>& args) {
  std::string config_path;
  bool json = false;
  admin::ExplainQuery query;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if ((arg == "-c" || arg == "--config") && has_value) {
      config_path = args[++i];
    } else if ((arg == "-H" || arg == "--header") && has_value) {
      auto header = parse_header(args[++i]);
      if (!header) return usage("-H takes 'Name: value', got '" + args[i] + "'");
      query.headers.push_back(std::move(*header));
    } else if (arg == "--client" && has_value) {
      query.client_ip = args[++i];
      if (!net::IpAddress::parse(query.client_ip))
        return usage("--client takes an IP address, got '" + query.client_ip + "'");
    } else if (arg == "--json") {
      json = true;
    } else if (arg.size() > 1 && arg.front() == '-') {
      return usage("unknown or incomplete option '" + arg + "'");
    } else {
      positional.push_back(arg);
    }
  }
  if (config_path.empty()) return usage("-c FILE is required");
  if (positional.size() != 2) return usage("takes METHOD and URL");
  query.method = positional[0];
  query.url = positional[1];

  const auto runtime = load(config_path);
  if (!runtime) return 1;
  const admin::ExplainReport report = admin::explain_request(*runtime, query);
  std::string out;
  if (json) {
    admin::render_json(report, out);
  } else {
    admin::render_text(report, out);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  switch (report.outcome) {
    case admin::ExplainOutcome::kForwarded:
    case admin::ExplainOutcome::kRefused:
    case admin::ExplainOutcome::kNoTarget:
    case admin::ExplainOutcome::kPreflight:
    case admin::ExplainOutcome::kBuiltin:
      return 0;
    case admin::ExplainOutcome::kBadRequest:
    case admin::ExplainOutcome::kNotFound:
    case admin::ExplainOutcome::kMethodNotAllowed:
      return 2;
    case admin::ExplainOutcome::kInvalidQuery:
      break;
  }
  return 1;
}

}  // namespace flexgate::app
