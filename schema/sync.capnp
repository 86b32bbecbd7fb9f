@0xe86a9e58eeb6b44a;
# Tether native protocol, version 1.
#
# Transport: a WebSocket with subprotocol "tether.v1". Every binary frame carries exactly one
# Cap'n Proto message (unpacked, flat array serialization): a ClientMessage from the device, a
# ServerMessage from tetherd. Text frames are a protocol error.
#
# Session: the client's first message must be `hello`; the server answers `helloAck` (or an
# error response with id 0 and closes). After that the client may send many requests without
# waiting; each carries a client-chosen `id` that the matching response echoes. Responses can
# arrive in any order. Server-pushed messages (`datasetChanged`) carry no request id.
#
# Compatibility rules: never renumber or delete a field; append new fields and union members;
# deprecate by comment. Every comment is written from the sender's side.
#
# Units: times are milliseconds since the Unix epoch (UTC). Sizes are bytes. Text is UTF-8.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("tether::wire");

const protocolVersion :UInt32 = 1;
# The version this schema describes. A client sends the highest version it speaks in Hello.

# ------------------------------------------------------------------------------------------
# Shared value types

struct Record {
  # One record as the server stores it. Sent by the server in pull and push replies.
  key @0 :Text;
  value :union {
    text @1 :Text;              # the live value (may be empty)
    removed @2 :Void;           # a tombstone: the record was removed; other devices must drop it
  }
  syncCount @3 :Int64;          # the dataset sync count of the batch that last changed this record
  lastModifiedMs @4 :Int64;     # server time of that change
  lastModifiedBy @5 :Text;      # device ID of the writer (or its identity ID when it sent none)
  deviceLastModifiedMs @6 :Int64;  # the writer's own clock when the user made the change
}

struct RecordPatch {
  # One change a device pushes. Patches travel in batches that are applied all or nothing.
  key @0 :Text;
  op :union {
    replace @1 :Text;           # set the record to this value
    remove @2 :Void;            # remove the record (the server keeps a tombstone)
  }
  syncCount @3 :Int64;          # the record sync count this device last saw; 0 for a key it
                                # has never seen. Any mismatch rejects the whole batch.
  deviceLastModifiedMs @4 :Int64;  # when the user made this change, by the device's clock
}

struct DatasetMetadata {
  # Dataset-level facts, sent by the server.
  name @0 :Text;
  creationMs @1 :Int64;
  lastModifiedMs @2 :Int64;
  lastModifiedBy @3 :Text;
  dataStorage @4 :Int64;        # bytes of live records: UTF-8 key bytes + value bytes
  numRecords @5 :Int64;         # live records (tombstones not counted)
  syncCount @6 :Int64;          # the dataset sync count
}

struct Login {
  # A login the device presents: provider name (e.g. "accounts.google.com") and its token.
  provider @0 :Text;
  token @1 :Text;
}

enum ErrorCode {
  # Typed errors. Names follow Cognito Sync / Cognito Identity exceptions.
  internalError @0;             # InternalErrorException: the server failed; retry later
  invalidParameter @1;          # InvalidParameterException: the request is malformed or invalid
  notAuthorized @2;             # NotAuthorizedException: missing, expired or foreign credentials
  resourceNotFound @3;          # ResourceNotFoundException: pool, identity or dataset not found
  resourceConflict @4;          # ResourceConflictException: a stale record sync count
  limitExceeded @5;             # LimitExceededException: 20 datasets / 1,024 records / 1 MB
  tooManyRequests @6;           # TooManyRequestsException: throttled; retry with backoff
  protocolError @7;             # the frame or message could not be understood (not a Cognito name)
  unsupportedVersion @8;        # Hello named a protocol version this server does not speak
  serviceUnavailable @9;        # the server's database is unreachable (lost, restarting, pool
                                # exhausted); nothing was written; retry later. Older clients
                                # read it as an unknown code (internal, retryable).
  invalidLambdaFunctionOutput @10;  # InvalidLambdaFunctionOutputException: the pool's sync
                                # trigger failed, timed out or answered badly; nothing was
                                # written. Older clients read it as an unknown code.
  lambdaThrottled @11;          # LambdaThrottledException: the sync trigger is overloaded;
                                # nothing was written; retry later.
}

struct Error {
  code @0 :ErrorCode;
  message @1 :Text;             # human-readable; not for parsing
}

# ------------------------------------------------------------------------------------------
# Client -> server

struct ClientMessage {
  union {
    hello @0 :Hello;
    request @1 :Request;
  }
}

struct Hello {
  protocolVersion @0 :UInt32;   # the highest version the client speaks (1 for this schema)
  clientName @1 :Text;          # e.g. "libtether/0.1"; for logs only
}

