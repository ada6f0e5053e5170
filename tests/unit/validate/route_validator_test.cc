#include "policy/validate/route_validator.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/parser.h"

namespace flexgate::policy {
namespace {

std::string schema_path(std::string_view name) {
  return std::string(FLEXGATE_SOURCE_DIR) + "/tests/unit/validate/schemas/" + std::string(name);
}

config::ValidateSpec spec(std::vector<std::string> content_types, std::string schema = {}) {
  config::ValidateSpec s;
  s.content_types = std::move(content_types);
  if (!schema.empty()) {
    s.json_schema = "schemas/" + schema;
    s.json_schema_path = schema_path(schema);
  }
  return s;
}

RouteValidator compile(const config::ValidateSpec& s) {
  std::string error;
  std::optional<RouteValidator> v = RouteValidator::compile(s, error);
  EXPECT_TRUE(v) << error;
  return v.value_or(RouteValidator{});
}

std::string compile_error(const config::ValidateSpec& s) {
  std::string error;
  EXPECT_FALSE(RouteValidator::compile(s, error));
  return error;
}

// A request as the lifecycle hands it over: parsed head plus the buffered body.
struct Request {
  std::string bytes;
  std::string body;
  std::unique_ptr<http::RequestHead> head = std::make_unique<http::RequestHead>();

  Request(std::string_view method, const std::vector<std::string>& lines,
          std::optional<std::string> body_text) {
    bytes = std::string(method) + " /users HTTP/1.1\r\nHost: gw\r\n";
    for (const std::string& line : lines) bytes += line + "\r\n";
    if (body_text) bytes += "Content-Length: " + std::to_string(body_text->size()) + "\r\n";
    bytes += "\r\n";
    http::ParseOutcome out = http::parse_request_head(bytes, http::Limits{}, *head);
    EXPECT_EQ(out.status, http::ParseStatus::kComplete) << http::to_string(out.error);
    body = body_text.value_or("");
  }

  RequestView view() const {
    RequestView v;
    v.head = head.get();
    v.method = head->method_text;
    v.path = "/users";
    v.body = body;
    v.body_buffered = head->framing != http::BodyFraming::kNone;
    return v;
  }
};

Request post_json(std::string body, std::string content_type = "application/json") {
  std::vector<std::string> lines;
  if (!content_type.empty()) lines.push_back("Content-Type: " + content_type);
  return Request("POST", lines, std::move(body));
}

Verdict check(const RouteValidator& v, const Request& r, std::vector<Violation>* violations = nullptr) {
  return v.check(r.view(), violations);
}

// ─── content types ──────────────────────────────────────────────────────────────────────────

TEST(RouteValidatorContentType, AcceptsListedMediaTypesIgnoringCaseAndParameters) {
  RouteValidator v = compile(spec({"application/json", "text/plain"}));
  EXPECT_FALSE(v.needs_body());
  EXPECT_TRUE(check(v, post_json("{}")).allowed);
  EXPECT_TRUE(check(v, post_json("{}", "Application/JSON; charset=UTF-8")).allowed);
  EXPECT_TRUE(check(v, post_json("x", "text/plain;charset=us-ascii")).allowed);
  EXPECT_TRUE(v.check_content_type(post_json("{}").view()).allowed);
}

TEST(RouteValidatorContentType, RefusesOtherMediaTypesWith415) {
  RouteValidator v = compile(spec({"application/json"}));
  for (const char* type : {"application/xml", "application/json-patch+json", "text/json", "json",
                           ";charset=utf-8", "application/x-www-form-urlencoded"}) {
    Verdict verdict = check(v, post_json("{}", type));
    EXPECT_FALSE(verdict.allowed) << type;
    EXPECT_EQ(verdict.kind, ErrorKind::kUnsupportedMediaType) << type;
    EXPECT_FALSE(v.check_content_type(post_json("{}", type).view()).allowed) << type;
  }
}

TEST(RouteValidatorContentType, MissingContentTypeIs415) {
  RouteValidator v = compile(spec({"application/json"}));
  Verdict verdict = check(v, post_json("{}", ""));
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnsupportedMediaType);
  EXPECT_NE(verdict.message.find("required"), std::string::npos) << verdict.message;
  // A POST without any body still needs its Content-Type.
  EXPECT_EQ(check(v, Request("POST", {}, std::nullopt)).kind, ErrorKind::kUnsupportedMediaType);
}

TEST(RouteValidatorContentType, DuplicateContentTypeIs400) {
  RouteValidator v = compile(spec({"application/json"}));
  Request r("POST", {"Content-Type: application/json", "Content-Type: text/plain"}, "{}");
  Verdict verdict = check(v, r);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kBadRequest);
}

