// UserState: the part of a user-pool user that only the user-pool logic reads (UserRow.stateJson,
// storage/user_pool_store.h): the SRP salt and verifier (never the password), the codes in
// flight (hashed), TOTP (secrets sealed with the at-rest key), lockout counters, the per-user
// attempt windows of spec 1.4, and the global sign-out time. Serialized as JSON; a field this
// version does not know is kept as it is, so a newer node's additions survive an older one's write.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cognito/json_fields.h"
#include "tether/status.h"

namespace tether::server::idp {

struct PendingCode {
  std::string hash;        // keyed hash of the code (never the code)
  int64_t expiresMs = 0;
  std::string attribute;   // the attribute the code went to (email / phone_number), "" for none
  std::string value;       // for attribute updates held until verified: the new value
  int failures = 0;
};

struct UserState {
  // Password (spec 5.3): hex salt as sent to clients, the verifier's 384 bytes in base64url.
  std::string srpSalt;
  std::string srpVerifier;
  int64_t passwordSetMs = 0;
  int64_t temporaryPasswordExpiresMs = 0;  // FORCE_CHANGE_PASSWORD: 0 = no limit
  std::vector<std::string> passwordHistory;  // "salt:verifier" of earlier passwords, newest first

  // Codes by purpose: "SignUp", "ForgotPassword", "Verify:email", "Verify:phone_number".
  std::map<std::string, PendingCode> codes;

  // TOTP (spec 4.9, 9.4). Secrets sealed with the at-rest key.
  std::string totpSecret;         // active (verified) secret
  std::string totpPending;        // from AssociateSoftwareToken, until VerifySoftwareToken
  std::string totpDeviceName;
  bool totpEnabled = false;       // SetUserMFAPreference Enabled
  bool totpPreferred = false;

  // Sign-in failures (spec 9.3).
  int failedSignIns = 0;
  int64_t lockedUntilMs = 0;
  int64_t lastSignInAttemptMs = 0;

  // GlobalSignOut / AdminUserGlobalSignOut / AdminDisableUser: tokens issued before are void.
  int64_t revokedBeforeMs = 0;

  // Per-user attempt windows (spec 1.4): operation -> times (ms) within the last hour.
  std::map<std::string, std::vector<int64_t>> recent;

  cognito::Json unknown = cognito::Json::object();  // members written by a newer version

  static Result<UserState> parse(std::string_view json);
  std::string serialize() const;

  // Records an attempt of `op` at `nowMs`; false (and nothing recorded) if `limit` attempts
  // already happened within the hour before.
  bool allowAttempt(const std::string& op, int limit, int64_t nowMs);
};

}  // namespace tether::server::idp
