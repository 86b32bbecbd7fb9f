// Cross-check with an independent implementation: crypto_crosscheck.js recomputes, with Node's
// crypto module and BigInt only, the client half of SRP against our server handshake (the
// signature it produces must pass verifyPasswordClaim, and fail for a wrong password), verifies
// our RS256 token with our JWK and recomputes the kid, and computes TOTP codes, SECRET_HASH and
// the plaintexts of our sealed token and base64 forms from their documented layouts.
// Skipped when `node` is not on PATH.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "idp/crypto/crypto_util.h"
#include "idp/crypto/rs256_key.h"
#include "idp/crypto/sealer.h"
#include "idp/crypto/secret_hash.h"
#include "idp/crypto/srp.h"
#include "idp/crypto/srp_client.h"
#include "idp/crypto/srp_timestamp.h"
#include "idp/crypto/totp.h"
#include "result_test_util.h"
#include "temp_dir.h"

namespace tether::server::idp {
namespace {

using nlohmann::json;
using testing::textOf;

bool haveNode() { return std::system("command -v node > /dev/null 2>&1") == 0; }

// Runs the script on `input`; its stdout parsed as JSON (discarded on failure).
json runNode(const json& input, const std::filesystem::path& dir) {
  const std::filesystem::path in = dir / "input.json";
  std::ofstream(in) << input.dump();
  const std::string cmd = "node '" TETHER_SOURCE_ROOT "/tests/server/idp/crypto_crosscheck.js' '" + in.string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return json::value_t::discarded;
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) text.append(buf, n);
  int rc = ::pclose(pipe);
  EXPECT_EQ(rc, 0) << text;
  return json::parse(text, nullptr, false);
}

TEST(CryptoCrossCheckTest, NodeAgrees) {
  if (!haveNode()) GTEST_SKIP() << "node is not installed";
  server::testing::TempDir dir;
  const std::string pool = "Xy12Ab9Cd", user = "7d3c1e52-8f4a-4b7e-9c2d-0e1f2a3b4c5d", password = "Pässwörd 1!";

  // SRP: our verifier and server handshake, Node's client.
  srp::SrpVerifier stored = srp::createVerifier(pool, user, password);
  const std::string a = srp::newClientSecret();
  IDP_ASSERT_OK_AND_ASSIGN(const std::string srpA, srp::clientPublicHex(a));
  IDP_ASSERT_OK_AND_ASSIGN(srp::SrpHandshake hs, srp::beginHandshake(srpA, stored.verifier, user, 0));
  const std::string block = detail::randomBytes(700);
  const std::string ts = srp::formatTimestamp(1796175824);
  json srpCase = {{"aHex", detail::toHex(a)}, {"srpB", hs.srpBHex()}, {"salt", stored.saltHex}, {"poolName", pool},
                  {"user", user},  {"password", password}, {"secretBlock", auth::base64Encode(block)},
                  {"timestamp", ts}};
  json wrongCase = srpCase;
  wrongCase["password"] = "Pässwörd 2!";

  // RS256.
  IDP_ASSERT_OK_AND_ASSIGN(std::string pem, Rs256Key::newPem());
  IDP_ASSERT_OK_AND_ASSIGN(auto key, Rs256Key::fromPem(pem, "test"));
  const json claims = {{"sub", user}, {"token_use", "access"}, {"scope", "aws.cognito.signin.user.admin"}};
  const std::string token = textOf(key->sign(claims));

  // TOTP, SECRET_HASH, sealing.
  const std::string totpKey = detail::randomBytes(20);
  const std::string sealKey = detail::randomBytes(Sealer::kKeyBytes);
  IDP_ASSERT_OK_AND_ASSIGN(auto sealer, Sealer::create({{1, sealKey}}));
  const std::string plain = R"({"pool":"us-east-1_Xy12Ab9Cd","client":"c1","sub":"s"})";

  json input = {
      {"srp", {srpCase, wrongCase}},
      {"jwt", {{"token", token}, {"jwks", {{"keys", {key->publicJwk()}}}}}},
      {"totp", {{"keyHex", detail::toHex(totpKey)}, {"counters", {0, 1, 56805488, 4294967296LL}}, {"digits", 6}}},
      {"secretHash", {{"secret", "s3cr3t"}, {"username", "alice@example.com"}, {"clientId", "abcdefghijklmnopqrstuvwxyz"}}},
      {"sealed", {{"keyHex", detail::toHex(sealKey)}, {"associatedData", "refresh|p|c"},
                  {"token", textOf(sealer->sealToken(plain, "refresh|p|c"))},
                  {"base64", textOf(sealer->sealToBase64(plain, "refresh|p|c"))}}},
  };
  json out = runNode(input, dir.path());
  ASSERT_FALSE(out.is_discarded());

  ASSERT_EQ(out["srp"].size(), 2u);
  EXPECT_EQ(out["srp"][0]["k"], srp::multiplierHex());
  EXPECT_EQ(out["srp"][0]["srpA"], srpA);
  auto ok = srp::verifyPasswordClaim(hs, stored.verifier, pool, block, ts, out["srp"][0]["signature"].get<std::string>());
  EXPECT_TRUE(ok.isOk()) << ok.status();
  auto wrong = srp::verifyPasswordClaim(hs, stored.verifier, pool, block, ts, out["srp"][1]["signature"].get<std::string>());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);

  EXPECT_EQ(out["jwt"]["verified"], true);
  EXPECT_EQ(out["jwt"]["kid"], key->kid());
  EXPECT_EQ(out["jwt"]["headerText"], R"({"kid":")" + key->kid() + R"(","alg":"RS256"})");
  EXPECT_EQ(out["jwt"]["payload"], claims);

  const uint64_t counters[] = {0, 1, 56805488, 4294967296ULL};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out["totp"][i], totp::code(totpKey, counters[i])) << i;
  EXPECT_EQ(out["secretHash"], secretHash("s3cr3t", "alice@example.com", "abcdefghijklmnopqrstuvwxyz"));

  EXPECT_EQ(out["sealed"]["segments"], 5);
  EXPECT_EQ(out["sealed"]["header"], json({{"alg", "dir"}, {"enc", "A256GCM"}, {"kid", "1"}}));
  EXPECT_EQ(out["sealed"]["token"], plain);
  EXPECT_EQ(out["sealed"]["base64"], plain);
}

}  // namespace
}  // namespace tether::server::idp
