// The C API (tether/tether.h) over the C++ API. Handles own shared_ptrs; errors become codes
// plus a thread-local message. No C++ exception crosses this boundary: allocation failure is
// the only one the C++ side can raise, and it is caught here (std::bad_alloc -> TETHER_INTERNAL).
#include "tether/tether.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "tether/client.h"

struct tether_client {
  std::unique_ptr<tether::Client> client;
};

struct tether_dataset {
  std::shared_ptr<tether::Dataset> dataset;
};

struct tether_conflicts {
  std::vector<tether::SyncConflict>* conflicts;
};

struct tether_logins {
  tether::Logins* logins;
};

namespace {

thread_local std::string tLastError;

tether_status_code fail(const tether::Status& s) {
  tLastError = s.message();
  return static_cast<tether_status_code>(s.code());
}

tether_status_code invalid(const char* what) {
  tLastError = what;
  return TETHER_INVALID_ARGUMENT;
}

tether_status_code ok() {
  tLastError.clear();
  return TETHER_OK;
}

char* dupString(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// Borrowed view of a record (pointers into `r`).
tether_record view(const tether::Record& r, bool dirty) {
  tether_record out;
  out.key = r.key.c_str();
  out.value = r.value ? r.value->c_str() : nullptr;
  out.sync_count = r.syncCount;
  out.last_modified_ms = r.lastModifiedMs;
  out.last_modified_by = r.lastModifiedBy.c_str();
  out.device_last_modified_ms = r.deviceLastModifiedMs;
  out.dirty = dirty ? 1 : 0;
  return out;
}

template <class Fn>
tether_status_code guarded(Fn fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    tLastError = "out of memory";
    return TETHER_INTERNAL;
  }
}

tether::SyncCallbacks toCallbacks(const tether_sync_callbacks* c) {
  tether::SyncCallbacks cb;
  if (!c) return cb;
  tether_sync_callbacks copy = *c;
  // The dataset handle given to callbacks is our own, valid for the duration of the call.
  if (copy.on_success)
    cb.onSuccess = [copy](tether::Dataset& ds, const std::vector<tether::Record>& updated) {
      tether_dataset h{std::shared_ptr<tether::Dataset>(std::shared_ptr<tether::Dataset>{}, &ds)};
      std::vector<tether_record> views;
      for (const auto& r : updated) views.push_back(view(r, false));
      copy.on_success(copy.user_data, &h, views.data(), views.size());
    };
  if (copy.on_failure)
    cb.onFailure = [copy](tether::Dataset& ds, const tether::Status& s) {
      tether_dataset h{std::shared_ptr<tether::Dataset>(std::shared_ptr<tether::Dataset>{}, &ds)};
      copy.on_failure(copy.user_data, &h, static_cast<tether_status_code>(s.code()), s.message().c_str());
    };
  if (copy.on_conflict)
    cb.onConflict = [copy](tether::Dataset& ds, std::vector<tether::SyncConflict>& cs) {
      tether_dataset h{std::shared_ptr<tether::Dataset>(std::shared_ptr<tether::Dataset>{}, &ds)};
      tether_conflicts view{&cs};
      return copy.on_conflict(copy.user_data, &h, &view) == TETHER_STOP ? tether::SyncAction::kStop
                                                                         : tether::SyncAction::kContinue;
    };
  if (copy.on_dataset_deleted)
    cb.onDatasetDeleted = [copy](tether::Dataset& ds, const std::string& name) {
      tether_dataset h{std::shared_ptr<tether::Dataset>(std::shared_ptr<tether::Dataset>{}, &ds)};
      return copy.on_dataset_deleted(copy.user_data, &h, name.c_str()) == TETHER_STOP
                 ? tether::SyncAction::kStop : tether::SyncAction::kContinue;
    };
  if (copy.on_datasets_merged)
    cb.onDatasetsMerged = [copy](tether::Dataset& ds, const std::vector<std::string>& names) {
      tether_dataset h{std::shared_ptr<tether::Dataset>(std::shared_ptr<tether::Dataset>{}, &ds)};
      std::vector<const char*> ptrs;
      for (const auto& n : names) ptrs.push_back(n.c_str());
      return copy.on_datasets_merged(copy.user_data, &h, ptrs.data(), ptrs.size()) == TETHER_STOP
                 ? tether::SyncAction::kStop : tether::SyncAction::kContinue;
    };
  return cb;
}

tether::SyncConflict* conflictAt(const tether_conflicts* c, size_t index) {
  if (!c || !c->conflicts || index >= c->conflicts->size()) return nullptr;
  return &(*c->conflicts)[index];
}

}  // namespace

