// Limits and validation shared by the client library and the server, so that anything the
// client accepts locally the server accepts too (and the other way round).
// Figures follow Cognito Sync (spec cognito-compat.md 1.2-1.3, section 7 item 7 defaults).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tether/status.h"

namespace tether {

constexpr int kMaxDatasetsPerIdentity = 20;
constexpr int kMaxRecordsPerDataset = 1024;          // live records; tombstones don't count
constexpr int64_t kMaxDatasetBytes = 1048576;        // sum of UTF-8 key bytes + value bytes
constexpr size_t kMaxDatasetNameChars = 128;         // [a-zA-Z0-9_.:-]
constexpr size_t kMaxRecordKeyChars = 1024;          // code points, as the Cognito model counts
constexpr size_t kMaxRecordValueChars = 1048575;     // code points
constexpr size_t kMaxIdChars = 55;                   // identity and pool IDs: region:uuid
constexpr size_t kMaxDeviceIdChars = 256;
constexpr int kMaxPatchesPerBatch = 1024;
constexpr int kMaxLoginsPerRequest = 10;
constexpr size_t kMaxLoginTokenChars = 50000;
// A full 1 MB dataset pushed in one batch plus framing and per-record overhead fits.
constexpr size_t kMaxFrameBytes = 4u << 20;

// Number of code points in valid UTF-8, or nullopt-like -1 if `s` is not valid UTF-8
// (overlongs, surrogates and code points above U+10FFFF are invalid).
int64_t utf8Length(std::string_view s);

// Size a record counts toward the 1 MB dataset limit (0 for a tombstone's value).
inline int64_t recordSize(std::string_view key, std::string_view value) {
  return static_cast<int64_t>(key.size() + value.size());
}

// Each returns kInvalidArgument with a message naming what is wrong.
Status validateDatasetName(std::string_view name);
Status validateRecordKey(std::string_view key);
Status validateRecordValue(std::string_view value);
Status validateIdentityId(std::string_view id);      // also pool IDs: [\w-]+:[0-9a-f-]+, <= 55
Status validatePoolId(std::string_view id);
Status validateDeviceId(std::string_view id);        // 1..256 chars of UTF-8

}  // namespace tether
