#include "core/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace flexgate {
namespace {

// Every kind, from the first enumerator through kInternal, which the enum keeps last. A kind added
// to the enum is covered here automatically; one missing from to_string() falls back to
// "internal" and shows up as a duplicate name.
std::vector<ErrorKind> all_kinds() {
  std::vector<ErrorKind> kinds;
  for (int i = 0; i <= static_cast<int>(ErrorKind::kInternal); ++i)
    kinds.push_back(static_cast<ErrorKind>(i));
  return kinds;
}

TEST(ErrorKindTest, ValueOutsideTheEnumFallsBackToInternal) {
  EXPECT_EQ(to_string(static_cast<ErrorKind>(200)), "internal");
}

TEST(ErrorKindTest, EveryKindHasAUniqueSnakeCaseName) {
  std::set<std::string_view> names;
  for (ErrorKind kind : all_kinds()) {
    std::string_view name = to_string(kind);
    EXPECT_FALSE(name.empty());
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_EQ(names.size(), all_kinds().size());
}

TEST(ErrorKindTest, NamesMatchTheKinds) {
  EXPECT_EQ(to_string(ErrorKind::kUnsupportedMediaType), "unsupported_media_type");
  EXPECT_EQ(to_string(ErrorKind::kUnprocessableEntity), "unprocessable_entity");
  EXPECT_EQ(to_string(ErrorKind::kBadRequest), "bad_request");
  EXPECT_EQ(to_string(ErrorKind::kNotFound), "not_found");
  EXPECT_EQ(to_string(ErrorKind::kUpstreamTimeout), "upstream_timeout");
  EXPECT_EQ(to_string(ErrorKind::kTooManyRequests), "too_many_requests");
  EXPECT_EQ(to_string(ErrorKind::kInternal), "internal");
}

TEST(ErrorTest, DefaultIsAnInternalError) {
  Error error;
  EXPECT_EQ(error.kind, ErrorKind::kInternal);
  EXPECT_EQ(error.source, ErrorSource::kInternal);
  EXPECT_TRUE(error.detail.empty());
}

}  // namespace
}  // namespace flexgate
