#include "tetherd_cluster.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

namespace tether::testing {

Result<std::unique_ptr<TetherdCluster>> TetherdCluster::start(PgTestCluster& pg, const TetherdClusterOptions& options) {
  static std::atomic<int> counter{0};
  auto c = std::unique_ptr<TetherdCluster>(new TetherdCluster());
  c->schema_ = options.name + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  TETHER_RETURN_IF_ERROR(pg.adminExec("DROP SCHEMA IF EXISTS " + c->schema_ + " CASCADE; CREATE SCHEMA " + c->schema_));
  c->storeUrl_ = pg.url(c->schema_);
  c->configDir_ = makeTempDir("cluster-config");
  std::filesystem::path config = c->configDir_ / "tetherd.toml";
  std::ofstream(config) << (options.configToml.empty() ? "[server]\n" : options.configToml);
  for (int i = 0; i < options.nodes; ++i) {
    TetherdOptions o;
    o.store = c->storeUrl_;
    o.createPool = i == 0;
    o.extraArgs = {"--node-name", "node" + std::to_string(i + 1), "--issuer", kIssuer, "--config", config.string()};
    o.extraArgs.insert(o.extraArgs.end(), options.extraArgs.begin(), options.extraArgs.end());
    std::unique_ptr<TetherdProcess> node = TetherdProcess::start(o);
    if (!node) return Status::unavailable("tetherd node " + std::to_string(i + 1) + " did not start");
    if (i == 0) c->poolId_ = node->poolId();
    c->nodes_.push_back(std::move(node));
  }
  std::vector<std::string> addrs;
  for (auto& n : c->nodes_) addrs.push_back("127.0.0.1:" + std::to_string(n->port()));
  // The deployment's config names three servers (TETHER_NODE1..3, all required): a smaller
  // deployment repeats its nodes, so the balancer still reaches only real ones.
  for (size_t i = addrs.size(); i < 3 && !addrs.empty(); ++i) addrs.push_back(addrs[i % c->nodes_.size()]);
  const char* cfg = std::getenv("TETHER_HAPROXY_CFG");
  c->lb_ = HaproxyProcess::start(cfg != nullptr ? cfg : "docs/scale-out/haproxy.cfg", addrs);
  if (!c->lb_) return Status::unavailable("haproxy did not start");
  return c;
}

TetherdCluster::~TetherdCluster() {
  lb_.reset();
  nodes_.clear();
  std::error_code ec;
  if (!configDir_.empty()) std::filesystem::remove_all(configDir_, ec);
}

}  // namespace tether::testing
