// parse_duration / parse_size: what users may write for durations and sizes.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/loader.h"

namespace flexgate::config {
namespace {

struct DurationCase {
  std::string_view text;
  std::optional<std::int64_t> ms;
};

TEST(ParseDuration, Table) {
  const DurationCase cases[] = {
      {"0", 0},
      {"5000", 5000},
      {"250ms", 250},
      {"5s", 5000},
      {"2m", 120000},
      {"1h", 3600000},
      {"24h", 86400000},
      {"007s", 7000},  // in a string there is no octal ambiguity
      {"9223372036854775807", INT64_MAX},
      {"9223372036854775807ms", INT64_MAX},
      // malformed
      {"", std::nullopt},
      {"ms", std::nullopt},
      {"s", std::nullopt},
      {"-5", std::nullopt},
      {"-5s", std::nullopt},
      {"+5s", std::nullopt},
      {"1.5s", std::nullopt},
      {"5 s", std::nullopt},
      {" 5s", std::nullopt},
      {"5s ", std::nullopt},
      {"5S", std::nullopt},  // units are case-sensitive (M would read as minutes)
      {"5MS", std::nullopt},
      {"5d", std::nullopt},
      {"5sec", std::nullopt},
      {"5us", std::nullopt},
      {"1h30m", std::nullopt},
      {"0x10", std::nullopt},
      {"5e3", std::nullopt},
      // overflow
      {"9223372036854775808", std::nullopt},
      {"9223372036854776s", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"18446744073709551616", std::nullopt},
  };
  for (const auto& c : cases) {
    const auto got = parse_duration(c.text);
    if (c.ms) {
      ASSERT_TRUE(got.has_value()) << "'" << c.text << "'";
      EXPECT_EQ(got->count(), *c.ms) << "'" << c.text << "'";
    } else {
      EXPECT_FALSE(got.has_value()) << "'" << c.text << "' parsed as " << got->count();
    }
  }
}

struct SizeCase {
  std::string_view text;
  std::optional<std::uint64_t> bytes;
};

TEST(ParseSize, Table) {
  const SizeCase cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"100b", 100},
      {"100B", 100},
      {"512kb", 512 * 1024},
      {"512KB", 512 * 1024},
      {"512Kb", 512 * 1024},
      {"10mb", 10ull << 20},
      {"10MB", 10ull << 20},
      {"1gb", 1ull << 30},
      {"1GB", 1ull << 30},
      {"16kb", 16384},
      {"18446744073709551615", UINT64_MAX},
      {"17179869183gb", 17179869183ull << 30},
      // malformed
      {"", std::nullopt},
      {"kb", std::nullopt},
      {"-1", std::nullopt},
      {"1.5mb", std::nullopt},
      {"10 mb", std::nullopt},
      {"10m", std::nullopt},
      {"10k", std::nullopt},
      {"10kib", std::nullopt},
      {"1tb", std::nullopt},
      {"mb10", std::nullopt},
      {"0x10", std::nullopt},
      // overflow
      {"18446744073709551616", std::nullopt},
      {"17179869184gb", std::nullopt},
      {"18014398509481984kb", std::nullopt},
  };
  for (const auto& c : cases) {
    const auto got = parse_size(c.text);
    if (c.bytes) {
      ASSERT_TRUE(got.has_value()) << "'" << c.text << "'";
      EXPECT_EQ(*got, *c.bytes) << "'" << c.text << "'";
    } else {
      EXPECT_FALSE(got.has_value()) << "'" << c.text << "' parsed as " << *got;
    }
  }
}

}  // namespace
}  // namespace flexgate::config
