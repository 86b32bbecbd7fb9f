// A libtether app for the client kill torture (client_kill_test.cpp): it uses only the public
// API (tether/client.h), like any app, and is killed with SIGKILL by the test at random moments.
//
//   torture_app write URL POOL IDENTITY CACHE START AUTOSYNC
//       Puts record i = START, START+1, ... ("k<i>" = "v<i>" in dataset "t<i/600>", and
//       "last" = "v<i>" in dataset "meta"), forever. After each put returned it writes
//       "P <i>\n" to stdout (one write(2): the test's acknowledgment). Every few puts it
//       synchronizes the datasets it wrote (so kills land mid-sync too); AUTOSYNC=1 also turns
//       on ClientOptions::autoSync (background pushes).
//   torture_app sync URL POOL IDENTITY CACHE DATASETS...
//       Synchronizes each dataset until it succeeds (2 min at most); exit 0 when all did.
// Exit codes: 2 usage, 3 open failed, 4 a put failed, 5 sync mode gave up.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

#include "tether/client.h"

namespace {

void say(const std::string& line) {
  std::string l = line + "\n";
  // One write(2) of a short line: the test reads whole lines, and nothing sits in a stdio buffer
  // when the kill comes.
  if (::write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(6);
}

std::string datasetFor(long i) { return "t" + std::to_string(i / 600); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) return 2;
  const std::string mode = argv[1];
  tether::ClientOptions o;
  o.serverUrl = argv[2];
  o.identityPoolId = argv[3];
  o.identityId = argv[4];
  o.cachePath = argv[5];
  o.deviceName = "torture-app";
  o.requestTimeout = std::chrono::seconds(10);
  if (mode == "write" && argc >= 8) o.autoSync = std::string(argv[7]) == "1";
  auto opened = tether::Client::open(o);
  if (!opened.isOk()) {
    std::fprintf(stderr, "open: %s\n", opened.status().toString().c_str());
    return 3;
  }
  std::unique_ptr<tether::Client> client = std::move(*opened);

  if (mode == "sync") {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    for (int a = 6; a < argc; ++a) {
      auto ds = client->openOrCreateDataset(argv[a]);
      if (!ds.isOk()) return 5;
      for (;;) {
        auto r = (*ds)->synchronizeAndWait({}, std::chrono::seconds(20));
        if (r.isOk()) break;
        std::fprintf(stderr, "sync %s: %s\n", argv[a], r.status().toString().c_str());
        if (std::chrono::steady_clock::now() > deadline) return 5;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry pacing
      }
    }
    return 0;
  }
  if (mode != "write" || argc < 8) return 2;

  long i = std::atol(argv[6]);
  auto meta = client->openOrCreateDataset("meta");
  if (!meta.isOk()) return 4;
  for (long n = 0;; ++i, ++n) {
    auto ds = client->openOrCreateDataset(datasetFor(i));
    if (!ds.isOk()) return 4;
    const std::string v = "v" + std::to_string(i);
    tether::Status s = (*ds)->put("k" + std::to_string(i), v);
    if (s.isOk()) s = (*meta)->put("last", v);
    if (!s.isOk()) {
      std::fprintf(stderr, "put %ld: %s\n", i, s.toString().c_str());
      return 4;
    }
    say("P " + std::to_string(i));
    if (n % 5 == 4) {
      // Mid-sync kills: these are the moments a sync pulls, applies and pushes.
      auto r = (*ds)->synchronizeAndWait({}, std::chrono::seconds(20));
      if (r.isOk()) say("S " + std::to_string(i));
      (void)(*meta)->synchronizeAndWait({}, std::chrono::seconds(20));
    }
  }
}
