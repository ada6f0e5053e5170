#include "router/normalize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flexgate::router {
namespace {

using E = NormalizeError;

struct Case {
  std::string target;
  E error = E::kNone;
  std::string path;  // expected on success
  std::string query;
  bool has_query = false;
  std::string authority;
};

// clang-format off
const std::vector<Case> kCases = {
    // Plain origin-form.
    {"/", E::kNone, "/"},
    {"/a", E::kNone, "/a"},
    {"/api/users/42", E::kNone, "/api/users/42"},
    {"/api/", E::kNone, "/api/"},
    {"/~user/_x-y.z", E::kNone, "/~user/_x-y.z"},
    {"/sub!$&'()*+,;=:@", E::kNone, "/sub!$&'()*+,;=:@"},
    // Dot segments (RFC 3986 5.2.4), never above the root.
    {"/api/.", E::kNone, "/api/"},
    {"/api/..", E::kNone, "/"},
    {"/api/../admin", E::kNone, "/admin"},
    {"/../a", E::kNone, "/a"},
    {"/..", E::kNone, "/"},
    {"/.", E::kNone, "/"},
    {"/a/b/..", E::kNone, "/a/"},
    {"/a/b/../", E::kNone, "/a/"},
    {"/a/./b/./c", E::kNone, "/a/b/c"},
    {"/a/./", E::kNone, "/a/"},
    {"/a/b/c/./../../d", E::kNone, "/a/d"},
    {"/a/b/../../../../c", E::kNone, "/c"},
    {"/...", E::kNone, "/..."},
    {"/.a/..b/a../.../x", E::kNone, "/.a/..b/a../.../x"},
    {"/api/..;/admin", E::kNone, "/api/..;/admin"},  // "..;" is an ordinary segment
    // Dot segments produced by decoding.
    {"/api/%2e%2e/admin", E::kNone, "/admin"},
    {"/api/%2E%2E/admin", E::kNone, "/admin"},
    {"/api/.%2e/admin", E::kNone, "/admin"},
    {"/api/%2e./admin", E::kNone, "/admin"},
    {"/api/%2e/admin", E::kNone, "/api/admin"},
    {"/%2e%2e", E::kNone, "/"},
    {"/%2e", E::kNone, "/"},
    {"/%2e%2e/%2e%2e/etc/passwd", E::kNone, "/etc/passwd"},
    {"/%61%70%69/%2e%2E/admin", E::kNone, "/admin"},
    // "//" runs collapse (before dot segments are resolved).
    {"//", E::kNone, "/"},
    {"//a", E::kNone, "/a"},
    {"///a///b//", E::kNone, "/a/b/"},
    {"/a//../b", E::kNone, "/b"},
    {"/a/.//./b", E::kNone, "/a/b"},
    // Percent-escapes: unreserved decoded, the rest kept with upper-case hex.
    {"/%41", E::kNone, "/A"},
    {"/%7e", E::kNone, "/~"},
    {"/%7E", E::kNone, "/~"},
    {"/%2d%2E%5f%7E%30", E::kNone, "/-._~0"},
    {"/%2A", E::kNone, "/%2A"},
    {"/%2a", E::kNone, "/%2A"},
    {"/%20", E::kNone, "/%20"},
    {"/%3a%40", E::kNone, "/%3A%40"},
    {"/%c3%a9", E::kNone, "/%C3%A9"},
    {"/caf%C3%A9/%e2%82%ac", E::kNone, "/caf%C3%A9/%E2%82%AC"},
    {"/a%25b", E::kNone, "/a%25b"},
    {"/a%252e", E::kNone, "/a%252e"},  // never decoded twice
    {"/a%2E%2Fb", E::kEncodedSlash},
    // Rejected escapes.
    {"/%2F", E::kEncodedSlash},
    {"/%2f", E::kEncodedSlash},
    {"/api/..%2f/admin", E::kEncodedSlash},
    {"/a/%2e%2e%2f", E::kEncodedSlash},
    {"/%5C", E::kEncodedBackslash},
    {"/%5c..", E::kEncodedBackslash},
    {"/a\\b", E::kEncodedBackslash},
    {"/..\\admin", E::kEncodedBackslash},
    {"/%00", E::kEncodedNul},
    {"/a%00.txt", E::kEncodedNul},
    {"/%", E::kBadPercentEncoding},
    {"/%4", E::kBadPercentEncoding},
    {"/a%", E::kBadPercentEncoding},
    {"/%zz", E::kBadPercentEncoding},
    {"/%4g", E::kBadPercentEncoding},
    {"/%%41", E::kBadPercentEncoding},
    // Bytes not allowed in a path.
    {"/a#frag", E::kBadCharacter},
    {"/#", E::kBadCharacter},
    {"/a b", E::kBadCharacter},
    {"/a<b>", E::kBadCharacter},
    {"/a\"b", E::kBadCharacter},
    {"/a{b}", E::kBadCharacter},
    {"/a|b", E::kBadCharacter},
    {"/a^b", E::kBadCharacter},
    {"/a`b", E::kBadCharacter},
    {"/a[b]", E::kBadCharacter},
    {"/a\x7f", E::kBadCharacter},
    {"/a\x01", E::kBadCharacter},
    {std::string("/a\0b", 4), E::kBadCharacter},
    {"/caf\xc3\xa9", E::kBadCharacter},
    // Queries: validated, kept byte-for-byte.
    {"/a?x=1&y=2", E::kNone, "/a", "x=1&y=2", true},
    {"/a?", E::kNone, "/a", "", true},
    {"/?", E::kNone, "/", "", true},
    {"/a/../b?c/../d", E::kNone, "/b", "c/../d", true},
    {"/a?x=%2f%41", E::kNone, "/a", "x=%2f%41", true},
    {"/a?q?r=/s:@!$", E::kNone, "/a", "q?r=/s:@!$", true},
    {"/a?x=%00", E::kNone, "/a", "x=%00", true},
    {"/a?x=%zz", E::kBadPercentEncoding},
    {"/a?x=%4", E::kBadPercentEncoding},
    {"/a?x=[1]", E::kBadCharacter},
    {"/a?b#c", E::kBadCharacter},
    {"/a?b c", E::kBadCharacter},
    {"/a?b\\c", E::kBadCharacter},
    // Absolute-form.
    {"http://Example.COM/a/../b?x", E::kNone, "/b", "x", true, "example.com"},
    {"HTTPS://a.b:8443", E::kNone, "/", "", false, "a.b:8443"},
    {"hTtP://a", E::kNone, "/", "", false, "a"},
    {"http://a?x=1", E::kNone, "/", "x=1", true, "a"},
    {"http://a//b/%2e%2e/c", E::kNone, "/c", "", false, "a"},
    {"http://[::1]:8080/x", E::kNone, "/x", "", false, "[::1]:8080"},
    {"http://a/%2F", E::kEncodedSlash},
    {"http://a#x", E::kBadCharacter},
    {"http://a b/", E::kBadCharacter},
    {"http:///a", E::kNotOriginForm},
    {"http://", E::kNotOriginForm},
    {"http://user@host/", E::kNotOriginForm},
    {"http:/a", E::kNotOriginForm},
    {"ftp://a/b", E::kNotOriginForm},
    {"httpx://a/b", E::kNotOriginForm},
    // Other request-target forms.
    {"*", E::kNotOriginForm},
    {"host:443", E::kNotOriginForm},
    {"example.com:443", E::kNotOriginForm},
    {"a/b", E::kNotOriginForm},
    {"", E::kNotOriginForm},
    {"?x", E::kNotOriginForm},
};
// clang-format on

class NormalizeTable : public ::testing::TestWithParam<Case> {};

TEST_P(NormalizeTable, Normalizes) {
  const Case& c = GetParam();
  NormalizedTarget out;
  out.path = "garbage";  // reused, not appended to
  out.query = "stale";
  out.has_query = true;
  out.authority = "stale";
  const NormalizeError error = normalize_target(c.target, out);
  ASSERT_EQ(error, c.error) << "target: " << c.target << " got " << to_string(error);
  if (c.error == E::kNone) {
    EXPECT_EQ(out.path, c.path) << c.target;
    EXPECT_EQ(out.query, c.query) << c.target;
    EXPECT_EQ(out.has_query, c.has_query) << c.target;
    EXPECT_EQ(out.authority, c.authority) << c.target;
  } else {
    // Nothing half-normalized survives an error.
    EXPECT_TRUE(out.path.empty());
    EXPECT_TRUE(out.query.empty());
    EXPECT_FALSE(out.has_query);
    EXPECT_TRUE(out.authority.empty());
  }
}

std::vector<Case> accepted_cases() {
  std::vector<Case> out;
  for (const Case& c : kCases) {
    if (c.error == E::kNone) out.push_back(c);
  }
  return out;
}

class NormalizeAccepted : public ::testing::TestWithParam<Case> {};

// Normalizing a normalized target changes nothing.
TEST_P(NormalizeAccepted, IsIdempotent) {
  const Case& c = GetParam();
  NormalizedTarget first;
  ASSERT_EQ(normalize_target(c.target, first), E::kNone);
  std::string again = first.path;
  if (first.has_query) again += "?" + first.query;
  NormalizedTarget second;
  ASSERT_EQ(normalize_target(again, second), E::kNone) << again;
  EXPECT_EQ(second.path, first.path);
  EXPECT_EQ(second.query, first.query);
}

INSTANTIATE_TEST_SUITE_P(Targets, NormalizeTable, ::testing::ValuesIn(kCases));
INSTANTIATE_TEST_SUITE_P(Targets, NormalizeAccepted, ::testing::ValuesIn(accepted_cases()));

TEST(Normalize, ReusesCapacity) {
  NormalizedTarget out;
  out.path.reserve(256);
  out.query.reserve(256);
  const char* path_data = out.path.data();
  const char* query_data = out.query.data();
  for (const Case& c : kCases) {
    if (c.target.size() >= 200) continue;
    normalize_target(c.target, out);
    EXPECT_EQ(out.path.data(), path_data) << c.target;
    EXPECT_EQ(out.query.data(), query_data) << c.target;
  }
}

TEST(Normalize, LongPathsAndDeepTraversal) {
  std::string target;
  for (int i = 0; i < 500; ++i) target += "/seg" + std::to_string(i);
  for (int i = 0; i < 600; ++i) target += "/%2e%2e";
  target += "/end";
  NormalizedTarget out;
  ASSERT_EQ(normalize_target(target, out), E::kNone);
  EXPECT_EQ(out.path, "/end");
}

TEST(Normalize, ErrorNamesAreDistinct) {
  EXPECT_EQ(to_string(E::kNone), "none");
  EXPECT_NE(to_string(E::kEncodedSlash), to_string(E::kEncodedBackslash));
  EXPECT_FALSE(to_string(E::kBadCharacter).empty());
}

}  // namespace
}  // namespace flexgate::router
