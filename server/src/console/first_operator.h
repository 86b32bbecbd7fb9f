// The console's first operator (docs/console.md, "Signing in and operators"): when
// `tetherd serve` starts on a SQLite data directory whose store has no operator, it creates
// `admin` with a random password and writes that password to <data-dir>/console-admin-password
// (mode 0600), so that `make run` leads straight to a console one can sign in to. A shared
// PostgreSQL store gets no such account (which node's disk would hold the password?): the
// operator runs `tetherd admin create-user` instead. Thread-safety: call once at start.
#pragma once

#include <filesystem>
#include <optional>

#include "common/clock.h"
#include "storage/store.h"

namespace tether::server::console {

inline constexpr const char* kFirstOperatorName = "admin";
inline constexpr const char* kFirstOperatorPasswordFile = "console-admin-password";

// The password file's path if this call created `admin`; nullopt if an operator existed.
Result<std::optional<std::filesystem::path>> ensureFirstOperator(Store& store, const Clock& clock,
                                                                 const std::filesystem::path& dataDir);

}  // namespace tether::server::console
