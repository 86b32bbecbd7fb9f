// tetherd import-cognito: one identity read from Cognito, read from the target store, compared
// and written (see import_cognito.h).
#include <algorithm>
#include <memory>

#include "app/import_cognito.h"
#include "cognito/json_fields.h"

namespace tether::server {
namespace {

using Json = nlohmann::json;
constexpr int kRecordPage = 1024;  // ListRecords' page: what the SDKs ask for
constexpr int kDatasetPage = 64;

Status malformed(std::string_view op, const std::string& what) {
  return Status::protocolError(std::string(op) + ": malformed response: " + what);
}

// A required string / optional epoch-ms member of a Cognito response object.
Result<std::string> str(std::string_view op, const Json& obj, const char* name, bool required = true) {
  auto v = cognito::getString(obj, name, required);
  if (!v.isOk()) return malformed(op, v.error().message);
  return v->value_or("");
}
Result<int64_t> ms(std::string_view op, const Json& obj, const char* name) {
  auto v = cognito::getEpochMs(obj, name);
  if (!v.isOk()) return malformed(op, v.error().message);
  return v->value_or(0);
}
Result<int64_t> integer(std::string_view op, const Json& obj, const char* name) {
  auto v = cognito::getInt(obj, name);
  if (!v.isOk()) return malformed(op, v.error().message);
  return v->value_or(0);
}
const Json& arrayOf(const Json& obj, const char* name) {
  static const Json empty = Json::array();
  auto it = obj.find(name);
  return it != obj.end() && it->is_array() ? *it : empty;
}

void sortDatasets(std::vector<ImportedDataset>& datasets) {
  std::sort(datasets.begin(), datasets.end(), [](auto& a, auto& b) { return a.row.name < b.row.name; });
  for (ImportedDataset& d : datasets) {
    std::sort(d.records.begin(), d.records.end(), [](auto& a, auto& b) { return a.key < b.key; });
    std::sort(d.merged.begin(), d.merged.end());
  }
}

// ListRecords(LastSyncCount 0), every page: the records and the dataset's sync count.
Status fetchRecords(AwsClient& aws, const SourcePool& source, const std::string& identityId, ImportedDataset& d) {
  std::string next;
  do {
    std::vector<std::pair<std::string, std::string>> query = {{"lastSyncCount", "0"},
                                                               {"maxResults", std::to_string(kRecordPage)}};
    if (!next.empty()) query.emplace_back("nextToken", next);
    TETHER_TRY(Json page, aws.syncGet("ListRecords", {"identitypools", source.id, "identities", identityId, "datasets",
                                                      d.row.name, "records"}, query));
    for (const Json& r : arrayOf(page, "Records")) {
      if (!r.is_object()) return malformed("ListRecords", "a record is not an object");
      Record rec;
      TETHER_TRY(rec.key, str("ListRecords", r, "Key"));
      TETHER_TRY(std::string value, str("ListRecords", r, "Value", false));
      if (r.contains("Value") && !r["Value"].is_null()) rec.value = value;  // absent: a tombstone
      TETHER_TRY(rec.syncCount, integer("ListRecords", r, "SyncCount"));
      TETHER_TRY(rec.lastModifiedMs, ms("ListRecords", r, "LastModifiedDate"));
      TETHER_TRY(rec.lastModifiedBy, str("ListRecords", r, "LastModifiedBy", false));
      TETHER_TRY(rec.deviceLastModifiedMs, ms("ListRecords", r, "DeviceLastModifiedDate"));
      d.records.push_back(std::move(rec));
    }
    TETHER_TRY(d.row.syncCount, integer("ListRecords", page, "DatasetSyncCount"));
    for (const Json& m : arrayOf(page, "MergedDatasetNames"))
      if (m.is_string() && std::find(d.merged.begin(), d.merged.end(), m.get<std::string>()) == d.merged.end())
        d.merged.push_back(m.get<std::string>());
    TETHER_TRY(next, str("ListRecords", page, "NextToken", false));
  } while (!next.empty());
  for (const Record& r : d.records) d.row.syncCount = std::max(d.row.syncCount, r.syncCount);
  return Status::ok();
}

}  // namespace

int64_t ImportedIdentity::recordCount() const {
  int64_t n = 0;
  for (const ImportedDataset& d : datasets) n += static_cast<int64_t>(d.records.size());
  return n;
}

Result<ImportedIdentity> fetchIdentity(AwsClient& aws, const SourcePool& source, const std::string& targetPool,
                                       const Json& description) {
  ImportedIdentity out;
  out.info.poolId = targetPool;
  TETHER_TRY(out.info.id, str("ListIdentities", description, "IdentityId"));
  TETHER_TRY(out.info.createdMs, ms("ListIdentities", description, "CreationDate"));
  bool developer = false;
  for (const Json& p : arrayOf(description, "Logins")) {
    if (!p.is_string()) return malformed("ListIdentities", "a login provider is not a string");
    if (!source.developerProvider.empty() && p.get<std::string>() == source.developerProvider) developer = true;
    else {
      // Its subject is not readable from AWS: linked as a placeholder that keeps the identity
      // authenticated until its device presents the login again (store.h pendingLoginSubject).
      out.unknownProviders.push_back(p.get<std::string>());
      out.logins.push_back(LoginLink{targetPool, p.get<std::string>(), pendingLoginSubject(out.info.id), out.info.id});
    }
  }
  if (developer) {
    std::string next;
    do {
      Json body = {{"IdentityPoolId", source.id}, {"IdentityId", out.info.id}, {"MaxResults", 60}};
      if (!next.empty()) body["NextToken"] = next;
      TETHER_TRY(Json page, aws.identity("LookupDeveloperIdentity", body));
      for (const Json& u : arrayOf(page, "DeveloperUserIdentifierList"))
        if (u.is_string())
          out.logins.push_back(LoginLink{targetPool, source.developerProvider, u.get<std::string>(), out.info.id});
      TETHER_TRY(next, str("LookupDeveloperIdentity", page, "NextToken", false));
    } while (!next.empty());
  }
  std::string next;
  do {
    std::vector<std::pair<std::string, std::string>> query = {{"maxResults", std::to_string(kDatasetPage)}};
    if (!next.empty()) query.emplace_back("nextToken", next);
    TETHER_TRY(Json page, aws.syncGet("ListDatasets", {"identitypools", source.id, "identities", out.info.id, "datasets"},
                                      query));
    for (const Json& ds : arrayOf(page, "Datasets")) {
      if (!ds.is_object()) return malformed("ListDatasets", "a dataset is not an object");
      ImportedDataset d;
      d.row.live = true;
      TETHER_TRY(d.row.name, str("ListDatasets", ds, "DatasetName"));
      TETHER_TRY(d.row.creationMs, ms("ListDatasets", ds, "CreationDate"));
      TETHER_TRY(d.row.lastModifiedMs, ms("ListDatasets", ds, "LastModifiedDate"));
      TETHER_TRY(d.row.lastModifiedBy, str("ListDatasets", ds, "LastModifiedBy", false));
      TETHER_TRY(d.row.dataStorage, integer("ListDatasets", ds, "DataStorage"));
      TETHER_TRY(d.row.numRecords, integer("ListDatasets", ds, "NumRecords"));
      out.datasets.push_back(std::move(d));
    }
    TETHER_TRY(next, str("ListDatasets", page, "NextToken", false));
  } while (!next.empty());
  for (ImportedDataset& d : out.datasets) TETHER_RETURN_IF_ERROR(fetchRecords(aws, source, out.info.id, d));
  sortDatasets(out.datasets);
  std::sort(out.logins.begin(), out.logins.end(),
            [](auto& a, auto& b) { return std::tie(a.provider, a.subject) < std::tie(b.provider, b.subject); });
  return out;
}

Result<std::optional<ImportedIdentity>> readTargetIdentity(Store& store, const std::string& identityId,
                                                           const std::string& developerProvider) {
  TETHER_TRY(std::optional<IdentityInfo> info, store.getIdentity(identityId));
  if (!info) return std::optional<ImportedIdentity>();
  ImportedIdentity out;
  out.info = *info;
  TETHER_TRY(std::vector<LoginLink> logins, store.listLogins(identityId));
  // Developer logins as they are; any other provider as the import wrote it, a placeholder,
  // whether or not a device has linked its real subject since (that is no change of the data).
  for (LoginLink& l : logins) {
    if (l.provider != developerProvider) l.subject = pendingLoginSubject(identityId);
    if (std::find(out.logins.begin(), out.logins.end(), l) == out.logins.end()) out.logins.push_back(std::move(l));
  }
  std::sort(out.logins.begin(), out.logins.end(),
            [](auto& a, auto& b) { return std::tie(a.provider, a.subject) < std::tie(b.provider, b.subject); });
  TETHER_TRY(out.datasets, readDatasets(store, OwnerRef{info->poolId, info->id}, DatasetFilter::kLiveOnly));
  sortDatasets(out.datasets);
  return std::optional<ImportedIdentity>(std::move(out));
}

bool sameIdentity(const ImportedIdentity& fetched, const ImportedIdentity& stored) {
  if (fetched.info.id != stored.info.id || fetched.info.poolId != stored.info.poolId ||
      fetched.info.createdMs != stored.info.createdMs || fetched.logins != stored.logins ||
      fetched.datasets.size() != stored.datasets.size())
    return false;
  for (size_t i = 0; i < fetched.datasets.size(); ++i) {
    const ImportedDataset& a = fetched.datasets[i];
    const ImportedDataset& b = stored.datasets[i];
    // deletedAtSyncCount is not visible through the APIs: compared as written (nullopt).
    if (a.row.name != b.row.name || a.row.syncCount != b.row.syncCount || a.row.creationMs != b.row.creationMs ||
        a.row.lastModifiedMs != b.row.lastModifiedMs || a.row.lastModifiedBy != b.row.lastModifiedBy ||
        a.row.dataStorage != b.row.dataStorage || a.row.numRecords != b.row.numRecords || a.records != b.records ||
        a.merged != b.merged)
      return false;
  }
  return true;
}

Status writeIdentity(Store& store, const ImportedIdentity& identity) {
  // store_walk.h's writer: one transaction for the datasets, and an identity that fails part
  // way is removed again, so that a rerun writes it whole.
  Status s = writeIdentity(store, IdentityData{identity.info, identity.logins, {}, identity.datasets});
  if (s.code() == StatusCode::kConflict)
    return Status::conflict("identity " + identity.info.id + ": " + s.message() +
                            " (a login already linked to another identity in the target?)");
  return s;
}

}  // namespace tether::server