struct Request {
  id @0 :UInt64;                # chosen by the client, unique among its requests in flight
  union {
    getId @1 :GetIdRequest;
    getToken @2 :GetTokenRequest;
    authenticate @3 :AuthenticateRequest;
    listDatasets @4 :ListDatasetsRequest;
    describeDataset @5 :DescribeDatasetRequest;
    listRecords @6 :ListRecordsRequest;
    updateRecords @7 :UpdateRecordsRequest;
    deleteDataset @8 :DeleteDatasetRequest;
    describeIdentityUsage @9 :DescribeIdentityUsageRequest;
    subscribe @10 :SubscribeRequest;
    unsubscribe @11 :UnsubscribeRequest;
    getDeveloperToken @12 :GetDeveloperTokenRequest;
    # Room for later requests: append here.
  }
}

struct GetIdRequest {
  # Ask a pool for an identity. No logins: a new guest identity (if the pool allows guests).
  identityPoolId @0 :Text;
  logins @1 :List(Login);
}

struct GetTokenRequest {
  # Ask for an OpenID token for an existing identity (Cognito GetOpenIdToken). For a guest
  # identity, knowing its ID is enough: a guest identity ID is its bearer secret.
  identityId @0 :Text;
  logins @1 :List(Login);
}

struct AuthenticateRequest {
  # Scope this connection to the identity named by a token from getToken. Every dataset request
  # needs it first. May be sent again with a fresh token before the old one expires.
  token @0 :Text;
}

struct ListDatasetsRequest {
  maxResults @0 :UInt32;        # 0 = server default
  nextToken @1 :Text;           # from the previous page; empty for the first
}

struct DescribeDatasetRequest {
  datasetName @0 :Text;
}

struct ListRecordsRequest {
  # Pull: records with sync count > lastSyncCount, in pages.
  datasetName @0 :Text;
  lastSyncCount @1 :Int64;      # the dataset sync count the device last synced to (0 = all)
  maxResults @2 :UInt32;        # records per page; 0 = server default (1,024)
  nextToken @3 :Text;           # from the previous page; empty for the first
}

struct UpdateRecordsRequest {
  # Push: an atomic batch of changes to one dataset.
  datasetName @0 :Text;
  syncSessionToken @1 :Text;    # from a listRecords of this dataset within its lifetime
  deviceId @2 :Text;            # this device's ID; recorded as lastModifiedBy (may be empty)
  patches @3 :List(RecordPatch);
  ifDatasetSyncCount @4 :Int64 = -1;
  # A conditional push (servers announcing HelloAck.conditionalPush): when >= 0, no
  # syncSessionToken is needed, and the server writes the batch only if the dataset's sync
  # count is exactly this (0 = the dataset was never written) and no merged dataset is reported
  # for it; otherwise resourceConflict and nothing is written, and the client pulls, then pushes
  # as usual. A device that pulled to this count earlier skips the pull before each push: one
  # round trip per sync instead of two. -1 = not conditional (a syncSessionToken is required).
  omitValues @5 :Bool;
  # The response leaves `records` empty and carries only the batch's common fields (below):
  # every record of the batch was stored as sent, with those. Saves echoing every value.
}

struct DeleteDatasetRequest {
  datasetName @0 :Text;
}

struct DescribeIdentityUsageRequest {}

struct SubscribeRequest {
  # Ask to be told (datasetChanged) when these datasets of the authenticated identity change
  # by any writer other than this connection. Subscriptions live as long as the connection;
  # after a reconnect, subscribe again. Subscribing to a dataset that does not exist yet is
  # allowed (its creation is a change).
  datasetNames @0 :List(Text);
  deviceId @1 :Text;            # this device's ID (may be empty). If it is a DeviceId from
                                # Cognito RegisterDevice for this identity, the connection is
                                # also subscribed to that device's stored SubscribeToDataset
                                # datasets, and follows Subscribe/UnsubscribeFromDataset while
                                # open. Empty datasetNames + a deviceId = just those.
}

struct UnsubscribeRequest {
  datasetNames @0 :List(Text);  # empty = all of this connection's subscriptions, including
                                # its device's (the stored ones stay for the next connection)
}

struct GetDeveloperTokenRequest {
  # Sent by an app's own backend that holds a developer credential (tetherd credentials
  # create), never by a device: an identity and an OpenID token for one of the app's users
  # (Cognito GetOpenIdTokenForDeveloperIdentity). Needs no authenticate first; the request
  # proves itself with an HMAC (docs/protocol.md, "Developer tokens"). Answered with getToken.
  identityPoolId @0 :Text;
  identityId @1 :Text;          # empty: the user's identity (created on first use); set: link
                                # the user to this identity (a guest upgrades in place)
  developerUserId @2 :Text;     # the app's user ID, 1..1024 characters
  tokenDurationSeconds @3 :Int64;  # 0 = 900; at most 86400
  accessKeyId @4 :Text;         # the developer credential's access key ID
  timestampMs @5 :Int64;        # the sender's clock; refused if more than 5 minutes off
  signature @6 :Text;           # hex HMAC-SHA256(secret, canonical string of the fields above)
}

