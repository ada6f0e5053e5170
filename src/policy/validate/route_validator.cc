#include "policy/validate/route_validator.h"

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <unordered_set>
#include <utility>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/json.h"
#include "http/header_token.h"
#include "policy/validate/media_type.h"

// valijson reports errors by exception only when built for it; without, it aborts the process.
#if !VALIJSON_USE_EXCEPTIONS
#error "valijson must be compiled with VALIJSON_USE_EXCEPTIONS=1"
#endif

namespace flexgate::policy {

using nlohmann::json;

// The compiled schema. valijson's Schema is read-only during validation; the only mutable state
// is valijson::Validator's regex cache, see thread_validator().
struct RouteValidator::CompiledSchema {
  valijson::Schema schema;
  bool uses_regex = false;  // pattern, patternProperties or a regex-backed format
};

namespace {

// ─── schema loading ─────────────────────────────────────────────────────────────────────────

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec) {
    error = "cannot open the file: " + ec.message();
    return false;
  }
  if (!std::filesystem::is_regular_file(status)) {
    error = "not a regular file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in.is_open() || in.bad()) {
    error = "cannot read the file";
    return false;
  }
  return true;
}

valijson::SchemaParser::Version draft_of(const json& document) {
  auto it = document.find("$schema");
  if (it != document.end() && it->is_string()) {
    const std::string& uri = it->get_ref<const std::string&>();
    if (uri.find("draft-03") != std::string::npos) return valijson::SchemaParser::kDraft3;
    if (uri.find("draft-04") != std::string::npos) return valijson::SchemaParser::kDraft4;
  }
  return valijson::SchemaParser::kDraft7;
}

// Finds the keywords that make valijson run std::regex and compiles each pattern once, so a bad
// pattern is a load error instead of a failure on the first request. Values of keywords that hold
// data, not schemas, are skipped. Returns false with `error` on a bad pattern.
bool scan_regex_keywords(const json& node, bool& uses_regex, std::string& error) {
  auto compiles = [&](const std::string& pattern) {
    try {
      std::regex compiled(pattern);
      return true;
    } catch (const std::regex_error& e) {
      error = "invalid regular expression '" + pattern + "': " + e.what();
      return false;
    }
  };
  if (node.is_array()) {
    for (const json& item : node) {
      if (!scan_regex_keywords(item, uses_regex, error)) return false;
    }
    return true;
  }
  if (!node.is_object()) return true;
  for (const auto& [key, value] : node.items()) {
    if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
    if (key == "pattern" && value.is_string()) {
      uses_regex = true;
      if (!compiles(value.get_ref<const std::string&>())) return false;
    } else if (key == "patternProperties" && value.is_object()) {
      uses_regex = true;
      for (const auto& [pattern, subschema] : value.items()) {
        if (!compiles(pattern)) return false;
      }
    } else if (key == "format" && value.is_string()) {
      const std::string& format = value.get_ref<const std::string&>();
      if (format == "date" || format == "time" || format == "date-time") uses_regex = true;
    }
    if (!scan_regex_keywords(value, uses_regex, error)) return false;
  }
  return true;
}

// valijson::Validator caches compiled `pattern` regexes, keyed by the pattern text, and is not
// thread-safe. One per thread keeps the cache without locks: compiling std::regex per request
// costs ~40x the validation itself (measured: 194 us vs 5 us per body with two patterns, -O2).
// The key is the pattern, not the schema, so entries stay correct across config reloads; the
// cache grows only with distinct pattern texts ever configured.
valijson::Validator& thread_validator() {
  thread_local valijson::Validator validator;
  return validator;
}

// ─── body parsing ───────────────────────────────────────────────────────────────────────────

// Why parsing stopped early (thrown from the parser callback, caught in check_body).
struct BodyRefused {
  Violation violation;
};

void append_pointer_token(std::string& path, std::string_view token) {
  path += '/';
  for (char c : token) {
    if (c == '~') {
      path += "~0";
    } else if (c == '/') {
      path += "~1";
    } else {
      path += c;
    }
  }
}

