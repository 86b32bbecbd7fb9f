#include "push/fcm_sender.h"

#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/openssl_util.h"

namespace tether::server::push {
namespace {

using Json = nlohmann::json;

// A string member of `j`, "" when absent or not a string (Json::value would throw on a type
// mismatch, and the provider's answer is input).
std::string str(const Json& j, const char* name) {
  if (!j.is_object()) return "";
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

constexpr size_t kMaxServiceAccountBytes = 64 * 1024;
constexpr const char* kScope = "https://www.googleapis.com/auth/firebase.messaging";
// Renew the access token this long before Google says it expires.
constexpr int64_t kRenewMarginMs = 5 * 60 * 1000;

// The FCM error codes (error.details[].errorCode of type FcmError) and field violations that
// mean "this registration token will never work again".
bool tokenGone(long status, const Json& error) {
  if (!error.is_object()) return false;
  auto details = error.find("details");
  if (details == error.end() || !details->is_array()) return false;
  for (const Json& d : *details) {
    if (!d.is_object()) continue;
    if (status == 404 && str(d, "errorCode") == "UNREGISTERED") return true;
    if (status == 400) {
      auto v = d.find("fieldViolations");
      if (v == d.end() || !v->is_array()) continue;
      for (const Json& f : *v)
        if (f.is_object() && str(f, "field") == "message.token") return true;
    }
  }
  return false;
}

}  // namespace

struct FcmSender::Key {
  EvpPkeyPtr pkey;
  std::string projectId, clientEmail, tokenUri, keyId;

  Result<std::string> sign(std::string_view data) const {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return Status::internal("RS256 signing failed");
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return Status::internal("RS256 signing failed");
    sig.resize(len);
    return sig;
  }
};

Result<std::unique_ptr<FcmSender>> FcmSender::create(const PushAppConfig& app, const Clock& clock) {
  const std::string where = "push app " + app.arn + ": service_account_file " + app.serviceAccountFile.string();
  std::ifstream in(app.serviceAccountFile, std::ios::binary);
  if (!in) return Status::ioError(where + ": cannot read it");
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxServiceAccountBytes) return Status::invalidArgument(where + ": larger than 64 KB");
  Json j = Json::parse(text.str(), nullptr, false);
  if (!j.is_object()) return Status::invalidArgument(where + ": not a JSON object");
  auto field = [&j](const char* name) { return str(j, name); };
  auto key = std::make_unique<Key>();
  key->projectId = field("project_id");
  key->clientEmail = field("client_email");
  key->tokenUri = field("token_uri");
  key->keyId = field("private_key_id");
  const std::string pem = field("private_key");
  for (const auto& [name, value] : {std::pair{"project_id", key->projectId}, {"client_email", key->clientEmail},
                                    {"token_uri", key->tokenUri}, {"private_key", pem}})
    if (value.empty()) return Status::invalidArgument(where + ": " + name + " is missing");
  if (key->tokenUri.rfind("https://", 0) != 0 && key->tokenUri.rfind("http://", 0) != 0)
    return Status::invalidArgument(where + ": token_uri must be an http(s) URL");
  std::unique_ptr<BIO, OpensslFree<BIO_free>> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio) key->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key->pkey || EVP_PKEY_get_base_id(key->pkey.get()) != EVP_PKEY_RSA)
    return Status::invalidArgument(where + ": private_key is not an unencrypted RSA private key in PEM");
  return std::unique_ptr<FcmSender>(new FcmSender(app, std::move(key), clock));
}

FcmSender::FcmSender(const PushAppConfig& app, std::unique_ptr<Key> key, const Clock& clock)
    : app_(app), key_(std::move(key)), clock_(clock) {
  if (app_.endpoint.empty()) app_.endpoint = defaultPushEndpoint(app_.platform);
}

FcmSender::~FcmSender() = default;

