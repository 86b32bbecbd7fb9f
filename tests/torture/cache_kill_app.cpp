// A libtether app for the cache kill test (cache_kill_test.cpp), public API only. The test sets
// TETHER_TEST_KILL_AFTER_RELAXED_COMMITS=1, so the process SIGKILLs itself right after the
// cache's first fsync-free commit: the apply of a pull, or the marking clean of a push.
//
//   cache_kill_app push URL POOL IDENTITY CACHE DATASET N
//       Puts "k<i>" = value(i) for i < N, writing "P <i>\n" to stdout after each put returned,
//       then synchronizes DATASET (the push, then the mark-clean commit).
//   cache_kill_app pull URL POOL IDENTITY CACHE DATASET
//       Synchronizes DATASET (a fresh cache: the pull and its apply).
// Exit codes: 0 the sync finished (the hook did not fire), 2 usage, 3 open, 4 put, 5 sync.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tether/client.h"

namespace {

void say(const std::string& line) {
  std::string l = line + "\n";
  if (::write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(6);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) return 2;
  const std::string mode = argv[1];
  tether::ClientOptions o;
  o.serverUrl = argv[2];
  o.identityPoolId = argv[3];
  o.identityId = argv[4];
  o.cachePath = argv[5];
  o.deviceName = "cache-kill-app";
  auto opened = tether::Client::open(o);
  if (!opened.isOk()) {
    std::fprintf(stderr, "open: %s\n", opened.status().toString().c_str());
    return 3;
  }
  std::unique_ptr<tether::Client> client = std::move(*opened);
  auto ds = client->openOrCreateDataset(argv[6]);
  if (!ds.isOk()) return 3;
  if (mode == "push") {
    if (argc < 8) return 2;
    const long n = std::atol(argv[7]);
    for (long i = 0; i < n; ++i) {
      const std::string v = std::to_string(i) + std::string(1000, 'x');
      tether::Status s = (*ds)->put("k" + std::to_string(i), v);
      if (!s.isOk()) {
        std::fprintf(stderr, "put %ld: %s\n", i, s.toString().c_str());
        return 4;
      }
      say("P " + std::to_string(i));
    }
  } else if (mode != "pull") {
    return 2;
  }
  auto r = (*ds)->synchronizeAndWait({}, std::chrono::seconds(30));
  if (!r.isOk()) {
    std::fprintf(stderr, "sync: %s\n", r.status().toString().c_str());
    return 5;
  }
  return 0;
}
