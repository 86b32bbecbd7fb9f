// The console API sections ConsoleHttp's own side answers (docs/console.md): pools (list,
// create, edit, usage, usage history), the live view (the /metrics figures and the recent
// stream/trigger failures) and the audit log. The identities and data section is i17-data's
// (console_data*.h), plugged in beside these in serve_command.cpp.
// Thread-safety: call() runs on worker threads, concurrently; the sections keep no per-request
// state. Ownership: they borrow the store, metrics and clock.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/clock.h"
#include "console/console_api.h"
#include "net/server_metrics.h"
#include "storage/store.h"

namespace tether::server::console {

// How far back usage-history answers (and the sampler keeps points).
inline constexpr int64_t kUsageHistoryMs = 90LL * 24 * 60 * 60 * 1000;

// pools, pools/{id}, pools/{id}/usage-history. Pools declared in the config file ([[pools]],
// `configPoolIds`) are shown with "fromConfig": true and refuse edits (400): the file is
// applied again at every start, so an edit here would silently come undone.
class PoolsSection final : public ApiSection {
 public:
  PoolsSection(Store& store, const Clock& clock, std::set<std::string> configPoolIds, std::string region = "local")
      : store_(store), clock_(clock), configPools_(std::move(configPoolIds)), region_(std::move(region)) {}
  bool handles(const ApiCall& call) const override;
  ApiResult call(const ApiCall& call) override;

 private:
  ApiResult list();
  ApiResult get(const std::string& poolId);
  ApiResult create(const ApiCall& call);
  ApiResult update(const std::string& poolId, const ApiCall& call);
  ApiResult history(const std::string& poolId);
  Result<nlohmann::json> poolJson(const PoolInfo& pool, bool full);
  // The login-provider and events/streams members of an edit (console_pool_settings.cpp):
  // checked whole before anything is written, then written. `detail` gets the audit summary.
  struct SettingsEdit {
    std::optional<std::vector<OidcProviderRow>> oidc;  // the wanted list
    std::optional<nlohmann::json> events;               // the SetCognitoEvents document
    std::optional<nlohmann::json> configuration;        // the SetIdentityPoolConfiguration document
  };
  Result<SettingsEdit> checkSettings(const std::string& poolId, const nlohmann::json& in);
  Status applySettings(const std::string& poolId, const SettingsEdit& edit, std::string& detail);
  Status addSettingsJson(const std::string& poolId, nlohmann::json& out);

  Store& store_;
  const Clock& clock_;
  const std::set<std::string> configPools_;
  const std::string region_;
};

// live: connections, requests and latency per operation, errors by name, recent failures.
class LiveSection final : public ApiSection {
 public:
  LiveSection(const ServerMetrics& metrics, const Clock& clock) : metrics_(metrics), clock_(clock) {}
  bool handles(const ApiCall& call) const override;
  ApiResult call(const ApiCall& call) override;

 private:
  const ServerMetrics& metrics_;
  const Clock& clock_;
};

// audit?before=ID&limit=N: the audit log, newest first.
class AuditSection final : public ApiSection {
 public:
  explicit AuditSection(Store& store) : store_(store) {}
  bool handles(const ApiCall& call) const override;
  ApiResult call(const ApiCall& call) override;

 private:
  Store& store_;
};

// A store failure as the API's 500.
ApiResult storeError(const Status& s);

}  // namespace tether::server::console
