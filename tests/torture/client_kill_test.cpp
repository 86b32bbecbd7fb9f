// Crash durability of libtether (issue 13, point 2): an app process (torture_app.cpp, public API
// only) writes and synchronizes against a real tetherd and is killed with SIGKILL at random
// moments, many times — mid-put, mid-sync, with and without background auto-sync. After every
// kill: PRAGMA integrity_check on its cache file, then the cache is opened with Client::open
// and every put() that returned (the app printed "P <i>" after it) must be there with its value,
// and "last" must be the last acknowledged put or the one in flight. At the end the app
// synchronizes everything and a second device of the identity, with a fresh cache, and the
// server must hold exactly the same data: every acknowledged put, nothing lost in a kill.
//
// Knobs: TETHER_TORTURE_CLIENT_KILLS (default 5: the `make test` slice; `make torture` 100+),
// TETHER_TORTURE_SEED.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tetherd_process.h"
#include "tether/client.h"
#include "torture_util.h"
#include "ws_test_client.h"

namespace tether::testing::torture {
namespace {

std::string appBinary() {
  const char* b = std::getenv("TETHER_TORTURE_APP");
  return b ? b : "torture_app";
}

std::string datasetFor(int64_t i) { return "t" + std::to_string(i / 600); }

struct Child {
  pid_t pid = -1;
  int out = -1;  // its stdout
  std::string buffered;
};

Child spawn(const std::vector<std::string>& argv, const std::string& errFile) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    int e = ::open(errFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (e >= 0) dup2(e, 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fds[0], ""};
}

// Reads "P <i>" lines until `want` more puts were acknowledged, EOF, or the timeout.
// Returns the number of acknowledgments read; `last` gets the highest index.
int readAcks(Child& c, int want, int64_t& last, int timeoutMs, bool* eof = nullptr) {
  int got = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (got < want) {
    size_t nl;
    while (got < want && (nl = c.buffered.find('\n')) != std::string::npos) {
      std::string line = c.buffered.substr(0, nl);
      c.buffered.erase(0, nl + 1);
      if (line.rfind("P ", 0) == 0) {
        last = std::max(last, static_cast<int64_t>(std::stoll(line.substr(2))));
        ++got;
      }
    }
    if (got >= want) break;
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    pollfd p{c.out, POLLIN, 0};
    if (poll(&p, 1, std::max(left, 0)) <= 0) break;  // 0: only what is already in the pipe
    char buf[4096];
    ssize_t n = read(c.out, buf, sizeof buf);
    if (n <= 0) {
      if (eof) *eof = true;
      break;
    }
    c.buffered.append(buf, static_cast<size_t>(n));
  }
  return got;
}

ClientOptions optionsFor(const TetherdProcess& server, const std::string& identity, const std::string& cache) {
  ClientOptions o;
  o.serverUrl = server.url();
  o.identityPoolId = server.poolId();
  o.identityId = identity;
  o.cachePath = cache;
  o.deviceName = "torture-checker";
  return o;
}

// Every acknowledged put 0..acked is in the cache; "last" is v<acked> or the one in flight.
void checkCache(const TetherdProcess& server, const std::string& identity, const std::string& cache,
                int64_t acked) {
  auto opened = Client::open(optionsFor(server, identity, cache));
  ASSERT_TRUE(opened.isOk()) << opened.status();
  std::unique_ptr<Client> client = std::move(*opened);
  std::map<std::string, std::map<std::string, std::string>> data;
  for (int64_t i = 0; i <= acked; ++i) {
    const std::string name = datasetFor(i);
    if (!data.count(name)) {
      auto ds = client->openOrCreateDataset(name);
      ASSERT_TRUE(ds.isOk()) << ds.status();
      auto all = (*ds)->getAll();
      ASSERT_TRUE(all.isOk()) << all.status();
      data[name] = *all;
    }
    auto it = data[name].find("k" + std::to_string(i));
    ASSERT_TRUE(it != data[name].end()) << "acknowledged put " << i << " lost from the cache";
    ASSERT_EQ(it->second, "v" + std::to_string(i));
  }
  auto meta = client->openOrCreateDataset("meta");
  ASSERT_TRUE(meta.isOk());
  auto last = (*meta)->get("last");
  ASSERT_TRUE(last.isOk()) << last.status();
  if (acked >= 0) {
    ASSERT_TRUE(last->has_value()) << "acknowledged put of \"last\" lost";
    EXPECT_TRUE(**last == "v" + std::to_string(acked) || **last == "v" + std::to_string(acked + 1))
        << "last = " << **last << ", acknowledged " << acked;
  }
}

TEST(ClientKillTorture, AcknowledgedPutsSurviveKill9AndConverge) {
  const int64_t kills = envInt("TETHER_TORTURE_CLIENT_KILLS", 5);
  const uint32_t seed = seedFromEnv();
  std::printf("client kill torture: seed %u (TETHER_TORTURE_SEED), %lld kills\n", seed,
              static_cast<long long>(kills));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  auto ws = WsTestClient::connect(server->url());
  ASSERT_NE(ws, nullptr);
  auto guest = ws->callAs<proto::GetIdResponse>(proto::GetIdRequest{server->poolId(), {}});
  ASSERT_TRUE(guest.isOk()) << guest.status();
  const std::string identity = guest->identityId;
  const std::string dir = makeTempDir("torture-client").string();
  const std::string cache = dir + "/app.db";
  const std::string errFile = dir + "/app.err";

  int64_t acked = -1;  // highest acknowledged put index
  int64_t killed = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < kills; ++k) {
    const bool autoSync = rng() % 2 == 0;
    Child c = spawn({appBinary(), "write", server->url(), server->poolId(), identity, cache,
                     std::to_string(acked + 1), autoSync ? "1" : "0"},
                    errFile);
    ASSERT_GT(c.pid, 0);
    // Kill after a random number of acknowledged puts (0: while it opens the cache), plus a
    // random few milliseconds so the kill lands anywhere in a put or a sync. The delay is the
    // fault injection, not a wait for a condition.
    const int want = static_cast<int>(rng() % 25);
    bool eof = false;
    int got = readAcks(*&c, want, acked, 30000, &eof);
    ASSERT_FALSE(eof) << "the app exited before the kill: " << slurpFile(errFile);
    ASSERT_EQ(got, want) << "the app stopped acknowledging puts: " << slurpFile(errFile);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 8000));
    kill(c.pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(c.pid, &status, 0), c.pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the app exited on its own: " << slurpFile(errFile);
    ++killed;
    readAcks(c, 1 << 30, acked, 0);  // acknowledgments written before the kill count
    close(c.out);
    if (!std::filesystem::exists(cache)) {
      ASSERT_EQ(acked, -1);
      continue;
    }
    ASSERT_EQ(integrityCheck(cache), "ok") << "cache after kill " << k;
    checkCache(*server, identity, cache, acked);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "after kill " << k << " (seed " << seed << ")";
      return;
    }
  }
  ASSERT_GE(acked, 0) << "no put was acknowledged";
  // Converge: the app syncs every dataset; a second device (fresh cache) pulls them all.
  std::vector<std::string> names = {"meta"};
  for (int64_t i = 0; i <= acked + 1; i += 600) names.push_back(datasetFor(i));
  if (datasetFor(acked + 1) != names.back()) names.push_back(datasetFor(acked + 1));
  std::vector<std::string> argv = {appBinary(), "sync", server->url(), server->poolId(), identity, cache};
  argv.insert(argv.end(), names.begin(), names.end());
  Child c = spawn(argv, errFile);
  ASSERT_GT(c.pid, 0);
  close(c.out);
  int status = 0;
  ASSERT_EQ(waitpid(c.pid, &status, 0), c.pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "final sync failed: " << slurpFile(errFile);

  auto a = Client::open(optionsFor(*server, identity, cache));
  auto b = Client::open(optionsFor(*server, identity, dir + "/second.db"));
  ASSERT_TRUE(a.isOk() && b.isOk());
  int64_t records = 0;
  for (const std::string& n : names) {
    auto da = (*a)->openOrCreateDataset(n);
    auto db = (*b)->openOrCreateDataset(n);
    ASSERT_TRUE(da.isOk() && db.isOk());
    auto pulled = (*db)->synchronizeAndWait({}, std::chrono::seconds(60));
    ASSERT_TRUE(pulled.isOk()) << pulled.status();
    auto va = (*da)->getAll();
    auto vb = (*db)->getAll();
    ASSERT_TRUE(va.isOk() && vb.isOk());
    EXPECT_EQ(*va, *vb) << "dataset " << n << ": the app's cache and the server differ after sync";
    auto recs = (*da)->getAllRecords();
    ASSERT_TRUE(recs.isOk());
    for (const LocalRecord& r : *recs) EXPECT_FALSE(r.dirty) << n << "/" << r.record.key << " still dirty";
    records += static_cast<int64_t>(vb->size());
  }
  EXPECT_GE(records, acked + 2) << "every acknowledged put (and \"last\") is on the server";
  b->reset();
  checkCache(*server, identity, dir + "/second.db", acked);  // what the server gave a new device
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("client kill torture: %lld kill -9s of the app in %.0f s, %lld puts acknowledged and "
              "checked after each kill; converged: %lld records on the server and a second device\n",
              static_cast<long long>(killed), secs, static_cast<long long>(acked + 1),
              static_cast<long long>(records));
  RecordProperty("kills", static_cast<int>(killed));
}

}  // namespace
}  // namespace tether::testing::torture
