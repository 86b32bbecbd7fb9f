// SqliteTransaction: meta, the Cognito Streams outbox and the changes feed (store_transaction.h,
// storage/outbox.h). Kept apart from sqlite_transaction.cpp, which holds the dataset work.
#include "storage/sqlite_transaction.h"

#include <string>

namespace tether::server {
namespace {

OutboxEntry readEntry(const Statement& st) {
  OutboxEntry e;
  e.seq = st.columnInt64(0);
  e.stream = st.columnText(1);
  e.poolId = st.columnText(2);
  e.identityId = st.columnText(3);
  e.dataset = st.columnText(4);
  e.createdMs = st.columnInt64(5);
  e.json = st.columnText(6);
  return e;
}

}  // namespace

Result<std::optional<std::string>> SqliteTransaction::getMeta(std::string_view key) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare("SELECT value FROM meta WHERE key = ?1"));
  st.bind(1, key);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.columnText(0));
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteTransaction::listMeta(std::string_view prefix) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  // substr instead of LIKE: a prefix may hold '%' or '_'.
  TETHER_TRY(Statement st, db_->prepare(
      "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key"));
  st.bind(1, prefix);
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.emplace_back(st.columnText(0), st.columnText(1));
  }
  return out;
}

Status SqliteTransaction::putMeta(std::string_view key, std::string_view value) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)"));
  st.bind(1, key).bind(2, value);
  return st.run();
}

Status SqliteTransaction::appendOutbox(const OutboxEntry& e, int64_t maxDepth) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement depth, db_->prepare("SELECT n FROM stream_outbox_depth"));
  TETHER_TRY(bool row, depth.step());
  if (row && depth.columnInt64(0) >= maxDepth)
    return Status::tooManyRequests("the Cognito Streams outbox is full (" + std::to_string(maxDepth) +
                                   " undelivered records); retry later");
  TETHER_TRY(Statement st, db_->prepare(
      "INSERT INTO stream_outbox (stream, pool_id, identity_id, dataset, created_ms, body)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.bind(1, e.stream).bind(2, e.poolId).bind(3, e.identityId).bind(4, e.dataset).bind(5, e.createdMs)
      .bind(6, e.json);
  return st.run();
}

Result<std::vector<OutboxEntry>> SqliteTransaction::listOutbox(std::string_view stream, int limit) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "SELECT seq, stream, pool_id, identity_id, dataset, created_ms, body FROM stream_outbox"
      " WHERE stream = ?1 ORDER BY seq LIMIT ?2"));
  st.bind(1, stream).bind(2, int64_t{limit < 0 ? 0 : limit});
  std::vector<OutboxEntry> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(readEntry(st));
  }
  return out;
}

Result<std::vector<std::string>> SqliteTransaction::outboxStreams() {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare("SELECT DISTINCT stream FROM stream_outbox ORDER BY stream"));
  std::vector<std::string> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(st.columnText(0));
  }
  return out;
}

Status SqliteTransaction::deleteOutbox(std::span<const int64_t> seqs) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  for (int64_t seq : seqs) {
    // One loan per run: a Statement is reset when it goes back to the cache.
    TETHER_TRY(Statement st, db_->prepare("DELETE FROM stream_outbox WHERE seq = ?1"));
    st.bind(1, seq);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  return Status::ok();
}

Result<OutboxStats> SqliteTransaction::outboxStats() {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "SELECT (SELECT n FROM stream_outbox_depth),"
      " COALESCE((SELECT created_ms FROM stream_outbox ORDER BY seq LIMIT 1), 0)"));
  TETHER_TRY(bool row, st.step());
  OutboxStats s;
  if (row) {
    s.depth = st.columnInt64(0);
    s.oldestCreatedMs = st.columnInt64(1);
  }
  return s;
}

Status SqliteTransaction::appendFeed(std::span<const OutboxEntry> entries) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  if (entries.empty()) return Status::ok();
  TETHER_TRY(int64_t last, lastFeedPosition(entries.front().stream));
  for (const OutboxEntry& e : entries) {
    TETHER_TRY(Statement st, db_->prepare(
        "INSERT INTO stream_feed (stream, position, pool_id, identity_id, dataset, created_ms, body)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    st.bind(1, e.stream).bind(2, ++last).bind(3, e.poolId).bind(4, e.identityId).bind(5, e.dataset)
        .bind(6, e.createdMs).bind(7, e.json);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  return Status::ok();
}

Result<std::vector<OutboxEntry>> SqliteTransaction::listFeed(std::string_view stream, int64_t afterPosition,
                                                            int limit) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "SELECT position, stream, pool_id, identity_id, dataset, created_ms, body FROM stream_feed"
      " WHERE stream = ?1 AND position > ?2 ORDER BY position LIMIT ?3"));
  st.bind(1, stream).bind(2, afterPosition).bind(3, int64_t{limit < 0 ? 0 : limit});
  std::vector<OutboxEntry> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(readEntry(st));
  }
  return out;
}

Result<int64_t> SqliteTransaction::lastFeedPosition(std::string_view stream) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare("SELECT COALESCE(MAX(position), 0) FROM stream_feed WHERE stream = ?1"));
  st.bind(1, stream);
  TETHER_TRY(bool row, st.step());
  return row ? st.columnInt64(0) : int64_t{0};
}

Result<int64_t> SqliteTransaction::pruneFeed(std::string_view stream, int64_t beforeMs) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  // Positions ascend with created_ms only roughly (delivery order): cut at the first position
  // that is young enough, so what stays is always a contiguous tail.
  TETHER_TRY(Statement cut, db_->prepare(
      "SELECT COALESCE(MIN(position), (SELECT COALESCE(MAX(position), 0) + 1 FROM stream_feed WHERE stream = ?1))"
      " FROM stream_feed WHERE stream = ?1 AND created_ms >= ?2"));
  cut.bind(1, stream).bind(2, beforeMs);
  TETHER_TRY(bool row, cut.step());
  const int64_t keepFrom = row ? cut.columnInt64(0) : 1;
  TETHER_TRY(Statement del, db_->prepare("DELETE FROM stream_feed WHERE stream = ?1 AND position < ?2"));
  del.bind(1, stream).bind(2, keepFrom);
  TETHER_RETURN_IF_ERROR(del.run());
  return sqlite3_changes(db_->raw()) > 0 ? keepFrom - 1 : int64_t{0};
}

}  // namespace tether::server
