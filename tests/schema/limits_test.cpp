#include "tether/limits.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(LimitsTest, DatasetNames) {
  EXPECT_TRUE(validateDatasetName("prefs").isOk());
  EXPECT_TRUE(validateDatasetName("a.b_c-d:e").isOk());
  EXPECT_TRUE(validateDatasetName(std::string(128, 'x')).isOk());
  EXPECT_FALSE(validateDatasetName(std::string(129, 'x')).isOk());
  EXPECT_FALSE(validateDatasetName("").isOk());
  EXPECT_FALSE(validateDatasetName("has space").isOk());
  EXPECT_FALSE(validateDatasetName("slash/no").isOk());
  EXPECT_EQ(validateDatasetName("é").code(), StatusCode::kInvalidArgument);
}

TEST(LimitsTest, KeysCountCodePoints) {
  EXPECT_TRUE(validateRecordKey("k").isOk());
  EXPECT_FALSE(validateRecordKey("").isOk());
  std::string e1024;
  for (int i = 0; i < 1024; ++i) e1024 += "\xc3\xa9";  // 1024 chars, 2048 bytes
  EXPECT_TRUE(validateRecordKey(e1024).isOk());
  EXPECT_FALSE(validateRecordKey(e1024 + "x").isOk());
  EXPECT_FALSE(validateRecordKey("\xc3").isOk());          // truncated sequence
  EXPECT_FALSE(validateRecordKey("\xc0\xaf").isOk());      // overlong '/'
  EXPECT_FALSE(validateRecordKey("\xed\xa0\x80").isOk());  // surrogate
}

TEST(LimitsTest, Utf8Length) {
  EXPECT_EQ(utf8Length(""), 0);
  EXPECT_EQ(utf8Length("abc"), 3);
  EXPECT_EQ(utf8Length("\xf0\x9f\x98\x80"), 1);
  EXPECT_EQ(utf8Length("\xf4\x90\x80\x80"), -1);  // above U+10FFFF
}

TEST(LimitsTest, Ids) {
  EXPECT_TRUE(validateIdentityId("local:6f1c0e2a-1111-4222-8333-444455556666").isOk());
  EXPECT_TRUE(validateIdentityId("us-east-1:abc").isOk());
  EXPECT_FALSE(validateIdentityId("local:ABC").isOk());
  EXPECT_FALSE(validateIdentityId("nocolon").isOk());
  EXPECT_FALSE(validateIdentityId(":abc").isOk());
  EXPECT_FALSE(validateIdentityId("local:").isOk());
  EXPECT_FALSE(validateIdentityId("lo cal:abc").isOk());
  EXPECT_FALSE(validateIdentityId("local:" + std::string(50, 'a')).isOk());
  EXPECT_FALSE(validatePoolId("x").isOk());
}

TEST(LimitsTest, DeviceAndValues) {
  EXPECT_TRUE(validateDeviceId("dev/1").isOk());
  EXPECT_FALSE(validateDeviceId("").isOk());
  EXPECT_FALSE(validateDeviceId(std::string(257, 'd')).isOk());
  EXPECT_TRUE(validateRecordValue("").isOk());
  EXPECT_FALSE(validateRecordValue(std::string(kMaxRecordValueChars + 1, 'v')).isOk());
  EXPECT_EQ(recordSize("ab", "cde"), 5);
}

}  // namespace
}  // namespace tether