TEST(RouteValidatorContentType, BodilessReadsAreNotChecked) {
  RouteValidator v = compile(spec({"application/json"}, "user.json"));
  for (const char* method : {"GET", "HEAD", "DELETE", "OPTIONS"}) {
    Request r(method, {}, std::nullopt);
    EXPECT_TRUE(check(v, r).allowed) << method;
    EXPECT_TRUE(v.check_content_type(r.view()).allowed) << method;
  }
  // ...but a DELETE that carries a body is.
  EXPECT_EQ(check(v, Request("DELETE", {}, "{}")).kind, ErrorKind::kUnsupportedMediaType);
}

TEST(RouteValidatorContentType, EmptyListAcceptsAnyType) {
  RouteValidator v = compile(spec({}, "user.json"));
  EXPECT_TRUE(check(v, post_json(R"({"name":"Ann","email":"a@x"})", "text/plain")).allowed);
  EXPECT_TRUE(check(v, post_json(R"({"name":"Ann","email":"a@x"})", "")).allowed);
}

TEST(RouteValidatorContentType, CompressedBodiesAre415WhenASchemaIsSet) {
  RouteValidator with_schema = compile(spec({"application/json"}, "user.json"));
  Request gzip("POST", {"Content-Type: application/json", "Content-Encoding: gzip"}, "\x1f\x8b");
  EXPECT_EQ(check(with_schema, gzip).kind, ErrorKind::kUnsupportedMediaType);
  EXPECT_FALSE(with_schema.check_content_type(gzip.view()).allowed);
  Request identity("POST", {"Content-Type: application/json", "Content-Encoding: identity"},
                   R"({"name":"Ann","email":"a@x"})");
  EXPECT_TRUE(check(with_schema, identity).allowed);
  // Without a schema the bytes are not read, so the coding does not matter.
  RouteValidator types_only = compile(spec({"application/json"}));
  EXPECT_TRUE(check(types_only, gzip).allowed);
}

TEST(RouteValidatorContentType, BadConfiguredTypesAreCompileErrors) {
  for (const char* bad : {"json", "application/json; charset=utf-8", "*/json", "application/vnd.*", ""}) {
    std::string error = compile_error(spec({"application/json", bad}));
    EXPECT_NE(error.find("contentTypes"), std::string::npos) << error;
  }
}

// ─── schemas ────────────────────────────────────────────────────────────────────────────────

TEST(RouteValidatorSchema, ValidBodyPasses) {
  RouteValidator v = compile(spec({"application/json"}, "user.json"));
  EXPECT_TRUE(v.needs_body());
  EXPECT_TRUE(check(v, post_json(R"({"name":"Ann","email":"ann@example.com"})")).allowed);
  EXPECT_TRUE(check(v, post_json(R"({"name":"Bob","email":"b@x","age":30,"tags":["a","b"],)"
                                 R"("address":{"city":"Oslo"},"role":"admin","contact":5})"))
                  .allowed);
}

