// Plain data types shared by the client library and the server: records, patches, dataset
// metadata, logins. Times are milliseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tether {

struct Record {
  std::string key;
  std::optional<std::string> value;  // nullopt = tombstone (removed)
  int64_t syncCount = 0;
  int64_t lastModifiedMs = 0;
  std::string lastModifiedBy;
  int64_t deviceLastModifiedMs = 0;

  bool isDeleted() const { return !value.has_value(); }
  friend bool operator==(const Record&, const Record&) = default;
};

enum class PatchOp { kReplace, kRemove };

struct RecordPatch {
  PatchOp op = PatchOp::kReplace;
  std::string key;
  std::string value;          // used for kReplace only
  int64_t syncCount = 0;      // the record sync count the device last saw (0 = never seen)
  int64_t deviceLastModifiedMs = 0;
  friend bool operator==(const RecordPatch&, const RecordPatch&) = default;
};

struct DatasetMetadata {
  std::string name;
  int64_t creationMs = 0;
  int64_t lastModifiedMs = 0;
  std::string lastModifiedBy;
  int64_t dataStorage = 0;    // bytes of live records
  int64_t numRecords = 0;     // live records
  int64_t syncCount = 0;
  friend bool operator==(const DatasetMetadata&, const DatasetMetadata&) = default;
};

struct Login {
  std::string provider;
  std::string token;
  friend bool operator==(const Login&, const Login&) = default;
};

}  // namespace tether
