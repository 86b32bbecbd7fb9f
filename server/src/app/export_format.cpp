// The export format's writer and strict reader: see export_format.h and docs/export-format.md.
#include "app/export_format.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kTetherdVersion = "0.1.0";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json countsJson(const ExportCounts& n) {
  return Json{{"pools", n.pools},         {"credentials", n.credentials}, {"identities", n.identities},
              {"devices", n.devices},     {"datasets", n.datasets},       {"records", n.records},
              {"tombstones", n.tombstones}};
}

// ---- reading: typed field access that reports the line instead of throwing
class Line {
 public:
  Line(const Json& j, int64_t n) : j_(j), n_(n) {}
  Status error(const std::string& what) const {
    return Status::corruption("line " + std::to_string(n_) + ": " + what);
  }
  Result<std::string> str(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || !it->is_string()) return error(std::string("\"") + name + "\" must be a string");
    return it->get<std::string>();
  }
  Result<int64_t> num(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || !it->is_number_integer()) return error(std::string("\"") + name + "\" must be an integer");
    return it->get<int64_t>();
  }
  Result<std::optional<int64_t>> optNum(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return std::optional<int64_t>();
    TETHER_TRY(int64_t v, num(name));
    return std::optional<int64_t>(v);
  }
  Result<bool> flag(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || !it->is_boolean()) return error(std::string("\"") + name + "\" must be true or false");
    return it->get<bool>();
  }
  Result<std::vector<std::string>> strings(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || !it->is_array()) return error(std::string("\"") + name + "\" must be an array of strings");
    std::vector<std::string> out;
    for (const Json& e : *it) {
      if (!e.is_string()) return error(std::string("\"") + name + "\" must be an array of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  Result<std::vector<Line>> objects(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end() || !it->is_array()) return error(std::string("\"") + name + "\" must be an array of objects");
    std::vector<Line> out;
    for (const Json& e : *it) {
      if (!e.is_object()) return error(std::string("\"") + name + "\" must be an array of objects");
      out.emplace_back(e, n_);
    }
    return out;
  }
  const Json& json() const { return j_; }

 private:
  const Json& j_;
  int64_t n_;
};

Result<PoolData> parsePool(const Line& l) {
  PoolData p;
  TETHER_TRY(p.pool.id, l.str("id"));
  if (!validatePoolId(p.pool.id).isOk()) return l.error("invalid pool id " + p.pool.id);
  TETHER_TRY(p.pool.name, l.str("name"));
  TETHER_TRY(p.pool.allowGuests, l.flag("allowGuests"));
  TETHER_TRY(p.pool.createdMs, l.num("createdMs"));
  TETHER_TRY(p.developerProvider, l.str("developerProvider"));
  TETHER_TRY(std::vector<Line> providers, l.objects("oidcProviders"));
  for (const Line& o : providers) {
    OidcProviderRow r;
    r.poolId = p.pool.id;
    TETHER_TRY(r.name, o.str("name"));
    TETHER_TRY(r.issuer, o.str("issuer"));
    TETHER_TRY(r.audiences, o.strings("audiences"));
    TETHER_TRY(r.jwksFile, o.str("jwksFile"));
    TETHER_TRY(r.jwks, o.str("jwks"));
    TETHER_TRY(int64_t leeway, o.num("leewaySeconds"));
    r.leewaySeconds = static_cast<int>(leeway);
    TETHER_TRY(r.createdMs, o.num("createdMs"));
    p.oidcProviders.push_back(std::move(r));
  }
  return p;
}

}  // namespace

// ---- writing
void ExportWriter::line(const nlohmann::ordered_json& j) {
  try {
    out_ << j.dump() << '\n';
  } catch (const Json::exception& e) {  // a string that is not UTF-8 (outside record values)
    if (status_.isOk()) status_ = Status::invalidArgument("cannot export " + j.value("type", std::string("line")) +
                                                          " after line " + std::to_string(lines_) + ": " + e.what());
    return;
  }
  ++lines_;
}

