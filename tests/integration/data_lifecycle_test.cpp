// Issue 16, points 3 and 4, end to end with the real tetherd binary:
//  - `tetherd backup` while a writer keeps pushing batches: the restored copy serves, is
//    consistent (every dataset's records form one unbroken history up to its sync count) and
//    holds every batch acknowledged before the backup began; restore over a live directory is
//    refused; a backup onto a full disk (a small tmpfs; root only) fails with a message and
//    leaves no file.
//  - `tetherd export` / `tetherd import`: SQLite -> PostgreSQL -> SQLite round trip, each
//    export of the copy equal line for line to the original (all fields), a device continuing
//    on the copy without a re-pull or conflict; corrupt, truncated, miscounted, future-version
//    and overlapping files refused with the line named and nothing written; a rerun skips what
//    is already there.
//  - `tetherd identity delete` / `tetherd identity export`.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_cluster.h"
#include "signed_sync_client.h"
#include "storage/sqlite_store.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;
namespace fs = std::filesystem;

RecordPatch put(const std::string& k, const std::string& v, int64_t count) {
  return RecordPatch{PatchOp::kReplace, k, v, count, 1};
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string l; std::getline(s, l);) out.push_back(l);
  return out;
}

// The file without its header line (which carries the creation time).
std::string body(const fs::path& p) {
  std::string text = readFile(p);
  size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::string tool(const std::vector<std::string>& args, int expected) {
  std::string out, err;
  int rc = TetherdProcess::runTool(args, &out, &err);
  EXPECT_EQ(rc, expected) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << out << err;
  return out + err;
}

// ---------------------------------------------------------------------------------------------
// Backup while writes go on.

TEST(BackupTest, OnlineBackupHoldsEveryBatchAcknowledgedBeforeItBegan) {
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  auto c = WsTestClient::connect(server->url());
  ASSERT_NE(c, nullptr);
  Result<std::string> id = c->loginAsNewGuest(server->poolId());
  ASSERT_TRUE(id.isOk()) << id.status();
  // Some bulk first, so the copy takes a while.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(c->write("bulk", {put(std::string("b") + std::to_string(i), std::string(50000, 'x'), 0)}).isOk());

  // The writer: one batch per UpdateRecords into "log", key "k<n>" at sync count n; it records
  // when each batch was acknowledged.
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::vector<std::pair<int64_t, Clock::time_point>> acked;  // (sync count, ack time)
  std::atomic<bool> stop{false};
  std::string writerError;
  std::thread writer([&] {
    int64_t count = 0;
    while (!stop) {
      auto r = c->write("log", {put("k" + std::to_string(count + 1), "v" + std::to_string(count + 1), 0)});
      Clock::time_point at = Clock::now();
      if (!r.isOk()) {
        writerError = r.status().toString();
        return;
      }
      count = r->syncCount;
      std::lock_guard<std::mutex> l(mu);
      acked.emplace_back(count, at);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  fs::path dir = makeTempDir("backup");
  Clock::time_point began = Clock::now();
  std::string out = tool({"backup", "--data-dir", server->dataDir().string(), "--to", (dir / "b.tdb").string()}, 0);
  Clock::time_point ended = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // writes go on after it too
  stop = true;
  writer.join();
  ASSERT_EQ(writerError, "");
  int64_t before = 0, during = 0;
  for (const auto& [n, at] : acked) {
    if (at < began) before = n;
    else if (at < ended) ++during;
  }
  ASSERT_GT(before, 0);
  EXPECT_GT(during, 0) << "no batch was acknowledged while the backup ran: " << out;
  EXPECT_FALSE(fs::exists(dir / "b.tdb.tmp"));

  // Restore over the live directory: refused, and the directory is untouched.
  std::string refused = tool({"restore", "--from", (dir / "b.tdb").string(), "--data-dir",
                              server->dataDir().string()}, 1);
  EXPECT_NE(refused.find("never overwritten"), std::string::npos) << refused;
  // A non-empty directory without a database: only with --force.
  fs::path other = makeTempDir("restore-other");
  writeFile(other / "notes.txt", "x");
  tool({"restore", "--from", (dir / "b.tdb").string(), "--data-dir", other.string()}, 1);
  tool({"restore", "--from", (dir / "b.tdb").string(), "--data-dir", other.string(), "--force"}, 0);
  // Not a backup: refused.
  writeFile(dir / "junk.tdb", std::string(4096, 'j'));
  tool({"restore", "--from", (dir / "junk.tdb").string(), "--data-dir", (dir / "from-junk").string()}, 1);
  EXPECT_FALSE(fs::exists(dir / "from-junk" / "tether.db"));
  // A backup that fails part way through its keys (one names a path outside keys/) leaves no
  // keys behind, so the same directory takes a good backup on the rerun.
  fs::copy_file(dir / "b.tdb", dir / "evil.tdb");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "evil.tdb").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "INSERT INTO tether_backup VALUES ('key:../escape', x'00')", nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  std::string evil = tool({"restore", "--from", (dir / "evil.tdb").string(), "--data-dir", (dir / "retry").string()}, 1);
  EXPECT_NE(evil.find("outside keys/"), std::string::npos) << evil;
  EXPECT_FALSE(fs::exists(dir / "retry" / "keys"));
  EXPECT_FALSE(fs::exists(dir / "retry" / "tether.db"));
  tool({"restore", "--from", (dir / "b.tdb").string(), "--data-dir", (dir / "retry").string()}, 0);

  fs::path restored = dir / "restored";
  tool({"restore", "--from", (dir / "b.tdb").string(), "--data-dir", restored.string()}, 0);
  EXPECT_TRUE(fs::exists(restored / "keys"));
  c.reset();
  ASSERT_EQ(server->stop(), 0);

  TetherdOptions opts;
  opts.dataDir = restored;
  opts.createPool = false;
  auto copy = TetherdProcess::start(opts);
  ASSERT_NE(copy, nullptr);
  auto again = WsTestClient::connect(copy->url());
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->loginAs(*id).isOk());
  auto log = again->callAs<ListRecordsResponse>(ListRecordsRequest{"log", 0, 0, ""});
  ASSERT_TRUE(log.isOk()) << log.status();
  // Consistent: the records are exactly k1..kN at sync counts 1..N, N the dataset's count.
  int64_t n = log->datasetSyncCount;
  ASSERT_EQ(static_cast<int64_t>(log->records.size()), n);
  std::map<int64_t, std::string> byCount;
  for (const Record& r : log->records) byCount[r.syncCount] = r.key;
  for (int64_t i = 1; i <= n; ++i) ASSERT_EQ(byCount[i], "k" + std::to_string(i));
  // Every batch acknowledged before the backup began is in it.
  EXPECT_GE(n, before);
  auto bulk = again->callAs<ListRecordsResponse>(ListRecordsRequest{"bulk", 0, 0, ""});
  ASSERT_TRUE(bulk.isOk());
  EXPECT_EQ(bulk->records.size(), 20u);
  // The restored server accepts the next batch of a device that synced before (same keys: the
  // guest's token from the old server would verify too).
  auto next = again->write("log", {put("k" + std::to_string(n + 1), "after", 0)});
  ASSERT_TRUE(next.isOk()) << next.status();
  EXPECT_EQ(next->syncCount, n + 1);
}

TEST(BackupTest, FullDiskFailsWithAMessageAndLeavesNoFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  auto c = WsTestClient::connect(server->url());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->loginAsNewGuest(server->poolId()).isOk());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(c->write("bulk", {put("b" + std::to_string(i), std::string(60000, 'x'), 0)}).isOk());
  fs::path small = makeTempDir("backup-full");
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=256k,mode=0700") != 0)
    GTEST_SKIP() << "mount tmpfs: " << std::strerror(errno);
  std::string msg = tool({"backup", "--data-dir", server->dataDir().string(), "--to", (small / "b.tdb").string()}, 1);
  EXPECT_NE(msg.find("full"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(small / "b.tdb"));
  EXPECT_FALSE(fs::exists(small / "b.tdb.tmp"));
  ::umount2(small.c_str(), MNT_DETACH);
}

// PostgreSQL: `tetherd backup` points to pg_dump; the runbook of docs/backup.md (pg_dump while
// tetherd serves, pg_restore into a new database) gives a database a tetherd serves again, with
// the data and the keys (a guest's identity still logs in, its records at their sync counts).
TEST(BackupTest, PostgresRunbookPgDumpWhileServingAndPgRestore) {
  PG_TEST_OR_SKIP(pg);
  std::string bindir;
  if (FILE* f = ::popen("pg_config --bindir 2>/dev/null", "r")) {
    char buf[512] = {0};
    if (std::fgets(buf, sizeof buf, f) != nullptr) bindir = buf;
    ::pclose(f);
  }
  while (!bindir.empty() && (bindir.back() == '\n' || bindir.back() == ' ')) bindir.pop_back();
  if (bindir.empty() || !fs::exists(fs::path(bindir) / "pg_dump")) GTEST_SKIP() << "no pg_dump";
  const std::string url = pg->url("");
  if (url.find("/postgres") == std::string::npos) GTEST_SKIP() << "external PostgreSQL: no database to create";
  const std::string schema = "pgbackup_" + std::to_string(::getpid());
  const std::string restoredDb = "restored_" + std::to_string(::getpid());
  ASSERT_TRUE(pg->adminExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).isOk());
  (void)pg->adminExec("DROP DATABASE IF EXISTS " + restoredDb);
  TetherdOptions opts;
  opts.store = pg->url(schema);
  opts.extraArgs = {"--issuer", "http://tether-pgbackup.test"};
  auto server = TetherdProcess::start(opts);
  ASSERT_NE(server, nullptr);
  auto c = WsTestClient::connect(server->url());
  ASSERT_NE(c, nullptr);
  Result<std::string> id = c->loginAsNewGuest(server->poolId());
  ASSERT_TRUE(id.isOk()) << id.status();
  auto w = c->write("prefs", {put("a", "1", 0), put("b", "2", 0)});
  ASSERT_TRUE(w.isOk()) << w.status();
  std::string msg = tool({"backup", "--store", opts.store, "--to", "/nonexistent/x"}, 2);
  EXPECT_NE(msg.find("pg_dump"), std::string::npos) << msg;

  fs::path dir = makeTempDir("pgbackup");
  std::string dump = (dir / "tether.pgdump").string();
  std::string cmd = bindir + "/pg_dump --format=custom --schema=" + schema + " --file=" + dump + " '" +
                    pg->conninfo("") + "' > " + (dir / "dump.log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readFile(dir / "dump.log");
  c.reset();
  ASSERT_EQ(server->stop(), 0);
  ASSERT_TRUE(pg->adminExec("CREATE DATABASE " + restoredDb).isOk());
  std::string target = pg->conninfo("");
  target.replace(target.find("dbname=postgres"), 15, "dbname=" + restoredDb);
  cmd = bindir + "/pg_restore --no-owner --dbname='" + target + "' " + dump + " > " + (dir / "restore.log").string() +
        " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readFile(dir / "restore.log");

  TetherdOptions again = opts;
  again.store.replace(again.store.rfind("/postgres"), 9, "/" + restoredDb);
  again.createPool = false;
  {
    auto restored = TetherdProcess::start(again);
    ASSERT_NE(restored, nullptr);
    auto r = WsTestClient::connect(restored->url());
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->loginAs(*id).isOk());
    auto list = r->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
    ASSERT_TRUE(list.isOk()) << list.status();
    EXPECT_EQ(list->datasetSyncCount, w->syncCount);
    EXPECT_EQ(list->records.size(), 2u);
  }
  (void)pg->adminExec("DROP DATABASE IF EXISTS " + restoredDb + " WITH (FORCE)");
}

// ---------------------------------------------------------------------------------------------
// Export / import.

struct Populated {
  std::unique_ptr<TetherdProcess> server;
  std::string pool, alice, bob;
  int64_t prefsCount = 0, themeCount = 0;
};

// A deployment with two identities, records, a tombstone, a deleted dataset and a push device.
void populate(Populated& p) {
  p.server = TetherdProcess::start();
  ASSERT_NE(p.server, nullptr);
  p.pool = p.server->poolId();
  auto a = WsTestClient::connect(p.server->url());
  ASSERT_NE(a, nullptr);
  Result<std::string> id = a->loginAsNewGuest(p.pool);
  ASSERT_TRUE(id.isOk()) << id.status();
  p.alice = *id;
  auto w1 = a->write("prefs", {put("theme", "dark", 0), put("lang", "en \xE2\x9C\x93", 0), put("tmp", "x", 0)});
  ASSERT_TRUE(w1.isOk()) << w1.status();
  p.themeCount = w1->syncCount;
  auto w2 = a->write("prefs", {RecordPatch{PatchOp::kRemove, "tmp", "", w1->syncCount, 2}});
  ASSERT_TRUE(w2.isOk()) << w2.status();
  p.prefsCount = w2->syncCount;
  ASSERT_TRUE(a->write("scratch", {put("k", "v", 0)}).isOk());
  ASSERT_TRUE(a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"scratch"}).isOk());
  auto b = WsTestClient::connect(p.server->url());
  ASSERT_NE(b, nullptr);
  id = b->loginAsNewGuest(p.pool);
  ASSERT_TRUE(id.isOk());
  p.bob = *id;
  ASSERT_TRUE(b->write("notes", {put("n1", std::string(2000, 'z'), 0)}).isOk());
  SignedSyncClient cognito(p.server->port(), p.pool, p.alice);
  ASSERT_TRUE(cognito.fetchCredentials());
  HttpReply reg = cognito.registerDevice("GCM", "push-token-1");
  ASSERT_EQ(reg.status, 200) << reg.raw;
  ASSERT_EQ(cognito.subscribe("prefs", reg.body.value("DeviceId", "")).status, 200);
  // What the APIs only make through identity merges and administration, written into the stopped
  // store: a merged-dataset relation, a disabled identity, a developer provider, an OIDC provider.
  ASSERT_EQ(p.server->stop(), 0);
  auto store = server::openSqliteStore(p.server->dataDir() / "tether.db");
  ASSERT_TRUE(store.isOk()) << store.status();
  {
    auto txn = (*store)->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(server::OwnerRef{p.pool, p.alice}, "prefs", "prefs.merged-from-x").isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  ASSERT_TRUE((*store)->setIdentityDisabled(p.bob, true).isOk());
  ASSERT_TRUE((*store)->setPoolDeveloperProvider(p.pool, "login.example.app").isOk());
  ASSERT_TRUE((*store)->putOidcProvider({p.pool, "issuer.example", "https://issuer.example", {"aud1"}, "",
                                         R"({"keys":[]})", 30, 5}).isOk());
}

