#pragma once
// Per-route request body checks (`routes[].validate: {contentTypes, jsonSchema}`), compiled once
// when the config snapshot is built and shared read-only by every worker.
//
// Which requests are checked: every POST, PUT and PATCH (a missing body counts as an empty one),
// and any other request that has a body (Content-Length, even 0, or Transfer-Encoding). A GET,
// HEAD, DELETE or OPTIONS without a body passes untouched, so one route can serve reads and writes.
//
// Answers, in order:
//   400 kBadRequest            more than one Content-Type field (ambiguous: backends pick either)
//   415 kUnsupportedMediaType  contentTypes set and the media type (type/subtype, case-insensitive,
//                              parameters ignored) is missing or not listed; or, with a schema, a
//                              Content-Encoding other than identity (the bytes could not be checked)
//   400 kBadRequest            with a schema: the body is not JSON (RFC 8259 syntax or UTF-8). 400,
//                              not 422: the request is malformed, there is nothing to validate
//   422 kUnprocessableEntity   with a schema: the body nests deeper than kMaxJsonDepth, repeats an
//                              object key (backends disagree on which duplicate wins, so a checked
//                              value could differ from the used one), has a string or key over
//                              kMaxRegexSubjectBytes when the schema uses regular expressions, or
//                              does not match the schema; the first kMaxReportedViolations
//                              violations are reported
//   500 kInternal              the lifecycle did not buffer the body, or validation itself failed
// contentTypes empty = any media type; the body must still be JSON when a schema is set.
//
// Schemas: JSON Schema draft 7 by default; draft 4 or 3 when "$schema" names it. Only local
// references ("#/definitions/x") resolve; a reference to another document is a load error.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/schema.h"
#include "policy/request_view.h"

namespace flexgate::policy {

// At most this many violations are reported in a 422.
inline constexpr std::size_t kMaxReportedViolations = 5;
// Deeper JSON is refused before validation: the validator recurses per level.
inline constexpr std::size_t kMaxJsonDepth = 64;
// When the schema uses `pattern`, `patternProperties` or a date/time `format`, longer strings and
// keys are refused: libstdc++'s std::regex recurses once per character and overflows the stack
// on long subjects (a 100 KB string crashes the process). Measured on an 8 MiB thread stack, the
// worst pattern tried (nested groups, -O0) still passes at 8 KiB: 4 KiB leaves 2x headroom.
inline constexpr std::size_t kMaxRegexSubjectBytes = 4096;
// Invalid bodies up to this size get per-violation details; larger ones get one summary violation,
// because collecting every violation costs memory per failing value (a body of a million
// wrong-typed items would otherwise allocate a million messages).
inline constexpr std::size_t kMaxDetailedBodyBytes = 64 * 1024;

// One reason a body failed: where (a JSON Pointer, RFC 6901; "" is the whole body) and why.
struct Violation {
  std::string path;
  std::string message;

  friend bool operator==(const Violation&, const Violation&) = default;
};

// A route's compiled `validate` settings. Cheap to copy (the compiled schema is shared), immutable
// and safe to use from any number of threads at once.
class RouteValidator {
 public:
  // Normalizes contentTypes and loads, parses and compiles jsonSchema (json_schema_path when the
  // loader resolved it, else json_schema as written). On failure: nullopt and a one-line `error`
  // naming the file and the problem (missing file, invalid JSON with line/column, invalid schema).
  static std::optional<RouteValidator> compile(const config::ValidateSpec& spec, std::string& error);

  // True when check() reads the body: the lifecycle must buffer it (up to the route's body limit)
  // and set RequestView::body / body_buffered before calling check().
  bool needs_body() const { return schema_ != nullptr; }

  // The head-only part (Content-Type, Content-Encoding): lets the lifecycle answer 415 before
  // reading a body it would refuse anyway. check() repeats it.
  Verdict check_content_type(const RequestView& request) const;

  // All checks. On a 422 from the schema, `violations` (when given) receives up to
  // kMaxReportedViolations entries; Verdict::message lists the same in readable text.
  Verdict check(const RequestView& request, std::vector<Violation>* violations = nullptr) const;

 private:
  struct CompiledSchema;  // the valijson schema, kept out of this header

  Verdict check_body(std::string_view body, std::vector<Violation>* violations) const;

  std::vector<std::string> content_types_;  // normalized media types; empty = any
  std::shared_ptr<const CompiledSchema> schema_;
};

// Appends the violations as a JSON array: [{"path":"/age","message":"..."},...], for the error
// body's "violations" member.
void append_violations_json(std::string& out, std::span<const Violation> violations);

}  // namespace flexgate::policy
