// flexgate: the command-line entry point.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/echo_server.h"
#include "app/explain_command.h"
#include "net/listener.h"

namespace {

constexpr const char* kUsage = R"(FlexGate — a config-driven HTTP reverse proxy and API gateway.

Usage:
  flexgate run [-c FILE]                     serve with FILE (default config/proxy.yml)
  flexgate validate FILE                     check FILE; exit 0 if valid, 1 with every error
  flexgate explain -c FILE METHOD URL [-H 'Name: value']... [--client IP] [--json]
                                             what the gateway would do with that request: route
                                             (and why), forwarded path, upstreams, policies
  flexgate hash-key [KEY]                    print the SHA-256 digest of an API key (stdin if no KEY)
  flexgate echo-server [--listen HOST:PORT] [--workers N]
                                             a small upstream for demos, tests and benchmarks
  flexgate --help | --version
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "flexgate: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("flexgate 0.1.0");
    return 0;
  }
  const std::string command = args[0];
  if (command == "run") {
    std::string config_path = "config/proxy.yml";
    for (std::size_t i = 1; i < args.size(); ++i) {
      if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size()) {
        config_path = args[++i];
      } else {
        return usage_error("unknown argument to run: " + args[i]);
      }
    }
    return flexgate::app::run_command(config_path);
  }
  if (command == "validate") {
    if (args.size() == 3 && (args[1] == "-c" || args[1] == "--config")) return flexgate::app::validate_command(args[2]);
    if (args.size() != 2) return usage_error("validate takes exactly one FILE");
    return flexgate::app::validate_command(args[1]);
  }
  if (command == "explain") {
    return flexgate::app::explain_command(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "hash-key") {
    return flexgate::app::hash_key_command(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "echo-server") {
    flexgate::app::EchoServerOptions options;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--listen" && i + 1 < args.size()) {
        if (!flexgate::net::parse_host_port(args[++i], options.host, options.port)) {
          return usage_error("--listen takes HOST:PORT");
        }
      } else if (args[i] == "--workers" && i + 1 < args.size()) {
        options.workers = static_cast<unsigned>(std::strtoul(args[++i].c_str(), nullptr, 10));
        if (options.workers == 0) return usage_error("--workers takes a number >= 1");
      } else {
        return usage_error("unknown argument to echo-server: " + args[i]);
      }
    }
    return flexgate::app::run_echo_server(options);
  }
  return usage_error("unknown command '" + command + "'");
}