TEST(ExportImportTest, RoundTripSqliteToPostgresAndBackAndDevicesContinue) {
  PG_TEST_OR_SKIP(pg);
  std::string schema = "dataexp_" + std::to_string(::getpid());
  ASSERT_TRUE(pg->adminExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).isOk());
  Populated p;
  populate(p);
  if (HasFatalFailure()) return;
  fs::path dir = makeTempDir("export");
  std::string src = p.server->dataDir().string();
  tool({"export", "--data-dir", src, "--out", (dir / "a.jsonl").string()}, 0);
  std::vector<std::string> ls = lines(readFile(dir / "a.jsonl"));
  ASSERT_GE(ls.size(), 8u);
  EXPECT_NE(ls.front().find("\"format\":\"tetherd-export\""), std::string::npos) << ls.front();
  EXPECT_NE(ls.back().find("\"records\":3,\"tombstones\":1"), std::string::npos) << ls.back();
  EXPECT_NE(ls.back().find("\"devices\":1,\"datasets\":3"), std::string::npos) << ls.back();
  EXPECT_NE(readFile(dir / "a.jsonl").find("prefs.merged-from-x"), std::string::npos);

  std::string pgUrl = pg->url(schema);
  std::string out = tool({"import", "--store", pgUrl, "--in", (dir / "a.jsonl").string()}, 0);
  EXPECT_NE(out.find("2 identities"), std::string::npos) << out;
  tool({"export", "--store", pgUrl, "--out", (dir / "b.jsonl").string()}, 0);
  EXPECT_EQ(body(dir / "b.jsonl"), body(dir / "a.jsonl"));
  // And back into SQLite.
  fs::path back = makeTempDir("import-back");
  tool({"import", "--data-dir", back.string(), "--in", (dir / "b.jsonl").string()}, 0);
  tool({"export", "--data-dir", back.string(), "--out", (dir / "c.jsonl").string()}, 0);
  EXPECT_EQ(body(dir / "c.jsonl"), body(dir / "a.jsonl"));
  // Developer credentials are server secrets: only in a whole-server export with the flag.
  std::string cred = tool({"credentials", "create", "--data-dir", src}, 0);
  std::string keyId = cred.substr(cred.find("AccessKeyId: ") + 13, 20);
  tool({"export", "--data-dir", src, "--out", (dir / "plain.jsonl").string()}, 0);
  EXPECT_EQ(readFile(dir / "plain.jsonl").find("\"credential\""), std::string::npos);
  tool({"export", "--data-dir", src, "--pool", p.pool, "--with-credentials"}, 2);
  tool({"export", "--data-dir", src, "--with-credentials", "--out", (dir / "creds.jsonl").string()}, 0);
  EXPECT_NE(readFile(dir / "creds.jsonl").find(keyId), std::string::npos);
  fs::path withCreds = makeTempDir("import-creds");
  tool({"import", "--data-dir", withCreds.string(), "--in", (dir / "creds.jsonl").string()}, 0);
  EXPECT_NE(tool({"credentials", "list", "--data-dir", withCreds.string()}, 0).find(keyId), std::string::npos);
  // A rerun of a finished import: everything already there, skipped, nothing changed.
  out = tool({"import", "--data-dir", back.string(), "--in", (dir / "b.jsonl").string()}, 0);
  EXPECT_NE(out.find("skipped: 1 pools, 0 credentials, 2 identities"), std::string::npos) << out;

  // A device continues on the imported copy: same identity, same counts, no re-pull, no conflict.
  TetherdOptions opts;
  opts.dataDir = back;
  opts.createPool = false;
  auto copy = TetherdProcess::start(opts);
  ASSERT_NE(copy, nullptr);
  auto c = WsTestClient::connect(copy->url());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->loginAs(p.alice).isOk());
  auto pulled = c->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", p.prefsCount, 0, ""});
  ASSERT_TRUE(pulled.isOk()) << pulled.status();
  EXPECT_TRUE(pulled->records.empty());
  EXPECT_EQ(pulled->datasetSyncCount, p.prefsCount);
  auto next = c->callAs<UpdateRecordsResponse>(
      UpdateRecordsRequest{"prefs", pulled->syncSessionToken, "dev-a", {put("theme", "light", p.themeCount)}});
  ASSERT_TRUE(next.isOk()) << next.status();
  EXPECT_EQ(next->syncCount, p.prefsCount + 1);
}

