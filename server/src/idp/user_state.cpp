// UserState JSON; see user_state.h.
#include "idp/user_state.h"

#include <algorithm>

namespace tether::server::idp {
namespace {

using cognito::Json;
constexpr int64_t kHourMs = 3600 * 1000;

const char* const kKnown[] = {"salt", "verifier", "passwordSet", "tempExpires", "history", "codes", "totp",
                              "totpPending", "totpName", "totpEnabled", "totpPreferred", "failed", "lockedUntil",
                              "lastAttempt", "revokedBefore", "recent"};

}  // namespace

Result<UserState> UserState::parse(std::string_view json) {
  UserState s;
  if (json.empty()) return s;
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("user state is not a JSON object");
  try {
    s.srpSalt = j.value("salt", "");
    s.srpVerifier = j.value("verifier", "");
    s.passwordSetMs = j.value("passwordSet", int64_t{0});
    s.temporaryPasswordExpiresMs = j.value("tempExpires", int64_t{0});
    s.passwordHistory = j.value("history", std::vector<std::string>());
    if (auto it = j.find("codes"); it != j.end())
      for (auto c = it->begin(); c != it->end(); ++c)
        s.codes[c.key()] = PendingCode{c->value("hash", ""), c->value("expires", int64_t{0}), c->value("attr", ""),
                                       c->value("value", ""), c->value("failures", 0)};
    s.totpSecret = j.value("totp", "");
    s.totpPending = j.value("totpPending", "");
    s.totpDeviceName = j.value("totpName", "");
    s.totpEnabled = j.value("totpEnabled", false);
    s.totpPreferred = j.value("totpPreferred", false);
    s.failedSignIns = j.value("failed", 0);
    s.lockedUntilMs = j.value("lockedUntil", int64_t{0});
    s.lastSignInAttemptMs = j.value("lastAttempt", int64_t{0});
    s.revokedBeforeMs = j.value("revokedBefore", int64_t{0});
    if (auto it = j.find("recent"); it != j.end())
      for (auto r = it->begin(); r != it->end(); ++r) s.recent[r.key()] = r->get<std::vector<int64_t>>();
  } catch (const Json::exception& e) {
    return Status::corruption(std::string("user state: ") + e.what());
  }
  for (const char* k : kKnown) j.erase(k);
  s.unknown = std::move(j);
  return s;
}

std::string UserState::serialize() const {
  Json j = unknown;
  if (!srpSalt.empty()) j["salt"] = srpSalt;
  if (!srpVerifier.empty()) j["verifier"] = srpVerifier;
  if (passwordSetMs) j["passwordSet"] = passwordSetMs;
  if (temporaryPasswordExpiresMs) j["tempExpires"] = temporaryPasswordExpiresMs;
  if (!passwordHistory.empty()) j["history"] = passwordHistory;
  if (!codes.empty()) {
    Json c = Json::object();
    for (const auto& [k, v] : codes) {
      Json e = {{"hash", v.hash}, {"expires", v.expiresMs}};
      if (!v.attribute.empty()) e["attr"] = v.attribute;
      if (!v.value.empty()) e["value"] = v.value;
      if (v.failures) e["failures"] = v.failures;
      c[k] = e;
    }
    j["codes"] = c;
  }
  if (!totpSecret.empty()) j["totp"] = totpSecret;
  if (!totpPending.empty()) j["totpPending"] = totpPending;
  if (!totpDeviceName.empty()) j["totpName"] = totpDeviceName;
  if (totpEnabled) j["totpEnabled"] = true;
  if (totpPreferred) j["totpPreferred"] = true;
  if (failedSignIns) j["failed"] = failedSignIns;
  if (lockedUntilMs) j["lockedUntil"] = lockedUntilMs;
  if (lastSignInAttemptMs) j["lastAttempt"] = lastSignInAttemptMs;
  if (revokedBeforeMs) j["revokedBefore"] = revokedBeforeMs;
  if (!recent.empty()) {
    Json r = Json::object();
    for (const auto& [k, v] : recent)
      if (!v.empty()) r[k] = v;
    if (!r.empty()) j["recent"] = r;
  }
  return j.dump();
}

bool UserState::allowAttempt(const std::string& op, int limit, int64_t nowMs) {
  std::vector<int64_t>& times = recent[op];
  times.erase(std::remove_if(times.begin(), times.end(), [&](int64_t t) { return t <= nowMs - kHourMs || t > nowMs; }),
              times.end());
  if (static_cast<int>(times.size()) >= limit) return false;
  times.push_back(nowMs);
  return true;
}

}  // namespace tether::server::idp
