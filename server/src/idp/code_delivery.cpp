// Code delivery; see code_delivery.h.
#include "idp/code_delivery.h"

#include <future>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace tether::server::idp {

CodeDelivery::CodeDelivery(SyncTriggerInvoker* invoker, std::string hookFunction, bool devCodes)
    : invoker_(invoker), hookFunction_(std::move(hookFunction)), devCodes_(devCodes) {}

Status CodeDelivery::deliver(const CodeMessage& m) {
  if (devCodes_) {
    spdlog::warn("[cognito-idp] code for {}/{} ({} {}, {}): {}", m.poolId, m.userName, m.medium, m.destination,
                 m.purpose, m.code);
    MutexLock lock(mu_);
    last_[{m.poolId, m.userName}] = {m.code, m.purpose};
    last_[{m.poolId, m.sub}] = {m.code, m.purpose};
  }
  if (hookFunction_.empty()) {
    if (devCodes_) return Status::ok();
    spdlog::error("[cognito-idp] no code delivery configured ([user_pools] code_delivery): a {} code for {}/{} "
                  "was not sent",
                  m.purpose, m.poolId, m.userName);
    return Status::triggerFailed("No code delivery is configured on this server.");
  }
  if (invoker_ == nullptr || !invoker_->hasTarget(hookFunction_))
    return Status::triggerFailed("The code delivery function has no target.");
  nlohmann::json envelope = {{"userPoolId", m.poolId}, {"userName", m.userName}, {"sub", m.sub},
                             {"purpose", m.purpose},   {"medium", m.medium},     {"destination", m.destination},
                             {"code", m.code},         {"subject", m.subject},   {"message", m.message}};
  auto done = std::make_shared<std::promise<Result<std::string>>>();
  std::future<Result<std::string>> reply = done->get_future();
  invoker_->invoke(hookFunction_, envelope.dump(),
                   [done](Result<std::string> r) { done->set_value(std::move(r)); });
  Result<std::string> r = reply.get();  // the executor bounds the wait by the target's deadline
  if (!r.isOk()) {
    spdlog::warn("[cognito-idp] code delivery for {}/{} failed: {}", m.poolId, m.userName, r.status().message());
    return Status::triggerFailed("Unable to deliver the code: " + r.status().message());
  }
  return Status::ok();
}

std::optional<std::pair<std::string, std::string>> CodeDelivery::lastCode(const std::string& poolId,
                                                                           const std::string& user) {
  if (!devCodes_) return std::nullopt;
  MutexLock lock(mu_);
  auto it = last_.find({poolId, user});
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tether::server::idp
