// quickstart: the smallest useful libtether program. Writes a preference locally (works
// offline), then synchronizes it with a tetherd server and prints what the dataset holds.
// Usage: quickstart SERVER_URL POOL_ID [CACHE_FILE]
#include <iostream>

#include "tether/client.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: quickstart SERVER_URL POOL_ID [CACHE_FILE]\n";
    return 2;
  }
  tether::ClientOptions options;
  options.serverUrl = argv[1];
  options.identityPoolId = argv[2];
  options.cachePath = argc > 3 ? argv[3] : "quickstart.db";
  auto client = tether::Client::open(options);
  if (!client.isOk()) {
    std::cerr << client.status() << '\n';
    return 1;
  }
  auto prefs = (*client)->openOrCreateDataset("prefs");
  if (!prefs.isOk()) {
    std::cerr << prefs.status() << '\n';
    return 1;
  }
  // Durable on disk when put() returns; no network involved.
  if (tether::Status s = (*prefs)->put("theme", "dark"); !s.isOk()) {
    std::cerr << s << '\n';
    return 1;
  }
  // Pull, resolve (default: last writer wins), push. Offline is a normal, retryable outcome.
  auto synced = (*prefs)->synchronizeAndWait();
  if (synced.isOk()) {
    std::cout << "synced; " << synced->size() << " record(s) came from the server\n";
  } else if (synced.status().isRetryable()) {
    std::cout << "offline (" << synced.status() << "); the change stays queued\n";
  } else {
    std::cerr << synced.status() << '\n';
    return 1;
  }
  auto all = (*prefs)->getAll();
  if (all.isOk())
    for (const auto& [key, value] : *all) std::cout << key << " = " << value << '\n';
  std::cout << "identity: " << ((*client)->identityId().empty() ? "(none yet)" : (*client)->identityId()) << '\n';
  return 0;
}
