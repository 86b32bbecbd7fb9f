// `tetherd import-cognito`: the command (pool, listing pass, import pass, progress); see
// import_cognito.h.
#include "app/import_cognito.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "app/import_cognito_checkpoint.h"
#include "app/open_store.h"
#include "common/clock.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

using Json = nlohmann::json;
using Steady = std::chrono::steady_clock;
constexpr int kListPage = 60;  // ListIdentities' maximum MaxResults
constexpr int kExitError = 1, kExitUsage = 2, kExitRefused = 3;

double secondsSince(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

// "identities done / total, rate, ETA": a live line on a terminal, a log line every few seconds
// otherwise.
class Progress {
 public:
  Progress(int64_t total, int64_t doneBefore, int intervalSeconds)
      : total_(total), doneBefore_(doneBefore), tty_(::isatty(STDERR_FILENO) == 1),
        interval_(tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(intervalSeconds * 1000)) {}

  // Shows a line if the interval has passed since the last one (or `force`).
  void update(int64_t done, int64_t records, bool force = false) {
    if (!force && Steady::now() - lastShown_ < interval_) return;
    lastShown_ = Steady::now();
    const double secs = std::max(secondsSince(start_), 1e-3);
    const double rate = static_cast<double>(done - doneBefore_) / secs;
    char line[256];
    std::snprintf(line, sizeof line, "import-cognito: %lld/%lld identities (%.0f%%), %.1f identities/s, %.0f records/s, ETA %s",
                  static_cast<long long>(done), static_cast<long long>(total_),
                  total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0, rate,
                  static_cast<double>(records) / secs, eta(done, rate).c_str());
    if (tty_) std::cerr << "\r" << line << "\033[K" << std::flush;
    else std::cerr << line << "\n";
    shown_ = true;
  }
  void finish() {
    if (tty_ && shown_) std::cerr << "\n";
  }
  double seconds() const { return secondsSince(start_); }

 private:
  std::string eta(int64_t done, double rate) const {
    if (rate <= 0) return "unknown";
    int64_t s = static_cast<int64_t>(static_cast<double>(total_ - done) / rate);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    return buf;
  }
  int64_t total_, doneBefore_;
  bool tty_;
  std::chrono::milliseconds interval_;
  Steady::time_point start_ = Steady::now();
  Steady::time_point lastShown_ = Steady::now();
  bool shown_ = false;
};

struct Importer {
  Importer(const ImportCognitoArgs& a, Store& s, CheckpointFile& c) : args(a), store(s), cp(c) {}
  const ImportCognitoArgs& args;
  Store& store;
  CheckpointFile& cp;
  std::vector<std::unique_ptr<AwsClient>> clients;  // one per worker
  SourcePool source;
  Json sourcePool;  // DescribeIdentityPool's answer
  std::mutex mu;  // guards cp, the counters below and progress
  std::unique_ptr<Progress> progress;
  int64_t recordsThisRun = 0;
  std::map<std::string, int64_t> unknownProviders;  // provider -> identities with such a login

  // The source pool's settings.
  Status describeSource() {
    TETHER_TRY(sourcePool, clients[0]->identity("DescribeIdentityPool", Json{{"IdentityPoolId", source.id}}));
    source.developerProvider = sourcePool.value("DeveloperProviderName", "");
    TETHER_TRY(std::optional<PoolInfo> existing, store.getPool(args.targetPool));
    if (!existing) return Status::ok();
    TETHER_TRY(std::string dev, store.getPoolDeveloperProvider(args.targetPool));
    if (!source.developerProvider.empty() && !dev.empty() && dev != source.developerProvider)
      return Status::conflict("the target pool " + args.targetPool + " has developer provider '" + dev +
                              "', the source '" + source.developerProvider + "'");
    return Status::ok();
  }

  // The target pool created like the source (or kept, when it exists).
  Status preparePool() {
    const Json& pool = sourcePool;
    TETHER_TRY(std::optional<PoolInfo> existing, store.getPool(args.targetPool));
    if (!existing) {
      SystemClock clock;
      PoolInfo info{args.targetPool, pool.value("IdentityPoolName", "imported"),
                    pool.value("AllowUnauthenticatedIdentities", false), clock.nowMs()};
      TETHER_RETURN_IF_ERROR(store.putPool(info));
    }
    TETHER_TRY(std::string dev, store.getPoolDeveloperProvider(args.targetPool));
    if (!source.developerProvider.empty() && dev.empty())
      TETHER_RETURN_IF_ERROR(store.setPoolDeveloperProvider(args.targetPool, source.developerProvider));
    for (const char* key : {"OpenIdConnectProviderARNs", "SamlProviderARNs"})
      for (const Json& arn : pool.value(key, Json::array()))
        std::cerr << "import-cognito: note: the source pool trusts " << arn.dump()
                  << "; add it to the target with `tetherd pool add-oidc-provider` (docs/authentication.md)\n";
    // Held in a local: items() of the temporary value() returns would outlive it.
    const Json providers = pool.value("SupportedLoginProviders", Json::object());
    for (const auto& [provider, appId] : providers.items())
      std::cerr << "import-cognito: note: the source pool accepts " << provider
                << " logins; configure that provider on the target (docs/authentication.md)\n";
    return Status::ok();
  }

  // Calls fn(description) for every identity of the source, from page `token` on; fn(page
  // token, descriptions, next token) per page.
  template <class Fn>
  Status forEachPage(std::string token, Fn&& fn) {
    while (true) {
      Json body = {{"IdentityPoolId", source.id}, {"MaxResults", kListPage}};
      if (!token.empty()) body["NextToken"] = token;
      TETHER_TRY(Json page, clients[0]->identity("ListIdentities", body));
      auto it = page.find("Identities");
      if (it == page.end() || !it->is_array())
        return Status::protocolError("ListIdentities: malformed response: no Identities list");
      std::string next = page.value("NextToken", "");
      TETHER_RETURN_IF_ERROR(fn(token, *it, next));
      if (next.empty()) return Status::ok();
      token = next;
    }
  }

  // The listing pass: counts the identities and refuses identities the target already holds
  // with other data unless this import wrote them; identical ones are marked done.
  Status listingPass() {
    std::vector<Json> present;
    int64_t total = 0;
    std::set<std::string> owned(cp.state().pageOwned.begin(), cp.state().pageOwned.end());
    TETHER_RETURN_IF_ERROR(forEachPage("", [&](const std::string&, const Json& ids, const std::string&) -> Status {
      for (const Json& d : ids) {
        total++;
        std::string id = d.value("IdentityId", "");
        if (cp.isDone(id) || owned.count(id) != 0) continue;
        TETHER_TRY(std::optional<IdentityInfo> there, store.getIdentity(id));
        if (there) present.push_back(d);
      }
      return Status::ok();
    }));
    cp.state().total = total;
    std::vector<std::string> foreign;
    for (const Json& d : present) {
      TETHER_TRY(ImportedIdentity fetched, fetchIdentity(*clients[0], source, args.targetPool, d));
      TETHER_TRY(std::optional<ImportedIdentity> stored,
                 readTargetIdentity(store, fetched.info.id, source.developerProvider));
      if (stored && sameIdentity(fetched, *stored)) {
        TETHER_RETURN_IF_ERROR(cp.markDone(fetched.info.id));
        cp.state().skipped++;
      } else if (stored) {
        foreign.push_back(fetched.info.id);
      }
    }
    TETHER_RETURN_IF_ERROR(cp.save());
    if (foreign.empty()) return Status::ok();
    std::string names;
    for (size_t i = 0; i < foreign.size() && i < 10; ++i) names += (i ? ", " : "") + foreign[i];
    if (foreign.size() > 10) names += ", ...";
    return Status::conflict(std::to_string(foreign.size()) +
                            " identities already exist in the target with other data and were not written by this "
                            "import (" + names + "); nothing was overwritten. Delete them from the target "
                            "(DeleteIdentities) or import into an empty store");
  }

  // One identity of the import pass: absent -> written; present and identical -> skipped;
  // present and owned (half-written by an interrupted run) -> deleted and written again whole.
  Status importOne(AwsClient& aws, const Json& description, bool owned) {
    TETHER_TRY(ImportedIdentity fetched, fetchIdentity(aws, source, args.targetPool, description));
    TETHER_TRY(std::optional<ImportedIdentity> stored,
               readTargetIdentity(store, fetched.info.id, source.developerProvider));
    bool skipped = false;
    if (stored && sameIdentity(fetched, *stored)) {
      skipped = true;
    } else {
      if (stored) {
        if (!owned)
          return Status::conflict("identity " + fetched.info.id +
                                  " appeared in the target during the import with other data; not overwritten");
        TETHER_RETURN_IF_ERROR(store.deleteIdentity(fetched.info.id));
      }
      TETHER_RETURN_IF_ERROR(writeIdentity(store, fetched));
    }
    std::lock_guard<std::mutex> lock(mu);
    TETHER_RETURN_IF_ERROR(cp.markDone(fetched.info.id));
    ImportCheckpoint& s = cp.state();
    if (skipped) {
      s.skipped++;
    } else {
      s.identities++;
      s.datasets += static_cast<int64_t>(fetched.datasets.size());
      s.records += fetched.recordCount();
      recordsThisRun += fetched.recordCount();
    }
    for (const std::string& p : fetched.unknownProviders) unknownProviders[p]++;
    progress->update(static_cast<int64_t>(cp.doneCount()), recordsThisRun);
    return Status::ok();
  }

  // The import pass, from the checkpoint's page on, `parallel` identities at a time.
  Status importPass() {
    ImportCheckpoint& s = cp.state();
    std::set<std::string> owned(s.pageOwned.begin(), s.pageOwned.end());
    return forEachPage(s.pageToken, [&](const std::string& token, const Json& ids, const std::string& next) -> Status {
      std::vector<const Json*> todo;
      std::vector<std::string> pageOwned;
      for (const Json& d : ids) {
        std::string id = d.value("IdentityId", "");
        if (cp.isDone(id)) continue;
        todo.push_back(&d);
        TETHER_TRY(std::optional<IdentityInfo> there, store.getIdentity(id));
        if (!there || (token == s.pageToken && owned.count(id) != 0)) pageOwned.push_back(id);
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        s.pageToken = token;
        s.pageOwned = pageOwned;
        TETHER_RETURN_IF_ERROR(cp.save());  // owned before the first write of the page
      }
      const std::set<std::string> mine(pageOwned.begin(), pageOwned.end());
      std::atomic<size_t> nextIndex{0};
      std::atomic<bool> failed{false};
      Status firstError;
      auto worker = [&](AwsClient& aws) {
        for (size_t i; !failed && (i = nextIndex.fetch_add(1)) < todo.size();) {
          const Json& d = *todo[i];
          Status st = importOne(aws, d, mine.count(d.value("IdentityId", "")) != 0);
          if (!st.isOk()) {
            std::lock_guard<std::mutex> lock(mu);
            if (!failed.exchange(true)) firstError = st;
          }
        }
      };
      std::vector<std::thread> threads;
      const size_t n = std::min(clients.size(), todo.size());
      for (size_t t = 1; t < n; ++t) threads.emplace_back(worker, std::ref(*clients[t]));
      if (n > 0) worker(*clients[0]);
      for (std::thread& t : threads) t.join();
      std::lock_guard<std::mutex> lock(mu);
      if (failed) {
        (void)cp.save();
        return firstError;
      }
      s.pageToken = next;
      s.pageOwned.clear();
      s.finished = next.empty();
      return cp.save();
    });
  }
};

}  // namespace

