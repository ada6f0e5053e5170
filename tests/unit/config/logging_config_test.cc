// `logging.output`, `logging.rotation`, `logging.redactHeaders`, `logging.headers`: values, defaults,
// path resolution, and one failing case per rule with its exact line:column and key path.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "config/loader.h"
#include "config_test_util.h"

namespace flexgate::config {
namespace {

using testing::all_errors;
using testing::has_error;
using testing::yaml;

namespace fs = std::filesystem;

// A fresh directory, removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "flexgate-logcfg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& contents) const {
    const fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << contents;
    return file.string();
  }

 private:
  fs::path path_;
};

TEST(LoggingConfig, DefaultsWriteToStdoutWithoutExtraHeaders) {
  const LoadResult result = load_config_text("logging: { level: info }\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const LoggingSpec& logging = result.config->logging;
  EXPECT_EQ(logging.output, "stdout");
  EXPECT_EQ(logging.output_path, "");
  EXPECT_EQ(logging.rotation.max_size, 100u << 20);
  EXPECT_EQ(logging.rotation.max_files, 5u);
  EXPECT_TRUE(logging.redact_headers.empty());
  EXPECT_TRUE(logging.headers.empty());
  EXPECT_DOUBLE_EQ(logging.sampling.success_rate, 1.0);
  EXPECT_DOUBLE_EQ(logging.sampling.error_rate, 1.0);
}

TEST(LoggingConfig, EveryNewKeyIsRead) {
  TempDir dir;
  const std::string file = (dir.path() / "gw.log").string();
  const LoadResult result = load_config_text(yaml(R"(
logging:
  output: )" + file + R"(
  rotation: { maxSize: 10mb, maxFiles: 3 }
  redactHeaders: [X-Session, X-Internal-Token]
  headers: [User-Agent, X-Request-Source]
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const LoggingSpec& logging = result.config->logging;
  EXPECT_EQ(logging.output, file);
  EXPECT_EQ(logging.output_path, file);
  EXPECT_EQ(logging.rotation.max_size, 10u << 20);
  EXPECT_EQ(logging.rotation.max_files, 3u);
  EXPECT_EQ(logging.redact_headers, (std::vector<std::string>{"X-Session", "X-Internal-Token"}));
  EXPECT_EQ(logging.headers, (std::vector<std::string>{"User-Agent", "X-Request-Source"}));
}

TEST(LoggingConfig, ExplicitStdoutIsStdout) {
  const LoadResult result = load_config_text("logging: { output: stdout }\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->logging.output, "stdout");
  EXPECT_EQ(result.config->logging.output_path, "");
}

TEST(LoggingConfig, RotationLimitsAtTheirBounds) {
  TempDir dir;
  const std::string file = (dir.path() / "gw.log").string();
  for (const auto& [rotation, size, files] : {std::tuple{"{ maxSize: 1kb, maxFiles: 1 }", 1024ull, 1u},
                                              std::tuple{"{ maxSize: 1024, maxFiles: 100 }", 1024ull, 100u},
                                              std::tuple{"{ maxSize: 2gb }", 2ull << 30, 5u}}) {
    const LoadResult result =
        load_config_text("logging:\n  output: " + file + "\n  rotation: " + std::string(rotation) + "\n");
    ASSERT_TRUE(result.ok()) << rotation << all_errors(result);
    EXPECT_EQ(result.config->logging.rotation.max_size, size) << rotation;
    EXPECT_EQ(result.config->logging.rotation.max_files, files) << rotation;
  }
}

TEST(LoggingConfig, AFileWithoutRotationKeepsTheDefaultLimits) {
  TempDir dir;
  const LoadResult result =
      load_config_text("logging: { output: " + (dir.path() / "a.log").string() + " }\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->logging.rotation.max_size, 100u << 20);
  EXPECT_EQ(result.config->logging.rotation.max_files, 5u);
}

TEST(LoggingConfigFile, ARelativeOutputIsResolvedAgainstTheConfigDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() / "logs");
  const std::string config = dir.write("conf/gw.yml", "logging: { output: ../logs/./gw.log }\n");
  const LoadResult result = load_config_file(config);
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->logging.output, "../logs/./gw.log");  // as written
  EXPECT_EQ(result.config->logging.output_path, (dir.path() / "logs/gw.log").string());
}

TEST(LoggingConfigFile, TheOutputFileNeedNotExistButItsDirectoryMust) {
  TempDir dir;
  const std::string config = dir.write("gw.yml", "logging:\n  output: missing/gw.log\n");
  const LoadResult result = load_config_file(config);
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].to_string(),
            config + ":2:11: logging.output: directory not found: " + (dir.path() / "missing").string());
}

TEST(LoggingConfigFile, AnOutputUnderAFileIsReported) {
  TempDir dir;
  const std::string plain = dir.write("plain.txt", "x");
  const std::string config = dir.write("gw.yml", "logging:\n  output: plain.txt/gw.log\n");
  const LoadResult result = load_config_file(config);
  EXPECT_TRUE(has_error(result, "logging.output", 2, 11, plain + " is not a directory"));
}

TEST(LoggingConfigFile, AnOutputThatIsADirectoryIsReported) {
  TempDir dir;
  fs::create_directories(dir.path() / "logs");
  const std::string config = dir.write("gw.yml", "logging:\n  output: logs\n");
  const LoadResult result = load_config_file(config);
  EXPECT_TRUE(has_error(result, "logging.output", 2, 11, (dir.path() / "logs").string() + " is a directory"));
}

struct RuleCase {
  const char* name;
  const char* yaml;
  const char* path;
  int line;
  int column;
  const char* message;
};

void PrintTo(const RuleCase& c, std::ostream* os) {
  *os << c.name;
}

// clang-format off
const RuleCase kRuleCases[] = {
    {"OutputEmpty",
     "logging:\n"
     "  output: \"\"\n",
     "logging.output", 2, 11, "must not be empty"},
    {"OutputNotAString",
     "logging:\n"
     "  output: [a.log]\n",
     "logging.output", 2, 11, "must be a string (got a list)"},
    {"OutputControlCharacters",
     "logging:\n"
     "  output: \"/tmp/a\\tb.log\"\n",
     "logging.output", 2, 11, "must be 'stdout' or a file path without control characters"},
    {"OutputDirectoryMissing",
     "logging:\n"
     "  output: /nonexistent-flexgate-dir/gw.log\n",
     "logging.output", 2, 11, "directory not found: /nonexistent-flexgate-dir"},
    {"OutputTrailingSlash",
     "logging:\n"
     "  output: /tmp/\n",
     "logging.output", 2, 11, "is a directory; give a file path (or 'stdout')"},
    {"RotationWithDefaultStdout",
     "logging:\n"
     "  level: info\n"
     "  rotation: { maxFiles: 3 }\n",
     "logging.rotation", 3, 3, "applies to a log file only; set logging.output to a file path (output is stdout)"},
    {"RotationWithExplicitStdout",
     "logging:\n"
     "  output: stdout\n"
     "  rotation:\n"
     "    maxSize: 1mb\n",
     "logging.rotation", 3, 3, "applies to a log file only"},
    {"RotationMaxSizeTooSmall",
     "logging:\n"
     "  output: /tmp/flexgate-test.log\n"
     "  rotation: { maxSize: 512 }\n",
     "logging.rotation.maxSize", 3, 24, "must be at least 1kb (got 512b)"},
    {"RotationMaxSizeNotASize",
     "logging:\n"
     "  output: /tmp/flexgate-test.log\n"
     "  rotation: { maxSize: big }\n",
     "logging.rotation.maxSize", 3, 24, "must be a size like 1048576"},
    {"RotationMaxFilesZero",
     "logging:\n"
     "  output: /tmp/flexgate-test.log\n"
     "  rotation: { maxFiles: 0 }\n",
     "logging.rotation.maxFiles", 3, 25, "must be between 1 and 100 (got '0')"},
    {"RotationMaxFilesOver100",
     "logging:\n"
     "  output: /tmp/flexgate-test.log\n"
     "  rotation:\n"
     "    maxFiles: 101\n",
     "logging.rotation.maxFiles", 4, 15, "must be between 1 and 100 (got '101')"},
    {"RotationUnknownKey",
     "logging:\n"
     "  output: /tmp/flexgate-test.log\n"
     "  rotation: { maxsize: 1mb }\n",
     "logging.rotation.maxsize", 3, 15, "unknown key 'maxsize' (did you mean 'maxSize'?)"},
    {"RotationNotAMapping",
     "logging:\n"
     "  output: /tmp/flexgate-test.log\n"
     "  rotation: 10mb\n",
     "logging.rotation", 3, 13, "must be a mapping"},
    {"RedactHeadersNotAList",
     "logging:\n"
     "  redactHeaders: X-Session\n",
     "logging.redactHeaders", 2, 18, "must be a list (got 'X-Session')"},
    {"RedactHeadersInvalidName",
     "logging:\n"
     "  redactHeaders: [X-Session, \"X Token\"]\n",
     "logging.redactHeaders[1]", 2, 30, "must be a header name like X-Request-Source (got 'X Token')"},
    {"RedactHeadersListedTwice",
     "logging:\n"
     "  redactHeaders:\n"
     "    - X-Session\n"
     "    - x-session\n",
     "logging.redactHeaders[1]", 4, 7, "header 'x-session' is listed twice (also logging.redactHeaders[0])"},
    {"HeadersEmptyName",
     "logging:\n"
     "  headers: [User-Agent, \"\"]\n",
     "logging.headers[1]", 2, 25, "must not be empty"},
    {"HeadersInvalidName",
     "logging:\n"
     "  headers: [\"User-Agent:\"]\n",
     "logging.headers[0]", 2, 13, "must be a header name like X-Request-Source (got 'User-Agent:')"},
    {"HeadersListedTwice",
     "logging:\n"
     "  headers: [User-Agent, USER-AGENT]\n",
     "logging.headers[1]", 2, 25, "header 'USER-AGENT' is listed twice (also logging.headers[0])"},
    {"HeadersTooMany",
     "logging:\n"
     "  headers: [h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16, h17,\n"
     "            h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28, h29, h30, h31, h32, h33]\n",
     "logging.headers", 2, 12, "lists 33 headers; at most 32 fit in an access line"},
    {"HeadersNotAList",
     "logging:\n"
     "  headers: { User-Agent: true }\n",
     "logging.headers", 2, 12, "must be a list (got a mapping)"},
};
// clang-format on

class LoggingRule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(LoggingRule, ReportsPositionPathAndMessage) {
  const RuleCase& c = GetParam();
  const LoadResult result = load_config_text(c.yaml, "test.yml");
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(has_error(result, c.path, c.line, c.column, c.message)) << "YAML:\n" << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(Config, LoggingRule, ::testing::ValuesIn(kRuleCases),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(LoggingConfig, ABadOutputIsOneErrorNotAlsoARotationError) {
  const LoadResult result =
      load_config_text("logging:\n  output: [x]\n  rotation: { maxFiles: 2 }\n", "t.yml");
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].key_path, "logging.output");
}

TEST(LoggingConfig, ThirtyTwoHeadersAreAccepted) {
  std::string list;
  for (int i = 1; i <= 32; ++i) list += (i > 1 ? ", h" : "h") + std::to_string(i);
  const LoadResult result = load_config_text("logging: { headers: [" + list + "] }\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->logging.headers.size(), 32u);
}

}  // namespace
}  // namespace flexgate::config
