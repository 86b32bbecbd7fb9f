// The tetherd export format (docs/export-format.md): JSON Lines, a header, pool / credential /
// identity / device / dataset / record lines, and a trailer with counts. This file turns the
// store walk's values (store_walk.h) into lines and back; export_import.cpp runs the commands.
//
// Reading is strict: every line must parse, carry a known `type` with fields of the right JSON
// types, and come in the documented order; any deviation is a kCorruption naming the line.
// Thread-safety: an ExportReader is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/store_walk.h"
#include "tether/status.h"

namespace tether::server {

inline constexpr const char* kExportFormatName = "tetherd-export";
inline constexpr int kExportFormatVersion = 1;

struct ExportCounts {
  int64_t pools = 0, credentials = 0, identities = 0, devices = 0, datasets = 0, records = 0, tombstones = 0;
  friend bool operator==(const ExportCounts&, const ExportCounts&) = default;
};

// Writes lines to `out`, counting them. Call header() first and trailer() last.
class ExportWriter {
 public:
  explicit ExportWriter(std::ostream& out) : out_(out) {}
  void header(const std::string& poolScope, const std::string& identityScope);
  void pool(const PoolData& pool);
  void credential(const DeveloperCredentialRow& credential);
  void identity(const IdentityData& data);  // the identity, its devices, datasets and records
  void trailer();
  const ExportCounts& counts() const { return counts_; }
  // Not ok if a line could not be written (a string other than a record value is not UTF-8).
  const Status& status() const { return status_; }

 private:
  void line(const nlohmann::ordered_json& j);
  std::ostream& out_;
  ExportCounts counts_;
  Status status_ = Status::ok();
  int64_t lines_ = 0;
};

// Reads a whole export, validating as it goes, and hands over each pool, credential and identity
// (with everything of it) once complete. A callback's error stops the read and is returned.
struct ExportVisitor {
  std::function<Status(const PoolData&)> pool;
  std::function<Status(const DeveloperCredentialRow&)> credential;
  std::function<Status(const IdentityData&)> identity;
};
Result<ExportCounts> readExport(std::istream& in, const ExportVisitor& visitor);

}  // namespace tether::server
