// `tetherd pool create|list`: pool administration (login providers: auth_commands.cpp) straight on the store (--data-dir or --store).
// Safe while servers run on the same store (SQLite WAL / PostgreSQL; servers read pools per request).
#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "auth/ids.h"
#include "common/clock.h"
#include "app/open_store.h"
#include "tether/limits.h"

namespace tether::server {

int runPoolCreate(const PoolCreateArgs& args) {
  if (args.name.empty() || args.name.size() > 128) {
    std::cerr << "tetherd: pool name must be 1-128 characters\n";
    return 2;
  }
  Result<OpenedStore> opened = openStore(args.store, OpenMode::kCreate);
  if (!opened.isOk()) {
    std::cerr << "tetherd: " << opened.status() << "\n";
    return 1;
  }
  std::unique_ptr<Store>* store = &opened->store;
  PoolInfo pool{newRandomId(args.region), args.name, args.allowGuests, SystemClock().nowMs()};
  if (Status s = validatePoolId(pool.id); !s.isOk()) {
    std::cerr << "tetherd: bad region '" << args.region << "': " << s.message() << "\n";
    return 2;
  }
  if (Status s = (*store)->putPool(pool); !s.isOk()) {
    std::cerr << "tetherd: " << s << "\n";
    return 1;
  }
  std::cout << pool.id << std::endl;
  return 0;
}

int runPoolList(const std::string& storeUrl) {
  Result<OpenedStore> opened = openStore(storeUrl, OpenMode::kCreate);
  if (!opened.isOk()) {
    std::cerr << "tetherd: " << opened.status() << "\n";
    return 1;
  }
  std::unique_ptr<Store>* store = &opened->store;
  Result<std::vector<PoolInfo>> pools = (*store)->listPools();
  if (!pools.isOk()) {
    std::cerr << "tetherd: " << pools.status() << "\n";
    return 1;
  }
  Result<std::vector<OidcProviderRow>> providers = (*store)->listOidcProviders("");
  if (!providers.isOk()) {
    std::cerr << "tetherd: " << providers.status() << "\n";
    return 1;
  }
  // One line per pool (scripts take the first field); its login providers follow, indented.
  for (const PoolInfo& p : *pools) {
    std::cout << p.id << "\t" << (p.allowGuests ? "guests" : "no-guests") << "\t" << p.name << "\n";
    if (Result<std::string> dev = (*store)->getPoolDeveloperProvider(p.id); dev.isOk() && !dev->empty())
      std::cout << "  developer-provider\t" << *dev << "\n";
    for (const OidcProviderRow& o : *providers) {
      if (o.poolId != p.id) continue;
      std::cout << "  oidc-provider\t" << o.name << "\tissuer=" << o.issuer << "\taudiences=";
      for (size_t i = 0; i < o.audiences.size(); ++i) std::cout << (i ? "," : "") << o.audiences[i];
      std::cout << "\t" << (o.jwksFile.empty() ? "jwks=inline" : "jwks_file=" + o.jwksFile) << "\n";
    }
  }
  return 0;
}

}  // namespace tether::server
