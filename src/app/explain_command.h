#pragma once
// `flexgate explain`: what the gateway would do with one request, from a config file, without
// sending anything (src/admin/explain.h does the work; this is the command line around it).

#include <string>
#include <vector>

namespace flexgate::app {

// `flexgate explain -c FILE METHOD URL [-H 'Name: value']... [--client IP] [--json]`; `args` are
// the words after "explain". Exit 0 when a route matches (a CORS preflight the gateway answers
// included) or a built-in endpoint answers, 2 when none matches or the target is refused, 1 for a
// bad config or bad usage (errors on stderr).
int explain_command(const std::vector<std::string>& args);

}  // namespace flexgate::app
