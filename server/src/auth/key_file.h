// Small secret files in `<dataDir>/keys/` (the signing key, the session-token key): a private
// directory, size-capped reads, and creation that is atomic and never replaces an existing key.
// Thread-safety: free functions; concurrent creators of one file (threads or processes) are safe:
// exactly one wins and the others read the winner's file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server::auth {

// Creates `dir` (and missing parents) with mode 0700. An existing directory is left as it is
// (it may be a read-only mount the operator prepared). kIOError on failure.
Status ensurePrivateDir(const std::filesystem::path& dir);

// The whole file, or nullopt if it does not exist. kIOError if it cannot be read, kCorruption
// if it is larger than `maxBytes` (a key file that large was not written by us).
Result<std::optional<std::string>> readSecretFile(const std::filesystem::path& path,
                                                  size_t maxBytes);

// Writes `bytes` to `path` with mode 0600: a temp file in the same directory, fsync, link(2) to
// the final name, fsync of the directory. link rather than rename so that a key created by a
// concurrent process is never replaced (tokens it signed would stop verifying); rename only on
// filesystems without hard links.
// Returns true if this call created the file, false if it already existed. kIOError on failure.
Result<bool> createSecretFile(const std::filesystem::path& path, std::string_view bytes);

// Reads `path`, or creates it from `generate()` if absent (taking the other creator's file if
// one wins the race). The returned bytes are what is on disk.
Result<std::string> loadOrCreateSecretFile(const std::filesystem::path& path, size_t maxBytes,
                                           const std::function<Result<std::string>()>& generate);

}  // namespace tether::server::auth
