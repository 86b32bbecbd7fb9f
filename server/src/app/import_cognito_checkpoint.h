// The checkpoint of `tetherd import-cognito` (import_cognito.h): what lets an interrupted import
// continue. Two files:
//   FILE       JSON, replaced atomically (written to FILE.tmp, fsync'd, renamed): the pools, the
//              ListIdentities NextToken of the page being worked on, the identities of that page
//              this import owns (it found them absent from the target, so it may rewrite them
//              whole after an interruption), the total, the counts written so far, and whether
//              the import finished.
//   FILE.done  one finished identity ID per line, appended as each finishes (fsync'd when FILE
//              is saved). A torn last line is ignored.
// An empty path keeps everything in memory (an import without --checkpoint is not resumable).
// Thread-safety: not thread-safe; the importer serializes calls.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

#include "tether/status.h"

namespace tether::server {

struct ImportCheckpoint {
  std::string sourcePool;
  std::string targetPool;
  std::string pageToken;               // "" = the first page
  std::vector<std::string> pageOwned;  // identities of that page this import may rewrite
  int64_t total = -1;                  // identities in the source (-1: not counted yet)
  int64_t identities = 0, datasets = 0, records = 0, skipped = 0;
  bool finished = false;
};

class CheckpointFile {
 public:
  // Loads `path` (and path.done) if it exists; kCorruption naming the file if it is not a
  // checkpoint. A new, empty state otherwise.
  static Result<CheckpointFile> open(const std::string& path);
  CheckpointFile(CheckpointFile&& other) noexcept;
  CheckpointFile& operator=(CheckpointFile&&) = delete;
  ~CheckpointFile();

  ImportCheckpoint& state() { return state_; }
  bool isDone(const std::string& identityId) const { return done_.count(identityId) != 0; }
  size_t doneCount() const { return done_.size(); }
  // Appends to FILE.done (flushed to the kernel, not fsync'd).
  Status markDone(const std::string& identityId);
  // Writes FILE atomically after fsyncing FILE.done.
  Status save();

 private:
  explicit CheckpointFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
  ImportCheckpoint state_;
  std::unordered_set<std::string> done_;
  std::FILE* doneFile_ = nullptr;
};

}  // namespace tether::server
