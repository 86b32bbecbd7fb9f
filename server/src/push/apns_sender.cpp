#include "push/apns_sender.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/signing_key.h"

namespace tether::server::push {
namespace {

using Json = nlohmann::json;

// The APNs reasons (400 body {"reason": ...}) that mean "this token will never work again".
bool tokenGoneReason(const std::string& reason) {
  return reason == "BadDeviceToken" || reason == "Unregistered" || reason == "ExpiredToken";
}

std::string reasonOf(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) return "";
  auto it = j.find("reason");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<std::unique_ptr<ApnsSender>> ApnsSender::create(const PushAppConfig& app, const Clock& clock) {
  std::ifstream in(app.keyFile, std::ios::binary);
  if (!in) return Status::ioError("push app " + app.arn + ": cannot read key_file " + app.keyFile.string());
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > SigningKey::kMaxPemBytes)
    return Status::corruption("push app " + app.arn + ": key_file " + app.keyFile.string() + " is too large");
  Result<std::unique_ptr<SigningKey>> key =
      SigningKey::fromPem(text.str(), "push app " + app.arn + " key_file " + app.keyFile.string());
  if (!key.isOk()) return key.status();
  return std::unique_ptr<ApnsSender>(new ApnsSender(app, std::move(key).value(), clock));
}

ApnsSender::ApnsSender(const PushAppConfig& app, std::unique_ptr<SigningKey> key, const Clock& clock)
    : app_(app), key_(std::move(key)), clock_(clock) {
  if (app_.endpoint.empty()) app_.endpoint = defaultPushEndpoint(app_.platform);
}

ApnsSender::~ApnsSender() = default;

std::string ApnsSender::payload(const PushData& data) {
  // syncCount as a string, as FCM must carry it (docs/events.md): one payload shape for both.
  Json body = {{"aps", {{"content-available", 1}}},
               {"data",
                {{"source", "cognito-sync"},
                 {"identityPoolId", data.identityPoolId},
                 {"identityId", data.identityId},
                 {"datasetName", data.datasetName},
                 {"syncCount", std::to_string(data.syncCount)}}}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> ApnsSender::providerToken() {
  const int64_t now = clock_.nowMs();
  if (!jwt_.empty() && now - jwtIssuedMs_ < kApnsTokenLifetimeMs && now >= jwtIssuedMs_) return jwt_;
  const std::string header = auth::base64UrlEncode(Json{{"alg", "ES256"}, {"kid", app_.keyId}}.dump());
  const std::string claims = auth::base64UrlEncode(Json{{"iss", app_.teamId}, {"iat", now / 1000}}.dump());
  const std::string signingInput = header + "." + claims;
  TETHER_TRY(std::string sig, key_->sign(signingInput));
  jwt_ = signingInput + "." + auth::base64UrlEncode(sig);
  jwtIssuedMs_ = now;
  return jwt_;
}

PushOutcome ApnsSender::send(outbound::HttpClient& http, const std::string& deviceToken, const PushData& data) {
  Result<std::string> jwt = providerToken();
  if (!jwt.isOk()) return PushOutcome{PushResult::kRetry, "signing", {}, jwt.status().message()};
  outbound::HttpRequest req;
  req.method = "POST";
  req.url = app_.endpoint + "/3/device/" + percentEncode(deviceToken);
  req.headers = {{"authorization", "bearer " + *jwt},
                 {"apns-topic", app_.topic},
                 {"apns-push-type", "background"},
                 {"apns-priority", "5"},
                 {"content-type", "application/json"}};
  req.body = payload(data);
  req.timeout = std::chrono::milliseconds(10000);
  req.maxResponseBytes = 64 * 1024;
  req.http2 = true;
  req.caFile = app_.caFile.string();
  outbound::HttpOutcome out = http.send(req);
  if (!out.ok()) return transportFailure(out);
  const long status = out.response.status;
  PushOutcome o;
  o.reason = "http_" + std::to_string(status);
  if (status == 200) {
    o.result = PushResult::kSent;
    o.reason.clear();
    return o;
  }
  o.detail = reasonOf(out.response.body);
  if (status == 410 || (status == 400 && tokenGoneReason(o.detail))) {
    o.result = PushResult::kTokenGone;
  } else if (status == 403 && (o.detail == "ExpiredProviderToken" || o.detail == "InvalidProviderToken")) {
    jwt_.clear();  // make a new one for the retry (a clock jump, or Apple lost it)
    o.result = PushResult::kRetry;
  } else if (status == 429 || status >= 500) {
    o.result = PushResult::kRetry;
    o.retryAfter = retryAfterOf(out.response);
  } else {
    o.result = PushResult::kRejected;
  }
  return o;
}

}  // namespace tether::server::push
