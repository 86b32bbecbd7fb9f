// PostgreSQL statements of the StoreTransaction meta / outbox / feed methods
// (store_transaction.h), run inside the caller's open transaction on `conn`. PgTransaction
// (pg_store.cpp) forwards to these; they live here to keep pg_store.cpp to the dataset work.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/outbox.h"
#include "storage/pg_conn.h"
#include "tether/status.h"

namespace tether::server::pg_outbox {

Result<std::optional<std::string>> getMeta(PgConn& conn, std::string_view key, bool forUpdate = false);
Status putMeta(PgConn& conn, std::string_view key, std::string_view value);
Status append(PgConn& conn, const OutboxEntry& entry, int64_t maxDepth);
Result<std::vector<OutboxEntry>> list(PgConn& conn, std::string_view stream, int limit);
Result<std::vector<std::string>> streams(PgConn& conn);
Status remove(PgConn& conn, std::span<const int64_t> seqs);
Result<OutboxStats> stats(PgConn& conn);
Status appendFeed(PgConn& conn, std::span<const OutboxEntry> entries);
Result<std::vector<OutboxEntry>> listFeed(PgConn& conn, std::string_view stream, int64_t afterPosition, int limit);
Result<int64_t> lastFeedPosition(PgConn& conn, std::string_view stream);
Result<int64_t> pruneFeed(PgConn& conn, std::string_view stream, int64_t beforeMs);

}  // namespace tether::server::pg_outbox
