#include "policy/auth/key_digest_memo.h"

#include <gtest/gtest.h>

#include <string>

namespace flexgate::policy {
namespace {

Sha256Digest direct(std::string_view key) {
  Sha256Digest digest{};
  EXPECT_TRUE(sha256(key, digest));
  return digest;
}

TEST(ApiKeyDigest, IsTheSha256OfTheKeyFirstAndAfterwards) {
  for (int round = 0; round < 3; ++round) {  // a miss, then hits
    Sha256Digest digest{};
    ASSERT_TRUE(api_key_digest("client-key-1", digest));
    EXPECT_EQ(digest, direct("client-key-1"));
  }
}

TEST(ApiKeyDigest, NeverHandsOneKeyAnothersDigest) {
  // More keys than slots, interleaved: evictions and slot sharing must never mix digests up.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      const std::string key = "key-" + std::to_string(i);
      Sha256Digest digest{};
      ASSERT_TRUE(api_key_digest(key, digest));
      ASSERT_EQ(digest, direct(key)) << key;
    }
  }
  // Keys that differ in one byte or only in length.
  for (std::string_view key : {"abc", "abd", "ab", "abc ", ""}) {
    Sha256Digest digest{};
    ASSERT_TRUE(api_key_digest(key, digest));
    EXPECT_EQ(digest, direct(key)) << key;
  }
}

}  // namespace
}  // namespace flexgate::policy