int runImportCognito(const ImportCognitoArgs& argsIn) {
  ImportCognitoArgs args = argsIn;
  if (args.targetPool.empty()) args.targetPool = args.sourcePool;
  for (const std::string* id : {&args.sourcePool, &args.targetPool})
    if (Status s = validatePoolId(*id); !s.isOk()) {
      std::cerr << "tetherd import-cognito: pool ID '" << *id << "': " << s.message() << "\n";
      return kExitUsage;
    }
  if (args.parallel < 1 || args.parallel > 64) {
    std::cerr << "tetherd import-cognito: --parallel must be 1..64\n";
    return kExitUsage;
  }
  Result<cognito::AwsCredentials> creds = loadAwsCredentials();
  if (!creds.isOk()) {
    std::cerr << "tetherd import-cognito: " << creds.status().message() << "\n";
    return kExitUsage;
  }
  Result<AwsEndpoints> endpoints = awsEndpoints(args.region, args.endpoint);
  if (!endpoints.isOk()) {
    std::cerr << "tetherd import-cognito: " << endpoints.status().message() << "\n";
    return kExitUsage;
  }
  endpoints->caFile = args.caFile;
  Result<CheckpointFile> cp = CheckpointFile::open(args.checkpoint);
  if (!cp.isOk()) {
    std::cerr << "tetherd import-cognito: " << cp.status().message() << "\n";
    return kExitUsage;
  }
  ImportCheckpoint& state = cp->state();
  if (!state.sourcePool.empty() && (state.sourcePool != args.sourcePool || state.targetPool != args.targetPool)) {
    std::cerr << "tetherd import-cognito: the checkpoint " << args.checkpoint << " belongs to an import of "
              << state.sourcePool << " into " << state.targetPool << ", not of " << args.sourcePool << " into "
              << args.targetPool << "\n";
    return kExitRefused;
  }
  if (state.finished) {
    std::cout << "import-cognito: already complete (checkpoint " << args.checkpoint << "): " << state.identities
              << " identities, " << state.datasets << " datasets, " << state.records << " records; nothing to do\n";
    return 0;
  }
  state.sourcePool = args.sourcePool;
  state.targetPool = args.targetPool;
  Result<OpenedStore> target = openStore(args.store, OpenMode::kCreate);
  if (!target.isOk()) {
    std::cerr << "tetherd import-cognito: cannot open the target " << args.store << ": " << target.status() << "\n";
    return kExitError;
  }
  Importer im(args, *target->store, *cp);
  im.source.id = args.sourcePool;
  RetryPolicy policy;
  policy.maxAttempts = args.maxAttempts;
  for (int i = 0; i < args.parallel; ++i) {
    im.clients.push_back(std::make_unique<AwsClient>(*endpoints, *creds, policy));
    im.clients.back()->setRetryListener([](const std::string& what, int attempt, std::chrono::milliseconds wait) {
      if (attempt >= 3) std::cerr << "import-cognito: retry " << attempt << " in " << wait.count() << " ms after " << what << "\n";
    });
  }
  auto fail = [&](const Status& s, const char* phase) {
    if (im.progress) im.progress->finish();
    std::cerr << "tetherd import-cognito: " << phase << ": " << s.message() << "\n";
    if (!args.checkpoint.empty() && s.code() != StatusCode::kConflict)
      std::cerr << "tetherd import-cognito: rerun with --checkpoint " << args.checkpoint << " to continue\n";
    return s.code() == StatusCode::kConflict ? kExitRefused : kExitError;
  };
  if (Status s = im.describeSource(); !s.isOk()) return fail(s, "reading the source pool");
  const auto start = Steady::now();
  if (Status s = im.listingPass(); !s.isOk()) return fail(s, "listing the source");
  if (Status s = im.preparePool(); !s.isOk()) return fail(s, "preparing the target pool");
  std::cerr << "import-cognito: " << state.total << " identities in " << args.sourcePool << " (listed in "
            << static_cast<int64_t>(secondsSince(start) * 1000) << " ms), " << cp->doneCount() << " already done\n";
  const int64_t identitiesBefore = state.identities, datasetsBefore = state.datasets;
  im.progress = std::make_unique<Progress>(state.total, static_cast<int64_t>(cp->doneCount()), args.progressSeconds);
  if (Status s = im.importPass(); !s.isOk()) return fail(s, "importing");
  im.progress->update(static_cast<int64_t>(cp->doneCount()), im.recordsThisRun, true);
  im.progress->finish();
  int64_t requests = 0, retries = 0;
  for (const auto& c : im.clients) {
    requests += c->requests();
    retries += c->retries();
  }
  const double secs = std::max(secondsSince(start), 1e-3);
  const int64_t identities = state.identities - identitiesBefore;
  char rates[160];
  std::snprintf(rates, sizeof rates, "%.1f s, %.1f identities/s, %.0f records/s", secs,
                static_cast<double>(identities) / secs, static_cast<double>(im.recordsThisRun) / secs);
  std::cout << "import-cognito: imported " << identities << " identities, " << state.datasets - datasetsBefore
            << " datasets, " << im.recordsThisRun << " records in " << rates << " (" << state.skipped
            << " identities already present and skipped; " << requests << " requests, " << retries
            << " retries)\n";
  for (const auto& [provider, count] : im.unknownProviders)
    std::cout << "import-cognito: " << count << " identities have " << provider
              << " logins, whose subjects Cognito does not reveal: configure " << provider
              << " on the target pool; the login is linked again when a device calls GetCredentialsForIdentity or "
                 "GetOpenIdToken with its cached IdentityId and Logins (docs/migrating-from-cognito.md)\n";
  return 0;
}

}  // namespace tether::server
