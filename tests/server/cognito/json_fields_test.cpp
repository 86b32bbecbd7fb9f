// Checked JSON access and Cognito timestamps.
#include "cognito/json_fields.h"

#include <gtest/gtest.h>

namespace tether::server::cognito {
namespace {

TEST(JsonFieldsTest, ParseObject) {
  EXPECT_TRUE(parseObject("").isOk());
  EXPECT_TRUE(parseObject("{}").isOk());
  EXPECT_EQ(parseObject("{\"a\":").error().type, "SerializationException");
  EXPECT_EQ(parseObject("[1]").error().type, "SerializationException");
  EXPECT_EQ(parseObject("\"x\"").error().status, 400);
}

TEST(JsonFieldsTest, TypedGettersRejectWrongTypes) {
  Json j = Json::parse(R"({"s":"x","i":5,"f":5.0,"b":true,"m":{"k":"v"},"l":["a"],"bad":[1],"n":null})");
  EXPECT_EQ(*getString(j, "s").value(), "x");
  EXPECT_EQ(getString(j, "i").error().type, "InvalidParameterException");
  EXPECT_FALSE(getString(j, "n").value().has_value());
  EXPECT_EQ(getString(j, "missing", true).error().type, "InvalidParameterException");
  EXPECT_EQ(*getInt(j, "i").value(), 5);
  EXPECT_EQ(*getInt(j, "f").value(), 5);
  EXPECT_FALSE(getInt(j, "s").isOk());
  EXPECT_TRUE(*getBool(j, "b").value());
  EXPECT_FALSE(getBool(j, "i").isOk());
  EXPECT_EQ(getStringMap(j, "m").value()->at("k"), "v");
  EXPECT_FALSE(getStringMap(j, "l").isOk());
  EXPECT_EQ(getStringList(j, "l").value()->size(), 1u);
  EXPECT_FALSE(getStringList(j, "bad").isOk());
}

TEST(JsonFieldsTest, EpochSecondsAcceptIntegersFractionsExponentsAndStrings) {
  Json j = Json::parse(R"({"a":1700000000,"b":1700000000.5,"c":1.7000000001E9,"d":"1700000000.123","e":"x","f":true})");
  EXPECT_EQ(*getEpochMs(j, "a").value(), 1700000000000);
  EXPECT_EQ(*getEpochMs(j, "b").value(), 1700000000500);
  EXPECT_EQ(*getEpochMs(j, "c").value(), 1700000000100);
  EXPECT_EQ(*getEpochMs(j, "d").value(), 1700000000123);
  EXPECT_FALSE(getEpochMs(j, "e").isOk());
  EXPECT_FALSE(getEpochMs(j, "f").isOk());
  EXPECT_EQ(epochSeconds(1700000000000).dump(), "1700000000");
  EXPECT_EQ(epochSeconds(1700000000123).dump(), "1700000000.123");
}

}  // namespace
}  // namespace tether::server::cognito
