// AES-256-GCM sealing (idp/crypto/sealer.h): round trips in the raw, base64 (SECRET_BLOCK) and
// five-segment token (refresh token) forms; every flipped byte, truncation, extension, wrong
// associated data, wrong or unknown key, other version and other form is kUnauthenticated;
// key rotation by id.
#include "idp/crypto/sealer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "result_test_util.h"

namespace tether::server::idp {
namespace {

using testing::textOf;

std::unique_ptr<Sealer> makeSealer(std::vector<SealingKey> keys) {
  auto s = Sealer::create(std::move(keys));
  EXPECT_TRUE(s.isOk()) << s.status();
  return s.isOk() ? std::move(*s) : nullptr;
}
std::string keyBytes(char fill) { return std::string(Sealer::kKeyBytes, fill); }

std::vector<std::string> splitDots(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}
std::string joinDots(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}

bool unauthenticated(const Result<std::string>& r) {
  return !r.isOk() && r.status().code() == StatusCode::kUnauthenticated;
}

class SealerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Sealer> sealer_ = makeSealer({{1, keyBytes('k')}});
  const std::string ad_ = "srp|us-east-1_AbCdEf123|client1";
};

TEST_F(SealerTest, RoundTripsInEveryForm) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{830}, size_t{10000}}) {
    std::string plain(n, '\0');
    for (size_t i = 0; i < n; ++i) plain[i] = static_cast<char>(i * 31 + 7);
    auto raw = sealer_->seal(plain, ad_);
    ASSERT_TRUE(raw.isOk()) << raw.status();
    EXPECT_EQ(raw->size(), n + Sealer::kOverheadBytes);
    EXPECT_EQ(textOf(sealer_->open(*raw, ad_)), plain);
    auto b64 = sealer_->sealToBase64(plain, ad_);
    ASSERT_TRUE(b64.isOk());
    EXPECT_EQ(b64->size() % 4, 0u) << "padded standard base64";
    EXPECT_EQ(b64->find_first_of("-_."), std::string::npos);
    EXPECT_EQ(textOf(sealer_->openBase64(*b64, ad_)), plain);
    auto token = sealer_->sealToken(plain, ad_);
    ASSERT_TRUE(token.isOk());
    EXPECT_EQ(token->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
              std::string::npos);
    EXPECT_EQ(textOf(sealer_->openToken(*token, ad_)), plain);
  }
}

TEST_F(SealerTest, LayoutsAreAsDocumented) {
  std::string raw = textOf(sealer_->seal("hello", ad_));
  EXPECT_EQ(raw[0], 1) << "version";
  EXPECT_EQ(raw[1], 1) << "key id";
  std::string blob = auth::base64Decode(textOf(sealer_->sealToBase64("hello", ad_))).value_or("");
  EXPECT_EQ(blob.size(), 5 + Sealer::kOverheadBytes);
  EXPECT_EQ(blob.substr(0, 2), std::string("\x01\x01", 2));
  std::vector<std::string> seg = splitDots(textOf(sealer_->sealToken("hello", ad_)));
  ASSERT_EQ(seg.size(), 5u);
  EXPECT_EQ(nlohmann::json::parse(*auth::base64UrlDecode(seg[0])),
            nlohmann::json({{"alg", "dir"}, {"enc", "A256GCM"}, {"kid", "1"}}));
  EXPECT_TRUE(seg[1].empty());
  EXPECT_EQ(auth::base64UrlDecode(seg[2])->size(), Sealer::kNonceBytes);
  EXPECT_EQ(auth::base64UrlDecode(seg[3])->size(), 5u);
  EXPECT_EQ(auth::base64UrlDecode(seg[4])->size(), Sealer::kTagBytes);
  EXPECT_NE(textOf(sealer_->seal("hello", ad_)), raw) << "a fresh nonce every time";
}

