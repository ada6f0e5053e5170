#include "observe/correlation_id.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace flexgate::observe {
namespace {

TEST(CorrelationIdSanityTest, TypicalIdsAreKept) {
  EXPECT_TRUE(is_sane_correlation_id("req-123"));
  EXPECT_TRUE(is_sane_correlation_id("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(is_sane_correlation_id("a"));
  EXPECT_TRUE(is_sane_correlation_id("!#$%&'()*+,-./:;<=>?@[]^_`{|}~"));
}

TEST(CorrelationIdSanityTest, LengthLimitIs128) {
  EXPECT_TRUE(is_sane_correlation_id(std::string(128, 'x')));
  EXPECT_FALSE(is_sane_correlation_id(std::string(129, 'x')));
  EXPECT_EQ(kMaxCorrelationIdLength, 128u);
}

TEST(CorrelationIdSanityTest, EmptyIsRefused) {
  EXPECT_FALSE(is_sane_correlation_id(""));
}

TEST(CorrelationIdSanityTest, BytesUnsafeInLogsOrJsonAreRefused) {
  EXPECT_FALSE(is_sane_correlation_id("a b"));
  EXPECT_FALSE(is_sane_correlation_id("a\tb"));
  EXPECT_FALSE(is_sane_correlation_id("a\"b"));
  EXPECT_FALSE(is_sane_correlation_id("a\\b"));
  EXPECT_FALSE(is_sane_correlation_id("a\x7f"));
  EXPECT_FALSE(is_sane_correlation_id("a\r\nX-Injected: 1"));
  EXPECT_FALSE(is_sane_correlation_id(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_sane_correlation_id("\x01"));
  EXPECT_FALSE(is_sane_correlation_id("caf\xc3\xa9"));
  EXPECT_FALSE(is_sane_correlation_id("\x80"));
  EXPECT_FALSE(is_sane_correlation_id("\xff"));
}

bool is_lower_hex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(CorrelationIdGenerateTest, IdsAre32LowerCaseHexAndPassTheSanityCheck) {
  std::string id = "previous content is replaced";
  generate_correlation_id(id);
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_TRUE(is_lower_hex(id)) << id;
  EXPECT_TRUE(is_sane_correlation_id(id));
}

TEST(CorrelationIdGenerateTest, TenThousandInARowAreUnique) {
  std::unordered_set<std::string> seen;
  std::string id;
  for (int i = 0; i < 10000; ++i) {
    generate_correlation_id(id);
    ASSERT_EQ(id.size(), 32u);
    ASSERT_TRUE(is_lower_hex(id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate after " << i << ": " << id;
  }
}

TEST(CorrelationIdGenerateTest, IdsFromTwoThreadsAreUnique) {
  constexpr int kPerThread = 10000;
  std::vector<std::string> a, b;
  auto generate = [](std::vector<std::string>& out) {
    out.reserve(kPerThread);
    std::string id;
    for (int i = 0; i < kPerThread; ++i) {
      generate_correlation_id(id);
      out.push_back(id);
    }
  };
  std::thread ta(generate, std::ref(a));
  std::thread tb(generate, std::ref(b));
  ta.join();
  tb.join();
  std::unordered_set<std::string> seen(a.begin(), a.end());
  seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), 2u * kPerThread);
}

}  // namespace
}  // namespace flexgate::observe
