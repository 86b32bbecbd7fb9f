// tetherd keys rotate / keys list: the token signing key ring (auth/token_issuer.h).
#include <chrono>
#include <ctime>
#include <iostream>

#include "app/commands.h"
#include "app/open_store.h"
#include "auth/token_issuer.h"

namespace tether::server {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string isoTime(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int runKeysRotate(const std::string& store, int64_t activateInSeconds) {
  Result<OpenedStore> opened = openStore(store, OpenMode::kMustExist);
  if (!opened.isOk()) {
    std::cerr << "tetherd: " << opened.status() << "\n";
    return 1;
  }
  if (activateInSeconds < 0 || activateInSeconds > 365LL * 86400) {
    std::cerr << "tetherd: --activate-in must be 0-31536000 seconds\n";
    return 2;
  }
  int64_t at = nowMs() + activateInSeconds * 1000;
  Result<std::string> kid = TokenIssuer::addKey(*opened->secrets, at);
  if (!kid.isOk()) {
    std::cerr << "tetherd: " << kid.status() << "\n";
    return 1;
  }
  std::cout << "new signing key " << *kid << ": published now, signs from " << isoTime(at)
            << "; the previous key stays published for a day after that\n";
  return 0;
}

int runKeysList(const std::string& store) {
  Result<OpenedStore> opened = openStore(store, OpenMode::kMustExist);
  if (!opened.isOk()) {
    std::cerr << "tetherd: " << opened.status() << "\n";
    return 1;
  }
  Result<std::vector<SigningKeyInfo>> keys = TokenIssuer::listKeys(*opened->secrets, nowMs());
  if (!keys.isOk()) {
    std::cerr << "tetherd: " << keys.status() << "\n";
    return 1;
  }
  for (const SigningKeyInfo& k : *keys)
    std::cout << k.kid << "\t" << k.state << "\tsigns-from " << isoTime(k.activateAtMs) << "\tretires "
              << (k.retiresAtMs == 0 ? "-" : isoTime(k.retiresAtMs)) << "\n";
  return 0;
}

}  // namespace tether::server
