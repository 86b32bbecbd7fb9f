// Backend-independent pieces of the user-pool store (user_pool_store.h) shared by the SQLite
// (sqlite_user_pools.cpp) and PostgreSQL (pg_user_pools.cpp) implementations: the input checks
// every write makes first, and the bounds that turn a prefix filter into an index range (a LIKE
// pattern would need its '%', '_' and '\' escaped, and SQLite's LIKE ignores ASCII case).
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/user_pool_store.h"
#include "tether/status.h"

namespace tether::server::user_pool_rows {

// kInvalidArgument if the user's attributes repeat a name or its aliases repeat an alias.
Status checkUser(const UserRow& user);

// The user's aliases in their stored order (sorted): writers insert them in this order, so two
// writers of overlapping aliases wait for each other instead of deadlocking.
std::vector<UserAlias> sortedAliases(const UserRow& user);

// The least string above every string that starts with `prefix`, in byte order (SQLite's
// BINARY): the prefix with its last byte below 0xFF incremented and what follows dropped. So
// `s >= prefix AND s < end` holds exactly when s starts with prefix. nullopt when no such
// string exists (prefix empty or all 0xFF): then `s >= prefix` alone is exact.
std::optional<std::string> bytePrefixEnd(std::string_view prefix);

// The same in code point order, and valid UTF-8 itself (PostgreSQL refuses anything else as
// text): the last code point below U+10FFFF incremented (skipping the surrogates), what follows
// dropped. Byte order of valid UTF-8 is code point order, so on a "C"-collated column the range
// [prefix, end) is exactly the strings starting with prefix. A prefix that is not valid UTF-8
// gets bytePrefixEnd (PostgreSQL then refuses the parameter: kInvalidArgument).
std::optional<std::string> utf8PrefixEnd(std::string_view prefix);

// The first `n` code points of a UTF-8 string (PostgreSQL's left(s, n) in a UTF-8 database).
std::string utf8Left(std::string_view s, size_t n);

// "<poolId>/": the key prefix of the pool's tickets and use-once records (user_pool_store.h).
std::string ticketKeyPrefix(std::string_view poolId);

}  // namespace tether::server::user_pool_rows
