// Shared pieces of the torture suites (tests/torture): knobs from the environment, SQLite's
// integrity check on a file nobody else has open, and paging a whole dataset out of tetherd.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tether/protocol.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing::torture {

// An integer knob: `make torture` raises them, `make test` runs the defaults (a small slice).
inline int64_t envInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoll(v, nullptr, 10);
}

// The seed of a randomized run: $TETHER_TORTURE_SEED if set (to replay one), else random.
inline uint32_t seedFromEnv() {
  int64_t s = envInt("TETHER_TORTURE_SEED", -1);
  if (s >= 0) return static_cast<uint32_t>(s);
  return static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count() ^ ::getpid());
}

// PRAGMA integrity_check of a database file after a crash; "ok" when healthy. Opened read-write
// (not read-only): opening after a crash may have to replay or recover the WAL.
inline std::string integrityCheck(const std::string& file) {
  sqlite3* db = nullptr;
  std::string out = "open failed";
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
      out.clear();
      while (sqlite3_step(st) == SQLITE_ROW) {
        if (!out.empty()) out += "; ";
        out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
      if (out.empty()) out = std::string("step failed: ") + sqlite3_errmsg(db);
    } else {
      out = std::string("prepare failed: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

// Every record of a dataset of the connection's identity (following nextToken).
inline Result<proto::ListRecordsResponse> pullAll(WsTestClient& ws, const std::string& dataset,
                                                  int timeoutMs = 10000) {
  proto::ListRecordsResponse all;
  std::string next;
  for (int page = 0; page < 1000; ++page) {
    proto::ListRecordsRequest rq;
    rq.datasetName = dataset;
    rq.nextToken = next;
    Result<proto::ListRecordsResponse> r = ws.callAs<proto::ListRecordsResponse>(rq, timeoutMs);
    if (!r.isOk()) return r.status();
    if (page == 0) {
      std::vector<Record> none;
      all = *r;
      all.records.swap(none);
    }
    for (Record& rec : r->records) all.records.push_back(std::move(rec));
    next = r->nextToken;
    if (next.empty()) return all;
  }
  return Status::internal("too many pages");
}

inline std::string slurpFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out.size() > 4000 ? out.substr(out.size() - 4000) : out;
}

// Restarts a killed tetherd on its port. A few attempts: while it was down, another process on
// this machine may briefly have held the port (an ephemeral source port of some connection).
inline bool restartServer(TetherdProcess& server) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (server.restart()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));  // retry pacing
  }
  return false;
}

// Polls `cond` until it holds or `timeout` passes (load-robust waiting, not a fixed sleep).
template <class F>
bool waitUntil(F cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace tether::testing::torture
