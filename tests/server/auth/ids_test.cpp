// Tests for auth/ids.h and auth/base64url.h.
#include "auth/ids.h"

#include <gtest/gtest.h>

#include <set>

#include "auth/base64url.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

TEST(IdsTest, WellFormedUuidV4) {
  for (int i = 0; i < 200; ++i) {
    std::string id = newRandomId("local");
    ASSERT_TRUE(validateIdentityId(id).isOk()) << id;
    ASSERT_TRUE(validatePoolId(id).isOk()) << id;
    ASSERT_EQ(id.size(), 6u + 36u) << id;
    ASSERT_EQ(id.substr(0, 6), "local:");
    std::string uuid = id.substr(6);
    EXPECT_EQ(uuid[8], '-');
    EXPECT_EQ(uuid[13], '-');
    EXPECT_EQ(uuid[18], '-');
    EXPECT_EQ(uuid[23], '-');
    EXPECT_EQ(uuid[14], '4') << "version nibble";
    EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos) << "variant nibble";
  }
}

TEST(IdsTest, UniqueAcrossManyCalls) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(seen.insert(newRandomId("us-east-1")).second);
}

TEST(IdsTest, LongestRegionStillValid) {
  std::string region(18, 'r');
  EXPECT_TRUE(validateIdentityId(newRandomId(region)).isOk());
}

TEST(Base64UrlTest, RoundTripAllLengths) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    std::string enc = auth::base64UrlEncode(bytes);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    auto dec = auth::base64UrlDecode(enc);
    ASSERT_TRUE(dec.has_value()) << n;
    EXPECT_EQ(*dec, bytes);
    bytes += static_cast<char>(n * 37 + 250);
  }
}

TEST(Base64UrlTest, KnownVectors) {
  EXPECT_EQ(auth::base64UrlEncode("f"), "Zg");
  EXPECT_EQ(auth::base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(auth::base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(auth::base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64UrlTest, RejectsNonCanonicalInput) {
  EXPECT_FALSE(auth::base64UrlDecode("Zg==").has_value()) << "padding";
  EXPECT_FALSE(auth::base64UrlDecode("Zm9v+A").has_value()) << "standard alphabet";
  EXPECT_FALSE(auth::base64UrlDecode("Zm9v/A").has_value());
  EXPECT_FALSE(auth::base64UrlDecode("Zm 9v").has_value()) << "whitespace";
  EXPECT_FALSE(auth::base64UrlDecode("Zm9vY").has_value()) << "impossible length";
  EXPECT_FALSE(auth::base64UrlDecode("Zh").has_value()) << "non-zero unused bits";
  EXPECT_FALSE(auth::base64UrlDecode(std::string_view("Zg\0", 3)).has_value());
  EXPECT_TRUE(auth::base64UrlDecode("").has_value());
}

TEST(Base64StdTest, RoundTripAllLengthsWithPadding) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    std::string enc = auth::base64Encode(bytes);
    EXPECT_EQ(enc.size() % 4, 0u) << n;
    EXPECT_EQ(enc.find_first_of("-_"), std::string::npos);
    auto dec = auth::base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << n << " " << enc;
    EXPECT_EQ(*dec, bytes);
    bytes += static_cast<char>(n * 37 + 250);
  }
}

TEST(Base64StdTest, KnownVectors) {
  EXPECT_EQ(auth::base64Encode(""), "");
  EXPECT_EQ(auth::base64Encode("f"), "Zg==");
  EXPECT_EQ(auth::base64Encode("fo"), "Zm8=");
  EXPECT_EQ(auth::base64Encode("foo"), "Zm9v");
  EXPECT_EQ(auth::base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64StdTest, RejectsNonCanonicalInput) {
  EXPECT_FALSE(auth::base64Decode("Zg").has_value()) << "missing padding";
  EXPECT_FALSE(auth::base64Decode("Zg=").has_value());
  EXPECT_FALSE(auth::base64Decode("Zg===").has_value()) << "too much padding";
  EXPECT_FALSE(auth::base64Decode("Z===").has_value());
  EXPECT_FALSE(auth::base64Decode("====").has_value());
  EXPECT_FALSE(auth::base64Decode("Zg==Zm9v").has_value()) << "padding inside";
  EXPECT_FALSE(auth::base64Decode("Zm8=Zm9v").has_value());
  EXPECT_FALSE(auth::base64Decode("-_8=").has_value()) << "url alphabet";
  EXPECT_FALSE(auth::base64Decode("Zh==").has_value()) << "non-zero unused bits";
  EXPECT_FALSE(auth::base64Decode("Zm9=").has_value());
  EXPECT_FALSE(auth::base64Decode("Zm 9v").has_value()) << "whitespace";
  EXPECT_EQ(auth::base64Decode("+/8=").value_or("?"), "\xfb\xff");
}

}  // namespace
}  // namespace tether::server
