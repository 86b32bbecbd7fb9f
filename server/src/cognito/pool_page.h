// One page of identity pools in ID order, for the two Cognito operations that list pools
// (ListIdentityPools and ListIdentityPoolUsage). The next-page token is the last pool ID
// returned: stable while pools are added or removed, and opaque to clients.
// Thread-safety: a pure function over the Store (thread-safe).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server::cognito {

struct PoolPage {
  std::vector<PoolInfo> pools;
  std::optional<std::string> nextToken;  // set when more pools follow
};

// Pools with IDs greater than `after` (all if null), at most `limit` of them.
inline Result<PoolPage> pagePools(Store& store, const std::string* after, size_t limit) {
  TETHER_TRY(std::vector<PoolInfo> all, store.listPools());
  std::sort(all.begin(), all.end(), [](const PoolInfo& a, const PoolInfo& b) { return a.id < b.id; });
  PoolPage page;
  for (PoolInfo& p : all) {
    if (after && p.id <= *after) continue;
    if (page.pools.size() == limit) {
      page.nextToken = page.pools.back().id;
      break;
    }
    page.pools.push_back(std::move(p));
  }
  return page;
}

}  // namespace tether::server::cognito
