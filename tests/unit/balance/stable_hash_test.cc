#include "upstream/balance/stable_hash.h"

#include <gtest/gtest.h>

#include <string>

#include "upstream/balance/random.h"

namespace flexgate::upstream {
namespace {

// Published FNV-1a 64 test vectors.
static_assert(fnv1a_64("") == 0xcbf29ce484222325ULL);
static_assert(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
static_assert(fnv1a_64("foobar") == 0x85944171f73967e8ULL);

TEST(StableHash, Fnv1a64KnownAnswers) {
  EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST(StableHash, Mix64IsTheSplitMix64Finalizer) {
  // SplitMix64 seeded with 0 first returns mix64(golden ratio increment) (Vigna's reference code).
  EXPECT_EQ(mix64(0x9e3779b97f4a7c15ULL), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(mix64(0), 0u);
}

TEST(StableHash, KnownAnswers) {
  // Frozen values: changing them re-maps every consistent-hash key in production.
  EXPECT_EQ(stable_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(stable_hash("10.0.0.1:8080"), 0xe6be330c3d44a2e2ULL);
  EXPECT_EQ(stable_hash("api.internal:80"), 0x9f02258f171d9606ULL);
  EXPECT_EQ(stable_hash("user-42"), 0x7a1596f0e94b5793ULL);
}

TEST(StableHash, BytesNotCharSignednessNorEmbeddedNul) {
  EXPECT_NE(stable_hash(std::string_view("a\0b", 3)), stable_hash("ab"));
  EXPECT_EQ(fnv1a_64("\xff"), (kFnv1a64Basis ^ 0xffu) * kFnv1a64Prime);
}

TEST(StableHash, SimilarKeysDifferInLowBits) {
  // Plain FNV-1a gives "key1" and "key3" the same lowest bit; the final mix does not.
  EXPECT_EQ(fnv1a_64("key1") & 1, fnv1a_64("key3") & 1);
  int same_low_byte = 0;
  for (int i = 0; i < 256; ++i) {
    const std::string a = "10.0.0." + std::to_string(i);
    const std::string b = "10.0.0." + std::to_string(i + 1);
    if ((stable_hash(a) & 0xff) == (stable_hash(b) & 0xff)) ++same_low_byte;
  }
  EXPECT_LE(same_low_byte, 4);
}

TEST(SplitMix64, ReferenceSequenceAndDeterminism) {
  SplitMix64 random(0);
  EXPECT_EQ(random.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(random.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(random.next(), 0x06c45d188009454fULL);

  SplitMix64 a(42);
  SplitMix64 b(42);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.below(7);
    EXPECT_LT(x, 7u);
    EXPECT_EQ(x, b.below(7));
  }
}

}  // namespace
}  // namespace flexgate::upstream
