// Process-level crash durability of tetherd (issue 13, point 2): the real binary runs under mixed
// load — native clients (WsTestClient) and Cognito Sync HTTP clients (SigV4, SignedSyncClient)
// writing batches for many guest identities, dataset deletions, subscribers, and merges of
// guests into developer-authenticated identities — and is killed with SIGKILL at random
// moments, many times. After every kill: PRAGMA integrity_check on the database file, restart,
// then every dataset ever written is read back and checked against what its writer knows:
//   - every acknowledged batch is there, whole (batch b of a dataset writes s0..s3 = "b<b>" and
//     its own key u<b> in one UpdateRecords), and record sync counts run 1..n with no gap;
//   - at most the one batch in flight at the kill is beyond the last acknowledged one;
//   - a sync count announced to a subscriber (datasetChanged, sent after the commit) survived;
//   - an acknowledged dataset deletion stayed deleted; an acknowledged merge is there.
// The server acknowledges only after its commit, so "acknowledged" = the response arrived.
//
// Knobs: TETHER_TORTURE_SERVER_KILLS (default 5: the `make test` slice; `make torture` runs
// 100+), TETHER_TORTURE_SEED (replay a run).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/developer_signature.h"
#include "http_test_client.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "torture_util.h"
#include "ws_test_client.h"

namespace tether::testing::torture {
namespace {

using namespace tether::proto;
using Json = nlohmann::json;

constexpr const char* kPool = "local:7a7a7a7a-0000-4000-8000-000000000013";
constexpr const char* kDevProvider = "login.torture.test";
constexpr const char* kDevKey = "AKIDTORTURE0000000001";
constexpr const char* kDevSecret = "torture-developer-secret-0123456789";
constexpr int kSharedKeys = 4;
constexpr int64_t kBatchesPerDataset = 30;

std::string tag(int64_t b) { return "b" + std::to_string(b); }

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One dataset of one identity, written by one lane. Only its lane touches it while the server
// runs; only the main thread between kills.
struct Track {
  std::string identity, name;
  bool http = false;
  int64_t acked = 0;      // highest batch acknowledged
  int64_t known = 0;      // highest sync count known stored (acknowledged or seen by a check)
  bool unacked = false;   // a batch was sent and not answered: it may be stored or not
  enum class Del { kNone, kSent, kAcked } del = Del::kNone;
  int64_t announced = 0;  // highest sync count a subscriber was told
  std::string history;    // what happened to it, for the failure message
  bool touched = true;    // written or deleted since the last check (checks skip the others,
                          // except in the full sweeps, to stay linear in the number of kills)
};

// A guest merged into a developer-authenticated identity.
struct MergeTrack {
  std::string devUser, winner, guest;
  bool checked = false;
  bool guestWritten = false;  // the guest's batch ("m": u1 = b1) was acknowledged
  enum class State { kNotSent, kSent, kAcked } state = State::kNotSent;
};

struct Stats {
  std::atomic<int64_t> batchesAcked{0}, httpBatchesAcked{0}, deletesAcked{0}, mergesAcked{0},
      identities{0}, announcements{0};
};

struct Lane {
  enum class Kind { kNative, kHttp, kMerge } kind;
  std::mt19937 rng;
  std::deque<Track> tracks;
  std::deque<MergeTrack> merges;
  std::string error;  // set when a request failed while the server was meant to be up
};

class ServerKillTorture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("torture-server");
    std::ofstream cfg(dir_ / "tetherd.toml");
    cfg << "[[pools]]\nid = \"" << kPool << "\"\nname = \"torture\"\nallow_guests = true\n"
        << "developer_provider = \"" << kDevProvider << "\"\n\n"
        << "[[developer_credentials]]\naccess_key_id = \"" << kDevKey << "\"\nsecret_access_key = \""
        << kDevSecret << "\"\n";
    cfg.close();
    TetherdOptions o;
    o.createPool = false;
    o.extraArgs = {"--config", (dir_ / "tetherd.toml").string()};
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
  }

