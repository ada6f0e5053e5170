#include "policy/validate/media_type.h"

#include <gtest/gtest.h>

namespace flexgate::policy {
namespace {

TEST(MediaType, StripsParametersAndWhitespace) {
  EXPECT_EQ(media_type_of("application/json"), "application/json");
  EXPECT_EQ(media_type_of("application/json; charset=utf-8"), "application/json");
  EXPECT_EQ(media_type_of("  Application/JSON\t;charset=utf-8"), "Application/JSON");
  EXPECT_EQ(media_type_of(""), "");
  EXPECT_EQ(media_type_of(";charset=utf-8"), "");
}

TEST(MediaType, NormalizesRanges) {
  EXPECT_EQ(normalize_media_range("Application/JSON"), "application/json");
  EXPECT_EQ(normalize_media_range("application/vnd.api+json"), "application/vnd.api+json");
  for (const char* bad : {"", "json", "application/", "/json", "*/json", "application/json; charset=utf-8",
                          "application /json", "application/json ", "a/b/c", "application/vnd.*", "*/*x"}) {
    EXPECT_FALSE(normalize_media_range(bad)) << bad;
  }
  // Ranges as in Accept: a whole subtype or everything.
  EXPECT_EQ(normalize_media_range("Text/*"), "text/*");
  EXPECT_EQ(normalize_media_range("*/*"), "*/*");
}

TEST(MediaType, RangesCoverTheirSubtypes) {
  EXPECT_TRUE(media_type_matches("text/*", "text/csv"));
  EXPECT_TRUE(media_type_matches("text/*", "TEXT/plain"));
  EXPECT_FALSE(media_type_matches("text/*", "application/json"));
  EXPECT_FALSE(media_type_matches("text/*", "texts/csv"));
  EXPECT_TRUE(media_type_matches("*/*", "application/json"));
  EXPECT_FALSE(media_type_matches("*/*", "json"));
}

TEST(MediaType, MatchesCaseInsensitively) {
  EXPECT_TRUE(media_type_matches("application/json", "application/json"));
  EXPECT_TRUE(media_type_matches("application/json", "Application/Json"));
  EXPECT_FALSE(media_type_matches("application/json", "application/json-patch+json"));
  EXPECT_FALSE(media_type_matches("application/json", "application/jsonx"));
  EXPECT_FALSE(media_type_matches("application/json", "text/json"));
  EXPECT_FALSE(media_type_matches("application/json", ""));
}

TEST(MediaType, MalformedMediaTypesMatchNothing) {
  for (const char* bad : {"", "json", "application/", "/json", "a b/c", "application/json/x"}) {
    EXPECT_FALSE(media_type_matches("application/json", bad)) << bad;
  }
}

}  // namespace
}  // namespace flexgate::policy