// Tracks where the parser is (for paths), refuses excessive depth and duplicate keys.
class BodyParseGuard {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames_.size() >= kMaxJsonDepth) {
          refuse(path(), "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
        frames_.push_back(Frame{event == json::parse_event_t::object_start});
        break;
      case json::parse_event_t::key: {
        Frame& frame = frames_.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second) {
          std::string at = path();
          refuse(std::move(at), "duplicate object key");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool object = false;
    std::size_t index = 0;                 // arrays: the element being parsed
    std::string key;                       // objects: the member being parsed
    std::unordered_set<std::string> keys;  // objects: keys seen so far
  };

  [[noreturn]] static void refuse(std::string path, std::string message) {
    throw BodyRefused{Violation{std::move(path), std::move(message)}};
  }

  void element_done() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }

  // The pointer to the value being parsed.
  std::string path() const {
    std::string out;
    for (const Frame& frame : frames_) {
      append_pointer_token(out, frame.object ? frame.key : std::to_string(frame.index));
    }
    return out;
  }

  std::vector<Frame> frames_;
};

// Finds strings and keys too long to hand to std::regex. Recursion is bounded by kMaxJsonDepth.
std::optional<Violation> find_long_string(const json& node, std::string& path) {
  auto too_long = [&](std::string message) { return Violation{path, std::move(message)}; };
  const std::string limit = std::to_string(kMaxRegexSubjectBytes);
  if (node.is_string()) {
    if (node.get_ref<const std::string&>().size() > kMaxRegexSubjectBytes) {
      return too_long("string longer than " + limit + " bytes (the limit for pattern checks)");
    }
  } else if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      std::size_t mark = path.size();
      append_pointer_token(path, key.size() > 64 ? std::string_view(key).substr(0, 64) : key);
      if (key.size() > kMaxRegexSubjectBytes) {
        return too_long("object key longer than " + limit + " bytes (the limit for pattern checks)");
      }
      if (auto found = find_long_string(value, path)) return found;
      path.resize(mark);
    }
  } else if (node.is_array()) {
    std::size_t index = 0;
    for (const json& item : node) {
      std::size_t mark = path.size();
      append_pointer_token(path, std::to_string(index++));
      if (auto found = find_long_string(item, path)) return found;
      path.resize(mark);
    }
  }
  return std::nullopt;
}

// ─── violations ─────────────────────────────────────────────────────────────────────────────

// valijson context ["<root>", "[users]", "[0]"] -> JSON Pointer "/users/0".
std::string pointer_from_context(const std::vector<std::string>& context) {
  std::string out;
  for (const std::string& part : context) {
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') {
      append_pointer_token(out, std::string_view(part).substr(1, part.size() - 2));
    }
  }
  return out;
}