# ------------------------------------------------------------------------------------------
# Server -> client

struct ServerMessage {
  union {
    helloAck @0 :HelloAck;
    response @1 :Response;
    datasetChanged @2 :DatasetChanged;
  }
}

struct HelloAck {
  protocolVersion @0 :UInt32;   # the version this connection will use
  serverName @1 :Text;          # e.g. "tetherd/0.1"
  maxFrameBytes @2 :UInt32;     # frames larger than this are refused and the connection closed
  conditionalPush @3 :Bool;     # updateRecords understands ifDatasetSyncCount and omitValues
}

struct Response {
  id @0 :UInt64;                # the request's id (0 for an error about the session itself)
  union {
    error @1 :Error;
    getId @2 :GetIdResponse;
    getToken @3 :GetTokenResponse;
    authenticate @4 :AuthenticateResponse;
    listDatasets @5 :ListDatasetsResponse;
    describeDataset @6 :DescribeDatasetResponse;
    listRecords @7 :ListRecordsResponse;
    updateRecords @8 :UpdateRecordsResponse;
    deleteDataset @9 :DeleteDatasetResponse;
    describeIdentityUsage @10 :DescribeIdentityUsageResponse;
    subscribe @11 :SubscribeResponse;
    unsubscribe @12 :UnsubscribeResponse;
  }
}

struct GetIdResponse {
  identityId @0 :Text;
}

struct GetTokenResponse {
  identityId @0 :Text;
  token @1 :Text;               # a JWT signed by this server; see /.well-known/jwks.json
  expiresAtMs @2 :Int64;
}

struct AuthenticateResponse {
  identityId @0 :Text;
  identityPoolId @1 :Text;
  expiresAtMs @2 :Int64;        # when the token stops being accepted; authenticate again before
}

struct ListDatasetsResponse {
  datasets @0 :List(DatasetMetadata);
  nextToken @1 :Text;           # empty on the last page
}

struct DescribeDatasetResponse {
  dataset @0 :DatasetMetadata;
}

struct ListRecordsResponse {
  # Every page carries the same dataset-level fields.
  records @0 :List(Record);
  nextToken @1 :Text;           # empty on the last page
  datasetSyncCount @2 :Int64;   # current dataset sync count (0 if it never existed)
  lastModifiedBy @3 :Text;
  mergedDatasetNames @4 :List(Text);
  datasetExists @5 :Bool;
  datasetDeletedAfterRequestedSyncCount @6 :Bool;
  syncSessionToken @7 :Text;    # present this with the following updateRecords
}

struct UpdateRecordsResponse {
  records @0 :List(Record);     # every record written, as now stored (new sync counts); empty
                                # when the request set omitValues
  syncCount @1 :Int64;          # the batch's new dataset sync count: every record's syncCount
                                # (0 when the batch was empty and nothing was written)
  lastModifiedMs @2 :Int64;     # server time of the batch: every record's lastModifiedMs
  lastModifiedBy @3 :Text;      # the writer recorded for every record of the batch
}

struct DeleteDatasetResponse {
  dataset @0 :DatasetMetadata;  # the dataset's metadata just before deletion
}

struct DescribeIdentityUsageResponse {
  identityId @0 :Text;
  identityPoolId @1 :Text;
  lastModifiedMs @2 :Int64;
  datasetCount @3 :Int64;
  dataStorage @4 :Int64;
}

struct SubscriptionState {
  datasetName @0 :Text;
  syncCount @1 :Int64;          # the dataset's sync count now (0 if it does not exist), so a
                                # device that is behind can pull at once
  exists @2 :Bool;
}

struct SubscribeResponse {
  datasets @0 :List(SubscriptionState);   # one per requested name, in request order, then
                                          # one per stored device subscription not requested
}

struct UnsubscribeResponse {}

struct DatasetChanged {
  # Server push: a dataset this connection subscribed to changed (records written, dataset
  # deleted or merged into). Sent to every subscribed connection of the identity except the
  # one whose request made the change. If several changes happen before the connection reads,
  # only the newest sync count of each dataset is delivered.
  identityPoolId @0 :Text;
  identityId @1 :Text;
  datasetName @2 :Text;
  syncCount @3 :Int64;
  records @4 :List(Record);
  # When hasRecords: every record of the one batch that took the dataset from syncCount - 1 to
  # syncCount, as stored (sent for batches of up to 64 KiB of keys and values). A subscriber
  # whose last synced count is exactly syncCount - 1 may apply them and move to syncCount
  # without pulling; any other subscriber pulls as usual.
  hasRecords @5 :Bool;
}
