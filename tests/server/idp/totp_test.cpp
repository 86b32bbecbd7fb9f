// TOTP and base32 (idp/crypto/totp.h): spec Appendix A.3, the RFC 6238 SHA-1 vectors (8 digits)
// and the RFC 4226 HOTP vectors, the +-1 window and the step a code matched, malformed codes,
// base32 per RFC 4648 (round trips, case, padding, rejects), fresh secrets and the otpauth URI.
#include "idp/crypto/totp.h"

#include <gtest/gtest.h>

#include <set>

namespace tether::server::idp::totp {
namespace {

constexpr const char* kSecret = "JBSWY3DPEHPK3PXP";  // "Hello!" DE AD BE EF
constexpr int64_t kT = 1704164645;                  // Tue Jan 2 03:04:05 UTC 2024
constexpr int64_t kStep = 56805488;

std::optional<int64_t> matched(std::string_view secret, std::string_view code, int64_t now, int window = 1,
                               int digits = kDefaultDigits) {
  auto r = verify(secret, code, now, window, digits);
  EXPECT_TRUE(r.isOk()) << r.status();
  return r.isOk() ? *r : std::nullopt;
}

TEST(TotpTest, AppendixA3) {
  auto key = base32Decode(kSecret);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, std::string("Hello!\xde\xad\xbe\xef"));
  EXPECT_EQ(stepAt(kT), kStep);
  EXPECT_EQ(code(*key, stepAt(kT - 30)), "328769");
  EXPECT_EQ(code(*key, stepAt(kT)), "424727");
  EXPECT_EQ(code(*key, stepAt(kT + 30)), "987943");
}

TEST(TotpTest, Rfc6238Sha1EightDigits) {
  const std::string key = "12345678901234567890";
  const std::pair<int64_t, const char*> vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const auto& [t, expected] : vectors) {
    EXPECT_EQ(code(key, static_cast<uint64_t>(stepAt(t)), 8), expected) << t;
    EXPECT_EQ(matched("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", expected, t, 0, 8), stepAt(t)) << t;
  }
}

TEST(TotpTest, Rfc4226HotpSixDigits) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t c = 0; c < 10; ++c) EXPECT_EQ(code("12345678901234567890", c), expected[c]) << c;
}

TEST(TotpTest, WindowAndMatchedStep) {
  EXPECT_EQ(matched(kSecret, "424727", kT), kStep);
  EXPECT_EQ(matched(kSecret, "328769", kT), kStep - 1) << "one step early";
  EXPECT_EQ(matched(kSecret, "987943", kT), kStep + 1) << "one step late";
  EXPECT_EQ(matched(kSecret, "328769", kT + 30), std::nullopt) << "two steps old";
  EXPECT_EQ(matched(kSecret, "987943", kT - 30), std::nullopt) << "two steps ahead";
  EXPECT_EQ(matched(kSecret, "328769", kT, 0), std::nullopt) << "window 0: only the current step";
  EXPECT_EQ(matched(kSecret, "424727", kT, 0), kStep);
  // The step boundaries: the code of step s is current for [30s, 30s + 29].
  EXPECT_EQ(matched(kSecret, "424727", kStep * 30, 0), kStep);
  EXPECT_EQ(matched(kSecret, "424727", kStep * 30 + 29, 0), kStep);
  EXPECT_EQ(matched(kSecret, "424727", kStep * 30 + 30, 0), std::nullopt);
  // Steps 57683524 and 57683525 share the code 854198 (found by search): the current step wins
  // over its neighbours, so the step the caller marks as used is the one the user meant.
  EXPECT_EQ(matched(kSecret, "854198", 57683524 * 30), 57683524);
  EXPECT_EQ(matched(kSecret, "854198", 57683525 * 30), 57683525);
  EXPECT_EQ(matched(kSecret, "854198", 57683523 * 30), 57683524) << "only the later neighbour matches";
  EXPECT_EQ(matched(kSecret, "854198", 57683526 * 30), 57683525) << "only the earlier neighbour matches";
  // Lower-case and padded spellings of the secret work the same.
  EXPECT_EQ(matched("jbswy3dpehpk3pxp", "424727", kT), kStep);
}

TEST(TotpTest, MalformedCodesAndSecrets) {
  for (const char* bad : {"", "42472", "4247270", "42472a", " 424727", "424727 ", "４２４７２７", "-424727"})
    EXPECT_EQ(matched(kSecret, bad, kT), std::nullopt) << bad;
  EXPECT_EQ(verify("not base32!", "424727", kT).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verify("", "424727", kT).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verify(kSecret, "424727", kT, -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verify(kSecret, "424727", kT, 11).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verify(kSecret, "424727", kT, 1, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(matched(kSecret, "424727", -100), std::nullopt) << "a clock before 1970 matches nothing";
  EXPECT_EQ(stepAt(-1), -1);
  EXPECT_EQ(stepAt(-30), -1);
  EXPECT_EQ(stepAt(-31), -2);
}

TEST(Base32Test, Rfc4648VectorsAndRoundTrips) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "MY"},         {"fo", "MZXQ"},         {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, enc] : vectors) {
    EXPECT_EQ(base32Encode(plain), enc);
    EXPECT_EQ(base32Decode(enc).value_or("?"), plain) << enc;
  }
  std::string bytes;
  for (int n = 0; n < 50; ++n) {
    std::string enc = base32Encode(bytes);
    EXPECT_EQ(enc.find('='), std::string::npos);
    ASSERT_EQ(base32Decode(enc).value_or("?"), bytes) << n;
    std::string lower = enc;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_EQ(base32Decode(lower).value_or("?"), bytes) << "lower case " << n;
    std::string padded = enc + std::string((8 - enc.size() % 8) % 8, '=');
    ASSERT_EQ(base32Decode(padded).value_or("?"), bytes) << "padded " << padded;
    bytes += static_cast<char>(n * 53 + 7);
  }
}

TEST(Base32Test, RejectsMalformed) {
  for (const char* bad : {"M", "MZX", "MZXW6Y", "MY=", "MY==", "MY=======", "MZXW6YTB========", "M1", "MY 2", "MY-",
                          "MZ", "MYA", "=MY", "MY=Y====="})
    EXPECT_FALSE(base32Decode(bad).has_value()) << bad;
  EXPECT_TRUE(base32Decode("MY======").has_value());
  EXPECT_FALSE(base32Decode(std::string(kMaxSecretChars + 8, 'A')).has_value()) << "too long";
}

TEST(TotpTest, FreshSecrets) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string s = newSecret();
    ASSERT_EQ(s.size(), 32u);
    EXPECT_EQ(s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos) << s;
    EXPECT_EQ(base32Decode(s).value_or("").size(), kSecretBytes);
    EXPECT_TRUE(seen.insert(s).second);
  }
}

TEST(TotpTest, OtpauthUri) {
  EXPECT_EQ(otpauthUri("My Pool", "alice@example.com", kSecret),
            "otpauth://totp/My%20Pool:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=My%20Pool"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauthUri("", "bob", kSecret),
            "otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauthUri("a:b&c", "x?y=z/é", kSecret),
            "otpauth://totp/a%3Ab%26c:x%3Fy%3Dz%2F%C3%A9?secret=JBSWY3DPEHPK3PXP&issuer=a%3Ab%26c"
            "&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace tether::server::idp::totp
