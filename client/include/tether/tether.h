/* tether.h: the C API of libtether, for FFI (Swift, Kotlin/JNI, Dart, Python...) and C apps.
 *
 * The same library as the C++ API (tether/client.h, tether/dataset.h), through opaque handles.
 * Conventions:
 *  - Every fallible call returns a tether_status_code (TETHER_OK = 0). The message of the last
 *    failure on the calling thread is tether_last_error() (thread-local, valid until the next
 *    call on that thread).
 *  - Strings in: UTF-8, NUL-terminated, borrowed for the call. Strings and arrays out: owned by
 *    the caller, freed with tether_free / tether_records_free / tether_dataset_infos_free.
 *  - Records passed to callbacks are borrowed: valid only during the callback.
 *  - Thread-safety: every function may be called from any thread. Sync callbacks run on the
 *    client's sync thread (see tether/sync_callbacks.h); they must not call the *_wait
 *    functions (those return TETHER_INVALID_ARGUMENT there).
 */
#ifndef TETHER_TETHER_H
#define TETHER_TETHER_H

#include <stddef.h>
#include <stdint.h>

#include "tether/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as tether::StatusCode. */
typedef enum tether_status_code {
  TETHER_OK = 0,
  TETHER_INVALID_ARGUMENT = 1,
  TETHER_NOT_FOUND = 2,
  TETHER_CONFLICT = 3,
  TETHER_LIMIT_EXCEEDED = 4,
  TETHER_UNAUTHENTICATED = 5,
  TETHER_PERMISSION_DENIED = 6,
  TETHER_TOO_MANY_REQUESTS = 7,
  TETHER_UNAVAILABLE = 8, /* offline / timeout: retry later */
  TETHER_PROTOCOL_ERROR = 9,
  TETHER_CORRUPTION = 10,
  TETHER_IO_ERROR = 11,
  TETHER_CANCELLED = 12, /* a callback returned TETHER_STOP, or the client closed */
  TETHER_INTERNAL = 13,
  TETHER_TRIGGER_FAILED = 14,   /* the server's sync trigger refused the batch; nothing written */
  TETHER_TRIGGER_THROTTLED = 15 /* the sync trigger is overloaded; retry later */
} tether_status_code;

typedef struct tether_client tether_client;     /* opaque; tether_client_close */
typedef struct tether_dataset tether_dataset;   /* opaque; tether_dataset_release */
typedef struct tether_conflicts tether_conflicts; /* borrowed inside on_conflict */
typedef struct tether_logins tether_logins;       /* borrowed inside a logins provider */

/* Sign-in (see LoginsProvider in tether/client.h): called on the sync thread when the library
 * is about to present logins (GetId, GetToken); force_refresh != 0 after the server refused
 * the previous tokens (return fresh ones). Add each login with tether_logins_add; none = guest.
 * Return TETHER_OK, or an error code that fails the operation that needed the logins. */
typedef tether_status_code (*tether_logins_provider)(void* user_data, int force_refresh,
                                                     tether_logins* logins);
/* The client's identity changed (old_id "" when none was cached); borrowed strings; sync
 * thread; the local cache has already moved to new_id. */
typedef void (*tether_identity_changed_listener)(void* user_data, const char* old_id,
                                                 const char* new_id);

typedef struct tether_client_options {
  const char* cache_path;       /* required: SQLite cache file */
  const char* server_url;       /* required: ws://host:port or wss://host:port */
  const char* ca_file;          /* optional: PEM CAs for wss */
  const char* identity_pool_id; /* required unless identity_id is given */
  const char* device_name;      /* optional: defaults to a UUID per cache file */
  const char* identity_id;      /* optional: use this known identity */
  int64_t request_timeout_ms;   /* 0 = default (15 s) */
  int64_t connect_timeout_ms;   /* 0 = default (5 s) */
  /* Live sync (docs/live-sync.md). auto_sync != 0: local writes are pushed in the background
   * auto_sync_debounce_ms after the last write (< 0 = default 75 ms, as set by
   * tether_client_options_init; 0 = at once), and edits made offline after each reconnect. */
  int auto_sync;
  int64_t auto_sync_debounce_ms;
  /* Handlers for background syncs (auto-sync, subscription pulls); NULL = the defaults
   * (last-writer-wins...). Copied by tether_client_open; user_data must stay valid until
   * tether_client_close. */
  const struct tether_sync_callbacks* background_sync;
  /* Sign-in (optional; user_data pointers must stay valid until tether_client_close). */
  tether_logins_provider logins_provider;
  void* logins_provider_user_data;
  tether_identity_changed_listener on_identity_changed;
  void* identity_changed_user_data;
  /* != 0: ClientOptions::followDeviceSubscriptions (tether/client.h): device_name is a Cognito
   * DeviceId registered with RegisterDevice; the datasets subscribed for it with
   * SubscribeToDataset are synced like tether_dataset_subscribe()d ones. */
  int follow_device_subscriptions;
} tether_client_options;

