// SRP-6a as amazon-cognito-identity-js computes it (idp/crypto/srp.h, srp_client.h,
// srp_timestamp.h): every value of spec Appendix A.1, the server and client derivations agreeing
// on them, the rejection cases (a zero-padded day, a wrong weekday, a flipped SECRET_BLOCK byte,
// a wrong password, A mod N == 0), tolerant but bounded hex input, the handshake's serialized
// form, and the USER_PASSWORD_AUTH check against a stored verifier.
#include "idp/crypto/srp.h"

#include <gtest/gtest.h>

#include <openssl/bn.h>

#include <set>
#include <string>

#include "auth/base64url.h"
#include "idp/crypto/crypto_util.h"
#include "idp/crypto/srp_client.h"
#include "idp/crypto/srp_timestamp.h"

namespace tether::server::idp::srp {
namespace {

using detail::toHex;

// ---- Appendix A.1
constexpr const char* kPoolName = "AbCdEf123";  // from us-east-1_AbCdEf123
constexpr const char* kUser = "alice";
constexpr const char* kPassword = "Passw0rd!";
constexpr const char* kSaltHex = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
constexpr const char* kSecretBlockB64 =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
constexpr const char* kTimestamp = "Tue Jan 2 03:04:05 UTC 2024";
constexpr int64_t kTimestampSeconds = 1704164645;
constexpr const char* kK = "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6";
constexpr const char* kPadHexSalt = "00f0e1d2c3b4a5968778695a4b3c2d1e0f";
constexpr const char* kX = "b374ca9d60ca00f407bddc73baa243215a8adf0f8582f38be31bb474ecd9d68e";
constexpr const char* kU = "8feda8b6ddac4d8ea4c1080c05fff2177a12a7a4b4f5f0c64bbb03a5d93bac3f";
constexpr const char* kHkdfKeyHex = "6b6d2e891b6f53eb4eee9f8ec48e5d3c";
constexpr const char* kSignature = "NszycSiLGFk3jgB6YUC6DnRnuN/GuBjsVS2wzyNZCts=";
constexpr const char* kPadHexV =
    "00a54e8b9dcc636d014155e1ab49e7d92f453f26e91a539b2b8ef13054577937cddef789cec3bb855730f8b750a3b495"
    "274348bcae7a918801b3fa00a8604b1764f88dac2a376433bc9a35a9c0afe3bbe189be5cfd3c1d59adf8d14552e01a85"
    "fa1e0af247b7533d18c4b43a7204cc4bd0a0c2acf48bd2627c821a7226aeb69a4176427c549009cac801905d7d5d7744"
    "eeaa86b7797e0347038b874da558b4c58724464f4fdaa755bd6f088d4ef8d7eb916c2bf192e377dbc211de0242720d27"
    "b85d6d272e993f3f32f6d5bea9eab88299d182ba3b36a4c00d0ce095ce0d00f590d518b8c58849102a6cb5424c285868"
    "b081c33197461b1d08352f6b71c58b13302705423491c13dc236834b96e31013406b6bdc84e34879570aa161c1d2f112"
    "83f465f319b174abe5994661361110f6ee99cf7d3c9b51c4b5e4bd7e3a3450543c92bcfe0ee155c628b01c13dad12b70"
    "f2c35a4fa3f4b7016deb903cbe91936c8492b56320c1ebe8d01998a2a59cf2d6f25027590868e9e545e533d2cc115e1e"
    "1d";
constexpr const char* kSrpA =
    "c02a160ecd7f774f857baa05bd1b2ad7aebfaa860706eab803d36b0a02519016df15f42bf0bba4ebb0cf36bb07f07777"
    "120e6cbb168a37bb685b5cb5bf13ed99bed6b6c2fdacd62a1fb99ba64da85256970fbbc9f12c68081ca066770fe7d2a6"
    "475855dbb19243d35fa6e63616e8f32c21d5d830c3acb99ef28b416f20e1acdf8e40d4242b7cfeb5864a5123e5fbacb2"
    "ce223f08e586910a9e81de64100acf751f366b14d5ce00bc22ca5c79db8dd8d2e0d9f68f19304f1f748cec8cbeb51865"
    "96ed35f2088b33152191016395308af48c9fb016e0edf8526989a3a50e9b1c95830ee17bae1ff9834c3915b87ba4cd85"
    "00635528440ae81099dd2ee4141751d0dba5e7cf0163a68241312fb1a239b8553404781a623208993b7b803bce0f7fa0"
    "2f2fe992ed654c3efbea01ed7db620ba4b505bd072ab387d0a0f08ed9e5d7fec9bfbc22d7a5129580eca4c2a933f6f7a"
    "aa18a1e4f3f48c27973296b5bef6af7a4b8291daf65a98ca40ad75b6c52c6a0030d423a19a1870467123d843146b2d63";
constexpr const char* kSrpB =
    "fd2f66feca51d002f081a7869fcebeda4b7ebc3ec6bf588ae045842a75005e82500843504dbf25429c2e2d19d9293109"
    "286385b0587e23df157342c5b4e7149622805ec49143b8ffd94f0b76ae3f9db5634e3d96e1d4db8ca41ae63ec7d24457"
    "2ec45f3f4145b98502aa4e53ce58a6036adb14bc30237cb0653b83cd9c3885bdcc53669c5fc0894644d7dfb54b6ae94c"
    "584c3734e9a6ceb5ee4c6e73844cf673432903462a3a496cd1ea6b52300d732d5e8157fbda74dd37c4501baf0d49f285"
    "dae0dd67747fea51c6497ac664742fb1c0135155a47ec9ad101e232fac9a4fd6becf9acc49bca13649c89200786c475c"
    "49455abe6aa6ec6e5e890cd9c0f6b2157dea54a777dc29092e0b732c0d9559c5a555260d1adb9e68ddce58dd8335852b"
    "c5cc32688fe9aacc3f6b6c0d79e5a66be1aa16935706acfcc899e8c1563c39395cca143a7c110c563631dd2f2b2ae371"
    "d5913245f2890903f96f14f4fcfa8faa4b12748754367ccda707261fb0c416aa33eed1986000482972c7069e6714ee6f";
constexpr const char* kPadHexS =
    "00f467541f2fcf7404cf4deec2981e2976b8881cc9006d23144e7a57b167ff2ac71622b72e07c66b3574c9ba7306efb8"
    "c3ab32318a3782bcc663e5483ec087d9695fb789f3c5879a49d54ea997df30d8de8789f61cd5eb08c2252b32c580f898"
    "36082f60f43848d86bf21e6d23ba7f4c1db9e3b2c465e2d700b404853e71f68784a6edc09e809db01b73da6d7141966b"
    "21d8f7e37b39cded76ae12e8de7322cec1c8ea0f4a8c29c8f396b4e53d6325469335461e9e09ee1d09cfc2ee21faf7f4"
    "debb126ec8da6e2da30aea5489b83bb62d78cf721cbca11e6f97524be6300538046042b139727d88c28be91cfcc0dc4e"
    "0813e86ba015266618375f0f0a853e0dd7ee507366399aaea5a2d4d27d2c6c4edf64dd964d9ee0e8e01d7237997862e0"
    "737be5ffd161f24f47fc2fa64c3fa2c67f78238faa15e265635fb17218b936eff773ee6bae7920e8639aba90957695dd"
    "36c60e8ebd9ba2a070f15f85f82e289ec8a9711540692de49e88d693e64200df7819957c742a275a15e722aeafae84b6"
    "e0";

const std::string kA(128, static_cast<char>(0xa1));

// The value of `r`, or `fallback` if it is an error (keeps one-line expectations readable).
template <class T, class U>
T valueOr(const Result<T>& r, U fallback) {
  return r.isOk() ? *r : T(fallback);
}
const std::string kB(32, static_cast<char>(0xb2));

std::string secretBlock() {
  std::string bytes;
  for (int i = 0; i < 64; ++i) bytes += static_cast<char>(i);
  return bytes;
}

std::string fromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// The stored verifier of the vector user (padHex(v) without its leading 00).
std::string vectorVerifier() { return fromHex(std::string(kPadHexV).substr(2)); }

SrpHandshake vectorHandshake() {
  auto h = beginHandshakeWithSecret(kSrpA, vectorVerifier(), kUser, 1700000000, kB);
  EXPECT_TRUE(h.isOk()) << h.status();
  return h.isOk() ? *h : SrpHandshake{};
}

std::string nHex() {
  BIGNUM* n = BN_get_rfc3526_prime_3072(nullptr);
  char* hex = BN_bn2hex(n);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(n);
  return out;
}

TEST(SrpVectorTest, MultiplierK) { EXPECT_EQ(multiplierHex(), kK); }

TEST(SrpVectorTest, PadHexRules) {
  EXPECT_EQ(valueOr(padHex(kSaltHex), "?"), kPadHexSalt);
  EXPECT_EQ(valueOr(padHex("14"), "?"), "14");    // 20
  EXPECT_EQ(valueOr(padHex("ec"), "?"), "00ec");  // 236
  EXPECT_EQ(valueOr(padHex("c8"), "?"), "00c8");  // 200
  EXPECT_EQ(valueOr(padHex("0"), "?"), "00");
  EXPECT_EQ(valueOr(padHex("abc"), "?"), "0abc") << "odd length";
  EXPECT_EQ(valueOr(padHex("8bc"), "?"), "08bc") << "odd length: the 0 in front clears the top bit";
  EXPECT_EQ(valueOr(padHex("F0E1D2C3B4A5968778695A4B3C2D1E0F"), "?"), kPadHexSalt) << "upper case";
  EXPECT_EQ(valueOr(padHex("0000f0e1d2c3b4a5968778695a4b3c2d1e0f"), "?"), kPadHexSalt) << "leading zeros";
  EXPECT_EQ(valueOr(padHex(std::string(kSrpA)), "?"), "00" + std::string(kSrpA));
}

TEST(SrpVectorTest, PrivateKeyXAndVerifier) {
  EXPECT_EQ(toHex(detail::sha256("AbCdEf123alice:Passw0rd!")),
            "1841e557afbac12fa01869c48fd832a47691bb73657c9cf9517315c3c4e8f801");
  EXPECT_EQ(valueOr(privateKeyHex(kSaltHex, kPoolName, kUser, kPassword), "?"), kX);
  auto v = verifierWithSalt(kSaltHex, kPoolName, kUser, kPassword);
  ASSERT_TRUE(v.isOk()) << v.status();
  EXPECT_EQ(v->saltHex, kSaltHex);
  ASSERT_EQ(v->verifier.size(), kValueBytes);
  EXPECT_EQ("00" + toHex(v->verifier), kPadHexV);
}

TEST(SrpVectorTest, ClientPublicAAndServerB) {
  EXPECT_EQ(valueOr(clientPublicHex(kA), "?"), kSrpA);
  SrpHandshake h = vectorHandshake();
  EXPECT_EQ(h.srpBHex(), kSrpB);
  EXPECT_EQ(toHex(h.clientA), kSrpA);
  EXPECT_EQ(h.userIdForSrp, kUser);
}

TEST(SrpVectorTest, UAndSBothWaysAndTheKey) {
  auto server = deriveServerKey(vectorHandshake(), vectorVerifier());
  ASSERT_TRUE(server.isOk()) << server.status();
  EXPECT_EQ(server->uHex, kU);
  EXPECT_EQ(server->sPadHex, kPadHexS) << "S = (A * v^u)^b mod N";
  EXPECT_EQ(toHex(server->key), kHkdfKeyHex);

  auto client = deriveClientKey(kA, kSrpB, kSaltHex, kPoolName, kUser, kPassword);
  ASSERT_TRUE(client.isOk()) << client.status();
  EXPECT_EQ(client->uHex, kU);
  EXPECT_EQ(client->sPadHex, kPadHexS) << "S = (B - k*g^x)^(a + u*x) mod N";
  EXPECT_EQ(toHex(client->key), kHkdfKeyHex);
}

TEST(SrpVectorTest, SignatureAndItsCheck) {
  std::optional<std::string> block = auth::base64Decode(kSecretBlockB64);
  ASSERT_TRUE(block.has_value());
  ASSERT_EQ(*block, secretBlock());
  EXPECT_EQ(claimSignature(fromHex(kHkdfKeyHex), kPoolName, kUser, *block, kTimestamp), kSignature);
  auto when = verifyPasswordClaim(vectorHandshake(), vectorVerifier(), kPoolName, *block, kTimestamp, kSignature);
  ASSERT_TRUE(when.isOk()) << when.status();
  EXPECT_EQ(*when, kTimestampSeconds);
}

TEST(SrpVectorTest, RejectionCases) {
  const SrpHandshake h = vectorHandshake();
  const std::string v = vectorVerifier();
  const std::string block = secretBlock();
  auto rejected = [&](std::string_view pool, std::string_view blk, std::string_view ts, std::string_view sig) {
    auto r = verifyPasswordClaim(h, v, pool, blk, ts, sig);
    return !r.isOk() && r.status().code() == StatusCode::kUnauthenticated;
  };
  ASSERT_FALSE(rejected(kPoolName, block, kTimestamp, kSignature)) << "the baseline passes";

  // A zero-padded day, even with the signature computed over that very string.
  const std::string padded = "Tue Jan 02 03:04:05 UTC 2024";
  EXPECT_TRUE(rejected(kPoolName, block, padded, kSignature));
  EXPECT_TRUE(rejected(kPoolName, block, padded, claimSignature(fromHex(kHkdfKeyHex), kPoolName, kUser, block, padded)));
  // The wrong weekday, likewise.
  const std::string monday = "Mon Jan 2 03:04:05 UTC 2024";
  EXPECT_TRUE(rejected(kPoolName, block, monday, claimSignature(fromHex(kHkdfKeyHex), kPoolName, kUser, block, monday)));
  // A flipped SECRET_BLOCK byte.
  std::string flipped = block;
  flipped[17] = static_cast<char>(flipped[17] ^ 0x01);
  EXPECT_TRUE(rejected(kPoolName, flipped, kTimestamp, kSignature));
  // Another (well-formed) timestamp than the one signed.
  EXPECT_TRUE(rejected(kPoolName, block, "Tue Jan 2 03:04:06 UTC 2024", kSignature));
  // Another pool name.
  EXPECT_TRUE(rejected("AbCdEf124", block, kTimestamp, kSignature));
  // A wrong password: the client's key differs, so does its signature.
  auto wrong = deriveClientKey(kA, kSrpB, kSaltHex, kPoolName, kUser, "Passw0rd?");
  ASSERT_TRUE(wrong.isOk());
  EXPECT_NE(toHex(wrong->key), kHkdfKeyHex);
  EXPECT_TRUE(rejected(kPoolName, block, kTimestamp, claimSignature(wrong->key, kPoolName, kUser, block, kTimestamp)));
  // Signature spelling: truncated, URL alphabet, empty.
  EXPECT_TRUE(rejected(kPoolName, block, kTimestamp, std::string(kSignature).substr(0, 43)));
  EXPECT_TRUE(rejected(kPoolName, block, kTimestamp, "NszycSiLGFk3jgB6YUC6DnRnuN_GuBjsVS2wzyNZCts="));
  EXPECT_TRUE(rejected(kPoolName, block, kTimestamp, ""));
  // The handshake issued for another user.
  SrpHandshake other = h;
  other.userIdForSrp = "bob";
  EXPECT_EQ(verifyPasswordClaim(other, v, kPoolName, block, kTimestamp, kSignature).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(SrpHandshakeTest, RejectsAModNZero) {
  const std::string v = vectorVerifier();
  const std::string n = nHex();
  ASSERT_EQ(n.size(), 768u);
  auto expectUnauth = [&](const std::string& a) {
    auto h = beginHandshake(a, v, kUser, 0);
    EXPECT_EQ(h.status().code(), StatusCode::kUnauthenticated) << a.substr(0, 16);
  };
  expectUnauth("0");
  expectUnauth("0000");
  expectUnauth(n);
  BIGNUM* twoN = nullptr;
  BN_hex2bn(&twoN, n.c_str());
  BN_lshift1(twoN, twoN);
  char* twoNHex = BN_bn2hex(twoN);
  expectUnauth(twoNHex);
  OPENSSL_free(twoNHex);
  BN_free(twoN);
}

TEST(SrpHandshakeTest, HexInputIsTolerantButBounded) {
  const std::string v = vectorVerifier();
  const std::string upper = [] {
    std::string s = kSrpA;
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }();
  for (const std::string& a : {upper, "000" + std::string(kSrpA), "0" + std::string(kSrpA)}) {
    auto h = beginHandshakeWithSecret(a, v, kUser, 0, kB);
    ASSERT_TRUE(h.isOk()) << h.status();
    EXPECT_EQ(h->srpBHex(), kSrpB);
    auto key = deriveServerKey(*h, v);
    ASSERT_TRUE(key.isOk());
    EXPECT_EQ(toHex(key->key), kHkdfKeyHex) << "u is over padHex(A), whatever the spelling";
  }
  auto code = [&](const std::string& a) { return beginHandshake(a, v, kUser, 0).status().code(); };
  EXPECT_EQ(code(""), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("xyz"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("-1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("12 34"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("0x1234"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(std::string(kSrpA) + "g"), StatusCode::kInvalidArgument);
  // Leading zeros are fine up to the bound, and the bound holds even for a small value.
  EXPECT_EQ(code(std::string(kMaxPublicHexChars - 768, '0') + std::string(kSrpA)), StatusCode::kOk);
  EXPECT_EQ(code(std::string(kMaxPublicHexChars + 1 - 768, '0') + std::string(kSrpA)), StatusCode::kInvalidArgument)
      << "absurd length";
  EXPECT_EQ(code(std::string(769, 'f')), StatusCode::kInvalidArgument) << "A >= N";
  EXPECT_EQ(code(std::string(1u << 20, '1')), StatusCode::kInvalidArgument) << "a megabyte of hex";
}

TEST(SrpHandshakeTest, BadStoredVerifierOrUserIsTyped) {
  EXPECT_EQ(beginHandshake(kSrpA, "short", kUser, 0).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(beginHandshake(kSrpA, std::string(kValueBytes, '\0'), kUser, 0).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(beginHandshake(kSrpA, std::string(kValueBytes, '\xff'), kUser, 0).status().code(), StatusCode::kCorruption)
      << "v >= N";
  EXPECT_EQ(beginHandshake(kSrpA, vectorVerifier(), "", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(beginHandshake(kSrpA, vectorVerifier(), std::string(kMaxUserIdBytes + 1, 'u'), 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(beginHandshakeWithSecret(kSrpA, vectorVerifier(), kUser, 0, "short").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(deriveServerKey(vectorHandshake(), "short").status().code(), StatusCode::kCorruption);
}

TEST(SrpHandshakeTest, SerializeParseRoundTripAndStrictness) {
  SrpHandshake h = vectorHandshake();
  h.expiresAt = 1704164645;
  std::string bytes = h.serialize();
  auto back = SrpHandshake::parse(bytes);
  ASSERT_TRUE(back.isOk()) << back.status();
  EXPECT_EQ(back->userIdForSrp, h.userIdForSrp);
  EXPECT_EQ(back->expiresAt, h.expiresAt);
  EXPECT_EQ(back->clientA, h.clientA);
  EXPECT_EQ(back->serverB, h.serverB);
  EXPECT_EQ(back->secretB, h.secretB);
  SrpHandshake negative = h;
  negative.expiresAt = -5;
  EXPECT_EQ(SrpHandshake::parse(negative.serialize())->expiresAt, -5);

  auto rejects = [](const std::string& b) {
    return SrpHandshake::parse(b).status().code() == StatusCode::kUnauthenticated;
  };
  EXPECT_TRUE(rejects(""));
  EXPECT_TRUE(rejects(bytes.substr(0, bytes.size() - 1))) << "truncated";
  EXPECT_TRUE(rejects(bytes + "x")) << "trailing byte";
  std::string version = bytes;
  version[0] = 2;
  EXPECT_TRUE(rejects(version));
  std::string longer = bytes;
  longer[2] = static_cast<char>(longer[2] + 1);  // user length one more than present
  EXPECT_TRUE(rejects(longer));
  std::string noUser = bytes;
  noUser[1] = 0;
  noUser[2] = 0;
  EXPECT_TRUE(rejects(noUser));
}

TEST(SrpPasswordTest, CheckPasswordAgainstTheStoredVerifier) {
  auto stored = verifierWithSalt(kSaltHex, kPoolName, kUser, kPassword);
  ASSERT_TRUE(stored.isOk());
  EXPECT_EQ(valueOr(checkPassword(*stored, kPoolName, kUser, kPassword), false), true);
  EXPECT_EQ(valueOr(checkPassword(*stored, kPoolName, kUser, "Passw0rd"), true), false);
  EXPECT_EQ(valueOr(checkPassword(*stored, kPoolName, kUser, "passw0rd!"), true), false);
  EXPECT_EQ(valueOr(checkPassword(*stored, kPoolName, "Alice", kPassword), true), false) << "user is in x";
  EXPECT_EQ(valueOr(checkPassword(*stored, "AbCdEf12", kUser, kPassword), true), false) << "pool is in x";

  SrpVerifier badSalt = *stored;
  badSalt.saltHex = "not hex";
  EXPECT_EQ(checkPassword(badSalt, kPoolName, kUser, kPassword).status().code(), StatusCode::kCorruption);
  SrpVerifier badV = *stored;
  badV.verifier.pop_back();
  EXPECT_EQ(checkPassword(badV, kPoolName, kUser, kPassword).status().code(), StatusCode::kCorruption);
}

TEST(SrpPasswordTest, FreshVerifiersHaveFreshSalts) {
  std::set<std::string> salts;
  for (int i = 0; i < 5; ++i) {
    SrpVerifier v = createVerifier(kPoolName, kUser, kPassword);
    EXPECT_EQ(v.saltHex.size(), 2 * kSaltBytes);
    EXPECT_EQ(v.verifier.size(), kValueBytes);
    EXPECT_TRUE(salts.insert(v.saltHex).second);
    EXPECT_EQ(valueOr(checkPassword(v, kPoolName, kUser, kPassword), false), true);
  }
}

// A whole sign-in with random a, b and salt, as a real client and server run it.
TEST(SrpPasswordTest, RandomSignInEndToEnd) {
  for (int round = 0; round < 3; ++round) {
    SrpVerifier stored = createVerifier("Pool9", "u-" + std::to_string(round), "correct horse");
    std::string a = newClientSecret();
    auto srpA = clientPublicHex(a);
    ASSERT_TRUE(srpA.isOk());
    auto h = beginHandshake(*srpA, stored.verifier, "u-" + std::to_string(round), 123);
    ASSERT_TRUE(h.isOk()) << h.status();
    std::string block = detail::randomBytes(100);
    std::string ts = formatTimestamp(1764639824 + round * 86400 * 9);
    for (const char* password : {"correct horse", "wrong horse"}) {
      auto key = deriveClientKey(a, h->srpBHex(), stored.saltHex, "Pool9", h->userIdForSrp, password);
      ASSERT_TRUE(key.isOk()) << key.status();
      std::string sig = claimSignature(key->key, "Pool9", h->userIdForSrp, block, ts);
      auto r = verifyPasswordClaim(*h, stored.verifier, "Pool9", block, ts, sig);
      EXPECT_EQ(r.isOk(), std::string(password) == "correct horse") << password << " " << r.status();
    }
    auto again = SrpHandshake::parse(h->serialize());
    ASSERT_TRUE(again.isOk());
    auto key = deriveClientKey(a, again->srpBHex(), stored.saltHex, "Pool9", again->userIdForSrp, "correct horse");
    ASSERT_TRUE(key.isOk());
    EXPECT_TRUE(verifyPasswordClaim(*again, stored.verifier, "Pool9", block, ts,
                                    claimSignature(key->key, "Pool9", again->userIdForSrp, block, ts))
                    .isOk())
        << "the handshake survives its serialized form";
  }
}

TEST(SrpTimestampTest, CanonicalFormsParse) {
  EXPECT_EQ(valueOr(parseTimestamp(kTimestamp), -1), kTimestampSeconds);
  EXPECT_EQ(formatTimestamp(kTimestampSeconds), kTimestamp);
  EXPECT_EQ(valueOr(parseTimestamp("Wed Dec 2 01:43:44 UTC 2026"), -1), 1796175824) << "captured";
  EXPECT_EQ(valueOr(parseTimestamp("Thu Jan 1 00:00:00 UTC 1970"), -1), 0);
  EXPECT_EQ(valueOr(parseTimestamp("Thu Feb 29 12:00:00 UTC 2024"), -1), 1709208000) << "leap day";
  EXPECT_EQ(valueOr(parseTimestamp("Sun Dec 31 23:59:59 UTC 2023"), -1), 1704067199);
  EXPECT_EQ(valueOr(parseTimestamp("Fri Dec 31 23:59:59 UTC 9999"), -1), 253402300799);
}

TEST(SrpTimestampTest, FormatAndParseAgreeOverManyDates) {
  for (int64_t t = 0; t < 4102444800; t += 86400 * 3 + 3607) {  // 1970..2100, every hour and weekday
    std::string s = formatTimestamp(t);
    auto back = parseTimestamp(s);
    ASSERT_TRUE(back.isOk()) << s << ": " << back.status();
    ASSERT_EQ(*back, t) << s;
  }
}

TEST(SrpTimestampTest, RejectsEverythingElse) {
  for (const char* s : {
           "Tue Jan 02 03:04:05 UTC 2024",   // zero-padded day
           "Mon Jan 2 03:04:05 UTC 2024",    // wrong weekday
           "Tue Jan  2 03:04:05 UTC 2024",   // two spaces
           "tue Jan 2 03:04:05 UTC 2024",    // lower case
           "Tue JAN 2 03:04:05 UTC 2024",
           "Tue Jan 2 3:04:05 UTC 2024",     // unpadded hour
           "Tue Jan 2 03:4:05 UTC 2024",
           "Tue Jan 2 03:04:05 GMT 2024",
           "Tue Jan 2 03:04:05 UTC 24",
           "Tue Jan 2 03:04:05 UTC 02024",
           "Tue Jan 2 03:04:05 UTC 2024 ",
           " Tue Jan 2 03:04:05 UTC 2024",
           "Tue Jan 2 24:00:00 UTC 2024",
           "Tue Jan 2 03:60:05 UTC 2024",
           "Tue Jan 2 03:04:60 UTC 2024",    // no leap seconds
           "Wed Feb 29 12:00:00 UTC 2023",   // no such day
           "Sat Apr 31 12:00:00 UTC 2024",
           "Sun Jan 0 12:00:00 UTC 2024",
           "Wed Dec 31 23:59:59 UTC 1969",   // before the epoch
           "Tue Jan 2 03:04:05+UTC 2024",
           "Tue Jan 2 03:04:05 UTC 2O24",
           "Tue Jan 2 03-04-05 UTC 2024",
           "Tue, Jan 2 03:04:05 UTC 2024",
           "2024-01-02T03:04:05Z",
           "",
       }) {
    EXPECT_EQ(parseTimestamp(s).status().code(), StatusCode::kInvalidArgument) << s;
  }
  EXPECT_EQ(parseTimestamp(std::string_view("Tue Jan 2 03:04:05 UTC 202\0", 27)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tether::server::idp::srp
