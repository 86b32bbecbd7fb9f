// TetherdCluster: a scale-out deployment for tests — N real tetherd nodes on one PostgreSQL
// schema of the process's test cluster (pg_test_cluster.h), behind HAProxy running the
// deployment's config (docs/scale-out/haproxy.cfg, from $TETHER_HAPROXY_CFG). Every node gets
// its own name, the same issuer and the same config; node 1 creates one guest pool.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "haproxy_process.h"
#include "pg_test_cluster.h"
#include "tetherd_process.h"

namespace tether::testing {

struct TetherdClusterOptions {
  int nodes = 3;
  std::string name = "cluster";          // schema name prefix
  std::string configToml;                // extra tetherd.toml text ("" = none), e.g. [server] keys
  std::vector<std::string> extraArgs;    // for every node
};

class TetherdCluster {
 public:
  // A fresh schema, the nodes and the balancer; the reason on failure.
  static Result<std::unique_ptr<TetherdCluster>> start(PgTestCluster& pg, const TetherdClusterOptions& options = {});
  ~TetherdCluster();

  int size() const { return static_cast<int>(nodes_.size()); }
  TetherdProcess& node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  HaproxyProcess& balancer() { return *lb_; }
  const std::string& poolId() const { return poolId_; }
  const std::string& storeUrl() const { return storeUrl_; }
  const std::string& schema() const { return schema_; }
  static constexpr const char* kIssuer = "http://tether-cluster.test";

 private:
  TetherdCluster() = default;
  std::vector<std::unique_ptr<TetherdProcess>> nodes_;
  std::unique_ptr<HaproxyProcess> lb_;
  std::string poolId_, storeUrl_, schema_;
  std::filesystem::path configDir_;
};

}  // namespace tether::testing
