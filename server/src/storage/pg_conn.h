// A small RAII layer over raw libpq for the PostgreSQL store (pg_store.h), reusable by anything
// else that talks to the same database (a change bus on LISTEN/NOTIFY, `store copy`):
//   PgResult  - one PGresult, freed with PQclear; typed column readers.
//   PgConn    - one PGconn, closed with PQfinish; exec() with parameters, libpq errors mapped to
//               typed Statuses (below); remembers whether the connection broke.
//   PgPool    - a bounded pool of PgConns per process; a broken connection is discarded when it
//               comes back, and a fresh one is opened on the next acquire, so service resumes by
//               itself when the database returns.
//
// Error mapping (SQLSTATE classes; docs/storage.md):
//   08xxx, 57P01-57P03, no SQLSTATE with the connection gone -> kUnavailable (connection lost,
//         server shutting down or starting); the connection is marked broken
//   40001 serialization failure, 40P01 deadlock -> kUnavailable, and `lastAbortRetryable()`
//         is true: the transaction was rolled back and may be run again
//   23505 unique violation -> kConflict; other 23xxx (foreign key, check) -> kInternal
//   22xxx data exceptions (e.g. invalid UTF-8 in a text) -> kInvalidArgument; a text parameter
//         holding a NUL byte is refused before it is sent (libpq would cut it there), also
//         kInvalidArgument
//   53100 disk full -> kIOError; other 53xxx (out of memory, too many connections) -> kUnavailable
//   everything else -> kInternal, with the server's message
//
// Thread-safety: a PgConn is used by one thread at a time (the pool hands it to one owner).
// PgPool is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

struct pg_conn;
struct pg_result;

namespace tether::server {

// One query parameter, sent in text format unless `binary` (bytea values: raw bytes, so that
// keys and values may hold any byte, NUL included, as in the SQLite store).
struct PgParam {
  std::optional<std::string> value;  // nullopt: SQL NULL
  bool binary = false;

  PgParam(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): reads like SQL
  PgParam(std::string_view v) : value(std::string(v)) {}  // NOLINT
  PgParam(const std::string& v) : value(v) {}              // NOLINT
  PgParam(const char* v) : value(std::string(v)) {}        // NOLINT
  PgParam(int64_t v) : value(std::to_string(v)) {}         // NOLINT
  PgParam(int v) : value(std::to_string(v)) {}             // NOLINT
  PgParam(bool v) : value(v ? "t" : "f") {}                // NOLINT
  PgParam(const std::optional<std::string>& v) : value(v) {}  // NOLINT
  static PgParam bytes(std::string_view v) {
    PgParam p{v};
    p.binary = true;
    return p;
  }
  static PgParam optionalBytes(const std::optional<std::string>& v) {
    PgParam p{v};
    p.binary = true;
    return p;
  }
};

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows an INSERT/UPDATE/DELETE touched (PQcmdTuples).
  int64_t affected() const;
  bool isNull(int row, int col) const;
  std::string text(int row, int col) const;
  int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;
  // A bytea column in text (hex) output: the raw bytes.
  std::string bytes(int row, int col) const;
  std::optional<std::string> optionalBytes(int row, int col) const;
  pg_result* raw() const { return r_; }

 private:
  pg_result* r_ = nullptr;
};

class PgConn {
 public:
  // Connects with `conninfo` (a URL or keyword string; libpq's PG* environment variables fill in
  // the rest) and makes the session durable for acknowledgements (synchronous_commit = on) and
  // UTC. kUnavailable if the server cannot be reached, kInvalidArgument if libpq rejects the
  // conninfo, kUnauthenticated if the server refuses the login.
  static Result<std::unique_ptr<PgConn>> connect(const std::string& conninfo);

  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn();

  // Runs one statement ($1, $2, ... parameters). Errors as in the header comment.
  Result<PgResult> exec(std::string_view sql, std::initializer_list<PgParam> params = {});
  Result<PgResult> exec(std::string_view sql, const std::vector<PgParam>& params);
  // Runs several statements without parameters (migrations).
  Status execScript(std::string_view sql);

  // True once the connection failed at the connection level (it must not be reused).
  bool broken() const { return broken_; }
  // True if the last failed exec was a deadlock or serialization failure (SQLSTATE 40P01/40001).
  bool lastAbortRetryable() const { return lastAbortRetryable_; }
  // Reads whatever the server sent while the connection sat idle (e.g. the FATAL "terminating
  // connection" of a restart) and reports whether it is still usable. Never blocks.
  bool checkAlive();
  // The server's backend PID (pg_terminate_backend in tests).
  int backendPid() const;
  pg_conn* raw() const { return conn_; }

 private:
  explicit PgConn(pg_conn* conn) : conn_(conn) {}
  Status statusOf(pg_result* r, std::string_view sql);

  pg_conn* conn_ = nullptr;
  bool broken_ = false;
  bool lastAbortRetryable_ = false;
  // Statements prepared on this session, by SQL text: a statement runs many times per session,
  // and parsing and planning it each time was most of PostgreSQL's CPU per push
  // (docs/benchmarks.md). Bounded: past kMaxPrepared, new texts run unprepared.
  static constexpr size_t kMaxPrepared = 256;
  std::unordered_map<std::string, std::string> prepared_;
};

struct PgPoolOptions {
  int size = 8;                 // at most this many connections open at once
  int acquireTimeoutMs = 10000; // waiting longer for a free one is kUnavailable
};

class PgPool {
 public:
  PgPool(std::string conninfo, PgPoolOptions options);
  ~PgPool();

  // A connection for the caller's exclusive use until the Lease is destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(PgPool* pool, std::unique_ptr<PgConn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { release(); }
    PgConn* operator->() const { return conn_.get(); }
    PgConn& operator*() const { return *conn_; }
    void release();

   private:
    PgPool* pool_ = nullptr;
    std::unique_ptr<PgConn> conn_;
  };

  // An idle connection (checked alive), or a new one while fewer than `size` are open, or the
  // first one returned within acquireTimeoutMs. kUnavailable: the server is unreachable, or
  // every connection stayed busy.
  Result<Lease> acquire();

  const std::string& conninfo() const { return conninfo_; }
  int size() const { return options_.size; }
  int openConnections();  // for tests

 private:
  void giveBack(std::unique_ptr<PgConn> conn);

  const std::string conninfo_;
  const PgPoolOptions options_;
  Mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PgConn>> idle_ TETHER_GUARDED_BY(mu_);
  int open_ TETHER_GUARDED_BY(mu_) = 0;  // idle + leased + being opened
};

// `conninfo` for messages, password removed ("postgresql://app@db:5432/tether").
std::string describePgConninfo(std::string_view conninfo);

}  // namespace tether::server
