// See signed_sync_client.h.
#include "signed_sync_client.h"

#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "cognito/sigv4.h"
#include "cognito/sigv4_signer.h"

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
  const int64_t nowMs = static_cast<int64_t>(std::time(nullptr)) * 1000;
  sigv4::SignInput in{.method = method, .host = host(), .pathSegments = segments, .query = query, .body = body,
                      .region = "us-east-1", .service = "cognito-sync", .nowMs = nowMs};
  if (!body.empty()) in.headers.emplace_back("Content-Type", "application/json");
  const sigv4::AwsCredentials creds{creds_.accessKeyId, creds_.secretKey, creds_.sessionToken};
  std::map<std::string, std::string> headers;
  for (auto& [name, value] : sigv4::signRequest(in, creds)) headers[name] = value;
  std::string path = sigv4::encodedPath(segments);
  for (size_t i = 0; i < query.size(); ++i)
    path += (i == 0 ? "?" : "&") + sigv4::uriEncode(query[i].first) + "=" + sigv4::uriEncode(query[i].second);
  return httpRequest(port_, method, path, headers, body);
}

}  // namespace tether::testing
