// Hosted UI browser sessions and CSRF tokens; see hosted_session.h.
#include "idp/hosted_session.h"

#include <algorithm>

#include "auth/base64url.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/crypto_util.h"
#include "idp/hosted_ui_html.h"
#include "idp/idp_secrets.h"

namespace tether::server::idp {
namespace {

constexpr size_t kHandleChars = 64;  // newSessionHandle(): 48 bytes in base64url

bool plausibleHandle(std::string_view h) {
  return h.size() == kHandleChars && std::all_of(h.begin(), h.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

}  // namespace

std::string HostedSessions::handleOf(const HttpRequest& request) {
  const std::string* header = request.header("cookie");
  if (!header) return "";
  auto cookies = parseCookies(*header);
  auto it = cookies.find(kSessionCookie);
  return it != cookies.end() && plausibleHandle(it->second) ? it->second : "";
}

std::string HostedSessions::newHandle() { return newSessionHandle(); }

bool HostedSessions::secure() const {
  const std::string& base = ctx_.settings.hostedUiBase.empty() ? ctx_.settings.issuerBase : ctx_.settings.hostedUiBase;
  return base.starts_with("https://");
}

std::string HostedSessions::cookie(const std::string& handle, int64_t maxAgeSec) const {
  std::string c = std::string(kSessionCookie) + "=" + handle + "; Path=/; HttpOnly; SameSite=Lax";
  if (maxAgeSec >= 0) c += "; Max-Age=" + std::to_string(maxAgeSec);
  if (secure()) c += "; Secure";
  return c;
}

std::string HostedSessions::csrfToken(const std::string& poolId, std::string_view form,
                                      const std::string& handle) const {
  return ctx_.codeHasher->hash("hosted-csrf|" + poolId + "|" + std::string(form), handle);
}

bool HostedSessions::csrfValid(const std::string& poolId, std::string_view form, const std::string& handle,
                               const std::string& token) const {
  if (handle.empty() || token.empty()) return false;
  return ctx_.codeHasher->matches("hosted-csrf|" + poolId + "|" + std::string(form), handle, token);
}

std::string HostedSessions::key(const std::string& poolId, std::string_view kind, const std::string& handle) const {
  return poolId + "/" + std::string(kind) + "/" + auth::base64UrlEncode(detail::sha256(handle));
}

Result<std::optional<SignedIn>> HostedSessions::signedIn(const std::string& poolId, const std::string& handle) {
  if (handle.empty()) return std::optional<SignedIn>();
  TETHER_TRY(std::optional<std::string> value, ctx_.store.peekTicket(key(poolId, "hosted", handle), ctx_.clock.nowMs()));
  if (!value) return std::optional<SignedIn>();
  Json j = Json::parse(*value, nullptr, false);
  if (!j.is_object()) return std::optional<SignedIn>();
  return std::optional<SignedIn>(SignedIn{j.value("sub", ""), j.value("username", ""), j.value("authTime", int64_t{0})});
}

Status HostedSessions::signIn(const std::string& poolId, const std::string& handle, const SignedIn& who) {
  Json j = {{"sub", who.sub}, {"username", who.username}, {"authTime", who.authTimeSec}};
  return ctx_.store.putTicket(key(poolId, "hosted", handle), j.dump(), ctx_.clock.nowMs() + kSessionTtlMs);
}

Status HostedSessions::signOut(const std::string& poolId, const std::string& handle) {
  if (handle.empty()) return Status::ok();
  Result<std::optional<std::string>> gone = ctx_.store.takeTicket(key(poolId, "hosted", handle), ctx_.clock.nowMs());
  if (!gone.isOk()) return gone.status();
  return dropFlow(poolId, handle);
}

Result<std::optional<Json>> HostedSessions::flow(const std::string& poolId, const std::string& handle) {
  if (handle.empty()) return std::optional<Json>();
  TETHER_TRY(std::optional<std::string> value,
             ctx_.store.peekTicket(key(poolId, "hosted-flow", handle), ctx_.clock.nowMs()));
  if (!value) return std::optional<Json>();
  Json j = Json::parse(*value, nullptr, false);
  if (!j.is_object()) return std::optional<Json>();
  return std::optional<Json>(std::move(j));
}

Status HostedSessions::putFlow(const std::string& poolId, const std::string& handle, const Json& flow, int64_t ttlMs) {
  return ctx_.store.putTicket(key(poolId, "hosted-flow", handle), flow.dump(), ctx_.clock.nowMs() + ttlMs);
}

Status HostedSessions::dropFlow(const std::string& poolId, const std::string& handle) {
  Result<std::optional<std::string>> gone =
      ctx_.store.takeTicket(key(poolId, "hosted-flow", handle), ctx_.clock.nowMs());
  return gone.isOk() ? Status::ok() : gone.status();
}

}  // namespace tether::server::idp
