#pragma once
// The CLI commands. Each returns the process exit code.

#include <string>
#include <vector>

namespace flexgate::app {

// `flexgate run -c FILE`: serve until SIGTERM/SIGINT (graceful drain), exit 0.
int run_command(const std::string& config_path);
// `flexgate validate FILE`: 0 when valid (prints a summary), 1 with every error otherwise.
int validate_command(const std::string& config_path);
// `flexgate hash-key [KEY]`: prints the SHA-256 hex digest to store in the config (reads stdin
// when no key is given, keeping it out of shell history).
int hash_key_command(const std::vector<std::string>& args);

}  // namespace flexgate::app
