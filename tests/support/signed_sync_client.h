// A Cognito Sync client for one identity, for tests that need the push-sync operations over
// SigV4-signed HTTP against a local tetherd: it fetches temporary credentials with
// GetCredentialsForIdentity and signs each request as boto3 does (host, x-amz-date,
// x-amz-security-token, plus content-type when there is a body). Blocking; one thread at a time.
#pragma once

#include <string>
#include <vector>

#include "http_test_client.h"

namespace tether::testing {

class SignedSyncClient {
 public:
  SignedSyncClient(int port, std::string poolId, std::string identityId);

  // Sends the following requests to another node (the credentials stay: a multi-node test).
  void retarget(int port) { port_ = port; }

  // GetCredentialsForIdentity for a guest identity; false if it failed.
  bool fetchCredentials();
  // Sign with a long-term developer credential ([[developer_credentials]]) instead: no session
  // token, so the developer-only operations (SetIdentityPoolConfiguration, ...) are allowed.
  void useDeveloperCredentials(const std::string& accessKeyId, const std::string& secretKey) {
    creds_ = {accessKeyId, secretKey, ""};
  }

  HttpReply registerDevice(const std::string& platform, const std::string& token);
  HttpReply subscribe(const std::string& dataset, const std::string& deviceId);
  HttpReply unsubscribe(const std::string& dataset, const std::string& deviceId);
  // Any Cognito Sync operation: `segments` of the path (percent-encoded here), signed as boto3.
  HttpReply call(const std::string& method, const std::vector<std::string>& segments, const std::string& body,
                 const std::vector<std::pair<std::string, std::string>>& query = {});

  // The data operations (Cognito Sync ListRecords / UpdateRecords / DeleteDataset), for load
  // generators. `patches` is the RecordPatches JSON array as an SDK sends it.
  HttpReply listRecords(const std::string& dataset);
  HttpReply updateRecords(const std::string& dataset, const std::string& syncSessionToken,
                          const nlohmann::json& patches, const std::string& deviceId = "");
  HttpReply deleteDataset(const std::string& dataset);

  const std::string& identityId() const { return identityId_; }

 private:
  struct Credentials {
    std::string accessKeyId, secretKey, sessionToken;
  };

  std::string host() const;
  std::vector<std::string> subscriptionPath(const std::string& dataset, const std::string& deviceId) const;

  int port_;
  std::string poolId_, identityId_;
  Credentials creds_;
};

}  // namespace tether::testing
