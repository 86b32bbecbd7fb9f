// HostedSessions: the hosted UI's browser state (spec cognito-user-pools.md 1.4, 7.3, 11 item 12).
//
// One cookie, `cognito`: a random 64-character handle (HttpOnly, SameSite=Lax, Path=/, Secure
// when the hosted UI's URL is https). Everything else is server-side, in store tickets keyed
// "<poolId>/hosted.../<SHA-256 of the handle>" (a copy of the database does not hold usable
// handles, and deleting a pool drops its tickets):
//   - the signed-in session (sub, username, auth time), 1 hour from sign-in, not sliding;
//   - the sign-in in progress (the challenge and its Session, the OAuth request it serves),
//     for the MFA and new-password pages, as long as the client's auth session lives.
// A browser without a cookie gets a fresh handle (a session cookie) on its first page; a
// sign-in replaces it with a new one (no session fixation); sign-out deletes the ticket and
// expires the cookie.
// CSRF: every form carries HMAC(server key, pool | form | handle); a POST whose token does not
// match the cookie it came with is refused.
// Thread-safety: stateless over the (thread-safe) store and keys; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "idp/idp_context.h"
#include "idp/idp_errors.h"
#include "net/http.h"

namespace tether::server::idp {

inline constexpr const char* kSessionCookie = "cognito";
inline constexpr int64_t kSessionTtlMs = 3600 * 1000;

struct SignedIn {
  std::string sub;
  std::string username;
  int64_t authTimeSec = 0;
};

class HostedSessions {
 public:
  explicit HostedSessions(IdpContext& ctx) : ctx_(ctx) {}

  // The handle the request's cookie carries, or "" (absent or malformed).
  static std::string handleOf(const HttpRequest& request);
  // A new random handle.
  static std::string newHandle();
  // The Set-Cookie value for `handle`: a session cookie (maxAgeSec < 0), Max-Age, or expired (0).
  std::string cookie(const std::string& handle, int64_t maxAgeSec) const;

  std::string csrfToken(const std::string& poolId, std::string_view form, const std::string& handle) const;
  bool csrfValid(const std::string& poolId, std::string_view form, const std::string& handle,
                 const std::string& token) const;

  // The signed-in session of `handle` in the pool; nullopt if none or expired.
  Result<std::optional<SignedIn>> signedIn(const std::string& poolId, const std::string& handle);
  Status signIn(const std::string& poolId, const std::string& handle, const SignedIn& who);
  Status signOut(const std::string& poolId, const std::string& handle);

  // The sign-in in progress (an opaque JSON document of the hosted UI).
  Result<std::optional<Json>> flow(const std::string& poolId, const std::string& handle);
  Status putFlow(const std::string& poolId, const std::string& handle, const Json& flow, int64_t ttlMs);
  Status dropFlow(const std::string& poolId, const std::string& handle);

 private:
  std::string key(const std::string& poolId, std::string_view kind, const std::string& handle) const;
  bool secure() const;

  IdpContext& ctx_;
};

}  // namespace tether::server::idp