TEST(RouteValidatorSchema, InvalidBodyIs422WithPathsInViolations) {
  RouteValidator v = compile(spec({"application/json"}, "user.json"));
  std::vector<Violation> violations;
  Verdict verdict = check(v, post_json(R"({"name":"Ann","email":"a@x","age":-1})"), &violations);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "/age");
  EXPECT_NE(violations[0].message.find("greater than or equal to 0"), std::string::npos)
      << violations[0].message;
  EXPECT_NE(verdict.message.find("/age: "), std::string::npos) << verdict.message;

  verdict = check(v, post_json(R"({"name":"Ann","email":"a@x","tags":["ok",7],"address":{}})"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  std::vector<std::string> paths;
  for (const Violation& violation : violations) paths.push_back(violation.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/address", "/tags/1"})) << verdict.message;
  EXPECT_NE(violations[0].message.find("'city'"), std::string::npos) << violations[0].message;

  // Root-level problems have the empty pointer and read "(root)" in the message.
  verdict = check(v, post_json(R"({"name":"Ann"})"), &violations);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "");
  EXPECT_NE(violations[0].message.find("'email'"), std::string::npos);
  EXPECT_NE(verdict.message.find("(root): "), std::string::npos) << verdict.message;

  verdict = check(v, post_json(R"([1,2])"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
}

TEST(RouteValidatorSchema, AtMostFiveViolationsAndNoWrapperNoise) {
  RouteValidator v = compile(spec({"application/json"}, "user.json"));
  std::vector<Violation> violations;
  Verdict verdict = check(
      v,
      post_json(
          R"({"name":"A","age":-1,"tags":[1,2,3],"extra":true,"contact":true,"role":"root","address":5})"),
      &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  EXPECT_EQ(violations.size(), kMaxReportedViolations);
  for (const Violation& violation : violations) {
    EXPECT_EQ(violation.message.find("Failed to validate against schema associated"), std::string::npos);
    EXPECT_EQ(violation.message.find("Failed to validate item #"), std::string::npos);
  }
  EXPECT_NE(verdict.message.find("more)"), std::string::npos) << verdict.message;
}

TEST(RouteValidatorSchema, PointerEscapesSlashAndTilde) {
  RouteValidator v = compile(spec({}, "pattern.json"));
  std::vector<Violation> violations;
  Verdict verdict = check(v, post_json(R"({"a/b~c":{"k":1,"k":2}})"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "/a~1b~0c/k");
}

TEST(RouteValidatorSchema, ViolationsAsJson) {
  std::vector<Violation> violations = {{"/a", "bad \"value\""}, {"", "Missing required property 'x'."}};
  std::string out;
  append_violations_json(out, violations);
  nlohmann::json parsed = nlohmann::json::parse(out);
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["path"], "/a");
  EXPECT_EQ(parsed[0]["message"], "bad \"value\"");
  EXPECT_EQ(parsed[1]["path"], "");
  out.clear();
  append_violations_json(out, {});
  EXPECT_EQ(out, "[]");
}

TEST(RouteValidatorSchema, InvalidJsonIs400) {
  RouteValidator v = compile(spec({"application/json"}, "user.json"));
  for (const char* body :
       {"", "{", "{\"name\":}", "{'name':'x'}", "{\"name\":\"\xff\"}", "[1,]", "{} {}", "nul"}) {
    std::vector<Violation> violations;
    Verdict verdict = check(v, post_json(body), &violations);
    EXPECT_FALSE(verdict.allowed) << body;
    EXPECT_EQ(verdict.kind, ErrorKind::kBadRequest) << body;
    EXPECT_NE(verdict.message.find("not valid JSON"), std::string::npos) << verdict.message;
    EXPECT_TRUE(violations.empty());
  }
  // A POST without a body is an empty body: not JSON.
  Request no_body("POST", {"Content-Type: application/json"}, std::nullopt);
  EXPECT_EQ(check(v, no_body).kind, ErrorKind::kBadRequest);
}

TEST(RouteValidatorSchema, DuplicateKeysAre422) {
  RouteValidator v = compile(spec({}, "user.json"));
  std::vector<Violation> violations;
  Verdict verdict = check(v, post_json(R"({"name":"Ann","email":"a@x","name":"Bob"})"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "/name");
  EXPECT_NE(violations[0].message.find("duplicate"), std::string::npos);

  check(v, post_json(R"({"name":"Ann","email":"a@x","tags":["a"],"address":{"city":"x","city":"y"}})"),
        &violations);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "/address/city");

  check(v, post_json(R"([0, [1, {"z":1}], {"q":1,"q":1}])"), &violations);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "/2/q");
  // Same key in sibling objects is fine (and then fails the schema for other reasons).
  EXPECT_EQ(check(v, post_json(R"({"address":{"city":"x"},"name":"Ann","email":"a@x"})")).allowed, true);
}

TEST(RouteValidatorSchema, DepthIsLimited) {
  RouteValidator v = compile(spec({}, "tree.json"));
  auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(check(v, post_json(nested(kMaxJsonDepth))).allowed);
  std::vector<Violation> violations;
  Verdict verdict = check(v, post_json(nested(kMaxJsonDepth + 1)), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].message.find("deeper"), std::string::npos);
  std::string expected_path;
  for (std::size_t i = 0; i < kMaxJsonDepth; ++i) expected_path += "/0";
  EXPECT_EQ(violations[0].path, expected_path);
  // Far deeper than any stack could recurse: refused quickly, no crash.
  EXPECT_EQ(check(v, post_json(std::string(1 << 20, '['))).kind, ErrorKind::kUnprocessableEntity);
  EXPECT_EQ(check(v, post_json(std::string(1 << 20, '{'))).kind, ErrorKind::kBadRequest);  // '{' needs a key
}

TEST(RouteValidatorSchema, LongStringsAreRefusedOnlyWhenTheSchemaUsesRegex) {
  RouteValidator pattern = compile(spec({}, "pattern.json"));
  EXPECT_TRUE(check(pattern, post_json(R"({"code":"ABC"})")).allowed);
  EXPECT_EQ(check(pattern, post_json(R"({"code":"abc"})")).kind, ErrorKind::kUnprocessableEntity);
  // 1 MiB against ^[A-Z]{3}$ would overflow std::regex's recursion; it is refused first.
  const std::string huge(1 << 20, 'A');
  std::vector<Violation> violations;
  Verdict verdict = check(pattern, post_json(R"({"code":")" + huge + R"("})"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "/code");
  // Just under the limit still goes through the regex.
  const std::string edge(kMaxRegexSubjectBytes, 'A');
  EXPECT_EQ(check(pattern, post_json(R"({"code":")" + edge + R"("})"), &violations).kind,
            ErrorKind::kUnprocessableEntity);
  EXPECT_NE(violations.at(0).message.find("regex"), std::string::npos) << violations[0].message;
  // Long keys too (patternProperties / propertyNames run regexes on keys).
  verdict = check(pattern, post_json(R"({")" + huge + R"(":1})"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);

  // No regex in the schema: long strings are fine.
  RouteValidator user = compile(spec({}, "user.json"));
  EXPECT_TRUE(check(user, post_json(R"({"email":"a@x","name":")" + huge + R"("})")).allowed);
}

TEST(RouteValidatorSchema, RegexAtTheSubjectLimitFitsTheStack) {
  // The deepest-recursing pattern measured, on a subject of exactly the limit, on a worker-sized
  // (default 8 MiB) thread stack.
  RouteValidator v = compile(spec({}, "nested_pattern.json"));
  Verdict verdict;
  std::thread worker(
      [&] { verdict = check(v, post_json('"' + std::string(kMaxRegexSubjectBytes, 'a') + '"')); });
  worker.join();
  EXPECT_TRUE(verdict.allowed) << verdict.message;
  EXPECT_EQ(check(v, post_json('"' + std::string(kMaxRegexSubjectBytes + 1, 'a') + '"')).kind,
            ErrorKind::kUnprocessableEntity);
}

TEST(RouteValidatorSchema, LargeInvalidBodiesGetOneSummaryViolation) {
  RouteValidator v = compile(spec({}, "user.json"));
  std::string tags = "[";
  for (int i = 0; i < 40000; ++i) tags += i ? ",1" : "1";  // 80 KB of wrong-typed items
  tags += "]";
  std::vector<Violation> violations;
  Verdict verdict = check(v, post_json(R"({"name":"Ann","email":"a@x","tags":)" + tags + "}"), &violations);
  EXPECT_EQ(verdict.kind, ErrorKind::kUnprocessableEntity);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, "");
  EXPECT_NE(violations[0].message.find("KiB"), std::string::npos) << violations[0].message;
}

TEST(RouteValidatorSchema, Draft4ByDollarSchema) {
  RouteValidator v = compile(spec({}, "draft4.json"));
  EXPECT_TRUE(check(v, post_json(R"({"n":1})")).allowed);
  EXPECT_EQ(check(v, post_json(R"({"n":0})")).kind,
            ErrorKind::kUnprocessableEntity);  // exclusiveMinimum: true
}

TEST(RouteValidatorSchema, UsesJsonSchemaAsWrittenWhenNoResolvedPath) {
  config::ValidateSpec s;
  s.json_schema = schema_path("user.json");
  RouteValidator v = compile(s);
  EXPECT_TRUE(v.needs_body());
  EXPECT_EQ(check(v, post_json("{}")).kind, ErrorKind::kUnprocessableEntity);
}

TEST(RouteValidatorSchema, UnbufferedBodyIsAnInternalError) {
  RouteValidator v = compile(spec({}, "user.json"));
  Request r = post_json(R"({"name":"Ann","email":"a@x"})");
  RequestView view = r.view();
  view.body_buffered = false;
  view.body = {};
  Verdict verdict;
  EXPECT_DEBUG_DEATH(verdict = v.check(view), "buffer");
#ifdef NDEBUG
  EXPECT_EQ(verdict.kind, ErrorKind::kInternal);
#endif
}

TEST(RouteValidatorSchema, SharedAcrossThreads) {
  // One compiled validator, many concurrent checks (pattern schema: exercises the regex path).
  const RouteValidator v = compile(spec({"application/json"}, "pattern.json"));
  const Request good = post_json(R"({"code":"ABC","note":"x"})");
  const Request bad = post_json(R"({"code":"abcd"})");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        if (!check(v, good).allowed) ++failures[t];
        if (check(v, bad).kind != ErrorKind::kUnprocessableEntity) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

// ─── broken schemas are load errors ─────────────────────────────────────────────────────────

TEST(RouteValidatorCompile, MissingFile) {
  std::string error = compile_error(spec({}, "does_not_exist.json"));
  EXPECT_NE(error.find("jsonSchema"), std::string::npos) << error;
  EXPECT_NE(error.find("does_not_exist.json"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST(RouteValidatorCompile, DirectoryIsNotASchema) {
  config::ValidateSpec s;
  s.json_schema_path = schema_path("");
  std::string error = compile_error(s);
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
}

TEST(RouteValidatorCompile, InvalidJsonNamesTheLine) {
  std::string error = compile_error(spec({}, "broken_json.json"));
  EXPECT_NE(error.find("broken_json.json"), std::string::npos) << error;
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  EXPECT_NE(error.find("line 5"), std::string::npos) << error;
}

TEST(RouteValidatorCompile, InvalidSchemas) {
  struct Case {
    const char* file;
    const char* expected;
  };
  for (const Case& c : {Case{"unknown_type.json", "strin"}, Case{"bad_pattern.json", "regular expression"},
                        Case{"remote_ref.json", "Schema"}, Case{"not_object.json", "JSON object"},
                        Case{"dangling_ref.json", "Schema"}}) {
    std::string error = compile_error(spec({}, c.file));
    EXPECT_NE(error.find(c.file), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.file << ": " << error;
  }
}

}  // namespace
}  // namespace flexgate::policy
