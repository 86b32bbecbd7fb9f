// Crash durability: a forked child applies batches through SyncService on a real SQLite file and
// reports each batch number on a pipe only after updateRecords returned. The parent SIGKILLs it
// at random points, many times, then reopens the file and checks that every acknowledged batch
// is there, that no batch is half-applied, and that SQLite's integrity check passes.
//
// Each round uses its own identity; batch b of a round writes four shared keys s0..s3 = "b<b>"
// (overwritten every batch) and one key u<b> of its own, all in one UpdateRecords call.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../storage/temp_dir.h"
#include "storage/sqlite_store.h"
#include "sync/sync_service.h"
#include "sync_fakes.h"

namespace tether::server {
namespace {

using testing::FakeSessionTokens;
using testing::ManualClock;
using testing::TempDir;

constexpr const char* kPool = "local:00000000-0000-0000-0000-0000000000aa";
constexpr const char* kDataset = "log";
constexpr int kSharedKeys = 4;
constexpr int64_t kMaxBatchesPerRound = 1000;  // stays under the 1024-record limit
constexpr int kRounds = 30;
constexpr auto kTimeBudget = std::chrono::seconds(20);
constexpr int kAckTimeoutMs = 15000;

std::string identityFor(int round) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "local:%08x-0000-0000-0000-000000000001", round + 1);
  return buf;
}

std::string tag(int64_t batch) { return std::string("b") + std::to_string(batch); }

// ---- child: never returns; exit codes say what went wrong (the parent reports them).
[[noreturn]] void runChild(const std::filesystem::path& file, int round, int ackFd) {
  auto opened = openSqliteStore(file);
  if (!opened.isOk()) {
    std::fprintf(stderr, "child: open failed: %s\n", opened.status().toString().c_str());
    _exit(10);
  }
  ManualClock clock;
  FakeSessionTokens tokens;
  SyncService service(**opened, tokens, clock);
  Caller caller{kPool, identityFor(round), "durability-child"};

  proto::ListRecordsRequest lr;
  lr.datasetName = kDataset;
  auto pulled = service.listRecords(caller, lr);
  if (!pulled.isOk()) _exit(11);
  const int64_t start = pulled->datasetSyncCount;  // resume after an earlier kill of this round
  for (int64_t b = start + 1; b <= kMaxBatchesPerRound; ++b) {
    proto::UpdateRecordsRequest ur;
    ur.datasetName = kDataset;
    ur.syncSessionToken = pulled->syncSessionToken;
    for (int k = 0; k < kSharedKeys; ++k) {
      RecordPatch p;
      p.key = std::string("s") + std::to_string(k);
      p.value = tag(b);
      p.syncCount = b - 1;
      ur.patches.push_back(p);
    }
    RecordPatch own;
    own.key = std::string("u") + std::to_string(b);
    own.value = tag(b);
    ur.patches.push_back(own);
    auto r = service.updateRecords(caller, ur);
    if (!r.isOk()) {
      std::fprintf(stderr, "child: batch %lld failed: %s\n", static_cast<long long>(b),
                   r.status().toString().c_str());
      _exit(12);
    }
    // Acknowledge only now that the call returned. 8 bytes < PIPE_BUF: atomic.
    if (write(ackFd, &b, sizeof b) != static_cast<ssize_t>(sizeof b)) _exit(13);
  }
  _exit(0);
}

// ---- parent-side checks

struct RoundState {
  int64_t acked = 0;   // highest batch number the child acknowledged
  int64_t stored = 0;  // what the last check found
};

