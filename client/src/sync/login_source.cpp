#include "sync/login_source.h"

#include "tether/limits.h"

namespace tether::client {

Status LoginSource::validate(const Logins& logins) {
  if (logins.size() > static_cast<size_t>(kMaxLoginsPerRequest))
    return Status::invalidArgument("at most " + std::to_string(kMaxLoginsPerRequest) + " logins");
  for (const auto& [provider, token] : logins) {
    if (provider.empty() || provider.size() > 128)
      return Status::invalidArgument("a login provider name must be 1-128 characters");
    if (token.empty() || token.size() > kMaxLoginTokenChars)
      return Status::invalidArgument("the token of login provider '" + provider + "' must be 1-" +
                                     std::to_string(kMaxLoginTokenChars) + " characters");
  }
  return Status::ok();
}

Status LoginSource::setFixed(Logins logins) {
  if (logins.empty()) return Status::invalidArgument("no logins given (use clearLogins to sign out)");
  TETHER_RETURN_IF_ERROR(validate(logins));
  MutexLock lock(mu_);
  fixed_ = std::move(logins);
  ++generation_;
  return Status::ok();
}

void LoginSource::clear() {
  MutexLock lock(mu_);
  fixed_.reset();
  provider_ = nullptr;
  ++generation_;
}

void LoginSource::refresh() {
  MutexLock lock(mu_);
  ++generation_;
}

uint64_t LoginSource::generation() const {
  MutexLock lock(mu_);
  return generation_;
}

Result<std::vector<Login>> LoginSource::current(bool forceRefresh) {
  Logins logins;
  LoginsProvider provider;
  {
    MutexLock lock(mu_);
    if (fixed_) logins = *fixed_;
    else provider = provider_;
  }
  if (provider) {
    Result<Logins> r = provider(forceRefresh);
    if (!r.isOk()) return r.status();
    logins = std::move(*r);
    Status s = validate(logins);
    if (!s.isOk()) return Status::invalidArgument("logins provider: " + s.message());
  }
  std::vector<Login> out;
  for (auto& [provider, token] : logins) out.push_back(Login{provider, token});
  return out;
}

}  // namespace tether::client
