// ChangeBus: "dataset changed" notices between tetherd nodes that share one database.
//
// Each node fans a committed change out to its own connections itself (ChangeHub); the bus
// carries a short notice to the other nodes, which fan it out to theirs. Notices are hints, not
// a log: a bus may lose them (PostgreSQL's NOTIFY is not durable and reaches only the sessions
// listening at that moment), so every bus that can lose notices also runs a catch-up
// (events/change_catch_up.h) that compares the followed datasets' sync counts with the database
// and notifies what was missed. Delivery is therefore at-least-once, and a subscriber may hear
// of a sync count twice.
//
// On SQLite there is one node and no bus (the hub alone). On PostgreSQL: PgChangeBus
// (events/pg_change_bus.h), LISTEN/NOTIFY on channel "tether_changes".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tether::server {

struct ChangeNotice {
  enum class Kind : char {
    kDatasetChanged = 'c',     // dataset deleted or merged into (or a change of unknown shape)
    kBatchWritten = 'b',       // one batch of records took the dataset from syncCount - 1 to syncCount
    kDeviceSubscribed = 's',   // Cognito SubscribeToDataset stored for a push-sync device
    kDeviceUnsubscribed = 'u', // Cognito UnsubscribeFromDataset
  };
  Kind kind = Kind::kDatasetChanged;
  std::string originNode;       // the node whose request made the change
  uint64_t originConnection = 0;// that node's connection (0 = none); never told of its own write
  std::string poolId;
  std::string identityId;
  std::string dataset;
  int64_t syncCount = 0;        // kDatasetChanged / kBatchWritten only
  std::string deviceId;         // device kinds only

  friend bool operator==(const ChangeNotice&, const ChangeNotice&) = default;
};

// The notice as one line of text, far below NOTIFY's 8,000-byte payload limit (IDs are at most
// 55 characters, dataset names 128, node names 64): "v1" and the fields, tab-separated.
std::string encodeChangeNotice(const ChangeNotice& notice);
// nullopt for anything that is not a well-formed v1 notice (another version, a stray NOTIFY).
std::optional<ChangeNotice> decodeChangeNotice(std::string_view payload);

// A node name as the config gives it: 1..64 characters of [A-Za-z0-9._:-].
bool validNodeName(std::string_view name);

class ChangeBus {
 public:
  virtual ~ChangeBus() = default;
  // Queues the notice for the other nodes and returns at once (called on a worker, after the
  // commit, inside the identity's strand: must not block on the network).
  virtual void publish(ChangeNotice notice) = 0;
};

}  // namespace tether::server