// valijson reports, besides each real failure, one summary per enclosing property, array item and
// combinator branch ("Failed to validate against schema associated with property name 'x'.").
// They repeat the real failure one level up and would crowd it out of the first five.
bool is_wrapper_message(std::string_view message) {
  for (std::string_view prefix : {"Failed to validate against schema associated with property name '",
                                  "Failed to validate against schema associated with pattern '",
                                  "Failed to validate item #", "Failed to validate against child schema #",
                                  "Failed to validate against additional properties schema"}) {
    if (message.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// Up to kMaxReportedViolations distinct real failures, in valijson's order; `total` counts them all.
std::vector<Violation> collect_violations(const valijson::ValidationResults& results, std::size_t& total) {
  std::vector<Violation> all;
  for (const valijson::ValidationResults::Error& error : results) {
    if (is_wrapper_message(error.description)) continue;
    Violation v{pointer_from_context(error.context), error.description};
    if (std::find(all.begin(), all.end(), v) == all.end()) all.push_back(std::move(v));
  }
  if (all.empty()) {
    // Only summaries (should not happen): report them rather than nothing.
    for (const valijson::ValidationResults::Error& error : results) {
      all.push_back(Violation{pointer_from_context(error.context), error.description});
    }
  }
  total = all.size();
  if (all.size() > kMaxReportedViolations) all.resize(kMaxReportedViolations);
  return all;
}

std::string describe(std::span<const Violation> violations, std::size_t total) {
  std::string out = "request body does not match the schema: ";
  for (std::size_t i = 0; i < violations.size(); ++i) {
    if (i > 0) out += "; ";
    out += violations[i].path.empty() ? "(root)" : violations[i].path;
    out += ": ";
    out += violations[i].message;
  }
  if (total > violations.size()) out += "; (" + std::to_string(total - violations.size()) + " more)";
  return out;
}

Verdict unprocessable(std::vector<Violation> found, std::size_t total, std::vector<Violation>* violations) {
  std::string message = describe(found, total);
  if (violations) *violations = std::move(found);
  return Verdict::deny(ErrorKind::kUnprocessableEntity, std::move(message)).because("schema");
}

// ─── request shape ──────────────────────────────────────────────────────────────────────────

bool has_body(const http::RequestHead& head) {
  return head.framing != http::BodyFraming::kNone;
}

bool method_expects_body(const RequestView& request) {
  if (request.head) {
    switch (request.head->method) {
      case http::Method::kPost:
      case http::Method::kPut:
      case http::Method::kPatch:
        return true;
      default:
        return false;
    }
  }
  return request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
}

bool applies_to(const RequestView& request) {
  return method_expects_body(request) || (request.head && has_body(*request.head));
}

}  // namespace

// ─── RouteValidator ─────────────────────────────────────────────────────────────────────────

std::optional<RouteValidator> RouteValidator::compile(const config::ValidateSpec& spec, std::string& error) {
  RouteValidator validator;
  for (const std::string& entry : spec.content_types) {
    std::optional<std::string> range = normalize_media_range(entry);
    if (!range) {
      error = "validate.contentTypes: '" + entry +
              "' is not a media type (type/subtype, type/* or */*, without parameters)";
      return std::nullopt;
    }
    validator.content_types_.push_back(std::move(*range));
  }
  if (spec.json_schema.empty() && spec.json_schema_path.empty()) return validator;

  const std::string& path = spec.json_schema_path.empty() ? spec.json_schema : spec.json_schema_path;
  const std::string where = "validate.jsonSchema '" + path + "': ";
  try {
    std::string text;
    std::string reason;
    if (!read_file(path, text, reason)) {
      error = where + reason;
      return std::nullopt;
    }
    json document = json::parse(text, nullptr, /*allow_exceptions=*/true);
    if (!document.is_object()) {
      error = where + "a schema must be a JSON object";
      return std::nullopt;
    }
    auto compiled = std::make_shared<CompiledSchema>();
    if (!scan_regex_keywords(document, compiled->uses_regex, reason)) {
      error = where + reason;
      return std::nullopt;
    }
    valijson::SchemaParser parser(draft_of(document));
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    parser.populateSchema(adapter, compiled->schema);  // no fetch functions: remote $ref throws
    validator.schema_ = std::move(compiled);
  } catch (const json::parse_error& e) {
    error = where + "not valid JSON: " + e.what();
    return std::nullopt;
  } catch (const std::exception& e) {
    error = where + "not a valid JSON Schema: " + e.what();
    return std::nullopt;
  }
  return validator;
}

Verdict RouteValidator::check_content_type(const RequestView& request) const {
  if (!applies_to(request)) return Verdict::allow();
  const http::HeaderField* content_type = nullptr;
  const http::HeaderField* content_encoding = nullptr;
  if (request.head) {
    for (const http::HeaderField& field : request.head->fields) {
      if (field.token == http::HeaderToken::kContentType) {
        if (content_type) return Verdict::deny(ErrorKind::kBadRequest, "more than one Content-Type field");
        content_type = &field;
      } else if (schema_ && http::iequals(field.name, "Content-Encoding")) {
        // Any coding but identity hides the JSON from the schema check (and "identity, gzip" too).
        if (!http::iequals(field.value, "identity")) content_encoding = &field;
      }
    }
  }
  if (!content_types_.empty()) {
    std::string_view media = content_type ? media_type_of(content_type->value) : std::string_view();
    bool accepted = false;
    for (const std::string& range : content_types_) {
      if (media_type_matches(range, media)) {
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      return Verdict::deny(ErrorKind::kUnsupportedMediaType,
                           content_type ? "Content-Type is not accepted on this route"
                                        : "Content-Type is required on this route");
    }
  }
  if (content_encoding) {
    return Verdict::deny(ErrorKind::kUnsupportedMediaType,
                         "a Content-Encoding other than identity is not accepted on this route");
  }
  return Verdict::allow();
}

Verdict RouteValidator::check(const RequestView& request, std::vector<Violation>* violations) const {
  if (violations) violations->clear();
  if (!applies_to(request)) return Verdict::allow();
  Verdict verdict = check_content_type(request);
  if (!verdict.allowed || !schema_) return verdict;

  const bool body_present = request.head && has_body(*request.head);
  if (body_present && !request.body_buffered) {
    assert(false && "the lifecycle must buffer the body when needs_body()");
    return Verdict::deny(ErrorKind::kInternal, "request body was not buffered for validation");
  }
  return check_body(body_present ? request.body : std::string_view(), violations);
}

Verdict RouteValidator::check_body(std::string_view body, std::vector<Violation>* violations) const {
  // valijson and nlohmann report by exception; none may leave this function.
  try {
    json document;
    try {
      BodyParseGuard guard;
      json::parser_callback_t callback = [&guard](int, json::parse_event_t event, json& parsed) {
        return guard.on_event(event, parsed);
      };
      document = json::parse(body.begin(), body.end(), callback, /*allow_exceptions=*/true);
    } catch (const json::parse_error& e) {
      return Verdict::deny(ErrorKind::kBadRequest,
                           "request body is not valid JSON (error at byte " + std::to_string(e.byte) + ")");
    } catch (BodyRefused& refused) {
      return unprocessable({std::move(refused.violation)}, 1, violations);
    }

    if (schema_->uses_regex) {
      std::string path;
      if (std::optional<Violation> found = find_long_string(document, path)) {
        return unprocessable({std::move(*found)}, 1, violations);
      }
    }

    valijson::adapters::NlohmannJsonAdapter target(document);
    // Fast pass: stops at the first failure and allocates no messages.
    valijson::Validator& validator = thread_validator();
    if (validator.validate(schema_->schema, target, nullptr)) return Verdict::allow();
    if (body.size() > kMaxDetailedBodyBytes) {
      return unprocessable(
          {Violation{"",
                     "the body does not match the schema (violations are itemized for bodies "
                     "up to " +
                         std::to_string(kMaxDetailedBodyBytes / 1024) + " KiB)"}},
          1, violations);
    }
    valijson::ValidationResults results;
    validator.validate(schema_->schema, target, &results);
    std::size_t total = 0;
    std::vector<Violation> found = collect_violations(results, total);
    return unprocessable(std::move(found), total, violations);
  } catch (const std::exception& e) {
    return Verdict::deny(ErrorKind::kInternal, std::string("request body validation failed: ") + e.what());
  }
}

void append_violations_json(std::string& out, std::span<const Violation> violations) {
  out += '[';
  for (std::size_t i = 0; i < violations.size(); ++i) {
    if (i > 0) out += ',';
    out += '{';
    append_json_key(out, "path");
    append_json_string(out, violations[i].path);
    out += ',';
    append_json_key(out, "message");
    append_json_string(out, violations[i].message);
    out += '}';
  }
  out += ']';
}

}  // namespace flexgate::policy
