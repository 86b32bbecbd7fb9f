// AppClientConfig: an app client's settings (spec cognito-user-pools.md 4.12, 4.4, 6.4, 7), kept
// as the normalized AWS `UserPoolClientType` JSON plus the typed view the operations act on.
// Built from CreateUserPoolClient/UpdateUserPoolClient (validated, defaults filled in; Update
// resets omitted members to their defaults, as AWS does) or from the stored document.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "idp/idp_errors.h"

namespace tether::server::idp {

class AppClientConfig {
 public:
  // `secret`: the client secret to keep (generated or given by the caller; "" = none). The
  // caller resolves GenerateSecret/ClientSecret; this checks the rest of the request.
  static ApiResult<AppClientConfig> fromRequest(const Json& in, std::string secret);
  static Result<AppClientConfig> fromStored(std::string_view json);

  std::string toStored() const;
  // The UserPoolClientType fields from the settings (the caller adds UserPoolId, ClientId and
  // the dates).
  Json describe() const;

  const std::string& name() const { return name_; }
  const std::string& secret() const { return secret_; }
  bool hasSecret() const { return !secret_.empty(); }
  // Lifetimes in seconds after the units are applied.
  int64_t accessTokenSeconds() const { return accessSeconds_; }
  int64_t idTokenSeconds() const { return idSeconds_; }
  int64_t refreshTokenSeconds() const { return refreshSeconds_; }
  // Enabled flows as ALLOW_* names (legacy names mapped).
  bool allowsFlow(std::string_view allowName) const { return flows_.count(std::string(allowName)) > 0; }
  // Empty = every attribute (readable: all but dev-only; writable: all mutable but dev-only and
  // the *_verified flags).
  const std::vector<std::string>& readAttributes() const { return readAttributes_; }
  const std::vector<std::string>& writeAttributes() const { return writeAttributes_; }
  bool preventUserExistenceErrors() const { return preventUserExistence_; }
  bool tokenRevocationEnabled() const { return tokenRevocation_; }
  int authSessionMinutes() const { return authSessionMinutes_; }
  // OAuth (hosted UI).
  bool oauthEnabled() const { return oauthEnabled_; }
  const std::vector<std::string>& callbackUrls() const { return callbackUrls_; }
  const std::vector<std::string>& logoutUrls() const { return logoutUrls_; }
  const std::set<std::string>& oauthFlows() const { return oauthFlows_; }
  const std::vector<std::string>& oauthScopes() const { return oauthScopes_; }
  const std::vector<std::string>& identityProviders() const { return identityProviders_; }

 private:
  Status loadTyped();

  Json doc_ = Json::object();
  std::string name_, secret_;
  int64_t accessSeconds_ = 3600, idSeconds_ = 3600, refreshSeconds_ = 30 * 86400;
  std::set<std::string> flows_;
  std::vector<std::string> readAttributes_, writeAttributes_;
  bool preventUserExistence_ = false;
  bool tokenRevocation_ = true;
  int authSessionMinutes_ = 3;
  bool oauthEnabled_ = false;
  std::vector<std::string> callbackUrls_, logoutUrls_, oauthScopes_, identityProviders_;
  std::set<std::string> oauthFlows_;
};

// A callback/logout URL as AWS accepts it: absolute, no fragment, https except for
// http://localhost, http://127.0.0.1 and http://[::1]; app schemes (myapp://) allowed.
bool isAcceptableRedirectUrl(std::string_view url);

}  // namespace tether::server::idp