  // Fails the lane unless the server was being killed (then the failure is the kill's).
  bool failed(Lane& lane, const std::string& what) {
    if (!killed_.load()) lane.error = what;
    return false;
  }

  // ---- native lane
  std::string newGuest(WsTestClient& ws) {
    auto id = ws.callAs<GetIdResponse>(GetIdRequest{kPool, {}});
    if (!id.isOk()) return "";
    ++stats_.identities;
    return id->identityId;
  }

  Track& startTrack(Lane& lane, const std::string& identity, bool http) {
    Track t;
    t.identity = identity;
    t.http = http;
    t.name = "log" + std::to_string(lane.tracks.size());
    lane.tracks.push_back(t);
    return lane.tracks.back();
  }

  // Pull: the stored count must be the known one, or one more if a batch was in flight.
  bool checkPulled(Lane& lane, Track& t, int64_t stored) {
    if (stored < t.known || stored > t.known + (t.unacked ? 1 : 0)) {
      lane.error = t.identity + "/" + t.name + (t.http ? " (HTTP)" : " (native)") + ": pulled sync count " +
                   std::to_string(stored) + ", known " + std::to_string(t.known) +
                   (t.unacked ? " (+1 in flight)" : "") + "; history:" + t.history;
      return false;
    }
    t.known = stored;
    t.unacked = false;
    t.touched = true;
    return true;
  }

  std::vector<RecordPatch> batch(int64_t stored) {
    std::vector<RecordPatch> ps;
    for (int k = 0; k < kSharedKeys; ++k) {
      RecordPatch p;
      p.key = "s" + std::to_string(k);
      p.value = tag(stored + 1);
      p.syncCount = stored;
      ps.push_back(p);
    }
    RecordPatch own;
    own.key = "u" + std::to_string(stored + 1);
    own.value = tag(stored + 1);
    ps.push_back(own);
    return ps;
  }

