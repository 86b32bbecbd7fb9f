#include "fake_remote.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "tether/limits.h"

namespace tether::client::testing {
namespace {

std::string sessionToken(const std::string& id, const std::string& name) {
  return "session:" + id + ":" + name;
}

}  // namespace

std::string FakeServer::createIdentity() {
  std::lock_guard lock(mu_);
  return createIdentityLocked();
}

std::string FakeServer::createIdentityLocked() {
  char buf[64];
  std::snprintf(buf, sizeof buf, "local:00000000-0000-4000-8000-%012x", ++identitySeq_);
  data_[buf];
  return buf;
}

namespace {

Status checkLogins(const std::vector<Login>& logins) {
  for (const Login& l : logins)
    if (l.token.rfind("expired:", 0) == 0)
      return Status::unauthenticated("Invalid login token. Token expired.");
  return Status::ok();
}

}  // namespace

Result<std::string> FakeServer::getId(const std::vector<Login>& logins) {
  TETHER_RETURN_IF_ERROR(checkLogins(logins));
  std::lock_guard lock(mu_);
  if (logins.empty()) return createIdentityLocked();
  std::string owner;
  for (const Login& l : logins) {
    auto it = logins_.find({l.provider, l.token});
    if (it == logins_.end()) continue;
    if (owner.empty()) owner = it->second;
    else if (owner != it->second) mergeLocked(it->second, owner);
  }
  if (owner.empty()) owner = createIdentityLocked();
  for (const Login& l : logins) logins_[{l.provider, l.token}] = owner;
  return owner;
}

Result<std::string> FakeServer::getToken(const std::string& id, const std::vector<Login>& logins) {
  TETHER_RETURN_IF_ERROR(checkLogins(logins));
  std::lock_guard lock(mu_);
  if (!data_.count(id)) return Status::notFound("identity not found");
  if (disabled_.count(id)) return Status::unauthenticated("identity is disabled");
  bool authenticated = false;
  for (auto& [login, owner] : logins_) authenticated = authenticated || owner == id;
  std::string winner = id;
  bool ownMatched = false;
  for (const Login& l : logins) {
    auto it = logins_.find({l.provider, l.token});
    if (it == logins_.end()) continue;
    if (it->second == id) {
      ownMatched = true;
    } else if (authenticated) {
      return Status::unauthenticated("Logins don't match. Please include at least one valid login for this identity.");
    } else {
      winner = it->second;  // a guest presenting another identity's login: merged into it
    }
  }
  if (authenticated && !ownMatched)
    return Status::unauthenticated("Logins don't match. Please include at least one valid login for this identity.");
  if (winner != id) mergeLocked(id, winner);
  for (const Login& l : logins) logins_[{l.provider, l.token}] = winner;
  return winner;
}

void FakeServer::mergeLocked(const std::string& loser, const std::string& winner) {
  auto& from = data_[loser];
  auto& to = data_[winner];
  for (auto& [name, ds] : from) {
    if (!ds.live) continue;
    std::string merged = name + "." + loser;
    DatasetState copy;
    copy.live = true;
    copy.creationMs = ds.creationMs;
    std::vector<Record> recs;
    for (auto& [k, r] : ds.records)
      if (r.value) recs.push_back(r);
    std::sort(recs.begin(), recs.end(), [](const Record& a, const Record& b) {
      return a.syncCount != b.syncCount ? a.syncCount < b.syncCount : a.key < b.key;
    });
    for (Record& r : recs) {
      r.syncCount = ++copy.syncCount;
      copy.records[r.key] = r;
    }
    to[merged] = std::move(copy);
    to[name].mergedNames.push_back(merged);
  }
  from.clear();
  for (auto& [login, owner] : logins_)
    if (owner == loser) owner = winner;
  disabled_.insert(loser);
}

std::optional<std::string> FakeServer::identityOfLogin(const std::string& provider,
                                                       const std::string& token) {
  std::lock_guard lock(mu_);
  auto it = logins_.find({provider, token});
  if (it == logins_.end()) return std::nullopt;
  return it->second;
}

bool FakeServer::isDisabled(const std::string& id) {
  std::lock_guard lock(mu_);
  return disabled_.count(id) > 0;
}

bool FakeServer::hasIdentity(const std::string& id) {
  std::lock_guard lock(mu_);
  return data_.count(id) > 0;
}

Result<proto::ListDatasetsResponse> FakeServer::listDatasets(const std::string& id,
                                                             const proto::ListDatasetsRequest&) {
  std::lock_guard lock(mu_);
  proto::ListDatasetsResponse out;
  for (auto& [name, ds] : data_[id]) {
    if (!ds.live) continue;
    DatasetMetadata m;
    m.name = name;
    m.creationMs = ds.creationMs;
    m.syncCount = ds.syncCount;
    for (auto& [k, r] : ds.records)
      if (r.value) { ++m.numRecords; m.dataStorage += recordSize(k, *r.value); }
    out.datasets.push_back(m);
  }
  return out;
}

Result<proto::ListRecordsResponse> FakeServer::listRecords(const std::string& id,
                                                           const proto::ListRecordsRequest& req) {
  ++listCalls_;
  TETHER_RETURN_IF_ERROR(validateDatasetName(req.datasetName));
  if (req.lastSyncCount < 0) return Status::invalidArgument("negative lastSyncCount");
  std::lock_guard lock(mu_);
  proto::ListRecordsResponse out;
  out.syncSessionToken = sessionToken(id, req.datasetName);
  auto& sets = data_[id];
  auto it = sets.find(req.datasetName);
  if (it == sets.end()) return out;
  DatasetState& ds = it->second;
  out.datasetExists = ds.live;
  out.datasetSyncCount = ds.syncCount;
  out.datasetDeletedAfterRequestedSyncCount =
      req.lastSyncCount > 0 && ds.deletedAt && *ds.deletedAt > req.lastSyncCount;
  out.mergedDatasetNames = ds.mergedNames;
  // nextToken = "<pinned count>:<offset>"; pages ordered by (syncCount, key).
  int64_t pinned = ds.syncCount;
  size_t offset = 0;
  if (!req.nextToken.empty()) {
    long long p = 0;
    unsigned long o = 0;
    if (std::sscanf(req.nextToken.c_str(), "%lld:%lu", &p, &o) != 2)
      return Status::invalidArgument("bad nextToken");
    pinned = p;
    offset = o;
  }
  std::vector<Record> all;
  for (auto& [k, r] : ds.records)
    if (r.syncCount > req.lastSyncCount && r.syncCount <= pinned) all.push_back(r);
  std::sort(all.begin(), all.end(), [](const Record& a, const Record& b) {
    return a.syncCount != b.syncCount ? a.syncCount < b.syncCount : a.key < b.key;
  });
  size_t page = req.maxResults == 0 ? 1024 : req.maxResults;
  for (size_t i = offset; i < all.size() && i < offset + page; ++i) out.records.push_back(all[i]);
  if (offset + page < all.size())
    out.nextToken = std::to_string(pinned) + ":" + std::to_string(offset + page);
  out.datasetSyncCount = pinned;
  return out;
}

Result<proto::UpdateRecordsResponse> FakeServer::updateRecords(const std::string& id,
                                                               const proto::UpdateRecordsRequest& req,
                                                               uint64_t origin) {
  ++updateCalls_;
  TETHER_RETURN_IF_ERROR(validateDatasetName(req.datasetName));
  const bool conditional = req.ifDatasetSyncCount >= 0;
  if (conditional && !conditionalPush_)
    return Status::invalidArgument("SyncSessionToken not valid for these inputs");  // an old server
  if (!conditional && req.syncSessionToken != sessionToken(id, req.datasetName))
    return Status::invalidArgument("SyncSessionToken not valid for these inputs");
  if (req.patches.size() > static_cast<size_t>(kMaxPatchesPerBatch))
    return Status::invalidArgument("too many patches");
  std::set<std::string> keys;
  for (const RecordPatch& p : req.patches) {
    TETHER_RETURN_IF_ERROR(validateRecordKey(p.key));
    if (p.op == PatchOp::kReplace) TETHER_RETURN_IF_ERROR(validateRecordValue(p.value));
    if (!keys.insert(p.key).second) return Status::invalidArgument("duplicate key " + p.key);
  }
  std::lock_guard lock(mu_);
  proto::UpdateRecordsResponse out;
  if (req.patches.empty()) return out;
  auto& sets = data_[id];
  DatasetState ds = sets.count(req.datasetName) ? sets[req.datasetName] : DatasetState{};
  if (conditional && (ds.syncCount != req.ifDatasetSyncCount || !ds.mergedNames.empty())) {
    ++conditionalRefusals_;
    return Status::conflict("dataset changed since " + std::to_string(req.ifDatasetSyncCount));
  }
  for (const RecordPatch& p : req.patches) {
    auto it = ds.records.find(p.key);
    int64_t cur = it == ds.records.end() ? 0 : it->second.syncCount;
    if (cur != p.syncCount)
      return Status::conflict("Current SyncCount for: " + p.key + " is: " + std::to_string(cur) +
                              " not: " + std::to_string(p.syncCount));
  }
  if (!ds.live) {
    int live = 0;
    for (auto& [n, d] : sets) live += d.live ? 1 : 0;
    if (live >= kMaxDatasetsPerIdentity) return Status::limitExceeded("too many datasets");
    ds.live = true;
    ds.creationMs = nowMs_;
  }
  int64_t d = ds.syncCount + 1;
  for (const RecordPatch& p : req.patches) {
    Record r;
    r.key = p.key;
    if (p.op == PatchOp::kReplace) r.value = p.value;
    r.syncCount = d;
    r.lastModifiedMs = nowMs_;
    r.lastModifiedBy = req.deviceId.empty() ? id : req.deviceId;
    r.deviceLastModifiedMs = p.deviceLastModifiedMs;
    ds.records[p.key] = r;
    out.records.push_back(r);
  }
  int64_t count = 0, bytes = 0;
  for (auto& [k, r] : ds.records)
    if (r.value) { ++count; bytes += recordSize(k, *r.value); }
  if (count > kMaxRecordsPerDataset || bytes > kMaxDatasetBytes)
    return Status::limitExceeded("dataset limits exceeded");
  ds.syncCount = d;
  sets[req.datasetName] = std::move(ds);
  notifyLocked(id, req.datasetName, d, origin, &out.records);
  out.syncCount = d;
  out.lastModifiedMs = nowMs_;
  out.lastModifiedBy = req.deviceId.empty() ? id : req.deviceId;
  if (req.omitValues && conditionalPush_) out.records.clear();
  return out;
}

Result<proto::DeleteDatasetResponse> FakeServer::deleteDataset(const std::string& id,
                                                               const proto::DeleteDatasetRequest& req,
                                                               uint64_t origin) {
  std::lock_guard lock(mu_);
  auto& sets = data_[id];
  auto it = sets.find(req.datasetName);
  if (it == sets.end() || !it->second.live) return Status::notFound("no dataset " + req.datasetName);
  DatasetState& ds = it->second;
  proto::DeleteDatasetResponse out;
  out.dataset.name = req.datasetName;
  out.dataset.syncCount = ds.syncCount;
  ds.syncCount += 1;  // deletion consumes a count, so re-creation stays monotonic
  ds.deletedAt = ds.syncCount;
  ds.live = false;
  ds.records.clear();
  ds.mergedNames.clear();
  // A deleted merged dataset stops being reported by the one it was merged into.
  for (auto& [n, other] : sets)
    other.mergedNames.erase(std::remove(other.mergedNames.begin(), other.mergedNames.end(), req.datasetName),
                            other.mergedNames.end());
  notifyLocked(id, req.datasetName, sets[req.datasetName].syncCount, origin, nullptr);
  return out;
}

void FakeServer::notifyLocked(const std::string& id, const std::string& name, int64_t syncCount,
                              uint64_t origin, const std::vector<Record>* batch) {
  if (!notify_) return;
  for (auto& [conn, c] : connections_) {
    if (conn == origin || c.identity != id || !c.datasets.count(name)) continue;
    ++notificationsSent_;
    proto::DatasetChanged change{"local:11111111-2222-3333-4444-555555555555", id, name, syncCount};
    // Like tetherd (which also announces conditional pushes): the batch travels along.
    if (batch != nullptr && conditionalPush_) {
      change.records = *batch;
      change.hasRecords = true;
    }
    c.notify(std::move(change));
  }
}

uint64_t FakeServer::addConnection(Notify notify) {
  std::lock_guard lock(mu_);
  uint64_t conn = nextConn_++;
  connections_[conn].notify = std::move(notify);
  return conn;
}

void FakeServer::removeConnection(uint64_t conn) {
  std::lock_guard lock(mu_);
  connections_.erase(conn);
}

proto::SubscribeResponse FakeServer::subscribe(uint64_t conn, const std::string& id,
                                               const std::vector<std::string>& names) {
  std::lock_guard lock(mu_);
  proto::SubscribeResponse out;
  auto c = connections_.find(conn);
  if (c == connections_.end()) return out;
  c->second.identity = id;
  for (const std::string& n : names) {
    c->second.datasets.insert(n);
    auto& sets = data_[id];
    auto it = sets.find(n);
    bool live = it != sets.end() && it->second.live;
    out.datasets.push_back({n, live ? it->second.syncCount : 0, live});
  }
  return out;
}

void FakeServer::unsubscribe(uint64_t conn, const std::vector<std::string>& names) {
  std::lock_guard lock(mu_);
  auto c = connections_.find(conn);
  if (c == connections_.end()) return;
  if (names.empty()) c->second.datasets.clear();
  for (const std::string& n : names) c->second.datasets.erase(n);
}

void FakeServer::dropSubscriptions(uint64_t conn) { unsubscribe(conn, {}); }

std::optional<FakeServer::DatasetState> FakeServer::dataset(const std::string& id, const std::string& name) {
  std::lock_guard lock(mu_);
  auto& sets = data_[id];
  auto it = sets.find(name);
  if (it == sets.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::string> FakeServer::liveValues(const std::string& id, const std::string& name) {
  std::map<std::string, std::string> out;
  auto ds = dataset(id, name);
  if (!ds || !ds->live) return out;
  for (auto& [k, r] : ds->records)
    if (r.value) out[k] = *r.value;
  return out;
}

void FakeServer::remoteWrite(const std::string& id, const std::string& name, const std::string& key,
                             std::optional<std::string> value, int64_t deviceLastModifiedMs) {
  std::lock_guard lock(mu_);
  DatasetState& ds = data_[id][name];
  if (!ds.live) { ds.live = true; ds.creationMs = nowMs_; }
  Record r;
  r.key = key;
  r.value = std::move(value);
  r.syncCount = ++ds.syncCount;
  r.lastModifiedMs = nowMs_;
  r.lastModifiedBy = "other-device";
  r.deviceLastModifiedMs = deviceLastModifiedMs;
  ds.records[key] = r;
  const std::vector<Record> batch{r};
  notifyLocked(id, name, ds.syncCount, 0, &batch);
}

void FakeServer::setMergedNames(const std::string& id, const std::string& name,
                                std::vector<std::string> merged) {
  std::lock_guard lock(mu_);
  data_[id][name].mergedNames = std::move(merged);
}

// ---- FakeRemote

FakeRemote::FakeRemote(std::shared_ptr<FakeServer> server, std::shared_ptr<Executor> executor)
    : server_(std::move(server)), executor_(std::move(executor)) {
  // The notify runs under the server lock on the writer's thread: hop to our executor.
  conn_ = server_->addConnection([this](const proto::DatasetChanged& change) {
    executor_->post([this, change] {
      RemoteListener* l = listener_.load();
      if (online_ && l) l->onDatasetChanged(change);
    });
  });
}

FakeRemote::~FakeRemote() { server_->removeConnection(conn_); }

void FakeRemote::setOnline(bool online) {
  bool was = online_.exchange(online);
  if (!online) server_->dropSubscriptions(conn_);  // the connection is gone
  if (online && !was) {
    executor_->post([this] {
      if (RemoteListener* l = listener_.load(); l && online_) l->onConnected();
    });
  }
}

void FakeRemote::setListener(RemoteListener* listener) {
  listener_ = listener;
  if (listener) {
    executor_->post([this] {
      if (RemoteListener* l = listener_.load(); l && online_) l->onConnected();
    });
  }
}

void FakeRemote::subscribe(proto::SubscribeRequest req, Callback<proto::SubscribeResponse> done) {
  dispatch<proto::SubscribeResponse>("subscribe", std::move(done),
                                     [this, req]() -> Result<proto::SubscribeResponse> {
    std::string id = authenticatedAs();
    if (id.empty()) return Status::unauthenticated("not authenticated");
    ++subscribeCalls_;
    return server_->subscribe(conn_, id, req.datasetNames);
  });
}

void FakeRemote::unsubscribe(proto::UnsubscribeRequest req, Callback<proto::UnsubscribeResponse> done) {
  dispatch<proto::UnsubscribeResponse>("unsubscribe", std::move(done),
                                       [this, req]() -> Result<proto::UnsubscribeResponse> {
    server_->unsubscribe(conn_, req.datasetNames);
    return proto::UnsubscribeResponse{};
  });
}

template <class Resp, class Fn>
void FakeRemote::dispatch(const std::string& op, Callback<Resp> done, Fn fn) {
  executor_->post([this, op, done = std::move(done), fn = std::move(fn)]() mutable {
    Hook hook;
    {
      std::lock_guard lock(mu_);
      hook = hook_;
    }
    if (!online_) return done(Status::unavailable("fake server offline"));
    if (hook) hook(op, Phase::kBefore);
    Result<Resp> r = fn();
    if (hook) hook(op, Phase::kAfter);
    done(std::move(r));
  });
}

void FakeRemote::authenticate(std::string identityId, LoginsFn logins, bool renew,
                              Callback<std::string> done) {
  if (renew) ++renewCalls_;
  dispatch<std::string>("authenticate", std::move(done),
                        [this, identityId, logins, renew]() -> Result<std::string> {
    {
      // Like the transport: a held token for this identity is reused (logins not asked).
      std::lock_guard lock(mu_);
      if (!renew && !identityId.empty() && identityId == identity_) return identityId;
    }
    std::vector<Login> presented;
    if (logins) {
      Result<std::vector<Login>> l = logins();  // on the executor, as the contract says
      if (!l.isOk()) return l.status();
      presented = std::move(*l);
    }
    {
      std::lock_guard lock(mu_);
      lastLogins_ = presented;
    }
    std::string id = identityId;
    if (id.empty()) {
      ++getIdCalls_;
      TETHER_TRY(id, server_->getId(presented));
    } else if (!server_->hasIdentity(id)) {
      return Status::notFound("identity not found");
    }
    ++getTokenCalls_;
    TETHER_TRY(std::string confirmed, server_->getToken(id, presented));
    std::lock_guard lock(mu_);
    identity_ = confirmed;
    return confirmed;
  });
}

void FakeRemote::listDatasets(proto::ListDatasetsRequest req, Callback<proto::ListDatasetsResponse> done) {
  dispatch<proto::ListDatasetsResponse>("listDatasets", std::move(done), [this, req] {
    return server_->listDatasets(authenticatedAs(), req);
  });
}

void FakeRemote::listRecords(proto::ListRecordsRequest req, Callback<proto::ListRecordsResponse> done) {
  dispatch<proto::ListRecordsResponse>("listRecords", std::move(done), [this, req] {
    return server_->listRecords(authenticatedAs(), req);
  });
}

void FakeRemote::updateRecords(proto::UpdateRecordsRequest req, Callback<proto::UpdateRecordsResponse> done) {
  dispatch<proto::UpdateRecordsResponse>("updateRecords", std::move(done),
                                         [this, req]() -> Result<proto::UpdateRecordsResponse> {
    if (forcedConflicts_ > 0) {
      --forcedConflicts_;
      return Status::conflict("forced conflict");
    }
    return server_->updateRecords(authenticatedAs(), req, conn_);
  });
}

void FakeRemote::deleteDataset(proto::DeleteDatasetRequest req, Callback<proto::DeleteDatasetResponse> done) {
  dispatch<proto::DeleteDatasetResponse>("deleteDataset", std::move(done), [this, req] {
    return server_->deleteDataset(authenticatedAs(), req, conn_);
  });
}

}  // namespace tether::client::testing
