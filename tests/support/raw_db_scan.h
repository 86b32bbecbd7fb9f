// Every value of every table of a tetherd database, read raw (SQLite through the sqlite3 API,
// PostgreSQL through libpq), as "table: value" strings: erasure tests search them for an
// identity's ID and values. Every table there is is read, so one added later is covered too.
// Header-only; the test links sqlite3 and libpq. Failures are gtest failures.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tether::testing {

inline std::vector<std::string> rawSqliteValues(const std::filesystem::path& dbFile) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(dbFile.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* tables = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &tables, nullptr);
  int n = 0;
  while (sqlite3_step(tables) == SQLITE_ROW) {
    ++n;
    std::string table = reinterpret_cast<const char*>(sqlite3_column_text(tables, 0));
    sqlite3_stmt* rows = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("SELECT * FROM \"" + table + "\"").c_str(), -1, &rows, nullptr), SQLITE_OK);
    while (sqlite3_step(rows) == SQLITE_ROW)
      for (int f = 0; f < sqlite3_column_count(rows); ++f) {
        const void* b = sqlite3_column_blob(rows, f);
        out.push_back(table + ": " + std::string(static_cast<const char*>(b != nullptr ? b : ""),
                                                 static_cast<size_t>(sqlite3_column_bytes(rows, f))));
      }
    sqlite3_finalize(rows);
  }
  sqlite3_finalize(tables);
  sqlite3_close(db);
  EXPECT_GT(n, 10) << "too few tables in " << dbFile;
  return out;
}

inline std::vector<std::string> rawPgValues(const std::string& conninfo, const std::string& schema) {
  std::vector<std::string> out;
  PGconn* c = PQconnectdb(conninfo.c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  std::string q = "SELECT table_name FROM information_schema.tables WHERE table_schema = '" + schema +
                  "' AND table_type = 'BASE TABLE'";
  PGresult* tables = PQexec(c, q.c_str());
  EXPECT_EQ(PQresultStatus(tables), PGRES_TUPLES_OK) << PQerrorMessage(c);
  EXPECT_GT(PQntuples(tables), 10) << "too few tables in schema " << schema;
  for (int t = 0; t < PQntuples(tables); ++t) {
    std::string table = PQgetvalue(tables, t, 0);
    std::string sql = "SELECT * FROM \"" + schema + "\".\"" + table + "\"";
    PGresult* rows = PQexec(c, sql.c_str());
    EXPECT_EQ(PQresultStatus(rows), PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(c);
    for (int r = 0; r < PQntuples(rows); ++r)
      for (int f = 0; f < PQnfields(rows); ++f) out.push_back(table + ": " + PQgetvalue(rows, r, f));
    PQclear(rows);
  }
  PQclear(tables);
  PQfinish(c);
  return out;
}

}  // namespace tether::testing