extern "C" {

const char* tether_status_name(tether_status_code code) {
  static const char* const kNames[] = {"Ok", "InvalidArgument", "NotFound", "Conflict",
                                       "LimitExceeded", "Unauthenticated", "PermissionDenied",
                                       "TooManyRequests", "Unavailable", "ProtocolError",
                                       "Corruption", "IOError", "Cancelled", "Internal"};
  int i = static_cast<int>(code);
  return i >= 0 && i < 14 ? kNames[i] : "Unknown";
}

const char* tether_last_error(void) { return tLastError.c_str(); }

void tether_free(void* p) { std::free(p); }

void tether_records_free(tether_record* records, size_t count) {
  if (!records) return;
  for (size_t i = 0; i < count; ++i) {
    std::free(const_cast<char*>(records[i].key));
    std::free(const_cast<char*>(records[i].value));
    std::free(const_cast<char*>(records[i].last_modified_by));
  }
  std::free(records);
}

void tether_dataset_infos_free(tether_dataset_info* infos, size_t count) {
  if (!infos) return;
  for (size_t i = 0; i < count; ++i) std::free(infos[i].name);
  std::free(infos);
}

void tether_client_options_init(tether_client_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->auto_sync_debounce_ms = -1;  // default; 0 would mean "push at once"
}

tether_status_code tether_client_open(const tether_client_options* o, tether_client** out) {
  if (!o || !out) return invalid("options and out are required");
  *out = nullptr;
  if (!o->cache_path || !o->server_url) return invalid("cache_path and server_url are required");
  return guarded([&] {
    tether::ClientOptions opts;
    opts.cachePath = o->cache_path;
    opts.serverUrl = o->server_url;
    if (o->ca_file) opts.caFile = o->ca_file;
    if (o->identity_pool_id) opts.identityPoolId = o->identity_pool_id;
    if (o->device_name) opts.deviceName = o->device_name;
    if (o->identity_id) opts.identityId = o->identity_id;
    if (o->request_timeout_ms > 0) opts.requestTimeout = std::chrono::milliseconds(o->request_timeout_ms);
    if (o->connect_timeout_ms > 0) opts.connectTimeout = std::chrono::milliseconds(o->connect_timeout_ms);
    opts.autoSync = o->auto_sync != 0;
    opts.followDeviceSubscriptions = o->follow_device_subscriptions != 0;
    if (o->auto_sync_debounce_ms >= 0) opts.autoSyncDebounce = std::chrono::milliseconds(o->auto_sync_debounce_ms);
    if (o->background_sync) opts.backgroundSync = toCallbacks(o->background_sync);
    if (o->logins_provider) {
      opts.loginsProvider = [fn = o->logins_provider, ud = o->logins_provider_user_data](
                                bool refresh) -> tether::Result<tether::Logins> {
        tether::Logins logins;
        tether_logins view{&logins};
        tether_status_code code = fn(ud, refresh ? 1 : 0, &view);
        if (code != TETHER_OK)
          return tether::Status(static_cast<tether::StatusCode>(code), "logins provider failed");
        return logins;
      };
    }
    if (o->on_identity_changed) {
      opts.onIdentityChanged = [fn = o->on_identity_changed, ud = o->identity_changed_user_data](
                                   const std::string& oldId, const std::string& newId) {
        fn(ud, oldId.c_str(), newId.c_str());
      };
    }
    auto c = tether::Client::open(std::move(opts));
    if (!c.isOk()) return fail(c.status());
    *out = new tether_client{std::move(*c)};
    return ok();
  });
}

void tether_client_close(tether_client* client) { delete client; }

tether_status_code tether_client_cached_identity_id(tether_client* c, char** out) {
  if (!c || !out) return invalid("client and out are required");
  return guarded([&] {
    *out = dupString(c->client->identityId());
    return ok();
  });
}

tether_status_code tether_client_identity_id(tether_client* c, int64_t timeout_ms, char** out) {
  if (!c || !out) return invalid("client and out are required");
  *out = nullptr;
  return guarded([&] {
    auto id = c->client->getIdentityId(std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 30000));
    if (!id.isOk()) return fail(id.status());
    *out = dupString(*id);
    return ok();
  });
}

