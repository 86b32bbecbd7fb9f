/* c_example: libtether from C (tether/tether.h).
 * Usage: c_example SERVER_URL POOL_ID CACHE_FILE [CA_FILE] [--require-sync]
 * Writes a record locally, reads it back, synchronizes (conflicts: keep the remote value),
 * and lists the dataset. Offline is fine unless --require-sync is given. */
#include <stdio.h>
#include <string.h>

#include "tether/tether.h"

static tether_sync_action on_conflict(void* user_data, tether_dataset* dataset,
                                      tether_conflicts* conflicts) {
  (void)dataset;
  int* seen = (int*)user_data;
  for (size_t i = 0; i < tether_conflicts_count(conflicts); ++i) {
    tether_record local, remote;
    tether_conflict_local(conflicts, i, &local);
    tether_conflict_remote(conflicts, i, &remote);
    printf("conflict on %s: local=%s remote=%s -> remote\n", local.key,
           local.value ? local.value : "(removed)", remote.value ? remote.value : "(removed)");
    tether_conflict_resolve_remote(conflicts, i);
    ++*seen;
  }
  return TETHER_CONTINUE;
}

static void on_success(void* user_data, tether_dataset* dataset, const tether_record* updated,
                       size_t count) {
  (void)user_data;
  printf("synced %s: %zu record(s) from the server\n", tether_dataset_name(dataset), count);
  for (size_t i = 0; i < count; ++i)
    printf("  %s=%s\n", updated[i].key, updated[i].value ? updated[i].value : "(removed)");
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s SERVER_URL POOL_ID CACHE_FILE [CA_FILE] [--require-sync]\n", argv[0]);
    return 2;
  }
  int require_sync = 0;
  const char* ca = NULL;
  for (int i = 4; i < argc; ++i) {
    if (strcmp(argv[i], "--require-sync") == 0) require_sync = 1;
    else ca = argv[i];
  }

  tether_client_options options;
  tether_client_options_init(&options);
  options.server_url = argv[1];
  options.identity_pool_id = argv[2];
  options.cache_path = argv[3];
  options.ca_file = ca;
  options.connect_timeout_ms = 3000;

  tether_client* client = NULL;
  tether_status_code rc = tether_client_open(&options, &client);
  if (rc != TETHER_OK) {
    fprintf(stderr, "open: %s: %s\n", tether_status_name(rc), tether_last_error());
    return 1;
  }
  tether_dataset* prefs = NULL;
  rc = tether_client_open_dataset(client, "prefs", &prefs);
  if (rc == TETHER_OK) rc = tether_dataset_put(prefs, "theme", "dark");
  char* value = NULL;
  if (rc == TETHER_OK) rc = tether_dataset_get(prefs, "theme", &value);
  if (rc != TETHER_OK || value == NULL || strcmp(value, "dark") != 0) {
    fprintf(stderr, "local write/read failed: %s: %s\n", tether_status_name(rc), tether_last_error());
    tether_free(value);
    tether_dataset_release(prefs);
    tether_client_close(client);
    return 1;
  }
  printf("theme=%s (local)\n", value);
  tether_free(value);

  /* A bad key is refused locally with a typed status, before any network. */
  if (tether_dataset_put(prefs, "", "x") != TETHER_INVALID_ARGUMENT) {
    fprintf(stderr, "empty key was not refused\n");
    return 1;
  }

  int conflicts = 0;
  tether_sync_callbacks callbacks;
  memset(&callbacks, 0, sizeof callbacks);
  callbacks.user_data = &conflicts;
  callbacks.on_conflict = on_conflict;
  callbacks.on_success = on_success;
  rc = tether_dataset_synchronize_wait(prefs, &callbacks, 20000);
  int exit_code = 0;
  if (rc == TETHER_OK) {
    printf("sync ok (%d conflict(s))\n", conflicts);
  } else if (rc == TETHER_UNAVAILABLE && !require_sync) {
    printf("offline: %s (local data kept; sync later)\n", tether_last_error());
  } else {
    fprintf(stderr, "sync: %s: %s\n", tether_status_name(rc), tether_last_error());
    exit_code = 1;
  }

  tether_record* records = NULL;
  size_t count = 0;
  if (tether_dataset_get_all_records(prefs, &records, &count) == TETHER_OK) {
    for (size_t i = 0; i < count; ++i)
      printf("record %s=%s sync_count=%lld%s\n", records[i].key,
             records[i].value ? records[i].value : "(removed)", (long long)records[i].sync_count,
             records[i].dirty ? " (not yet synced)" : "");
    tether_records_free(records, count);
  }
  tether_dataset_release(prefs);
  tether_client_close(client);
  return exit_code;
}
