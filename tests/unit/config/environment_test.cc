// ${NAME} expansion in string values: from the environment, with defaults, positioned errors.

#include <gtest/gtest.h>

#include <cstdlib>

#include "config/reader.h"
#include "unit/config/config_test_util.h"

namespace flexgate::config {
namespace {

using testing::has_error;
using testing::yaml;

class EnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("FLEXGATE_TEST_REDIS", "redis://:pw@10.0.0.5:6380/1", 1);
    ::unsetenv("FLEXGATE_TEST_UNSET");
    ::setenv("FLEXGATE_TEST_EMPTY", "", 1);
  }
  void TearDown() override {
    ::unsetenv("FLEXGATE_TEST_REDIS");
    ::unsetenv("FLEXGATE_TEST_EMPTY");
  }
};

TEST_F(EnvironmentTest, ExpandsVariablesDefaultsAndEscapes) {
  std::string error;
  EXPECT_EQ(expand_environment("${FLEXGATE_TEST_REDIS}", error), "redis://:pw@10.0.0.5:6380/1");
  EXPECT_EQ(expand_environment("a-${FLEXGATE_TEST_UNSET:-b}-c", error), "a-b-c");
  EXPECT_EQ(expand_environment("${FLEXGATE_TEST_EMPTY:-fallback}", error), "fallback");
  EXPECT_EQ(expand_environment("${FLEXGATE_TEST_UNSET:-}", error), "");
  EXPECT_EQ(expand_environment("$${NOT_EXPANDED} $5 {x}", error), "${NOT_EXPANDED} $5 {x}");
  EXPECT_FALSE(expand_environment("${FLEXGATE_TEST_UNSET}", error));
  EXPECT_NE(error.find("FLEXGATE_TEST_UNSET is not set"), std::string::npos) << error;
  // Not environment-variable names: kept as written (a rewrite's ${path.id} is its own syntax).
  EXPECT_EQ(expand_environment("/v1/${path.id}", error), "/v1/${path.id}");
  EXPECT_EQ(expand_environment("${1BAD} ${OPEN", error), "${1BAD} ${OPEN");
}

TEST_F(EnvironmentTest, StringValuesInTheFileAreExpanded) {
  const auto result = load_config_text(yaml(R"(
upstreams:
  - name: echo
    url: "http://127.0.0.1:${FLEXGATE_TEST_UNSET:-8080}"
routes:
  - path: /*
    upstream: echo
rateLimit:
  backend: redis
  redis:
    url: "${FLEXGATE_TEST_REDIS}"
)"));
  ASSERT_TRUE(result.config) << testing::all_errors(result);
  EXPECT_EQ(result.config->rate_limit.redis.url, "redis://:pw@10.0.0.5:6380/1");
  EXPECT_EQ(result.config->upstreams[0].targets[0].port, 8080);
}

TEST_F(EnvironmentTest, AnUnsetVariableIsAPositionedError) {
  const auto result = load_config_text(yaml(R"(
upstreams:
  - name: echo
    url: "http://127.0.0.1:8080"
routes:
  - path: /*
    upstream: echo
rateLimit:
  backend: redis
  redis:
    url: "${FLEXGATE_TEST_UNSET}"
)"));
  EXPECT_TRUE(has_error(result, "rateLimit.redis.url", 10, 10, "environment variable FLEXGATE_TEST_UNSET is not set"));
}

}  // namespace
}  // namespace flexgate::config