tether_status_code tether_client_device_id(tether_client* c, char** out) {
  if (!c || !out) return invalid("client and out are required");
  return guarded([&] {
    *out = dupString(c->client->deviceId());
    return ok();
  });
}

tether_status_code tether_client_list_datasets(tether_client* c, tether_dataset_info** out, size_t* count) {
  if (!c || !out || !count) return invalid("client, out and count are required");
  *out = nullptr;
  *count = 0;
  return guarded([&] {
    auto list = c->client->listDatasets();
    if (!list.isOk()) return fail(list.status());
    if (list->empty()) return ok();
    auto* infos = static_cast<tether_dataset_info*>(std::calloc(list->size(), sizeof(tether_dataset_info)));
    if (!infos) throw std::bad_alloc();
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& m = (*list)[i];
      infos[i].name = dupString(m.name);
      infos[i].creation_ms = m.creationMs;
      infos[i].last_modified_ms = m.lastModifiedMs;
      infos[i].data_storage = m.dataStorage;
      infos[i].num_records = m.numRecords;
      infos[i].sync_count = m.syncCount;
    }
    *out = infos;
    *count = list->size();
    return ok();
  });
}

tether_status_code tether_client_refresh_dataset_metadata(tether_client* c, int64_t timeout_ms) {
  if (!c) return invalid("client is required");
  return guarded([&] {
    tether::Status s = c->client->refreshDatasetMetadata(std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 30000));
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_client_wipe_data(tether_client* c) {
  if (!c) return invalid("client is required");
  return guarded([&] {
    tether::Status s = c->client->wipeData();
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_client_set_logins(tether_client* c, const char* const* providers,
                                            const char* const* tokens, size_t count) {
  if (!c || (count > 0 && (!providers || !tokens))) return invalid("client, providers and tokens are required");
  return guarded([&] {
    tether::Logins logins;
    for (size_t i = 0; i < count; ++i) {
      if (!providers[i] || !tokens[i]) return invalid("a login provider or token is NULL");
      logins[providers[i]] = tokens[i];
    }
    tether::Status s = c->client->setLogins(std::move(logins));
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_client_clear_logins(tether_client* c) {
  if (!c) return invalid("client is required");
  tether::Status s = c->client->clearLogins();
  return s.isOk() ? ok() : fail(s);
}

tether_status_code tether_client_refresh_logins(tether_client* c) {
  if (!c) return invalid("client is required");
  tether::Status s = c->client->refreshLogins();
  return s.isOk() ? ok() : fail(s);
}

tether_status_code tether_logins_add(tether_logins* l, const char* provider, const char* token) {
  if (!l || !l->logins || !provider || !token) return invalid("logins, provider and token are required");
  return guarded([&] {
    (*l->logins)[provider] = token;
    return ok();
  });
}

tether_status_code tether_client_add_change_listener(tether_client* c, tether_change_listener listener,
                                                     void* user_data, uint64_t* id_out) {
  if (!c || !listener || !id_out) return invalid("client, listener and id_out are required");
  return guarded([&] {
    *id_out = c->client->addChangeListener(
        [listener, user_data](const std::string& dataset, const std::vector<std::string>& keys) {
          std::vector<const char*> ptrs;
          ptrs.reserve(keys.size());
          for (const auto& k : keys) ptrs.push_back(k.c_str());
          listener(user_data, dataset.c_str(), ptrs.data(), ptrs.size());
        });
    return ok();
  });
}

tether_status_code tether_client_remove_change_listener(tether_client* c, uint64_t id) {
  if (!c) return invalid("client is required");
  c->client->removeChangeListener(id);
  return ok();
}

tether_status_code tether_client_open_dataset(tether_client* c, const char* name, tether_dataset** out) {
  if (!c || !name || !out) return invalid("client, name and out are required");
  *out = nullptr;
  return guarded([&] {
    auto ds = c->client->openOrCreateDataset(name);
    if (!ds.isOk()) return fail(ds.status());
    *out = new tether_dataset{std::move(*ds)};
    return ok();
  });
}

void tether_dataset_release(tether_dataset* d) { delete d; }

const char* tether_dataset_name(const tether_dataset* d) { return d ? d->dataset->name().c_str() : ""; }

tether_status_code tether_dataset_get(tether_dataset* d, const char* key, char** value_out) {
  if (!d || !key || !value_out) return invalid("dataset, key and value_out are required");
  *value_out = nullptr;
  return guarded([&] {
    auto v = d->dataset->get(key);
    if (!v.isOk()) return fail(v.status());
    if (*v) *value_out = dupString(**v);
    return ok();
  });
}

tether_status_code tether_dataset_put(tether_dataset* d, const char* key, const char* value) {
  if (!d || !key || !value) return invalid("dataset, key and value are required");
  return guarded([&] {
    tether::Status s = d->dataset->put(key, value);
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_dataset_remove(tether_dataset* d, const char* key) {
  if (!d || !key) return invalid("dataset and key are required");
  return guarded([&] {
    tether::Status s = d->dataset->remove(std::string_view(key));
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_dataset_get_all_records(tether_dataset* d, tether_record** out, size_t* count) {
  if (!d || !out || !count) return invalid("dataset, out and count are required");
  *out = nullptr;
  *count = 0;
  return guarded([&] {
    auto all = d->dataset->getAllRecords();
    if (!all.isOk()) return fail(all.status());
    if (all->empty()) return ok();
    auto* recs = static_cast<tether_record*>(std::calloc(all->size(), sizeof(tether_record)));
    if (!recs) throw std::bad_alloc();
    for (size_t i = 0; i < all->size(); ++i) {
      const auto& lr = (*all)[i];
      recs[i] = view(lr.record, lr.dirty);
      recs[i].key = dupString(lr.record.key);
      recs[i].value = lr.record.value ? dupString(*lr.record.value) : nullptr;
      recs[i].last_modified_by = dupString(lr.record.lastModifiedBy);
    }
    *out = recs;
    *count = all->size();
    return ok();
  });
}

tether_status_code tether_dataset_size_in_bytes(tether_dataset* d, int64_t* out) {
  if (!d || !out) return invalid("dataset and out are required");
  return guarded([&] {
    auto r = d->dataset->sizeInBytes();
    if (!r.isOk()) return fail(r.status());
    *out = *r;
    return ok();
  });
}

tether_status_code tether_dataset_size_of(tether_dataset* d, const char* key, int64_t* out) {
  if (!d || !key || !out) return invalid("dataset, key and out are required");
  return guarded([&] {
    auto r = d->dataset->sizeOf(key);
    if (!r.isOk()) return fail(r.status());
    *out = *r;
    return ok();
  });
}

tether_status_code tether_dataset_is_changed(tether_dataset* d, const char* key, int* out) {
  if (!d || !key || !out) return invalid("dataset, key and out are required");
  return guarded([&] {
    auto r = d->dataset->isChanged(key);
    if (!r.isOk()) return fail(r.status());
    *out = *r ? 1 : 0;
    return ok();
  });
}

tether_status_code tether_dataset_last_sync_count(tether_dataset* d, int64_t* out) {
  if (!d || !out) return invalid("dataset and out are required");
  return guarded([&] {
    auto r = d->dataset->lastSyncCount();
    if (!r.isOk()) return fail(r.status());
    *out = *r;
    return ok();
  });
}

tether_status_code tether_dataset_delete(tether_dataset* d) {
  if (!d) return invalid("dataset is required");
  return guarded([&] {
    tether::Status s = d->dataset->remove();
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_dataset_synchronize(tether_dataset* d, const tether_sync_callbacks* cb) {
  if (!d) return invalid("dataset is required");
  return guarded([&] {
    tether::Status s = d->dataset->synchronize(toCallbacks(cb));
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_dataset_synchronize_wait(tether_dataset* d, const tether_sync_callbacks* cb,
                                                   int64_t timeout_ms) {
  if (!d) return invalid("dataset is required");
  return guarded([&] {
    auto r = d->dataset->synchronizeAndWait(toCallbacks(cb),
                                            std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 120000));
    return r.isOk() ? ok() : fail(r.status());
  });
}

tether_status_code tether_dataset_subscribe(tether_dataset* d) {
  if (!d) return invalid("dataset is required");
  return guarded([&] {
    tether::Status s = d->dataset->subscribe();
    return s.isOk() ? ok() : fail(s);
  });
}

tether_status_code tether_dataset_unsubscribe(tether_dataset* d) {
  if (!d) return invalid("dataset is required");
  return guarded([&] {
    tether::Status s = d->dataset->unsubscribe();
    return s.isOk() ? ok() : fail(s);
  });
}

size_t tether_conflicts_count(const tether_conflicts* c) {
  return c && c->conflicts ? c->conflicts->size() : 0;
}

tether_status_code tether_conflict_local(const tether_conflicts* c, size_t index, tether_record* out) {
  auto* conflict = conflictAt(c, index);
  if (!conflict || !out) return invalid("bad conflict index");
  *out = view(conflict->local(), true);
  return ok();
}

tether_status_code tether_conflict_remote(const tether_conflicts* c, size_t index, tether_record* out) {
  auto* conflict = conflictAt(c, index);
  if (!conflict || !out) return invalid("bad conflict index");
  *out = view(conflict->remote(), false);
  return ok();
}

tether_status_code tether_conflict_resolve_remote(tether_conflicts* c, size_t index) {
  auto* conflict = conflictAt(c, index);
  if (!conflict) return invalid("bad conflict index");
  conflict->resolveWithRemoteRecord();
  return ok();
}

tether_status_code tether_conflict_resolve_local(tether_conflicts* c, size_t index) {
  auto* conflict = conflictAt(c, index);
  if (!conflict) return invalid("bad conflict index");
  conflict->resolveWithLocalRecord();
  return ok();
}

tether_status_code tether_conflict_resolve_value(tether_conflicts* c, size_t index, const char* value) {
  auto* conflict = conflictAt(c, index);
  if (!conflict) return invalid("bad conflict index");
  return guarded([&] {
    conflict->resolveWithValue(value ? std::optional<std::string>(value) : std::nullopt);
    return ok();
  });
}

tether_status_code tether_conflict_resolve_last_writer_wins(tether_conflicts* c, size_t index) {
  auto* conflict = conflictAt(c, index);
  if (!conflict) return invalid("bad conflict index");
  conflict->resolveWithLastWriterWins();
  return ok();
}

}  // extern "C"
