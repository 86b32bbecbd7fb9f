// FcmSender: data messages through Firebase Cloud Messaging's HTTP v1 API, authorized with a
// service account: an RS256 JWT (iss = client_email, scope firebase.messaging, aud = token_uri,
// one hour) is exchanged at token_uri for an OAuth2 access token (RFC 7523 JWT-bearer grant),
// which is reused until five minutes before it expires. Request and payload: docs/events.md,
// "Mobile push".
// Threading: owned by PushService; send() only on the FCM worker thread.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "auth/config_push.h"
#include "common/clock.h"
#include "push/push_sender.h"
#include "tether/status.h"

namespace tether::server::push {

class FcmSender final : public PushSender {
 public:
  // Reads and checks app.serviceAccountFile (Google's JSON key: project_id, client_email,
  // private_key (RSA, PEM), token_uri). kIOError if unreadable, kInvalidArgument if a field is
  // missing or the key is not an RSA private key.
  static Result<std::unique_ptr<FcmSender>> create(const PushAppConfig& app, const Clock& clock);
  ~FcmSender() override;

  PushOutcome send(outbound::HttpClient& http, const std::string& deviceToken, const PushData& data) override;

  // The body sent for `data` to `deviceToken` (tests and docs).
  static std::string payload(const std::string& deviceToken, const PushData& data);

 private:
  struct Key;  // the RSA key (OpenSSL stays out of this header)
  FcmSender(const PushAppConfig& app, std::unique_ptr<Key> key, const Clock& clock);
  // The cached access token, or a new one from token_uri; a PushOutcome when that failed.
  std::variant<std::string, PushOutcome> accessToken(outbound::HttpClient& http);

  PushAppConfig app_;
  std::unique_ptr<Key> key_;
  const Clock& clock_;
  std::string accessToken_;
  int64_t accessTokenRenewMs_ = 0;  // renew at or after this time
};

}  // namespace tether::server::push