std::string integrityCheck(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  std::string out = "open failed";
  // Read-write (not read-only): opening after a crash may have to replay the WAL.
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

// Checks one round's identity; returns the stored batch count.
int64_t checkRound(SyncService& service, int round, const RoundState& state) {
  Caller caller{kPool, identityFor(round), ""};
  proto::ListRecordsRequest lr;
  lr.datasetName = kDataset;
  auto pulled = service.listRecords(caller, lr);
  EXPECT_TRUE(pulled.isOk()) << pulled.status();
  if (!pulled.isOk()) return -1;
  const int64_t stored = pulled->datasetSyncCount;
  // Every acknowledged batch is there, and so is every batch an earlier check saw (a child
  // killed between commit and ack leaves one stored but unacknowledged, and the next child of
  // the round resumes after it). At most the one batch in flight at the kill is beyond that.
  const int64_t floor = std::max(state.acked, state.stored);
  EXPECT_GE(stored, floor) << "round " << round << ": an acknowledged or already stored batch was lost";
  EXPECT_LE(stored, floor + 1) << "round " << round;
  std::map<std::string, Record> byKey;
  for (auto& r : pulled->records) byKey[r.key] = r;
  EXPECT_TRUE(pulled->nextToken.empty());
  if (stored == 0) {
    EXPECT_TRUE(byKey.empty());
    return 0;
  }
  EXPECT_EQ(byKey.size(), static_cast<size_t>(kSharedKeys + stored)) << "round " << round;
  for (int k = 0; k < kSharedKeys; ++k) {  // the last batch is whole: all shared keys carry it
    const Record& r = byKey[std::string("s") + std::to_string(k)];
    EXPECT_EQ(r.value, tag(stored)) << "round " << round << " key s" << k;
    EXPECT_EQ(r.syncCount, stored);
  }
  for (int64_t b = 1; b <= stored; ++b) {
    auto it = byKey.find(std::string("u") + std::to_string(b));
    if (it == byKey.end()) {
      ADD_FAILURE() << "round " << round << ": batch " << b << " missing";
      continue;
    }
    EXPECT_EQ(it->second.value, tag(b));
    EXPECT_EQ(it->second.syncCount, b);
  }
  return stored;
}

// Reads acks until `want` arrived (or EOF). Returns false on timeout.
bool readAcks(int fd, int64_t want, int64_t& count, int64_t& last, bool& eof) {
  while (count < want && !eof) {
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, kAckTimeoutMs);
    if (n <= 0) return false;
    int64_t b = 0;
    ssize_t got = read(fd, &b, sizeof b);
    if (got == 0) { eof = true; break; }
    if (got != static_cast<ssize_t>(sizeof b)) return false;
    ++count;
    last = b;
  }
  return true;
}

TEST(Durability, AcknowledgedBatchesSurviveKill9) {
  TempDir dir;
  const auto file = dir.file("tether.db");
  const uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::printf("durability seed %u\n", seed);
  RecordProperty("seed", std::to_string(seed));

  std::vector<RoundState> rounds;
  int kills = 0;
  int64_t batchesChecked = 0;
  const auto deadline = std::chrono::steady_clock::now() + kTimeBudget;
  for (int round = 0; round < kRounds && std::chrono::steady_clock::now() < deadline; ++round) {
    rounds.push_back(RoundState{});
    // Two children per round: the second resumes a dataset the first left behind mid-write.
    for (int life = 0; life < 2; ++life) {
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      std::fflush(nullptr);
      pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(fds[0]);
        runChild(file, round, fds[1]);
      }
      close(fds[1]);
      // Kill after a random number of acks (0 = possibly while it opens or migrates), plus a
      // random extra delay so the kill lands at varied points inside a batch. The delay is
      // fault injection, not a wait for a condition.
      const int64_t want = std::uniform_int_distribution<int64_t>(0, 12)(rng);
      int64_t count = 0, last = rounds.back().acked;
      bool eof = false;
      ASSERT_TRUE(readAcks(fds[0], want, count, last, eof)) << "child stopped acknowledging";
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
      kill(pid, SIGKILL);
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      if (WIFSIGNALED(status)) {
        ++kills;
      } else {
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0) << "child failed before the kill";
      }
      // Acks already in the pipe were sent before the kill: they count.
      ASSERT_TRUE(readAcks(fds[0], INT64_MAX, count, last, eof));
      close(fds[0]);
      rounds.back().acked = last;

      if (!std::filesystem::exists(file)) {
        // Killed before it created the file: nothing can have been acknowledged.
        ASSERT_EQ(rounds.back().acked, 0);
        continue;
      }
      ASSERT_EQ(integrityCheck(file), "ok");
      auto opened = openSqliteStore(file);
      ASSERT_TRUE(opened.isOk()) << opened.status();
      ManualClock clock;
      FakeSessionTokens tokens;
      SyncService service(**opened, tokens, clock);
      for (int r = 0; r <= round; ++r) {
        int64_t stored = checkRound(service, r, rounds[static_cast<size_t>(r)]);
        ASSERT_GE(stored, 0);
        rounds[static_cast<size_t>(r)].stored = stored;
        batchesChecked += stored;
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
  int64_t acked = 0, stored = 0;
  for (auto& r : rounds) { acked += r.acked; stored += r.stored; }
  std::printf("durability: %zu rounds, %d kills, %lld batches acknowledged, %lld stored, "
              "%lld batch checks\n",
              rounds.size(), kills, static_cast<long long>(acked), static_cast<long long>(stored),
              static_cast<long long>(batchesChecked));
  RecordProperty("kills", kills);
  RecordProperty("batches_acknowledged", std::to_string(acked));
  RecordProperty("batch_checks", std::to_string(batchesChecked));
  EXPECT_GE(kills, 10);
  EXPECT_GT(acked, 0);
}

}  // namespace
}  // namespace tether::server