void ExportWriter::header(const std::string& poolScope, const std::string& identityScope) {
  Json scope = Json::object();
  if (!poolScope.empty()) scope["pool"] = poolScope;
  if (!identityScope.empty()) scope["identity"] = identityScope;
  line(Json{{"type", "header"},
            {"format", kExportFormatName},
            {"version", kExportFormatVersion},
            {"tetherdVersion", kTetherdVersion},
            {"createdMs", nowMs()},
            {"scope", scope}});
}

void ExportWriter::pool(const PoolData& p) {
  Json providers = Json::array();
  for (const OidcProviderRow& o : p.oidcProviders)
    providers.push_back(Json{{"name", o.name},
                             {"issuer", o.issuer},
                             {"audiences", o.audiences},
                             {"jwksFile", o.jwksFile},
                             {"jwks", o.jwks},
                             {"leewaySeconds", o.leewaySeconds},
                             {"createdMs", o.createdMs}});
  line(Json{{"type", "pool"},
            {"id", p.pool.id},
            {"name", p.pool.name},
            {"allowGuests", p.pool.allowGuests},
            {"createdMs", p.pool.createdMs},
            {"developerProvider", p.developerProvider},
            {"oidcProviders", providers}});
  counts_.pools++;
}

void ExportWriter::credential(const DeveloperCredentialRow& c) {
  line(Json{{"type", "credential"},
            {"accessKeyId", c.accessKeyId},
            {"secret", c.secret},
            {"description", c.description},
            {"createdMs", c.createdMs}});
  counts_.credentials++;
}

void ExportWriter::identity(const IdentityData& data) {
  const IdentityInfo& i = data.identity;
  Json logins = Json::array();
  for (const LoginLink& l : data.logins) logins.push_back(Json{{"provider", l.provider}, {"subject", l.subject}});
  line(Json{{"type", "identity"},
            {"id", i.id},
            {"poolId", i.poolId},
            {"createdMs", i.createdMs},
            {"disabled", i.disabled},
            {"logins", logins}});
  counts_.identities++;
  for (const DeviceData& d : data.devices) {
    line(Json{{"type", "device"},
              {"identityId", i.id},
              {"deviceId", d.device.deviceId},
              {"platform", d.device.platform},
              {"pushToken", d.device.pushToken},
              {"createdMs", d.device.createdMs},
              {"subscriptions", d.subscriptions}});
    counts_.devices++;
  }
  for (const DatasetData& d : data.datasets) {
    const DatasetRow& r = d.row;
    line(Json{{"type", "dataset"},
              {"identityId", i.id},
              {"name", r.name},
              {"syncCount", r.syncCount},
              {"live", r.live},
              {"deletedAtSyncCount", r.deletedAtSyncCount ? Json(*r.deletedAtSyncCount) : Json(nullptr)},
              {"creationMs", r.creationMs},
              {"lastModifiedMs", r.lastModifiedMs},
              {"lastModifiedBy", r.lastModifiedBy},
              {"dataStorage", r.dataStorage},
              {"numRecords", r.numRecords},
              {"merged", d.merged}});
    counts_.datasets++;
    for (const Record& rec : d.records) {
      Json j{{"type", "record"}, {"identityId", i.id}, {"dataset", r.name}, {"key", rec.key}};
      // Cognito values are UTF-8 strings; anything else (never written by tetherd's APIs) is kept
      // byte for byte as base64.
      if (!rec.value) j["value"] = nullptr;
      else if (utf8Length(*rec.value) >= 0) j["value"] = *rec.value;
      else j["valueBase64"] = auth::base64Encode(*rec.value);
      j["syncCount"] = rec.syncCount;
      j["lastModifiedMs"] = rec.lastModifiedMs;
      j["deviceLastModifiedMs"] = rec.deviceLastModifiedMs;
      j["lastModifiedBy"] = rec.lastModifiedBy;
      line(j);
      (rec.value ? counts_.records : counts_.tombstones)++;
    }
  }
}

void ExportWriter::trailer() {
  line(Json{{"type", "trailer"}, {"counts", countsJson(counts_)}, {"lines", lines_ + 1}});
  out_.flush();
}

