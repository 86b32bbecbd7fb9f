#include "tether/limits.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

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

// The byte-at-a-time decoder utf8Length had before its ASCII fast path: the oracle the fast
// path must agree with exactly (count or -1), whatever the alignment of the multibyte parts.
int64_t referenceUtf8Length(std::string_view s) {
  int64_t count = 0;
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; ++count; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return -1;
    if (i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return -1;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += len;
    ++count;
  }
  return count;
}

TEST(LimitsTest, Utf8MultibyteStraddlingTheBlockEdge) {
  const std::string pieces[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};  // é € 😀
  for (const std::string& piece : pieces) {
    for (size_t lead = 0; lead <= 17; ++lead) {  // the piece starts at every offset of 2 blocks
      std::string s = std::string(lead, 'a') + piece + std::string(9, 'b');
      SCOPED_TRACE("lead " + std::to_string(lead) + ", piece of " + std::to_string(piece.size()));
      EXPECT_EQ(utf8Length(s), static_cast<int64_t>(lead) + 1 + 9);
      // Also as the very last bytes (no ASCII after it) and cut short by one byte.
      std::string tail = std::string(lead, 'a') + piece;
      EXPECT_EQ(utf8Length(tail), static_cast<int64_t>(lead) + 1);
      EXPECT_EQ(utf8Length(std::string_view(tail).substr(0, tail.size() - 1)), -1);
    }
  }
  // Multibyte runs back to back across several blocks: 12 x 3 bytes.
  std::string euros;
  for (int i = 0; i < 12; ++i) euros += "\xe2\x82\xac";
  EXPECT_EQ(utf8Length("abcdefg" + euros + "hijklmnopq"), 7 + 12 + 10);
}

TEST(LimitsTest, Utf8InvalidRightAfterAnAsciiRun) {
  const std::string bad[] = {
      "\x80",              // continuation byte with no lead
      "\xff",              // never valid
      "\xc0\xaf",          // overlong
      "\xed\xa0\x80",      // surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xc3" "a",          // lead byte followed by ASCII
      "\xe2\x82",          // truncated at the end
  };
  for (const std::string& b : bad) {
    for (size_t lead = 0; lead <= 24; ++lead) {
      SCOPED_TRACE("lead " + std::to_string(lead) + ", bad bytes " + std::to_string(b.size()));
      EXPECT_EQ(utf8Length(std::string(lead, 'x') + b), -1);
      EXPECT_EQ(utf8Length(std::string(lead, 'x') + b + std::string(16, 'y')), -1);
    }
  }
  // An invalid byte that would sit in the high bit of an otherwise ASCII block: every position.
  for (size_t pos = 0; pos < 24; ++pos) {
    std::string s(24, 'z');
    s[pos] = '\x80';
    EXPECT_EQ(utf8Length(s), -1) << "at " << pos;
  }
}

TEST(LimitsTest, Utf8AgreesWithByteAtATimeDecoder) {
  // Deterministic pseudo-random mixes of ASCII runs, valid sequences and single bad bytes, at
  // every length up to 64, checked against the reference decoder (valid and invalid results).
  const std::string atoms[] = {"a", "0123456", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                               "\x80", "\xc3", "\xed\xa0\x80", "\xf5\x80\x80\x80", "\x7f"};
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  };
  int invalid = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string s;
    size_t target = next() % 64;
    bool mostlyValid = round % 2 == 0;
    while (s.size() < target) {
      size_t k = next() % (mostlyValid ? 5 : 10);
      s += atoms[k];
    }
    int64_t expected = referenceUtf8Length(s);
    if (expected < 0) ++invalid;
    ASSERT_EQ(utf8Length(s), expected) << "round " << round;
  }
  EXPECT_GT(invalid, 500);  // both outcomes were exercised
  EXPECT_LT(invalid, 3500);
}

TEST(LimitsTest, Utf8LongAsciiAndMixedValues) {
  std::string ascii(1 << 20, 'v');
  EXPECT_EQ(utf8Length(ascii), 1 << 20);
  ascii[ascii.size() - 1] = '\xc3';
  EXPECT_EQ(utf8Length(ascii), -1);
  std::string mixed;
  for (int i = 0; i < 1000; ++i) mixed += "0123456789abc\xc3\xa9";
  EXPECT_EQ(utf8Length(mixed), 14 * 1000);
  EXPECT_TRUE(validateRecordValue(mixed).isOk());
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
