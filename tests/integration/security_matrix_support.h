// Pieces of the security matrix test (security_matrix_test.cpp): HTTP requests to the Cognito
// APIs signed with SigV4 and then forged on purpose (wrong secret, region, service, date, body,
// signed header, request, UNSIGNED-PAYLOAD), JWTs forged from tetherd's real tokens and key
// (alg none, HS256 keyed with the published public key, wrong aud/iss, expired, future nbf,
// unknown kid, bad signature, tampered payload), and a snapshot of every row of the store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cognito/sigv4_signer.h"
#include "http_test_client.h"

namespace tether::server::auth {
class SecretStore;
}  // namespace tether::server::auth

namespace tether::testing::matrix {

int64_t nowMs();
using tether::server::cognito::amzDate;  // cognito/sigv4_signer.h

// One Cognito HTTP request before signing. `segments` are the decoded path segments (empty:
// "/"); `target` the X-Amz-Target operation for Cognito Identity ("" for Cognito Sync).
struct HttpCall {
  std::string method = "POST";
  std::vector<std::string> segments;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  bool userPools = false;  // target is a Cognito User Pools (cognito-idp) operation
  std::string service() const { return target.empty() ? "cognito-sync" : userPools ? "cognito-idp" : "cognito-identity"; }
  std::string targetHeader() const {
    return (userPools ? "AWSCognitoIdentityProviderService." : "AWSCognitoIdentityService.") + target;
  }
};

struct SigV4Key {
  std::string accessKeyId;
  std::string secret;
  std::string sessionToken;  // empty for a developer credential
};

// What is done to a correctly signed request.
enum class Forgery {
  kNone,
  kWrongSecret,         // signed with another secret
  kWrongRegion,         // signature computed for eu-west-1, Authorization scope says us-east-1
  kWrongService,        // scope and signature for the other Cognito service
  kSkewedDate,          // X-Amz-Date (and scope) 10 minutes in the past, signed consistently
  kScopeDate,           // scope date two days before X-Amz-Date
  kBodyChanged,         // body changed after signing (no body: a query parameter added)
  kSignedHeaderChanged, // Host (a signed header) changed after signing
  kRetargeted,          // signature of another request (`signedAs`) on this one
  kUnsignedPayload,     // x-amz-content-sha256: UNSIGNED-PAYLOAD, signed with it
};

// Sends `call` to 127.0.0.1:port; key == nullptr: no Authorization at all.
HttpReply sendCognito(int port, const HttpCall& call, const SigV4Key* key, Forgery forgery = Forgery::kNone,
                      const HttpCall* signedAs = nullptr);
// The Authorization header of the last sendCognito on this thread ("" if it sent none).
const std::string& lastAuthorization();
// The error type of a reply: `__type` of the body (checked against x-amzn-ErrorType when both exist).
std::string errorType(const HttpReply& reply);

// Forged variants of tetherd's own OpenID tokens. `secrets`: the server's secret store (its
// signing key signs the "right key, wrong claim" variants); `jwks`: /.well-known/jwks.json.
class TokenForger {
 public:
  TokenForger(server::auth::SecretStore& secrets, const std::string& jwks);
  // `genuine`: a real token of the identity the forgeries claim to be (its claims are the base).
  std::string algNone(const std::string& genuine) const;
  std::string hs256WithPublicKey(const std::string& genuine) const;
  std::string wrongAudience(const std::string& genuine) const;
  std::string wrongIssuer(const std::string& genuine) const;
  std::string expired(const std::string& genuine) const;
  std::string futureNotBefore(const std::string& genuine) const;
  std::string unknownKid(const std::string& genuine) const;
  std::string badSignature(const std::string& genuine) const;
  std::string tamperedPayload(const std::string& genuine) const;  // exp + 1 day, old signature
  const std::string& publicKeyPem() const { return publicPem_; }

 private:
  std::string resign(const std::string& genuine, const std::string& claimPatchJson, const std::string& kid = "") const;
  server::auth::SecretStore& secrets_;
  std::string publicPem_;
};

// Every row of every table of the SQLite store in `dataDir`, as "table|v1|v2|..." lines, sorted.
std::vector<std::string> sqliteSnapshot(const std::filesystem::path& dataDir);
// The same for the tables of one PostgreSQL schema: one connection kept open, one statement
// (every row of every table as "table|json").
class PgSnapshot {
 public:
  PgSnapshot(const std::string& conninfo, const std::string& schema);
  ~PgSnapshot();
  std::vector<std::string> operator()();

 private:
  struct Conn;
  std::unique_ptr<Conn> conn_;
  std::string schema_, sql_;
};

}  // namespace tether::testing::matrix