// ---- reading
Result<ExportCounts> readExport(std::istream& in, const ExportVisitor& visitor) {
  ExportCounts n;
  std::string text;
  int64_t lineNo = 0;
  bool sawTrailer = false;
  std::optional<IdentityData> current;
  std::vector<std::string> pools;  // seen so far
  auto flush = [&]() -> Status {
    if (!current) return Status::ok();
    Status s = visitor.identity ? visitor.identity(*current) : Status::ok();
    current.reset();
    return s;
  };
  while (std::getline(in, text)) {
    ++lineNo;
    if (sawTrailer) return Status::corruption("line " + std::to_string(lineNo) + ": data after the trailer");
    Json j;
    try {
      j = Json::parse(text);
    } catch (const Json::exception& e) {
      return Status::corruption("line " + std::to_string(lineNo) + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) return Status::corruption("line " + std::to_string(lineNo) + ": not a JSON object");
    Line l(j, lineNo);
    TETHER_TRY(std::string type, l.str("type"));
    if (lineNo == 1) {
      if (type != "header") return l.error("the first line must be the header (is this a tetherd export?)");
      TETHER_TRY(std::string format, l.str("format"));
      TETHER_TRY(int64_t version, l.num("version"));
      if (format != kExportFormatName) return l.error("format \"" + format + "\" is not " + kExportFormatName);
      if (version != kExportFormatVersion)
        return l.error("format version " + std::to_string(version) + " is not supported (this tetherd reads " +
                       std::to_string(kExportFormatVersion) + ")");
      continue;
    }
    if (type == "pool") {
      TETHER_RETURN_IF_ERROR(flush());
      TETHER_TRY(PoolData p, parsePool(l));
      pools.push_back(p.pool.id);
      n.pools++;
      if (visitor.pool) TETHER_RETURN_IF_ERROR(visitor.pool(p));
    } else if (type == "credential") {
      TETHER_RETURN_IF_ERROR(flush());
      DeveloperCredentialRow c;
      TETHER_TRY(c.accessKeyId, l.str("accessKeyId"));
      TETHER_TRY(c.secret, l.str("secret"));
      TETHER_TRY(c.description, l.str("description"));
      TETHER_TRY(c.createdMs, l.num("createdMs"));
      n.credentials++;
      if (visitor.credential) TETHER_RETURN_IF_ERROR(visitor.credential(c));
    } else if (type == "identity") {
      TETHER_RETURN_IF_ERROR(flush());
      IdentityData d;
      TETHER_TRY(d.identity.id, l.str("id"));
      if (!validateIdentityId(d.identity.id).isOk()) return l.error("invalid identity id " + d.identity.id);
      TETHER_TRY(d.identity.poolId, l.str("poolId"));
      if (std::find(pools.begin(), pools.end(), d.identity.poolId) == pools.end())
        return l.error("identity " + d.identity.id + " of pool " + d.identity.poolId + " comes before its pool line");
      TETHER_TRY(d.identity.createdMs, l.num("createdMs"));
      TETHER_TRY(d.identity.disabled, l.flag("disabled"));
      TETHER_TRY(std::vector<Line> logins, l.objects("logins"));
      for (const Line& o : logins) {
        LoginLink link{d.identity.poolId, "", "", d.identity.id};
        TETHER_TRY(link.provider, o.str("provider"));
        TETHER_TRY(link.subject, o.str("subject"));
        d.logins.push_back(std::move(link));
      }
      current = std::move(d);
      n.identities++;
    } else if (type == "device" || type == "dataset" || type == "record") {
      TETHER_TRY(std::string identityId, l.str("identityId"));
      if (!current || current->identity.id != identityId)
        return l.error(type + " of identity " + identityId + " is not inside that identity's lines");
      if (type == "device") {
        DeviceData d;
        d.device.poolId = current->identity.poolId;
        d.device.identityId = identityId;
        TETHER_TRY(d.device.deviceId, l.str("deviceId"));
        TETHER_TRY(d.device.platform, l.str("platform"));
        TETHER_TRY(d.device.pushToken, l.str("pushToken"));
        TETHER_TRY(d.device.createdMs, l.num("createdMs"));
        TETHER_TRY(d.subscriptions, l.strings("subscriptions"));
        current->devices.push_back(std::move(d));
        n.devices++;
      } else if (type == "dataset") {
        DatasetData d;
        DatasetRow& r = d.row;
        TETHER_TRY(r.name, l.str("name"));
        TETHER_TRY(r.syncCount, l.num("syncCount"));
        TETHER_TRY(r.live, l.flag("live"));
        TETHER_TRY(r.deletedAtSyncCount, l.optNum("deletedAtSyncCount"));
        TETHER_TRY(r.creationMs, l.num("creationMs"));
        TETHER_TRY(r.lastModifiedMs, l.num("lastModifiedMs"));
        TETHER_TRY(r.lastModifiedBy, l.str("lastModifiedBy"));
        TETHER_TRY(r.dataStorage, l.num("dataStorage"));
        TETHER_TRY(r.numRecords, l.num("numRecords"));
        TETHER_TRY(d.merged, l.strings("merged"));
        for (const DatasetData& other : current->datasets)
          if (other.row.name == r.name) return l.error("dataset " + r.name + " appears twice");
        current->datasets.push_back(std::move(d));
        n.datasets++;
      } else {
        TETHER_TRY(std::string dataset, l.str("dataset"));
        if (current->datasets.empty() || current->datasets.back().row.name != dataset)
          return l.error("record of dataset " + dataset + " does not follow that dataset's line");
        DatasetData& d = current->datasets.back();
        Record rec;
        TETHER_TRY(rec.key, l.str("key"));
        auto v = j.find("value");
        if (j.contains("valueBase64")) {
          TETHER_TRY(std::string b64, l.str("valueBase64"));
          std::optional<std::string> bytes = auth::base64Decode(b64);
          if (!bytes) return l.error("\"valueBase64\" is not base64");
          rec.value = std::move(*bytes);
        } else if (v != j.end() && v->is_null()) {
          rec.value.reset();
        } else {
          TETHER_TRY(std::string value, l.str("value"));
          rec.value = std::move(value);
        }
        TETHER_TRY(rec.syncCount, l.num("syncCount"));
        if (rec.syncCount < 1 || rec.syncCount > d.row.syncCount)
          return l.error("record " + rec.key + " has sync count " + std::to_string(rec.syncCount) +
                         " outside its dataset's 1.." + std::to_string(d.row.syncCount));
        TETHER_TRY(rec.lastModifiedMs, l.num("lastModifiedMs"));
        TETHER_TRY(rec.deviceLastModifiedMs, l.num("deviceLastModifiedMs"));
        TETHER_TRY(rec.lastModifiedBy, l.str("lastModifiedBy"));
        (rec.value ? n.records : n.tombstones)++;
        d.records.push_back(std::move(rec));
      }
    } else if (type == "trailer") {
      TETHER_RETURN_IF_ERROR(flush());
      auto counts = j.find("counts");
      if (counts == j.end() || *counts != countsJson(n))
        return l.error("the trailer's counts " + (counts == j.end() ? std::string("(none)") : counts->dump()) +
                       " do not match the file's " + countsJson(n).dump() + " (lines lost or added)");
      TETHER_TRY(int64_t lines, l.num("lines"));
      if (lines != lineNo) return l.error("the trailer counts " + std::to_string(lines) + " lines, the file has " +
                                          std::to_string(lineNo));
      sawTrailer = true;
    } else if (type == "header") {
      return l.error("a second header (two exports concatenated?)");
    } else {
      return l.error("unknown line type \"" + type + "\"");
    }
  }
  if (in.bad()) return Status::ioError("read error after line " + std::to_string(lineNo));
  if (lineNo == 0) return Status::corruption("the file is empty");
  if (!sawTrailer)
    return Status::corruption("the file ends after line " + std::to_string(lineNo) +
                              " without a trailer: it is truncated");
  return n;
}

}  // namespace tether::server