TEST_F(SealerTest, EveryFlippedByteAndEveryTruncationFails) {
  const std::string raw = textOf(sealer_->seal("a refresh token payload", ad_));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit : {0x01, 0x80}) {
      std::string t = raw;
      t[i] = static_cast<char>(t[i] ^ bit);
      ASSERT_TRUE(unauthenticated(sealer_->open(t, ad_))) << "byte " << i;
      ASSERT_TRUE(unauthenticated(sealer_->openBase64(auth::base64Encode(t), ad_))) << "byte " << i;
    }
  }
  for (size_t n = 0; n < raw.size(); ++n) ASSERT_TRUE(unauthenticated(sealer_->open(raw.substr(0, n), ad_))) << n;
  EXPECT_TRUE(unauthenticated(sealer_->open(raw + "x", ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->open(raw.substr(1), ad_)));
}

TEST_F(SealerTest, AssociatedDataBindsTheValue) {
  const std::string raw = textOf(sealer_->seal("payload", ad_));
  EXPECT_TRUE(unauthenticated(sealer_->open(raw, "")));
  EXPECT_TRUE(unauthenticated(sealer_->open(raw, ad_ + "x")));
  EXPECT_TRUE(unauthenticated(sealer_->open(raw, "refresh|us-east-1_AbCdEf123|client1")));
  const std::string token = textOf(sealer_->sealToken("payload", ""));
  EXPECT_TRUE(sealer_->openToken(token, "").isOk());
  EXPECT_TRUE(unauthenticated(sealer_->openToken(token, std::string(1, '\0'))));
}

TEST_F(SealerTest, WrongOrUnknownKeyFails) {
  auto other = makeSealer({{1, keyBytes('o')}});
  auto otherId = makeSealer({{7, keyBytes('k')}});
  const std::string raw = textOf(sealer_->seal("payload", ad_));
  const std::string token = textOf(sealer_->sealToken("payload", ad_));
  EXPECT_TRUE(unauthenticated(other->open(raw, ad_))) << "same id, other key";
  EXPECT_TRUE(unauthenticated(other->openToken(token, ad_)));
  EXPECT_TRUE(unauthenticated(otherId->open(raw, ad_))) << "same key under another id";
  EXPECT_TRUE(unauthenticated(otherId->openToken(token, ad_)));
  std::string relabeled = raw;
  relabeled[1] = 7;
  EXPECT_TRUE(unauthenticated(otherId->open(relabeled, ad_))) << "the key id is authenticated";
}

