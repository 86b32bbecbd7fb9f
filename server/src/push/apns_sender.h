// ApnsSender: background notifications through Apple's APNs provider API (HTTP/2), with token
// authentication: an ES256 JWT made from the team's .p8 key, reused and renewed every 40 minutes
// (Apple refuses a token younger than 20 minutes as "TooManyProviderTokenUpdates" and one older
// than 60 as "ExpiredProviderToken"). Request and payload: docs/events.md, "Mobile push".
// Threading: owned by PushService; send() only on the APNs worker thread.
#pragma once

#include <memory>
#include <string>

#include "auth/config_push.h"
#include "common/clock.h"
#include "push/push_sender.h"
#include "tether/status.h"

namespace tether::server {
class SigningKey;
}

namespace tether::server::push {

// How long an APNs provider token is reused (Apple: renew between 20 and 60 minutes).
constexpr int64_t kApnsTokenLifetimeMs = 40 * 60 * 1000;

class ApnsSender final : public PushSender {
 public:
  // Reads and checks app.keyFile (an EC P-256 private key in PEM, Apple's .p8). kIOError if it
  // cannot be read, kCorruption if it is not such a key.
  static Result<std::unique_ptr<ApnsSender>> create(const PushAppConfig& app, const Clock& clock);
  ~ApnsSender() override;

  PushOutcome send(outbound::HttpClient& http, const std::string& deviceToken, const PushData& data) override;

  // The body sent for `data` (tests and docs).
  static std::string payload(const PushData& data);
  // The provider token (JWT) the next request carries: the cached one, or a new one when it is
  // kApnsTokenLifetimeMs old or was dropped after a 403. Public for tests.
  Result<std::string> providerToken();

 private:
  ApnsSender(const PushAppConfig& app, std::unique_ptr<SigningKey> key, const Clock& clock);

  PushAppConfig app_;
  std::unique_ptr<SigningKey> key_;
  const Clock& clock_;
  std::string jwt_;
  int64_t jwtIssuedMs_ = 0;
};

}  // namespace tether::server::push
