#include "storage/pg_device_ops.h"

namespace tether::server {
namespace {

constexpr int kDevicesLock = 3;  // L3 in pg_store.cpp

}  // namespace

Result<std::vector<DeviceInfo>> pgListSubscribedDevices(PgPool& pool, std::string_view poolId,
                                                        std::string_view identityId, std::string_view dataset) {
  TETHER_TRY(PgPool::Lease conn, pool.acquire());
  TETHER_TRY(PgResult r, conn->exec("SELECT d.device_id, d.platform, d.push_token, d.created_ms FROM devices d"
                                    " JOIN dataset_subscriptions s ON s.identity_id = d.identity_id"
                                    " AND s.pool_id = d.pool_id AND s.device_id = d.device_id"
                                    " WHERE d.identity_id = $1 AND d.pool_id = $2 AND s.dataset = $3"
                                    " ORDER BY d.device_id COLLATE \"C\"",
                                    {identityId, poolId, dataset}));
  std::vector<DeviceInfo> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(DeviceInfo{std::string(poolId), std::string(identityId), r.text(i, 0), r.text(i, 1), r.text(i, 2),
                             r.int64(i, 3)});
  return out;
}

Status pgRemoveDevice(PgPool& pool, std::string_view poolId, std::string_view identityId, std::string_view deviceId) {
  TETHER_TRY(PgPool::Lease conn, pool.acquire());
  TETHER_RETURN_IF_ERROR(conn->execScript("BEGIN"));
  Status s = [&]() -> Status {
    TETHER_RETURN_IF_ERROR(conn->exec("SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
                                      {kDevicesLock, identityId})
                               .status());
    TETHER_RETURN_IF_ERROR(conn->exec("DELETE FROM dataset_subscriptions WHERE identity_id = $1 AND pool_id = $2"
                                      " AND device_id = $3",
                                      {identityId, poolId, deviceId})
                               .status());
    TETHER_TRY(PgResult r, conn->exec("DELETE FROM devices WHERE identity_id = $1 AND pool_id = $2 AND device_id = $3",
                                      {identityId, poolId, deviceId}));
    if (r.affected() == 0) return Status::notFound("device is not registered for this identity");
    return Status::ok();
  }();
  if (s.isOk()) s = conn->execScript("COMMIT");
  if (!s.isOk() && !conn->broken()) (void)conn->execScript("ROLLBACK");
  return s;
}

}  // namespace tether::server
