// See signed_sync_client.h.
#include "signed_sync_client.h"

#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "cognito/sigv4.h"

namespace tether::testing {

namespace sigv4 = tether::server::cognito;
using Json = nlohmann::json;

SignedSyncClient::SignedSyncClient(int port, std::string poolId, std::string identityId)
    : port_(port), poolId_(std::move(poolId)), identityId_(std::move(identityId)) {}

bool SignedSyncClient::fetchCredentials() {
  HttpReply r = httpRequest(port_, "POST", "/",
                            {{"Host", host()},
                             {"Content-Type", "application/x-amz-json-1.1"},
                             {"X-Amz-Target", "AWSCognitoIdentityService.GetCredentialsForIdentity"}},
                            Json{{"IdentityId", identityId_}}.dump());
  if (r.status != 200 || !r.body.is_object()) return false;
  const Json& c = r.body["Credentials"];
  creds_ = {c.value("AccessKeyId", ""), c.value("SecretKey", ""), c.value("SessionToken", "")};
  return !creds_.accessKeyId.empty();
}

HttpReply SignedSyncClient::registerDevice(const std::string& platform, const std::string& token) {
  return call("POST", {"identitypools", poolId_, "identity", identityId_, "device"},
              Json{{"Platform", platform}, {"Token", token}}.dump());
}

HttpReply SignedSyncClient::subscribe(const std::string& dataset, const std::string& deviceId) {
  return call("POST", subscriptionPath(dataset, deviceId), "");
}

HttpReply SignedSyncClient::unsubscribe(const std::string& dataset, const std::string& deviceId) {
  return call("DELETE", subscriptionPath(dataset, deviceId), "");
}

HttpReply SignedSyncClient::listRecords(const std::string& dataset) {
  return call("GET", {"identitypools", poolId_, "identities", identityId_, "datasets", dataset, "records"}, "");
}

HttpReply SignedSyncClient::updateRecords(const std::string& dataset, const std::string& syncSessionToken,
                                          const Json& patches, const std::string& deviceId) {
  Json body = {{"SyncSessionToken", syncSessionToken}, {"RecordPatches", patches}};
  if (!deviceId.empty()) body["DeviceId"] = deviceId;
  return call("POST", {"identitypools", poolId_, "identities", identityId_, "datasets", dataset}, body.dump());
}

HttpReply SignedSyncClient::deleteDataset(const std::string& dataset) {
  return call("DELETE", {"identitypools", poolId_, "identities", identityId_, "datasets", dataset}, "");
}

std::string SignedSyncClient::host() const { return "127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> SignedSyncClient::subscriptionPath(const std::string& dataset,
                                                            const std::string& deviceId) const {
  return {"identitypools", poolId_, "identities", identityId_, "datasets", dataset, "subscriptions", deviceId};
}

HttpReply SignedSyncClient::call(const std::string& method, const std::vector<std::string>& segments,
                               const std::string& body, const std::vector<std::pair<std::string, std::string>>& query) {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char amzDate[32];
  std::strftime(amzDate, sizeof amzDate, "%Y%m%dT%H%M%SZ", &utc);
  std::map<std::string, std::string> lower = {{"host", host()}, {"x-amz-date", amzDate}};
  if (!creds_.sessionToken.empty()) lower["x-amz-security-token"] = creds_.sessionToken;
  if (!body.empty()) lower["content-type"] = "application/json";
  sigv4::SigV4Authorization auth;
  auth.accessKeyId = creds_.accessKeyId;
  auth.date = std::string(amzDate, 8);
  auth.region = "us-east-1";
  auth.service = "cognito-sync";
  for (const auto& [k, v] : lower) {
    auth.signedHeaders.push_back(k);
    auth.signedHeadersText += (auth.signedHeadersText.empty() ? "" : ";") + k;
  }
  std::string canonicalUri = sigv4::canonicalUri(segments);
  std::string payloadHash = sigv4::sha256Hex(body);
  Result<std::string> creq = sigv4::canonicalRequest(
      sigv4::CanonicalInput{method, canonicalUri, sigv4::canonicalQuery(query), &lower, payloadHash}, auth);
  if (!creq.isOk()) return {};
  std::string sts = sigv4::stringToSign(amzDate, auth.scope(), *creq);
  std::string signature = sigv4::computeSignature(creds_.secretKey, auth, sts);
  std::map<std::string, std::string> headers = {
      {"Host", host()}, {"X-Amz-Date", amzDate},
      {"Authorization", std::string(sigv4::kSigV4Algorithm) + " Credential=" + auth.accessKeyId + "/" +
                            auth.scope() + ", SignedHeaders=" + auth.signedHeadersText +
                            ", Signature=" + signature}};
  if (!body.empty()) headers["Content-Type"] = "application/json";
  if (!creds_.sessionToken.empty()) headers["X-Amz-Security-Token"] = creds_.sessionToken;
  std::string path;
  for (const std::string& s : segments) path += "/" + sigv4::uriEncode(s);
  for (size_t i = 0; i < query.size(); ++i)
    path += (i == 0 ? "?" : "&") + sigv4::uriEncode(query[i].first) + "=" + sigv4::uriEncode(query[i].second);
  return httpRequest(port_, method, path, headers, body);
}

}  // namespace tether::testing
