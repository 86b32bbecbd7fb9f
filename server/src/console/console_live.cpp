// LiveSection and AuditSection (console_sections.h). The live view reads the very counters and
// histograms /metrics renders (net/server_metrics.h, common/metrics.h) and the process's ring of
// recent stream and trigger failures (common/recent_failures.h); the page turns the counters'
// deltas between two polls into rates.
#include <limits>
#include <optional>

#include "common/recent_failures.h"
#include "console/console_sections.h"

namespace tether::server::console {
namespace {

using Json = nlohmann::json;

// A query parameter as a non-negative integer; `fallback` when absent, nullopt when malformed.
std::optional<int64_t> intParam(const ApiCall& call, const char* name, int64_t fallback) {
  const std::string* v = call.queryParam(name);
  if (v == nullptr || v->empty()) return fallback;
  if (v->size() > 18 || v->find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(*v);
}

}  // namespace

bool LiveSection::handles(const ApiCall& call) const { return call.segments.size() == 1 && call.segments[0] == "live"; }

ApiResult LiveSection::call(const ApiCall& call) {
  if (call.method != "GET") return ApiResult::error(404, "NotFound", "live is read with GET");
  const int64_t wsOpen = metrics_.connectionsOpen.load();
  Json connections = {{"ws", wsOpen},
                      {"http", std::max<int64_t>(0, metrics_.tcpConnectionsOpen.load() - wsOpen)},
                      {"tcp", metrics_.tcpConnectionsOpen.load()}};
  Json requests = Json::array();
  metrics_.requestSeconds.forEach([&](const std::vector<std::string>& labels, const metrics::Histogram& h) {
    Json buckets = Json::array();
    for (size_t i = 0; i < h.bounds().size(); ++i) buckets.push_back(Json::array({h.bounds()[i], h.bucket(i)}));
    requests.push_back({{"surface", labels.size() > 0 ? labels[0] : ""},
                        {"operation", labels.size() > 1 ? labels[1] : ""},
                        {"count", h.count()},
                        {"sumSeconds", h.sum()},
                        {"buckets", buckets}});
  });
  Json errors = Json::array();
  metrics_.requestErrors.forEach([&](const std::vector<std::string>& labels, const metrics::Counter& c) {
    errors.push_back({{"surface", labels.size() > 0 ? labels[0] : ""},
                      {"error", labels.size() > 1 ? labels[1] : ""},
                      {"count", c.value()}});
  });
  Json failures = Json::array();
  for (const RecentFailures::Entry& f : RecentFailures::get().snapshot())
    failures.push_back({{"at", f.atMs}, {"kind", f.kind}, {"name", f.name}, {"message", f.message}});
  ApiResult r;
  r.body = {{"at", clock_.nowMs()},
            {"connections", connections},
            {"requestsTotal", {{"http", metrics_.httpRequestsTotal.load()}, {"ws", metrics_.requestsTotal.load()}}},
            {"requests", requests},
            {"errors", errors},
            {"failures", failures}};
  return r;
}

bool AuditSection::handles(const ApiCall& call) const { return call.segments.size() == 1 && call.segments[0] == "audit"; }

ApiResult AuditSection::call(const ApiCall& call) {
  if (call.method != "GET") return ApiResult::error(404, "NotFound", "audit is read with GET");
  std::optional<int64_t> before = intParam(call, "before", 0);
  std::optional<int64_t> limit = intParam(call, "limit", 50);
  if (!before) return ApiResult::error(400, "InvalidParameter", "before must be an entry ID");
  if (!limit || *limit < 1 || *limit > 200) return ApiResult::error(400, "InvalidParameter", "limit must be 1 to 200");
  // One more than asked: whether there is a next page.
  Result<std::vector<AuditEntry>> entries = store_.listAudit(*before, static_cast<int>(*limit) + 1);
  if (!entries.isOk()) return storeError(entries.status());
  Json list = Json::array();
  Json next = nullptr;
  for (size_t i = 0; i < entries->size(); ++i) {
    const AuditEntry& e = (*entries)[i];
    if (static_cast<int64_t>(i) == *limit) {
      next = (*entries)[i - 1].id;
      break;
    }
    list.push_back({{"id", e.id}, {"at", e.atMs}, {"operator", e.operatorName}, {"action", e.action},
                    {"target", e.target}, {"detail", e.detail}, {"outcome", e.outcome}});
  }
  ApiResult r;
  r.body = {{"entries", list}, {"next", next}};
  return r;
}

}  // namespace tether::server::console
