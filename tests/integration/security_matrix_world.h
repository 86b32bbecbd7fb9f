// The security matrix's world (security_matrix_test.cpp): the identities and credentials the
// cells use, the rows (one per operation of each surface, security_matrix_rows.cpp), the
// columns (credential kinds) and the runner that checks every cell.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "security_matrix_support.h"
#include "tether/protocol.h"

namespace tether::testing {
class TetherdProcess;
class TestOidcIssuer;
class WsTestClient;
}  // namespace tether::testing

namespace tether::testing::matrix {

// Credential kinds (columns). Which apply depends on the surface (sigv4Columns() etc.).
enum class Col {
  kNone, kOwn, kOtherIdentity, kOtherPool, kDeveloper,
  // SigV4 (and the native developer HMAC where it has a twin)
  kUnknownKey, kTamperedSessionToken, kExpiredCredentials, kWrongSecret, kWrongRegion, kWrongService,
  kSkewedDate, kScopeDate, kBodyChanged, kSignedHeaderChanged, kRetargeted, kUnsignedPayload,
  // JWTs (tetherd's own tokens: Logins["cognito-identity.amazonaws.com"], native authenticate)
  kJwtAlgNone, kJwtHs256PublicKey, kJwtWrongAudience, kJwtWrongIssuer, kJwtExpired, kJwtFutureNbf,
  kJwtUnknownKid, kJwtBadSignature, kJwtTamperedPayload,
};
std::string colName(Col c);

struct MatrixConfig {
  std::string p1, p2, provider, aud, devKey, devSecret, cognito, devProvider1, devProvider2;
};

// An identity with everything the cells need: its login, its OpenID token, its temporary
// credentials, two developer users (the first linked to it, the second with an identity of its
// own, for merges), a dataset with a record, and a registered device subscribed to it.
struct Target {
  std::string name, pool, identity;
  std::string oidcToken, cognitoToken;
  SigV4Key creds;
  std::string devUser, devUser2;
  std::string dataset = "d1", syncSessionToken, deviceId;
  std::shared_ptr<WsTestClient> conn;  // authenticated as this identity (made on demand)
};

enum class HttpSurface { kSync, kIdentitySigned, kIdentityDevice };
struct HttpRow {
  std::string op;
  HttpSurface surface;
  std::set<Col> allowed;
  int okStatus = 200;        // the answer to an allowed credential
  std::string okType;        // its error type when that answer is an error (BulkPublish)
  bool mutates = false;      // allowed cells run on a fresh target
  // The request for `t`; `login` = the token a device operation presents ("" = no Logins).
  std::function<HttpCall(const Target& t, const std::string& login)> build;
};

enum class NativeCred { kLogins, kToken, kDeveloperHmac, kSession };
struct NativeRow {
  std::string kind;          // the member name in sync.capnp's Request union
  NativeCred cred;
  std::set<Col> allowed;
  std::set<Col> scoped;      // answered for the caller's own identity; the target's rows unchanged
  bool mutates = false;
  // `credential`: the token (kLogins/kToken) or "" ; kDeveloperHmac rows are signed by the runner.
  std::function<proto::RequestBody(const Target& t, const std::string& credential, WsTestClient& conn)> build;
};

std::vector<HttpRow> httpRows(const MatrixConfig& c);
std::vector<NativeRow> nativeRows(const MatrixConfig& c);
std::set<std::string> identityRowNames();
std::set<std::string> syncRowNames();
std::set<std::string> nativeRowNames();
void compareRows(const std::string& surface, const std::set<std::string>& ops, const std::set<std::string>& rows,
                 std::vector<std::string>& missing, std::vector<std::string>& stale);
std::string join(const std::vector<std::string>& v);

// How the test reaches the store under the server: a snapshot of every row, and the secret
// store holding the server's keys (files in the data directory, or the database's meta table).
struct StoreAccess {
  std::function<std::vector<std::string>()> snapshot;
  server::auth::SecretStore* secrets = nullptr;
};

struct CellCounts {
  int denied = 0, allowed = 0, scoped = 0, notApplicable = 0;
};

class World {
 public:
  World(TetherdProcess& server, TestOidcIssuer& oidc, MatrixConfig config, StoreAccess store);
  ~World();
  bool setUp();
  const std::string& setupError() const { return error_; }
  CellCounts runAll();
  // Adds the server's own keys (signing key, session and credentials keys) to secrets().
  void collectServerSecrets();
  // (what, value) of every secret the matrix handled.
  const std::vector<std::pair<std::string, std::string>>& secrets() const { return secrets_; }

 private:
  bool makeTarget(const std::string& pool, const std::string& name, Target& out);
  std::shared_ptr<WsTestClient> connectAs(const std::string& token);
  void addSecret(const std::string& what, const std::string& value);
  void addToken(const std::string& what, const std::string& token);
  HttpReply identityCall(const std::string& op, const std::string& body, const SigV4Key* key);
  SigV4Key developerKey() const;
  std::string tokenFor(Col col, const Target& t);
  void runHttpCell(const HttpRow& row, Col col, CellCounts& n);
  void runNativeCell(const NativeRow& row, Col col, CellCounts& n);
  Target& fresh();
  std::vector<std::string> snapshotBefore();
  void checkUnchanged(const std::vector<std::string>& before);

  TetherdProcess& server_;
  TestOidcIssuer& oidc_;
  MatrixConfig c_;
  StoreAccess store_;
  std::string error_;
  Target a_, b_, c2_;  // the target, another identity of its pool, an identity of another pool
  std::unique_ptr<TokenForger> forger_;
  SigV4Key expired_, tampered_;
  std::shared_ptr<WsTestClient> anon_;  // never authenticated
  std::vector<std::unique_ptr<Target>> fresh_;
  std::vector<std::pair<std::string, std::string>> secrets_;
  bool allowedPhase_ = false;
  std::vector<std::string> last_;  // the store after the last denied cell
  bool lastValid_ = false;
};

}  // namespace tether::testing::matrix
