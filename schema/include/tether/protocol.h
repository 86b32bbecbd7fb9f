// The native protocol (schema/sync.capnp) as plain C++ values, so that neither the client's
// public API nor the server's sync logic sees Cap'n Proto types. `codec.h` converts between
// these values and wire frames. Field meanings are documented in sync.capnp.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tether/model.h"
#include "tether/status.h"

namespace tether::proto {

constexpr uint32_t kProtocolVersion = 1;
constexpr const char* kSubprotocol = "tether.v1";

// ---- requests (client -> server)
struct Hello { uint32_t protocolVersion = kProtocolVersion; std::string clientName; };
struct GetIdRequest { std::string identityPoolId; std::vector<Login> logins; };
struct GetTokenRequest { std::string identityId; std::vector<Login> logins; };
struct AuthenticateRequest { std::string token; };
struct ListDatasetsRequest { uint32_t maxResults = 0; std::string nextToken; };
struct DescribeDatasetRequest { std::string datasetName; };
struct ListRecordsRequest {
  std::string datasetName;
  int64_t lastSyncCount = 0;
  uint32_t maxResults = 0;
  std::string nextToken;
};
struct UpdateRecordsRequest {
  std::string datasetName;
  std::string syncSessionToken;
  std::string deviceId;
  std::vector<RecordPatch> patches;
  // Conditional push (sync.capnp): >= 0 = write only if the dataset's sync count is exactly
  // this, no syncSessionToken needed; -1 = a syncSessionToken is required.
  int64_t ifDatasetSyncCount = -1;
  bool omitValues = false;  // reply without `records`, only the batch's common fields
};
struct DeleteDatasetRequest { std::string datasetName; };
struct DescribeIdentityUsageRequest {};
struct SubscribeRequest { std::vector<std::string> datasetNames; std::string deviceId; };
struct UnsubscribeRequest { std::vector<std::string> datasetNames; };
// An app backend holding a developer credential asks for an identity + token for one of its
// users (Cognito GetOpenIdTokenForDeveloperIdentity). Answered with a GetTokenResponse. The
// secret never travels: `signature` is an HMAC over the other fields (docs/protocol.md).
struct GetDeveloperTokenRequest {
  std::string identityPoolId;
  std::string identityId;          // empty = find or create the user's identity
  std::string developerUserId;
  int64_t tokenDurationSeconds = 0;  // 0 = 900 (15 minutes); at most 86400
  std::string accessKeyId;
  int64_t timestampMs = 0;
  std::string signature;           // lower-case hex HMAC-SHA256
};

using RequestBody = std::variant<GetIdRequest, GetTokenRequest, AuthenticateRequest,
                                 ListDatasetsRequest, DescribeDatasetRequest, ListRecordsRequest,
                                 UpdateRecordsRequest, DeleteDatasetRequest,
                                 DescribeIdentityUsageRequest, SubscribeRequest,
                                 UnsubscribeRequest, GetDeveloperTokenRequest>;
struct Request { uint64_t id = 0; RequestBody body; };

using ClientMessage = std::variant<Hello, Request>;

// ---- responses (server -> client)
struct HelloAck {
  uint32_t protocolVersion = kProtocolVersion;
  std::string serverName;
  uint32_t maxFrameBytes = 0;
  bool conditionalPush = false;  // updateRecords understands ifDatasetSyncCount and omitValues
};
struct GetIdResponse { std::string identityId; };
struct GetTokenResponse { std::string identityId; std::string token; int64_t expiresAtMs = 0; };
struct AuthenticateResponse { std::string identityId; std::string identityPoolId; int64_t expiresAtMs = 0; };
struct ListDatasetsResponse { std::vector<DatasetMetadata> datasets; std::string nextToken; };
struct DescribeDatasetResponse { DatasetMetadata dataset; };
struct ListRecordsResponse {
  std::vector<Record> records;
  std::string nextToken;
  int64_t datasetSyncCount = 0;
  std::string lastModifiedBy;
  std::vector<std::string> mergedDatasetNames;
  bool datasetExists = false;
  bool datasetDeletedAfterRequestedSyncCount = false;
  std::string syncSessionToken;
};
struct UpdateRecordsResponse {
  std::vector<Record> records;  // empty when the request set omitValues
  int64_t syncCount = 0;        // the batch's new dataset sync count (0: nothing written)
  int64_t lastModifiedMs = 0;
  std::string lastModifiedBy;
};
struct DeleteDatasetResponse { DatasetMetadata dataset; };
struct DescribeIdentityUsageResponse {
  std::string identityId;
  std::string identityPoolId;
  int64_t lastModifiedMs = 0;
  int64_t datasetCount = 0;
  int64_t dataStorage = 0;
};

struct SubscriptionState { std::string datasetName; int64_t syncCount = 0; bool exists = false; };
struct SubscribeResponse { std::vector<SubscriptionState> datasets; };
struct UnsubscribeResponse {};

// An error carried in a response. `unsupportedVersion` travels as a kProtocolError Status whose
// message starts with "unsupported protocol version".
using ResponseBody = std::variant<Status, GetIdResponse, GetTokenResponse, AuthenticateResponse,
                                  ListDatasetsResponse, DescribeDatasetResponse,
                                  ListRecordsResponse, UpdateRecordsResponse,
                                  DeleteDatasetResponse, DescribeIdentityUsageResponse,
                                  SubscribeResponse, UnsubscribeResponse>;
struct Response { uint64_t id = 0; ResponseBody body; };

struct DatasetChanged {
  std::string identityPoolId;
  std::string identityId;
  std::string datasetName;
  int64_t syncCount = 0;
  // When hasRecords: the whole batch that took the dataset from syncCount - 1 to syncCount.
  std::vector<Record> records;
  bool hasRecords = false;
};

using ServerMessage = std::variant<HelloAck, Response, DatasetChanged>;

// Cognito exception name for a Status code ("ResourceConflictException", ...).
std::string_view cognitoErrorName(StatusCode code);

}  // namespace tether::proto
