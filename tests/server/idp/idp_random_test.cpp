// Random values and code hashes (idp/crypto/idp_random.h, code_hash.h): formats, uniqueness, an
// even spread over each alphabet (a biased or truncated alphabet shows), temporary passwords that
// satisfy their policy, and code hashes bound to key, scope and code.
#include "idp/crypto/idp_random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "auth/ids.h"
#include "idp/crypto/code_hash.h"

namespace tether::server::idp {
namespace {

constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kMixedAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool onlyFrom(std::string_view s, std::string_view alphabet) { return s.find_first_not_of(alphabet) == std::string::npos; }

// Draws `total` characters with `gen` and checks every character of `alphabet` appears about
// total/|alphabet| times (within 8 standard deviations: a missing or doubled character fails,
// chance does not).
template <class Gen>
void expectEvenSpread(Gen gen, std::string_view alphabet, size_t total) {
  std::map<char, size_t> counts;
  size_t drawn = 0;
  while (drawn < total) {
    std::string s = gen();
    for (char c : s) ++counts[c];
    drawn += s.size();
  }
  const double p = 1.0 / static_cast<double>(alphabet.size());
  const double expected = static_cast<double>(drawn) * p;
  const double sigma = std::sqrt(static_cast<double>(drawn) * p * (1 - p));
  EXPECT_EQ(counts.size(), alphabet.size());
  for (char c : alphabet) {
    double n = static_cast<double>(counts[c]);
    EXPECT_NEAR(n, expected, 8 * sigma) << "character '" << c << "'";
  }
}

TEST(IdpRandomTest, Formats) {
  for (int i = 0; i < 200; ++i) {
    std::string code = randomDigits(6);
    ASSERT_EQ(code.size(), 6u);
    ASSERT_TRUE(onlyFrom(code, "0123456789")) << code;
    std::string suffix = newPoolIdSuffix();
    ASSERT_EQ(suffix.size(), 9u);
    ASSERT_TRUE(onlyFrom(suffix, kMixedAlnum)) << suffix;
    std::string id = newClientId();
    ASSERT_EQ(id.size(), 26u);
    ASSERT_TRUE(onlyFrom(id, kLowerAlnum)) << id;
    std::string secret = newClientSecret();
    ASSERT_EQ(secret.size(), 51u);
    ASSERT_TRUE(onlyFrom(secret, kLowerAlnum)) << secret;
    std::string uuid = newUuidV4();
    ASSERT_EQ(uuid.size(), 36u);
    EXPECT_EQ(uuid[14], '4');
    EXPECT_NE(std::string_view("89ab").find(uuid[19]), std::string_view::npos);
  }
  EXPECT_EQ(randomDigits(1).size(), 1u);
  EXPECT_EQ(randomDigits(8).size(), 8u);
}

TEST(IdpRandomTest, Unique) {
  std::set<std::string> ids, secrets, suffixes, codes;
  for (int i = 0; i < 2000; ++i) {
    EXPECT_TRUE(ids.insert(newClientId()).second);
    EXPECT_TRUE(secrets.insert(newClientSecret()).second);
    EXPECT_TRUE(suffixes.insert(newPoolIdSuffix()).second);
    codes.insert(randomDigits(6));
  }
  EXPECT_GT(codes.size(), 1900u) << "6-digit codes rarely repeat in 2000 draws";
}

TEST(IdpRandomTest, EvenSpreadOverEachAlphabet) {
  expectEvenSpread([] { return randomDigits(50); }, "0123456789", 100000);
  expectEvenSpread(newPoolIdSuffix, kMixedAlnum, 62000);
  expectEvenSpread(newClientId, kLowerAlnum, 36000);
  expectEvenSpread(newClientSecret, kLowerAlnum, 36000);
}

TEST(IdpRandomTest, TemporaryPasswordsSatisfyTheirPolicy) {
  auto has = [](const std::string& s, std::string_view set) { return s.find_first_of(set) != std::string::npos; };
  const std::string_view lower = "abcdefghijklmnopqrstuvwxyz", upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                         digits = "0123456789";
  const std::string allowed = std::string(lower) + std::string(upper) + std::string(digits) +
                              std::string(kTemporaryPasswordSymbols);
  struct Case {
    PasswordRequirements req;
    size_t length;
  };
  const Case cases[] = {
      {{}, 12},
      {{6, false, false, false, false}, 12},
      {{20, true, false, false, true}, 20},
      {{99, true, true, true, true}, 99},
      {{8, false, false, false, true}, 12},
      {{300, true, true, true, true}, 256},
  };
  for (const Case& c : cases) {
    for (int i = 0; i < 200; ++i) {
      std::string p = newTemporaryPassword(c.req);
      ASSERT_EQ(p.size(), c.length) << p;
      ASSERT_TRUE(onlyFrom(p, allowed)) << p;
      if (c.req.requireLowercase) {
        ASSERT_TRUE(has(p, lower)) << p;
      }
      if (c.req.requireUppercase) {
        ASSERT_TRUE(has(p, upper)) << p;
      }
      if (c.req.requireNumbers) {
        ASSERT_TRUE(has(p, digits)) << p;
      }
      if (c.req.requireSymbols) {
        ASSERT_TRUE(has(p, kTemporaryPasswordSymbols)) << p;
      }
      if (!c.req.requireSymbols) {
        ASSERT_FALSE(has(p, kTemporaryPasswordSymbols)) << p;
      }
    }
  }
  // The symbols are a subset of spec 9.1's set, without space and quoting characters.
  for (char s : kTemporaryPasswordSymbols)
    EXPECT_NE(std::string_view("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-").find(s), std::string_view::npos) << s;
  EXPECT_EQ(std::string_view(kTemporaryPasswordSymbols).find_first_of(" \"'`\\"), std::string_view::npos);
  // The required characters are not always in the same place.
  std::set<size_t> symbolPositions;
  for (int i = 0; i < 200; ++i)
    symbolPositions.insert(newTemporaryPassword({12, false, false, false, true}).find_first_of(kTemporaryPasswordSymbols));
  EXPECT_GT(symbolPositions.size(), 3u);
}

TEST(CodeHasherTest, BoundToKeyScopeAndCode) {
  CodeHasher hasher(std::string(32, 'k'));
  CodeHasher other(std::string(32, 'o'));
  const std::string h = hasher.hash("us-east-1_Ab|sub-1|ConfirmSignUp", "123456");
  EXPECT_EQ(h.size(), 43u);
  EXPECT_EQ(h, hasher.hash("us-east-1_Ab|sub-1|ConfirmSignUp", "123456")) << "deterministic";
  EXPECT_TRUE(hasher.matches("us-east-1_Ab|sub-1|ConfirmSignUp", "123456", h));
  EXPECT_FALSE(hasher.matches("us-east-1_Ab|sub-1|ConfirmSignUp", "123457", h));
  EXPECT_FALSE(hasher.matches("us-east-1_Ab|sub-2|ConfirmSignUp", "123456", h));
  EXPECT_FALSE(hasher.matches("us-east-1_Ab|sub-1|ForgotPassword", "123456", h));
  EXPECT_FALSE(other.matches("us-east-1_Ab|sub-1|ConfirmSignUp", "123456", h));
  EXPECT_FALSE(hasher.matches("us-east-1_Ab|sub-1|ConfirmSignUp", "123456", h.substr(1)));
  EXPECT_FALSE(hasher.matches("us-east-1_Ab|sub-1|ConfirmSignUp", "123456", ""));
  // The scope is length-prefixed: moving a character between scope and code changes the hash.
  EXPECT_NE(hasher.hash("scope1", "23456"), hasher.hash("scope", "123456"));
  EXPECT_EQ(h.find_first_of("+/="), std::string::npos) << "base64url, no padding";
}

}  // namespace
}  // namespace tether::server::idp
