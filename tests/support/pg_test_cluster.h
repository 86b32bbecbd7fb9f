// PgTestCluster: a throwaway PostgreSQL 15 server for tests (docs/storage.md, "Testing").
//
// One cluster per test process, started on first use by PgTestCluster::shared(): initdb + pg_ctl
// from /usr/lib/postgresql/15/bin (`runuser -u postgres --` when the tests run as root, since
// PostgreSQL refuses root), data and unix socket in a temp dir under $TETHER_TEST_TMP,
// listen_addresses=127.0.0.1 on a free port, fsync=off (functional suites only). It is stopped by
// the PID in postmaster.pid at process exit (atexit), and, should the process die without running
// atexit handlers (abort, SIGKILL by a test timeout), by a small watchdog process that sees the
// test process's pipe close.
//
// Tests isolate themselves by a fresh schema each (freshSchema(): CREATE SCHEMA, and a conninfo
// whose `options=-csearch_path=<schema>` makes the store create its tables there), which takes
// a few milliseconds instead of a database per test.
//
// TETHER_TEST_PG_URL set in the environment means "use this server instead of starting one"
// (a URL or keyword string of a role that may create schemas); stop()/start() are then refused.
// If the PostgreSQL binaries are missing, shared() fails; PG_TEST_OR_SKIP() turns that into a
// skip on a developer machine and a failure when CI=true.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::testing {

class PgTestCluster {
 public:
  // The process's cluster, started on first call. Later calls return the same one (or the same
  // failure). Thread-safe.
  static Result<PgTestCluster*> shared();

  // A cluster of the caller's own (not the shared one; TETHER_TEST_PG_URL is ignored: the
  // caller wants the server's processes on this machine). durable = PostgreSQL's defaults
  // (fsync=on, synchronous_commit=on, full_page_writes=on), for benchmarks whose figures must
  // compare with SQLite at synchronous=FULL; otherwise the functional settings of shared().
  static Result<std::unique_ptr<PgTestCluster>> startDedicated(bool durable);

  // The postmaster's PID (from postmaster.pid), 0 if unknown or external. Its children are the
  // backends and background workers (CPU accounting in the benchmarks).
  long postmasterPid() const;

  ~PgTestCluster();
  PgTestCluster(const PgTestCluster&) = delete;
  PgTestCluster& operator=(const PgTestCluster&) = delete;

  // A new empty schema (named after `hint`, made unique); returns its name. conninfo(schema)
  // is the keyword conninfo that selects it, url(schema) the same as a postgresql:// URL (for
  // tetherd --store). An empty schema: the server's default search_path.
  Result<std::string> freshSchema(std::string_view hint);
  std::string conninfo(std::string_view schema) const;
  std::string url(std::string_view schema) const;

  // Runs SQL as the cluster's superuser (pg_terminate_backend, inspecting a schema).
  Status adminExec(std::string_view sql);
  // The first column of the first row of a query, as text ("" if no row).
  Result<std::string> adminQuery(std::string_view sql);

  // Stops the server (fast shutdown: clients are disconnected) and waits until it is gone;
  // start() brings it back on the same port and data. For fault tests. kUnavailable when the
  // cluster is external (TETHER_TEST_PG_URL).
  Status stop();
  Status start();
  bool external() const { return external_; }

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  PgTestCluster() = default;
  static Result<std::unique_ptr<PgTestCluster>> create(bool allowExternal = true);
  Status init(bool allowExternal);
  Status startServer();
  Status startWatchdog();
  void stopFromPidFile();

  bool external_ = false;
  std::string baseConninfo_;  // external: TETHER_TEST_PG_URL
  std::string dir_;           // temp dir: data/, server.log, the socket
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  bool asRoot_ = false;
  bool durable_ = false;      // PostgreSQL's default durability instead of fsync=off
  int watchdogPipe_ = -1;     // write end; the watchdog stops the server when it closes
  int watchdogPid_ = -1;
  std::atomic<int> schemaCounter_{0};
};

}  // namespace tether::testing

// In a test body: the shared cluster, or skip (developer machine without PostgreSQL) / fail
// (CI=true) with the reason.
#define PG_TEST_OR_SKIP(var)                                                                      \
  ::tether::testing::PgTestCluster* var = nullptr;                                                \
  do {                                                                                            \
    auto pgShared_ = ::tether::testing::PgTestCluster::shared();                                  \
    if (!pgShared_.isOk()) {                                                                      \
      const char* ci_ = std::getenv("CI");                                                        \
      if (ci_ != nullptr && std::string(ci_) == "true")                                           \
        FAIL() << "PostgreSQL test cluster unavailable in CI: " << pgShared_.status().toString(); \
      GTEST_SKIP() << "no PostgreSQL test cluster: " << pgShared_.status().toString();            \
    }                                                                                             \
    var = *pgShared_;                                                                             \
  } while (0)
