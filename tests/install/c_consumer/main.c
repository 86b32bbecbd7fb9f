/* c_consumer: a C app built against the installed libtether (tether/tether.h from the prefix).
 * Usage: c_consumer CACHE_FILE
 * Opens a local cache (no server needed: the client connects in the background and the local
 * calls never wait for it), puts a record, reads it back, checks a bad key is refused with a
 * typed status. Exit 0 when all of that holds, 1 otherwise (the reason on stderr). */
#include <stdio.h>
#include <string.h>

#include <tether/tether.h>

static int fail(const char* what, tether_status_code rc) {
  fprintf(stderr, "c_consumer: %s: %s: %s\n", what, tether_status_name(rc), tether_last_error());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CACHE_FILE\n", argv[0]);
    return 2;
  }
  tether_client_options options;
  tether_client_options_init(&options);
  options.cache_path = argv[1];
  options.server_url = "ws://127.0.0.1:9";   /* discard port: nothing answers; offline is fine */
  options.identity_pool_id = "local:6f1c2a0e-1111-4222-8333-444455556666";
  options.connect_timeout_ms = 500;

  tether_client* client = NULL;
  tether_status_code rc = tether_client_open(&options, &client);
  if (rc != TETHER_OK) return fail("open", rc);
  tether_dataset* prefs = NULL;
  rc = tether_client_open_dataset(client, "prefs", &prefs);
  if (rc != TETHER_OK) return fail("open_dataset", rc);
  rc = tether_dataset_put(prefs, "theme", "dark");
  if (rc != TETHER_OK) return fail("put", rc);
  char* value = NULL;
  rc = tether_dataset_get(prefs, "theme", &value);
  if (rc != TETHER_OK) return fail("get", rc);
  int ok = value != NULL && strcmp(value, "dark") == 0;
  printf("theme=%s\n", value ? value : "(absent)");
  tether_free(value);
  if (tether_dataset_put(prefs, "", "x") != TETHER_INVALID_ARGUMENT) {
    fprintf(stderr, "c_consumer: an empty key was not refused\n");
    ok = 0;
  }
  tether_dataset_release(prefs);
  tether_client_close(client);
  return ok ? 0 : 1;
}