TEST_F(SealerTest, TokenSegmentsAreAllChecked) {
  const std::string token = textOf(sealer_->sealToken("payload-one", ad_));
  const std::vector<std::string> seg = splitDots(token);
  const std::vector<std::string> seg2 = splitDots(textOf(sealer_->sealToken("payload-two", ad_)));
  for (size_t i : {2, 3, 4}) {  // nonce, ciphertext, tag
    std::vector<std::string> t = seg;
    t[i] = seg2[i];
    EXPECT_TRUE(unauthenticated(sealer_->openToken(joinDots(t), ad_))) << "segment " << i << " swapped";
  }
  for (size_t i : {0, 2, 3, 4}) {
    std::vector<std::string> t = seg;
    t[i][0] = t[i][0] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(unauthenticated(sealer_->openToken(joinDots(t), ad_))) << "segment " << i << " altered";
  }
  std::vector<std::string> t = seg;
  t[1] = "AAAA";
  EXPECT_TRUE(unauthenticated(sealer_->openToken(joinDots(t), ad_))) << "an encrypted key";
  t = seg;
  t[0] = auth::base64UrlEncode(R"({"alg":"dir","enc":"A256GCM","kid":"2"})");
  EXPECT_TRUE(unauthenticated(sealer_->openToken(joinDots(t), ad_))) << "unknown kid";
  t = seg;
  t[0] = auth::base64UrlEncode(R"({"enc":"A256GCM","alg":"dir","kid":"1"})");
  EXPECT_TRUE(unauthenticated(sealer_->openToken(joinDots(t), ad_))) << "another spelling of the header";
  EXPECT_TRUE(unauthenticated(sealer_->openToken(token + ".", ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openToken(token + ".AAAA", ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openToken(token.substr(0, token.rfind('.')), ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openToken("", ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openToken("....", ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openToken(std::string(Sealer::kMaxSealedBytes * 2, 'A'), ad_)));
}

TEST_F(SealerTest, FormsDoNotConvert) {
  // The token's nonce, ciphertext and tag reassembled into the raw layout do not open, and the
  // base64 form does not open as a token or vice versa.
  std::vector<std::string> seg = splitDots(textOf(sealer_->sealToken("payload", ad_)));
  std::string raw = std::string("\x01\x01", 2) + *auth::base64UrlDecode(seg[2]) + *auth::base64UrlDecode(seg[3]) +
                    *auth::base64UrlDecode(seg[4]);
  EXPECT_TRUE(unauthenticated(sealer_->open(raw, ad_)));
  std::string blob = textOf(sealer_->sealToBase64("payload", ad_));
  EXPECT_TRUE(unauthenticated(sealer_->openToken(blob, ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openBase64(joinDots(seg), ad_)));
  // Base64 spelling is strict: the URL alphabet or a missing pad is not the same value.
  std::string url = blob;
  for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
  if (url != blob) {
    EXPECT_TRUE(unauthenticated(sealer_->openBase64(url, ad_)));
  }
  EXPECT_TRUE(unauthenticated(sealer_->openBase64(blob + "====", ad_)));
  EXPECT_TRUE(unauthenticated(sealer_->openBase64("not base64!", ad_)));
}

TEST(SealerRotationTest, NewestSealsAndEveryKeyOpens) {
  auto old = makeSealer({{1, keyBytes('1')}});
  auto rotated = makeSealer({{1, keyBytes('1')}, {2, keyBytes('2')}});
  EXPECT_EQ(rotated->sealingKeyId(), 2);
  const std::string fromOld = textOf(old->sealToken("x", "ad"));
  const std::string fromNew = textOf(rotated->sealToken("x", "ad"));
  EXPECT_EQ(textOf(rotated->openToken(fromOld, "ad")), "x") << "old values still open";
  EXPECT_EQ(textOf(rotated->openToken(fromNew, "ad")), "x");
  EXPECT_TRUE(unauthenticated(old->openToken(fromNew, "ad"))) << "an old node does not know key 2";
  EXPECT_EQ(textOf(rotated->seal("x", "ad"))[1], 2);
}

TEST(SealerRotationTest, CreateChecksTheKeys) {
  EXPECT_EQ(Sealer::create({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sealer::create({{0, keyBytes('a')}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sealer::create({{1, std::string(31, 'a')}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sealer::create({{1, std::string(33, 'a')}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sealer::create({{3, keyBytes('a')}, {3, keyBytes('b')}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Sealer::create({{255, keyBytes('a')}}).isOk());
}

TEST(SealerLimitsTest, OversizedInputIsRefused) {
  auto s = makeSealer({{1, keyBytes('k')}});
  EXPECT_EQ(s->seal(std::string(Sealer::kMaxSealedBytes, 'x'), "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->sealToken(std::string(Sealer::kMaxSealedBytes, 'x'), "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s->seal(std::string(Sealer::kMaxSealedBytes - Sealer::kOverheadBytes, 'x'), "").isOk());
  EXPECT_TRUE(unauthenticated(s->open(std::string(Sealer::kMaxSealedBytes + 1, '\x01'), "")));
  EXPECT_TRUE(unauthenticated(s->openBase64(std::string(Sealer::kMaxSealedBytes * 2, 'A'), "")));
}

}  // namespace
}  // namespace tether::server::idp
