// See pg_outbox.h.
#include "storage/pg_outbox.h"

namespace tether::server::pg_outbox {
namespace {

constexpr const char* kColumns = "stream, pool_id, identity_id, dataset, created_ms, body";

std::vector<OutboxEntry> readEntries(const PgResult& r) {
  std::vector<OutboxEntry> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    OutboxEntry e;
    e.seq = r.int64(i, 0);
    e.stream = r.text(i, 1);
    e.poolId = r.text(i, 2);
    e.identityId = r.text(i, 3);
    e.dataset = r.text(i, 4);
    e.createdMs = r.int64(i, 5);
    e.json = r.text(i, 6);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<std::optional<std::string>> getMeta(PgConn& conn, std::string_view key, bool forUpdate) {
  TETHER_TRY(PgResult r, conn.exec(forUpdate ? "SELECT value FROM meta WHERE key = $1 FOR UPDATE"
                                             : "SELECT value FROM meta WHERE key = $1",
                                   {key}));
  if (r.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r.text(0, 0));
}

Status putMeta(PgConn& conn, std::string_view key, std::string_view value) {
  return conn
      .exec("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {key, value})
      .status();
}

Status append(PgConn& conn, const OutboxEntry& e, int64_t maxDepth) {
  // No counter row: every writer of every node would queue on it. First the seq range, an upper
  // bound of the depth from two index ends; only when that reaches the bound, a count that
  // walks at most maxDepth index entries.
  TETHER_TRY(PgResult range, conn.exec("SELECT COALESCE(MAX(seq) - MIN(seq) + 1, 0) FROM stream_outbox"));
  int64_t depth = range.int64(0, 0);
  if (depth >= maxDepth) {
    TETHER_TRY(PgResult count, conn.exec("SELECT count(*) FROM (SELECT 1 FROM stream_outbox LIMIT $1) t", {maxDepth}));
    depth = count.int64(0, 0);
  }
  if (depth >= maxDepth)
    return Status::tooManyRequests("the Cognito Streams outbox is full (" + std::to_string(maxDepth) +
                                   " undelivered records); retry later");
  return conn
      .exec(std::string("INSERT INTO stream_outbox (") + kColumns + ") VALUES ($1, $2, $3, $4, $5, $6)",
            {e.stream, e.poolId, e.identityId, e.dataset, e.createdMs, e.json})
      .status();
}

Result<std::vector<OutboxEntry>> list(PgConn& conn, std::string_view stream, int limit) {
  TETHER_TRY(PgResult r, conn.exec(std::string("SELECT seq, ") + kColumns +
                                       " FROM stream_outbox WHERE stream = $1 ORDER BY seq LIMIT $2",
                                   {stream, limit < 0 ? 0 : limit}));
  return readEntries(r);
}

Result<std::vector<std::string>> streams(PgConn& conn) {
  TETHER_TRY(PgResult r, conn.exec("SELECT DISTINCT stream FROM stream_outbox ORDER BY stream"));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

Status remove(PgConn& conn, std::span<const int64_t> seqs) {
  if (seqs.empty()) return Status::ok();
  std::string list = "{";
  for (size_t i = 0; i < seqs.size(); ++i) list += (i ? "," : "") + std::to_string(seqs[i]);
  list += "}";
  return conn.exec("DELETE FROM stream_outbox WHERE seq = ANY($1::bigint[])", {list}).status();
}

Result<OutboxStats> stats(PgConn& conn) {
  TETHER_TRY(PgResult r, conn.exec("SELECT count(*), COALESCE((SELECT created_ms FROM stream_outbox"
                                   " ORDER BY seq LIMIT 1), 0) FROM stream_outbox"));
  return OutboxStats{r.int64(0, 0), r.int64(0, 1)};
}

Status appendFeed(PgConn& conn, std::span<const OutboxEntry> entries) {
  if (entries.empty()) return Status::ok();
  TETHER_TRY(int64_t last, lastFeedPosition(conn, entries.front().stream));
  for (const OutboxEntry& e : entries) {
    TETHER_RETURN_IF_ERROR(conn.exec("INSERT INTO stream_feed (position, " + std::string(kColumns) +
                                         ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                     {++last, e.stream, e.poolId, e.identityId, e.dataset, e.createdMs, e.json})
                               .status());
  }
  return Status::ok();
}

Result<std::vector<OutboxEntry>> listFeed(PgConn& conn, std::string_view stream, int64_t afterPosition, int limit) {
  TETHER_TRY(PgResult r, conn.exec(std::string("SELECT position, ") + kColumns +
                                       " FROM stream_feed WHERE stream = $1 AND position > $2"
                                       " ORDER BY position LIMIT $3",
                                   {stream, afterPosition, limit < 0 ? 0 : limit}));
  return readEntries(r);
}

Result<int64_t> lastFeedPosition(PgConn& conn, std::string_view stream) {
  TETHER_TRY(PgResult r, conn.exec("SELECT COALESCE(MAX(position), 0) FROM stream_feed WHERE stream = $1", {stream}));
  return r.int64(0, 0);
}

Result<int64_t> pruneFeed(PgConn& conn, std::string_view stream, int64_t beforeMs) {
  // Cut at the first position young enough, so what stays is a contiguous tail.
  TETHER_TRY(PgResult cut, conn.exec("SELECT COALESCE(MIN(position), (SELECT COALESCE(MAX(position), 0) + 1"
                                     " FROM stream_feed WHERE stream = $1))"
                                     " FROM stream_feed WHERE stream = $1 AND created_ms >= $2",
                                     {stream, beforeMs}));
  const int64_t keepFrom = cut.int64(0, 0);
  TETHER_TRY(PgResult del, conn.exec("DELETE FROM stream_feed WHERE stream = $1 AND position < $2", {stream, keepFrom}));
  return del.affected() > 0 ? keepFrom - 1 : int64_t{0};
}

}  // namespace tether::server::pg_outbox