std::string FcmSender::payload(const std::string& deviceToken, const PushData& data) {
  // FCM data values must be strings.
  Json body = {{"message",
                {{"token", deviceToken},
                 {"data",
                  {{"source", "cognito-sync"},
                   {"identityPoolId", data.identityPoolId},
                   {"identityId", data.identityId},
                   {"datasetName", data.datasetName},
                   {"syncCount", std::to_string(data.syncCount)}}},
                 {"android", {{"priority", "high"}}}}}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::variant<std::string, PushOutcome> FcmSender::accessToken(outbound::HttpClient& http) {
  const int64_t now = clock_.nowMs();
  if (!accessToken_.empty() && now < accessTokenRenewMs_) return accessToken_;
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key_->keyId.empty()) header["kid"] = key_->keyId;
  const int64_t iat = now / 1000;
  Json claims = {{"iss", key_->clientEmail}, {"scope", kScope}, {"aud", key_->tokenUri}, {"iat", iat},
                 {"exp", iat + 3600}};
  const std::string input = auth::base64UrlEncode(header.dump()) + "." + auth::base64UrlEncode(claims.dump());
  Result<std::string> sig = key_->sign(input);
  if (!sig.isOk()) return PushOutcome{PushResult::kRetry, "signing", {}, sig.status().message()};
  const std::string assertion = input + "." + auth::base64UrlEncode(*sig);

  outbound::HttpRequest req;
  req.method = "POST";
  req.url = key_->tokenUri;
  req.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  req.body = "grant_type=" + percentEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
             "&assertion=" + percentEncode(assertion);
  req.timeout = std::chrono::milliseconds(10000);
  req.maxResponseBytes = 64 * 1024;
  // HTTP/2 like the sends: the token endpoint may share the host (and so the connection) with
  // them, and libcurl would otherwise reuse an HTTP/1.1 connection for the next send.
  req.http2 = true;
  req.caFile = app_.caFile.string();
  outbound::HttpOutcome out = http.send(req);
  if (!out.ok()) return transportFailure(out, "oauth_");
  PushOutcome fail{PushResult::kRetry, "oauth_http_" + std::to_string(out.response.status),
                   retryAfterOf(out.response), ""};
  if (out.response.status != 200) {
    fail.detail = out.response.body.substr(0, 200);
    return fail;
  }
  Json j = Json::parse(out.response.body, nullptr, false);
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
    fail.reason = "oauth_bad_response";
    return fail;
  }
  int64_t expiresIn = 3600;
  if (auto e = j.find("expires_in"); e != j.end() && e->is_number_integer()) expiresIn = e->get<int64_t>();
  accessToken_ = j["access_token"].get<std::string>();
  // Renew kRenewMarginMs before expiry, or at half-life for a short-lived token.
  const int64_t lifeMs = std::max<int64_t>(expiresIn, 0) * 1000;
  accessTokenRenewMs_ = now + (lifeMs > 2 * kRenewMarginMs ? lifeMs - kRenewMarginMs : lifeMs / 2);
  return accessToken_;
}

PushOutcome FcmSender::send(outbound::HttpClient& http, const std::string& deviceToken, const PushData& data) {
  std::variant<std::string, PushOutcome> token = accessToken(http);
  if (auto* failed = std::get_if<PushOutcome>(&token)) return *failed;
  outbound::HttpRequest req;
  req.method = "POST";
  req.url = app_.endpoint + "/v1/projects/" + percentEncode(key_->projectId) + "/messages:send";
  req.headers = {{"authorization", "Bearer " + std::get<std::string>(token)},
                 {"content-type", "application/json; charset=UTF-8"}};
  req.body = payload(deviceToken, data);
  req.timeout = std::chrono::milliseconds(10000);
  req.maxResponseBytes = 64 * 1024;
  req.http2 = true;
  req.caFile = app_.caFile.string();
  outbound::HttpOutcome out = http.send(req);
  if (!out.ok()) return transportFailure(out);
  const long status = out.response.status;
  PushOutcome o;
  if (status == 200) return o;
  o.reason = "http_" + std::to_string(status);
  Json body = Json::parse(out.response.body, nullptr, false);
  Json error = body.is_object() && body.contains("error") ? body["error"] : Json();
  if (error.is_object()) o.detail = str(error, "status") + " " + str(error, "message").substr(0, 200);
  if (tokenGone(status, error)) {
    o.result = PushResult::kTokenGone;
  } else if (status == 401) {
    accessToken_.clear();  // revoked or expired early: get a new one for the retry
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
