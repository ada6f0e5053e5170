#include "policy/auth/request_signature.h"

#include <gtest/gtest.h>

#include <string>

#include "auth_test_util.h"

namespace flexgate::policy {
namespace {

using testing::kDemoSecret;

TEST(RequestSignature, Sha256KnownVectors) {
  EXPECT_EQ(testing::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(testing::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RequestSignature, HmacKnownVector) {
  // RFC 4231 test case 2.
  Sha256Digest mac{};
  ASSERT_TRUE(hmac_sha256("Jefe", "what do ya want for nothing?", mac));
  std::string hex;
  append_hex(mac, hex);
  EXPECT_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RequestSignature, CanonicalStringLayout) {
  std::string out = "stale";
  ASSERT_TRUE(build_canonical_string("POST", "/api/orders", "dry=1", "1700000000",
                                     R"({"item":"book","qty":2})", out));
  EXPECT_EQ(out,
            "POST\n/api/orders\ndry=1\n1700000000\n"
            "6383114cff22e5f82e81e96fbe30c7239424b9ed893e27fea7eb67532aa03fb9");
  ASSERT_TRUE(build_canonical_string("GET", "/", "", "1", "", out));
  EXPECT_EQ(out, "GET\n/\n\n1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// The worked example of docs/auth.md, computed there with `openssl dgst -sha256 -hmac`.
TEST(RequestSignature, DocumentedExample) {
  std::string canonical;
  ASSERT_TRUE(build_canonical_string("POST", "/api/orders", "dry=1", "1700000000",
                                     R"({"item":"book","qty":2})", canonical));
  Sha256Digest mac{};
  ASSERT_TRUE(hmac_sha256(kDemoSecret, canonical, mac));
  std::string hex;
  append_hex(mac, hex);
  EXPECT_EQ(hex, "af73d050473a63df0c5fdfb79c1d5876b569404b7228bf827002ef1bd2c4358d");
  EXPECT_EQ(testing::sha256_hex(testing::kDemoKey),
            "a52782e3a2d4dd2f95f640b9abfb3b2a6b8e722c65f55be830f6e5f619f7f873");
}

TEST(RequestSignature, DecodeHex) {
  std::array<std::uint8_t, 2> out{};
  EXPECT_TRUE(decode_hex("0aFf", out));
  EXPECT_EQ(out[0], 0x0a);
  EXPECT_EQ(out[1], 0xff);
  EXPECT_FALSE(decode_hex("0aF", out));
  EXPECT_FALSE(decode_hex("0aFf0", out));
  EXPECT_FALSE(decode_hex("0aFg", out));
  EXPECT_FALSE(decode_hex(" aFf", out));
  EXPECT_FALSE(decode_hex("", out));
}

}  // namespace
}  // namespace flexgate::policy
