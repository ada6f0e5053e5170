#pragma once
// Reading the transformation keys (issue #11): `headers`, `securityHeaders`, `cors` and the regex
// form of `rewrite`. Internal to config/ (the loader calls these); every problem is reported on
// the Reader with its position, nothing throws. What they mean: docs/transformations.md.

#include <string>
#include <string_view>
#include <vector>

#include "config/reader.h"
#include "config/schema.h"

namespace flexgate::config {

// Where a header template is written: a route knows its `:name` parameters, an upstream has none
// (it serves many routes), so `${path.NAME}` is an error there.
struct TemplateScope {
  const std::vector<std::string>* route_params = nullptr;  // nullptr: upstream level
};

// Parses a header value template into `out.parts`: `${client_ip}`, `${correlation_id}`,
// `${route}`, `${upstream}`, `${auth.client}`, `${request.header.NAME}`, `${path.NAME}`,
// `${env.NAME}` / `${env.NAME:-default}` (read now, once), `$${` for a literal `${`. Returns ""
// or a sentence saying what is wrong (unknown variable, CR/LF/NUL or another control byte...).
std::string parse_value_template(std::string_view text, TemplateScope scope, ValueTemplate& out);

// `headers: {request: {set, add, remove, rename}, response: {set, add, remove, keep}}`.
void read_headers(Reader& reader, const Field& field, TemplateScope scope, HeadersSpec& out);
// `securityHeaders: true | false | {enabled, frameOptions, referrerPolicy, hsts}`.
void read_security_headers(Reader& reader, const Field& field, SecurityHeadersSpec& out);
// `cors: false | {allowOrigins, allowMethods, allowHeaders, exposeHeaders, allowCredentials, maxAge}`.
// `allow_false`: whether `cors: false` may be written (a route turning the global one off).
void read_cors(Reader& reader, const Field& field, bool allow_false, CorsSpec& out);
// `rewrite: {regex, replace}` (the regex itself is compiled with RE2 when the snapshot is built).
void read_regex_rewrite(Reader& reader, const Field& field, RegexRewriteSpec& out);

// True for the field names a `headers` operation may not touch on requests (`request`) or
// responses: framing, hop-by-hop and the fields the gateway sets itself.
bool reserved_header(std::string_view name, bool request);

}  // namespace flexgate::config
