#include "observe/log.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace flexgate::observe {
namespace {

TEST(LogTimestampTest, IsIso8601UtcWithMilliseconds) {
  std::string out;
  append_timestamp(out);
  static const std::regex kShape(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  EXPECT_TRUE(std::regex_match(out, kShape)) << out;
}

TEST(LogTimestampTest, FieldsAreInRange) {
  std::string out;
  append_timestamp(out);
  ASSERT_EQ(out.size(), 24u) << out;
  const int year = std::stoi(out.substr(0, 4));
  const int month = std::stoi(out.substr(5, 2));
  const int day = std::stoi(out.substr(8, 2));
  const int hour = std::stoi(out.substr(11, 2));
  const int minute = std::stoi(out.substr(14, 2));
  const int second = std::stoi(out.substr(17, 2));
  EXPECT_GE(year, 2024);
  EXPECT_TRUE(month >= 1 && month <= 12) << out;
  EXPECT_TRUE(day >= 1 && day <= 31) << out;
  EXPECT_LE(hour, 23);
  EXPECT_LE(minute, 59);
  EXPECT_LE(second, 60);
}

TEST(LogTimestampTest, AppendsAndRepeatsTheCachedSecondCorrectly) {
  // Many calls in a row hit the per-thread cache; each must still be a whole timestamp.
  std::string out = "prefix ";
  for (int i = 0; i < 1000; ++i) append_timestamp(out);
  EXPECT_EQ(out.rfind("prefix ", 0), 0u);
  EXPECT_EQ(out.size(), 7u + 1000u * 24u);
  static const std::regex kShape(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(std::regex_match(out.substr(7 + i * 24, 24), kShape)) << out.substr(7 + i * 24, 24);
  }
}

TEST(LogLevelTest, OnlyLevelsAtOrAboveTheSetLevelAreEnabled) {
  set_log_level(config::LogLevel::kWarn);
  EXPECT_FALSE(log_enabled(config::LogLevel::kDebug));
  EXPECT_FALSE(log_enabled(config::LogLevel::kInfo));
  EXPECT_TRUE(log_enabled(config::LogLevel::kWarn));
  EXPECT_TRUE(log_enabled(config::LogLevel::kError));
  set_log_level(config::LogLevel::kInfo);
  EXPECT_TRUE(log_enabled(config::LogLevel::kInfo));
  EXPECT_FALSE(log_enabled(config::LogLevel::kDebug));
}

}  // namespace
}  // namespace flexgate::observe