typedef struct tether_record {
  const char* key;
  const char* value; /* NULL = removed (tombstone) */
  int64_t sync_count;
  int64_t last_modified_ms;
  const char* last_modified_by;
  int64_t device_last_modified_ms;
  int dirty; /* 1 = local change not yet pushed */
} tether_record;

typedef struct tether_dataset_info {
  char* name;
  int64_t creation_ms;
  int64_t last_modified_ms;
  int64_t data_storage; /* bytes of live records */
  int64_t num_records;  /* live records */
  int64_t sync_count;   /* last synced dataset sync count */
} tether_dataset_info;

typedef enum tether_sync_action { TETHER_CONTINUE = 0, TETHER_STOP = 1 } tether_sync_action;

/* Any member may be NULL: the defaults of tether/sync_callbacks.h apply (last-writer-wins;
 * accept deletion; continue on merges). Exactly one of on_success / on_failure is called. */
typedef struct tether_sync_callbacks {
  void* user_data;
  void (*on_success)(void* user_data, tether_dataset* dataset, const tether_record* updated,
                     size_t count);
  void (*on_failure)(void* user_data, tether_dataset* dataset, tether_status_code code,
                     const char* message);
  tether_sync_action (*on_conflict)(void* user_data, tether_dataset* dataset,
                                    tether_conflicts* conflicts);
  tether_sync_action (*on_dataset_deleted)(void* user_data, tether_dataset* dataset,
                                           const char* name);
  tether_sync_action (*on_datasets_merged)(void* user_data, tether_dataset* dataset,
                                           const char* const* names, size_t count);
} tether_sync_callbacks;

/* Live sync: data from the server was written into the local cache. `dataset` and `keys`
 * (the keys whose local value changed, sorted) are borrowed for the call. Runs on the sync
 * thread; must not call the *_wait functions. */
typedef void (*tether_change_listener)(void* user_data, const char* dataset,
                                       const char* const* keys, size_t count);

/* ---- general */
TETHER_EXPORT const char* tether_status_name(tether_status_code code); /* "Ok", "Unavailable", ... (static) */
TETHER_EXPORT const char* tether_last_error(void);
TETHER_EXPORT void tether_free(void* p);
TETHER_EXPORT void tether_records_free(tether_record* records, size_t count);
TETHER_EXPORT void tether_dataset_infos_free(tether_dataset_info* infos, size_t count);

/* ---- client */
TETHER_EXPORT void tether_client_options_init(tether_client_options* options);
TETHER_EXPORT tether_status_code tether_client_open(const tether_client_options* options, tether_client** out);
/* Stops the sync thread (running syncs end with on_failure(TETHER_CANCELLED)); frees. */
TETHER_EXPORT void tether_client_close(tether_client* client);
/* Cached identity ID or "" (never blocks). *out freed with tether_free. */
TETHER_EXPORT tether_status_code tether_client_cached_identity_id(tether_client* client, char** out);
/* Blocking: GetId if needed. */
TETHER_EXPORT tether_status_code tether_client_identity_id(tether_client* client, int64_t timeout_ms, char** out);
TETHER_EXPORT tether_status_code tether_client_device_id(tether_client* client, char** out);
TETHER_EXPORT tether_status_code tether_client_list_datasets(tether_client* client, tether_dataset_info** out,
                                               size_t* count);
/* Blocking: ListDatasets from the server into the cache. */
TETHER_EXPORT tether_status_code tether_client_refresh_dataset_metadata(tether_client* client, int64_t timeout_ms);
TETHER_EXPORT tether_status_code tether_client_wipe_data(tether_client* client);
/* Sign-in at run time (Client::setLogins / clearLogins / refreshLogins). set_logins presents
 * these `count` logins (providers[i] -> tokens[i]) from now on instead of asking the provider;
 * clear_logins presents none (sign-out = clear_logins + wipe_data); refresh_logins asks the
 * provider again at the next need. Never block. */
TETHER_EXPORT tether_status_code tether_client_set_logins(tether_client* client, const char* const* providers,
                                            const char* const* tokens, size_t count);