TEST(ExportImportTest, BadFilesAndOverlapsAreRefusedBeforeAnythingIsWritten) {
  Populated p;
  populate(p);
  if (HasFatalFailure()) return;
  fs::path dir = makeTempDir("export-bad");
  std::string src = p.server->dataDir().string();
  tool({"export", "--data-dir", src, "--out", (dir / "a.jsonl").string()}, 0);
  std::vector<std::string> ls = lines(readFile(dir / "a.jsonl"));
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& l : v) s += l + "\n";
    return s;
  };
  fs::path target = makeTempDir("import-bad-target");
  auto refused = [&](const std::string& name, const std::string& text, const std::string& expect) {
    writeFile(dir / name, text);
    std::string msg = tool({"import", "--data-dir", target.string(), "--in", (dir / name).string()}, 1);
    EXPECT_NE(msg.find(expect), std::string::npos) << name << ": " << msg;
    // Nothing written: an export of the target has no pool and no identity.
    tool({"export", "--data-dir", target.string(), "--out", (dir / "t.jsonl").string()}, 0);
    EXPECT_EQ(lines(readFile(dir / "t.jsonl")).size(), 2u) << name;
  };
  std::vector<std::string> truncated(ls.begin(), ls.end() - 1);
  refused("truncated.jsonl", join(truncated), "truncated");
  std::vector<std::string> halfLine = ls;
  halfLine[4] = halfLine[4].substr(0, halfLine[4].size() / 2);
  refused("corrupt.jsonl", join(halfLine), "line 5: not valid JSON");
  std::vector<std::string> lost = ls;
  for (size_t i = 0; i < lost.size(); ++i)
    if (lost[i].find("\"type\":\"record\"") != std::string::npos && lost[i].find("\"value\":null") == std::string::npos) {
      lost.erase(lost.begin() + static_cast<long>(i));
      break;
    }
  refused("lost.jsonl", join(lost), "do not match");
  std::vector<std::string> future = ls;
  future[0].replace(future[0].find("\"version\":1"), 11, "\"version\":9");
  refused("future.jsonl", join(future), "line 1: format version 9 is not supported");
  refused("empty.jsonl", "", "empty");

  // Overlap: the target holds one of the identities with other data. Refused, naming it, and
  // the other identity is not written either.
  tool({"import", "--data-dir", target.string(), "--in", (dir / "a.jsonl").string()}, 0);
  {
    TetherdOptions opts;
    opts.dataDir = target;
    opts.createPool = false;
    auto t = TetherdProcess::start(opts);
    ASSERT_NE(t, nullptr);
    auto c = WsTestClient::connect(t->url());
    ASSERT_TRUE(c->loginAs(p.alice).isOk());
    ASSERT_TRUE(c->write("prefs", {put("new", "x", 0)}).isOk());
  }
  fs::path second = makeTempDir("import-bad-second");
  tool({"identity", "delete", "--data-dir", target.string(), "--identity", p.bob}, 0);
  std::string msg = tool({"import", "--data-dir", target.string(), "--in", (dir / "a.jsonl").string()}, 1);
  EXPECT_NE(msg.find("identity " + p.alice + " already exists"), std::string::npos) << msg;
  tool({"export", "--data-dir", target.string(), "--out", (dir / "t.jsonl").string()}, 0);
  EXPECT_EQ(readFile(dir / "t.jsonl").find(p.bob), std::string::npos);  // bob was not written

  // One identity's export (a data-access request): its pool and only its data, no credentials.
  tool({"identity", "export", "--data-dir", src, "--identity", p.alice, "--out", (dir / "alice.jsonl").string()}, 0);
  std::string alice = readFile(dir / "alice.jsonl");
  EXPECT_NE(alice.find("\"theme\""), std::string::npos);
  EXPECT_EQ(alice.find(p.bob), std::string::npos);
  EXPECT_EQ(alice.find("\"credential\""), std::string::npos);
  EXPECT_NE(alice.find("push-token-1"), std::string::npos);
  // Forget: gone from the source, and then not exportable.
  tool({"identity", "delete", "--data-dir", src, "--identity", p.alice}, 0);
  tool({"identity", "export", "--data-dir", src, "--identity", p.alice}, 1);
  tool({"identity", "delete", "--data-dir", src, "--identity", p.alice}, 1);
  EXPECT_EQ(readFile(fs::path(src) / "tether.db").find(p.alice), std::string::npos);
}

}  // namespace
}  // namespace tether::testing