  void nativeCycle(Lane& lane) {
    auto ws = WsTestClient::connect(server_->url());
    if (!ws) return (void)failed(lane, "connect failed");
    if (lane.tracks.empty()) {
      std::string id = newGuest(*ws);
      if (id.empty()) return (void)failed(lane, "getId failed");
      startTrack(lane, id, false);
    }
    std::unique_ptr<WsTestClient> sub;
    std::string subIdentity, subName;
    auto drainPushes = [&] {
      if (!sub) return;
      for (const DatasetChanged& d : sub->pushes())
        for (Track& t : lane.tracks)
          if (t.identity == d.identityId && t.name == d.datasetName && d.syncCount > t.announced) {
            t.announced = d.syncCount;
            ++stats_.announcements;
          }
    };
    std::string authed;
    while (!killed_.load()) {
      if (lane.tracks.back().del != Track::Del::kNone) {  // its deletion was in flight at a kill
        startTrack(lane, lane.tracks.back().identity, false);
        continue;
      }
      Track& t = lane.tracks.back();
      if (authed != t.identity) {
        if (!ws->loginAs(t.identity).isOk()) return (void)failed(lane, "loginAs failed");
        authed = t.identity;
      }
      if (subIdentity != t.identity || subName != t.name) {
        // A second connection of the identity subscribed to the dataset the lane writes.
        drainPushes();
        sub = WsTestClient::connect(server_->url());
        if (!sub || !sub->loginAs(t.identity).isOk()) return (void)failed(lane, "subscriber login failed");
        if (!sub->callAs<SubscribeResponse>(SubscribeRequest{{t.name}, ""}).isOk())
          return (void)failed(lane, "subscribe failed");
        subIdentity = t.identity;
        subName = t.name;
      }
      auto pulled = ws->callAs<ListRecordsResponse>(ListRecordsRequest{t.name, 0, 0, ""});
      if (!pulled.isOk()) return (void)failed(lane, "listRecords: " + pulled.status().toString());
      if (!checkPulled(lane, t, pulled->datasetSyncCount)) return;
      const int64_t s = t.known;
      if (s >= kBatchesPerDataset || (s > 0 && lane.rng() % 12 == 0)) {
        // Move on to a new dataset (of a new identity half of the time), deleting this one
        // half of the time. A deleted dataset is never written again (see the loop's top).
        std::string id = t.identity;
        if (lane.rng() % 2 == 0) {
          id = newGuest(*ws);
          if (id.empty()) return (void)failed(lane, "getId failed");
        }
        if (lane.rng() % 2 == 0) {
          t.del = Track::Del::kSent;
          t.touched = true;
          auto d = ws->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{t.name});
          if (!d.isOk()) return (void)failed(lane, "deleteDataset: " + d.status().toString());
          t.del = Track::Del::kAcked;
          ++stats_.deletesAcked;
        }
        startTrack(lane, id, false);
        continue;
      }
      UpdateRecordsRequest ur;
      ur.datasetName = t.name;
      ur.deviceId = "native-lane";
      ur.patches = batch(s);
      if (lane.rng() % 2) ur.ifDatasetSyncCount = s;  // conditional push: no session token
      else ur.syncSessionToken = pulled->syncSessionToken;
      t.unacked = true;
      auto r = ws->callAs<UpdateRecordsResponse>(ur);
      if (!r.isOk()) return (void)failed(lane, "updateRecords: " + r.status().toString());
      if (r->syncCount != s + 1) {
        lane.error = t.name + ": push answered sync count " + std::to_string(r->syncCount);
        return;
      }
      t.unacked = false;
      t.acked = t.known = s + 1;
      ++stats_.batchesAcked;
      drainPushes();
    }
    drainPushes();
  }

  // ---- HTTP lane (Cognito Sync over SigV4)
  std::string httpGuest() {
    HttpReply r = httpRequest(server_->port(), "POST", "/",
                              {{"Host", "127.0.0.1:" + std::to_string(server_->port())},
                               {"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                              Json{{"IdentityPoolId", kPool}}.dump());
    if (r.status != 200 || !r.body.is_object()) return "";
    ++stats_.identities;
    return r.body.value("IdentityId", "");
  }

  void httpCycle(Lane& lane) {
    if (lane.tracks.empty()) {
      std::string id = httpGuest();
      if (id.empty()) return (void)failed(lane, "HTTP GetId failed");
      startTrack(lane, id, true);
    }
    std::unique_ptr<SignedSyncClient> c;
    while (!killed_.load()) {
      if (lane.tracks.back().del != Track::Del::kNone) {
        startTrack(lane, lane.tracks.back().identity, true);
        continue;
      }
      Track& t = lane.tracks.back();
      if (!c || c->identityId() != t.identity) {
        c = std::make_unique<SignedSyncClient>(server_->port(), kPool, t.identity);
        if (!c->fetchCredentials()) return (void)failed(lane, "GetCredentialsForIdentity failed");
      }
      HttpReply pulled = c->listRecords(t.name);
      // (A response cut by the kill can have a 200 status line and no whole body.)
      if (pulled.status != 200 || !pulled.body.is_object()) return (void)failed(lane, "ListRecords: " + pulled.raw);
      if (!checkPulled(lane, t, pulled.body.value("DatasetSyncCount", int64_t{-1}))) return;
      const int64_t s = t.known;
      if (s >= kBatchesPerDataset || (s > 0 && lane.rng() % 12 == 0)) {
        std::string id = t.identity;
        if (lane.rng() % 2 == 0) {
          id = httpGuest();
          if (id.empty()) return (void)failed(lane, "HTTP GetId failed");
        }
        if (lane.rng() % 2 == 0) {
          t.del = Track::Del::kSent;
          t.touched = true;
          HttpReply d = c->deleteDataset(t.name);
          if (d.status != 200) return (void)failed(lane, "DeleteDataset: " + d.raw);
          t.del = Track::Del::kAcked;
          ++stats_.deletesAcked;
        }
        startTrack(lane, id, true);
        continue;
      }
      Json patches = Json::array();
      for (const RecordPatch& p : batch(s))
        patches.push_back({{"Op", "replace"}, {"Key", p.key}, {"Value", p.value}, {"SyncCount", p.syncCount}});
      t.unacked = true;
      HttpReply r = c->updateRecords(t.name, pulled.body.value("SyncSessionToken", ""), patches, "http-lane");
      if (r.status != 200) return (void)failed(lane, "UpdateRecords: " + r.raw);
      t.unacked = false;
      t.acked = t.known = s + 1;
      ++stats_.httpBatchesAcked;
    }
  }

  // ---- merge lane: a guest with data merged into a developer user's identity.
  Result<GetTokenResponse> developerToken(WsTestClient& ws, const std::string& identity, const std::string& user) {
    GetDeveloperTokenRequest rq{kPool, identity, user, 0, kDevKey, nowMs(), ""};
    rq.signature = server::signDeveloperRequest(kDevSecret, rq);
    return ws.callAs<GetTokenResponse>(rq);
  }

  void mergeCycle(Lane& lane, uint32_t seed) {
    auto ws = WsTestClient::connect(server_->url());
    if (!ws) return (void)failed(lane, "connect failed");
    while (!killed_.load()) {
      if (lane.merges.empty() || lane.merges.back().state != MergeTrack::State::kNotSent) {
        MergeTrack m;
        m.devUser = "dev-" + std::to_string(seed) + "-" + std::to_string(lane.merges.size());
        lane.merges.push_back(m);
      }
      MergeTrack& m = lane.merges.back();
      if (m.winner.empty()) {
        auto w = developerToken(*ws, "", m.devUser);
        if (!w.isOk()) return (void)failed(lane, "developer token: " + w.status().toString());
        m.winner = w->identityId;
        ++stats_.identities;
      }
      if (!m.guestWritten) {
        auto g = WsTestClient::connect(server_->url());
        if (!g) return (void)failed(lane, "connect failed");
        auto id = g->loginAsNewGuest(kPool);
        if (!id.isOk()) return (void)failed(lane, "guest: " + id.status().toString());
        ++stats_.identities;
        UpdateRecordsRequest ur;
        ur.datasetName = "m";
        ur.ifDatasetSyncCount = 0;
        ur.patches = {RecordPatch{PatchOp::kReplace, "u1", tag(1), 0, 0}};
        auto r = g->callAs<UpdateRecordsResponse>(ur);
        if (!r.isOk()) return (void)failed(lane, "guest write: " + r.status().toString());
        m.guest = *id;
        m.guestWritten = true;
      }
      m.state = MergeTrack::State::kSent;
      auto merged = developerToken(*ws, m.guest, m.devUser);
      if (!merged.isOk()) return (void)failed(lane, "merge: " + merged.status().toString());
      if (merged->identityId != m.winner) {
        lane.error = "merge answered " + merged->identityId + ", not the user's " + m.winner;
        return;
      }
      m.state = MergeTrack::State::kAcked;
      ++stats_.mergesAcked;
    }
  }

  // ---- checks after a restart
  void checkTrack(WsTestClient& ws, Track& t) {
    SCOPED_TRACE(t.identity + "/" + t.name + (t.http ? " (HTTP)" : " (native)"));
    auto r = pullAll(ws, t.name);
    ASSERT_TRUE(r.isOk()) << r.status();
    std::map<std::string, Record> live;
    for (const Record& rec : r->records)
      if (rec.value) live[rec.key] = rec;
    if (t.del == Track::Del::kAcked) {
      EXPECT_TRUE(live.empty()) << "an acknowledged deletion came back";
      return;
    }
    if (t.del == Track::Del::kSent) {
      if (live.empty()) {
        t.del = Track::Del::kAcked;  // the delete in flight at the kill was committed
        return;
      }
      t.del = Track::Del::kNone;  // it was not: the dataset must be whole
    }
    const int64_t s = r->datasetSyncCount;
    EXPECT_GE(s, t.acked) << "an acknowledged batch was lost";
    EXPECT_GE(s, t.known) << "a batch seen stored earlier was lost";
    EXPECT_LE(s, t.known + (t.unacked ? 1 : 0)) << "more batches than were ever sent";
    EXPECT_GE(s, t.announced) << "a change announced to a subscriber was lost";
    if (s == 0) {
      EXPECT_TRUE(live.empty());
    } else {
      EXPECT_EQ(live.size(), static_cast<size_t>(kSharedKeys + s)) << "records of a partial batch";
      for (int k = 0; k < kSharedKeys; ++k) {
        const Record& rec = live["s" + std::to_string(k)];
        EXPECT_EQ(rec.value, tag(s)) << "key s" << k << ": the last batch is not whole";
        EXPECT_EQ(rec.syncCount, s);
      }
      for (int64_t b = 1; b <= s; ++b) {
        auto it = live.find("u" + std::to_string(b));
        if (it == live.end()) {
          ADD_FAILURE() << "batch " << b << " missing (a gap)";
          continue;
        }
        EXPECT_EQ(it->second.value, tag(b));
        EXPECT_EQ(it->second.syncCount, b) << "sync counts must run 1..n with no gap";
      }
    }
    t.history += " [check " + std::to_string(kill_) + ": acked " + std::to_string(t.acked) + " known " +
                 std::to_string(t.known) + (t.unacked ? "+1" : "") + " stored " + std::to_string(s) + "]";
    t.known = s;
    t.unacked = false;
    ++checkedDatasets_;
    checkedBatches_ += s;
  }

  void checkMerge(WsTestClient& ws, MergeTrack& m) {
    if (m.state == MergeTrack::State::kNotSent || !m.guestWritten) return;
    SCOPED_TRACE("merge of " + m.guest + " into " + m.winner);
    auto tok = developerToken(ws, m.winner, m.devUser);
    ASSERT_TRUE(tok.isOk()) << tok.status();
    ASSERT_TRUE(ws.callAs<AuthenticateResponse>(AuthenticateRequest{tok->token}).isOk());
    auto r = pullAll(ws, "m." + m.guest);
    ASSERT_TRUE(r.isOk()) << r.status();
    bool merged = r->records.size() == 1 && r->records[0].value == tag(1);
    if (m.state == MergeTrack::State::kSent && !merged) {
      // The merge in flight at the kill was not committed: the guest still has its data.
      ASSERT_TRUE(r->records.empty()) << "a half-merged dataset";
      ASSERT_TRUE(ws.loginAs(m.guest).isOk()) << "the guest was disabled without its data moving";
      auto g = pullAll(ws, "m");
      ASSERT_TRUE(g.isOk()) << g.status();
      ASSERT_EQ(g->records.size(), 1u);
      EXPECT_EQ(g->records[0].value, tag(1));
      return;
    }
    EXPECT_TRUE(merged) << "an acknowledged merge lost the guest's data";
    m.state = MergeTrack::State::kAcked;
    // The guest is disabled: its token is refused.
    auto gt = ws.callAs<GetTokenResponse>(GetTokenRequest{m.guest, {}});
    EXPECT_FALSE(gt.isOk()) << "the merged guest can still get tokens";
    ++checkedMerges_;
  }

  // `full`: every dataset and merge ever made; otherwise those touched since the last check.
  void checkAll(std::vector<Lane>& lanes, bool full) {
    auto ws = WsTestClient::connect(server_->url());
    ASSERT_NE(ws, nullptr);
    for (Lane& lane : lanes) {
      std::string authed;
      for (Track& t : lane.tracks) {
        if (!full && !t.touched && !t.unacked && t.del != Track::Del::kSent) continue;
        t.touched = false;
        if (authed != t.identity) {
          auto a = ws->loginAs(t.identity);
          ASSERT_TRUE(a.isOk()) << a.status();
          authed = t.identity;
        }
        checkTrack(*ws, t);
        if (HasFatalFailure()) return;
      }
      for (MergeTrack& m : lane.merges) {
        if (!full && m.checked && m.state != MergeTrack::State::kSent) continue;
        m.checked = true;
        checkMerge(*ws, m);
        if (HasFatalFailure()) return;
      }
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<TetherdProcess> server_;
  std::atomic<bool> killed_{false};
  Stats stats_;
  int64_t kill_ = 0;
  int64_t checkedDatasets_ = 0, checkedBatches_ = 0, checkedMerges_ = 0;
};

TEST_F(ServerKillTorture, AcknowledgedWritesSurviveKill9UnderMixedLoad) {
  const int64_t kills = envInt("TETHER_TORTURE_SERVER_KILLS", 5);
  const uint32_t seed = seedFromEnv();
  std::printf("server kill torture: seed %u (TETHER_TORTURE_SEED), %lld kills\n", seed,
              static_cast<long long>(kills));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<Lane> lanes;
  for (int i = 0; i < 4; ++i) lanes.push_back(Lane{Lane::Kind::kNative, std::mt19937(seed + i), {}, {}, ""});
  for (int i = 0; i < 2; ++i) lanes.push_back(Lane{Lane::Kind::kHttp, std::mt19937(seed + 10 + i), {}, {}, ""});
  lanes.push_back(Lane{Lane::Kind::kMerge, std::mt19937(seed + 20), {}, {}, ""});

  const auto started = std::chrono::steady_clock::now();
  int64_t done = 0;
  for (; done < kills; ++done) {
    killed_ = false;
    kill_ = done;
    std::vector<std::thread> threads;
    for (Lane& lane : lanes) {
      threads.emplace_back([this, &lane, seed] {
        switch (lane.kind) {
          case Lane::Kind::kNative: nativeCycle(lane); break;
          case Lane::Kind::kHttp: httpCycle(lane); break;
          case Lane::Kind::kMerge: mergeCycle(lane, seed); break;
        }
      });
    }
    // A random moment: mostly while the load runs, sometimes right after the restart (recovery).
    // The delay is the fault injection, not a wait for a condition.
    int delayMs = rng() % 4 == 0 ? static_cast<int>(rng() % 40) : 40 + static_cast<int>(rng() % 700);
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    killed_ = true;
    server_->kill9();
    for (std::thread& t : threads) t.join();
    for (Lane& lane : lanes) ASSERT_EQ(lane.error, "") << "kill " << done << ": a request failed while the server was up";
    const std::string db = (server_->dataDir() / "tether.db").string();
    ASSERT_EQ(integrityCheck(db), "ok") << "after kill " << done;
    ASSERT_TRUE(restartServer(*server_)) << "tetherd did not come back after kill " << done;
    checkAll(lanes, done % 10 == 9 || done + 1 == kills);
    if (HasFailure()) {
      ADD_FAILURE() << "after kill " << done << " (seed " << seed << ")";
      return;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  size_t datasets = 0;
  for (Lane& l : lanes) datasets += l.tracks.size();
  std::printf("server kill torture: %lld kill -9s in %.0f s; acknowledged: %lld native batches, %lld HTTP "
              "batches, %lld deletions, %lld merges; %lld identities, %zu datasets, %lld subscriber "
              "announcements; checked %lld dataset states (%lld batches) and %lld merges whole\n",
              static_cast<long long>(done), secs, static_cast<long long>(stats_.batchesAcked.load()),
              static_cast<long long>(stats_.httpBatchesAcked.load()), static_cast<long long>(stats_.deletesAcked.load()),
              static_cast<long long>(stats_.mergesAcked.load()), static_cast<long long>(stats_.identities.load()),
              datasets, static_cast<long long>(stats_.announcements.load()), static_cast<long long>(checkedDatasets_),
              static_cast<long long>(checkedBatches_), static_cast<long long>(checkedMerges_));
  RecordProperty("kills", static_cast<int>(done));
  RecordProperty("batches_acknowledged", std::to_string(stats_.batchesAcked + stats_.httpBatchesAcked));
  EXPECT_EQ(done, kills);
  EXPECT_GT(stats_.batchesAcked.load(), 0);
  EXPECT_GT(stats_.httpBatchesAcked.load(), 0);
}

}  // namespace
}  // namespace tether::testing::torture