TETHER_EXPORT tether_status_code tether_client_clear_logins(tether_client* client);
TETHER_EXPORT tether_status_code tether_client_refresh_logins(tether_client* client);
/* Inside a tether_logins_provider only: adds one login (copied). */
TETHER_EXPORT tether_status_code tether_logins_add(tether_logins* logins, const char* provider, const char* token);

TETHER_EXPORT tether_status_code tether_client_open_dataset(tether_client* client, const char* name,
                                              tether_dataset** out);

/* Live sync: registers a change listener; *id_out (never 0) removes it. user_data must stay
 * valid until the listener is removed or the client closed. */
TETHER_EXPORT tether_status_code tether_client_add_change_listener(tether_client* client,
                                                     tether_change_listener listener,
                                                     void* user_data, uint64_t* id_out);
/* Not called again after this returns (except a call already running on the sync thread). */
TETHER_EXPORT tether_status_code tether_client_remove_change_listener(tether_client* client, uint64_t id);

/* ---- dataset (local; never waits for the network) */
TETHER_EXPORT void tether_dataset_release(tether_dataset* dataset);
TETHER_EXPORT const char* tether_dataset_name(const tether_dataset* dataset); /* valid while the handle is */
/* *value_out = NULL when absent or removed; else freed with tether_free. */
TETHER_EXPORT tether_status_code tether_dataset_get(tether_dataset* dataset, const char* key, char** value_out);
TETHER_EXPORT tether_status_code tether_dataset_put(tether_dataset* dataset, const char* key, const char* value);
TETHER_EXPORT tether_status_code tether_dataset_remove(tether_dataset* dataset, const char* key);
/* All records including tombstones. */
TETHER_EXPORT tether_status_code tether_dataset_get_all_records(tether_dataset* dataset, tether_record** out,
                                                  size_t* count);
TETHER_EXPORT tether_status_code tether_dataset_size_in_bytes(tether_dataset* dataset, int64_t* out);
TETHER_EXPORT tether_status_code tether_dataset_size_of(tether_dataset* dataset, const char* key, int64_t* out);
TETHER_EXPORT tether_status_code tether_dataset_is_changed(tether_dataset* dataset, const char* key, int* out);
TETHER_EXPORT tether_status_code tether_dataset_last_sync_count(tether_dataset* dataset, int64_t* out);
/* Deletes the whole dataset locally; on the server at the next sync. */
TETHER_EXPORT tether_status_code tether_dataset_delete(tether_dataset* dataset);

/* ---- sync */
/* Asynchronous: returns at once; callbacks arrive on the sync thread. `callbacks` is copied. */
TETHER_EXPORT tether_status_code tether_dataset_synchronize(tether_dataset* dataset,
                                              const tether_sync_callbacks* callbacks);
/* Blocking: returns the outcome (TETHER_OK or the on_failure code). callbacks may be NULL. */
TETHER_EXPORT tether_status_code tether_dataset_synchronize_wait(tether_dataset* dataset,
                                                   const tether_sync_callbacks* callbacks,
                                                   int64_t timeout_ms);

/* Live sync (see Dataset::subscribe in tether/dataset.h): the server announces other devices'
 * changes and the client pulls them in the background. Returns at once; works offline. */
TETHER_EXPORT tether_status_code tether_dataset_subscribe(tether_dataset* dataset);
TETHER_EXPORT tether_status_code tether_dataset_unsubscribe(tether_dataset* dataset);

/* ---- conflicts (inside on_conflict only; index < count) */
TETHER_EXPORT size_t tether_conflicts_count(const tether_conflicts* conflicts);
/* Borrowed views, valid during the callback. */
TETHER_EXPORT tether_status_code tether_conflict_local(const tether_conflicts* conflicts, size_t index,
                                         tether_record* out);
TETHER_EXPORT tether_status_code tether_conflict_remote(const tether_conflicts* conflicts, size_t index,
                                          tether_record* out);
TETHER_EXPORT tether_status_code tether_conflict_resolve_remote(tether_conflicts* conflicts, size_t index);
TETHER_EXPORT tether_status_code tether_conflict_resolve_local(tether_conflicts* conflicts, size_t index);
/* value NULL = resolve by removing the record. */
TETHER_EXPORT tether_status_code tether_conflict_resolve_value(tether_conflicts* conflicts, size_t index,
                                                 const char* value);
TETHER_EXPORT tether_status_code tether_conflict_resolve_last_writer_wins(tether_conflicts* conflicts, size_t index);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_TETHER_H */
