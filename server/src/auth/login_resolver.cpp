// Logins -> identity, linking and merging; see login_resolver.h.
#include "auth/login_resolver.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "auth/ids.h"
#include "sync/sync_service.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

// Cognito's texts (cognito-compat.md 2.1); SDKs show them to developers.
constexpr const char* kLoginsDontMatch =
    "Logins don't match. Please include at least one valid login for this identity or identity pool.";
constexpr const char* kUnsupportedProvider = "Token is not from a supported provider of this identity pool.";
constexpr const char* kGuestsNotAllowed = "Unauthenticated access is not supported for this identity pool.";

Status forbidden(std::string_view id) {
  return Status::unauthenticated("Access to Identity '" + std::string(id) + "' is forbidden.");
}

std::string_view regionOf(std::string_view poolId) { return poolId.substr(0, poolId.find(':')); }

bool isCognitoProvider(std::string_view p) { return p == kCognitoLoginProvider || p == kCognitoLoginProviderCn; }

// The pool's developer provider; "" if none.
Result<std::string> developerProviderOf(Store& store, std::string_view poolId) {
  return store.getPoolDeveloperProvider(poolId);
}

struct Presented {
  std::string provider;
  std::string subject;
  std::optional<std::string> linkedTo;
};

}  // namespace

LoginResolver::LoginResolver(Store& store, const TokenIssuer& issuer, LoginProviders& providers, const Clock& clock)
    : store_(store), issuer_(issuer), providers_(providers), clock_(clock) {}

std::vector<std::string> LoginResolver::amrFor(const std::vector<LoginLink>& links) {
  if (links.empty()) return {"unauthenticated"};
  std::vector<std::string> amr{"authenticated"};
  for (const LoginLink& l : links)
    if (std::find(amr.begin(), amr.end(), l.provider) == amr.end()) amr.push_back(l.provider);
  // User-pool logins also name the user (cognito-compat.md 2.4): `<provider>:CognitoSignIn:<sub>`.
  for (const LoginLink& l : links)
    if (l.provider.starts_with("cognito-idp.") && !isPendingLoginSubject(l.subject)) amr.push_back(l.provider + ":CognitoSignIn:" + l.subject);
  return amr;
}

Result<MergeReport> LoginResolver::merge(const std::string& poolId, const std::string& winnerId,
                                         const std::string& loserId) {
  TETHER_TRY(MergeReport report, mergeIdentities(store_, poolId, winnerId, loserId, clock_.nowMs()));
  spdlog::info("identity {} merged into {} ({} datasets moved)", loserId, winnerId, report.datasets.size());
  ChangeListener* listener = listener_.load();
  if (listener == nullptr || report.datasets.empty()) return report;
  // Subscribers of the survivor hear of each new `n.<loserId>` and of `n` itself, whose
  // MergedDatasetNames just changed (with its unchanged sync count; 0 if it does not exist).
  Caller writer{poolId, winnerId, "", 0};
  std::map<std::string, int64_t> originals;
  if (Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead(); txn.isOk()) {
    for (const MergedDataset& d : report.datasets) {
      Result<std::optional<DatasetRow>> row = (*txn)->getDataset(OwnerRef{poolId, winnerId}, d.originalName);
      originals[d.originalName] = row.isOk() && *row ? (*row)->syncCount : 0;
    }
  }
  for (const MergedDataset& d : report.datasets) listener->datasetChanged(writer, d.mergedName, d.syncCount, nullptr);
  for (const auto& [name, count] : originals) listener->datasetChanged(writer, name, count, nullptr);
  return report;
}

Result<ResolvedIdentity> LoginResolver::finish(const IdentityInfo& identity, bool created,
                                               std::vector<std::string> merged) {
  TETHER_TRY(std::vector<LoginLink> links, store_.listLogins(identity.id));
  ResolvedIdentity out;
  out.identity = identity;
  out.authenticated = !links.empty();
  out.amr = amrFor(links);
  out.created = created;
  out.mergedAway = std::move(merged);
  return out;
}

Result<ResolvedIdentity> LoginResolver::resolve(std::string_view poolId, const std::vector<Login>& logins,
                                                std::string_view identityId) {
  bool lostLinkRace = false;
  Result<ResolvedIdentity> r = resolveOnce(poolId, logins, identityId, lostLinkRace);
  if (lostLinkRace) {
    lostLinkRace = false;
    r = resolveOnce(poolId, logins, identityId, lostLinkRace);  // the other call's identity now exists
  }
  if (lostLinkRace) return Status::unavailable("logins changed concurrently; retry");
  return r;
}

Result<ResolvedIdentity> LoginResolver::resolveOnce(std::string_view poolIdIn, const std::vector<Login>& logins,
                                                    std::string_view identityIdIn, bool& lostLinkRace) {
  // ---- input shape (kInvalidArgument), before anything is looked up
  if (logins.size() > static_cast<size_t>(kMaxLoginsPerRequest))
    return Status::invalidArgument("Logins must have at most " + std::to_string(kMaxLoginsPerRequest) + " entries");
  std::set<std::string_view> providerNames;
  for (const Login& l : logins) {
    if (l.provider.empty() || l.provider.size() > 128)
      return Status::invalidArgument("Logins keys (provider names) must be 1-128 characters");
    if (l.token.empty() || l.token.size() > kMaxLoginTokenChars)
      return Status::invalidArgument("Logins values (tokens) must be 1-50000 characters");
    if (!providerNames.insert(l.provider).second)
      return Status::invalidArgument("Logins names provider '" + l.provider + "' twice");
  }

  std::optional<IdentityInfo> given;
  std::string poolId(poolIdIn);
  if (!identityIdIn.empty()) {
    TETHER_RETURN_IF_ERROR(validateIdentityId(identityIdIn));
    TETHER_TRY(std::optional<IdentityInfo> found, store_.getIdentity(identityIdIn));
    if (!found || (!poolId.empty() && found->poolId != poolId))
      return Status::notFound("Identity '" + std::string(identityIdIn) + "' not found.");
    if (found->disabled) return forbidden(found->id);
    poolId = found->poolId;
    given = std::move(found);
  } else {
    TETHER_RETURN_IF_ERROR(validatePoolId(poolId));
    if (logins.empty()) return Status::invalidArgument("Logins must not be empty");
  }
  TETHER_TRY(std::optional<PoolInfo> pool, store_.getPool(poolId));
  if (!pool) return Status::notFound("IdentityPool '" + poolId + "' not found.");
  TETHER_TRY(std::string developerProvider, developerProviderOf(store_, poolId));

  // ---- every login must verify (kUnauthenticated / kInvalidArgument); nothing written yet
  const int64_t now = clock_.nowMs();
  std::vector<Presented> external;
  std::set<std::string> proven;  // identities our own tokens name
  for (const Login& l : logins) {
    if (isCognitoProvider(l.provider)) {
      Result<VerifiedToken> v = issuer_.verify(l.token, now);
      if (!v.isOk()) return Status::unauthenticated("Invalid login token. " + v.status().message());
      if (v->poolId != poolId) return Status::unauthenticated("Invalid login token. Token is for another identity pool.");
      proven.insert(v->identityId);
      continue;
    }
    // The developer provider's "token" is a user ID only the app backend may assert.
    if (!developerProvider.empty() && l.provider == developerProvider) return Status::unauthenticated(kUnsupportedProvider);
    // One of this server's user pools (spec cognito-user-pools.md 6.6).
    if (std::optional<UserPoolProviderConfig> userPool = providers_.findUserPoolProvider(poolId, l.provider)) {
      UserPoolLoginVerifier* v = providers_.userPoolVerifier();
      if (v == nullptr) return Status::unauthenticated(kUnsupportedProvider);
      TETHER_TRY(VerifiedLogin login, v->verify(*userPool, l.token, now));
      external.push_back(Presented{l.provider, login.subject, std::nullopt});
      continue;
    }
    std::shared_ptr<const OidcVerifier> verifier = providers_.find(poolId, l.provider);
    if (!verifier) return Status::unauthenticated(kUnsupportedProvider);
    TETHER_TRY(VerifiedLogin login, verifier->verify(l.token, now));
    external.push_back(Presented{l.provider, login.subject, std::nullopt});
  }
  for (Presented& e : external) {
    if (isPendingLoginSubject(e.subject)) return Status::unauthenticated("Invalid login token. Its subject is not valid.");
    TETHER_TRY(e.linkedTo, store_.findLogin(poolId, e.provider, e.subject));
  }

  // ---- the identities involved
  std::map<std::string, IdentityInfo> involved;
  std::map<std::string, std::vector<LoginLink>> linksOf;
  auto load = [&](const std::string& id) -> Status {
    if (involved.count(id)) return Status::ok();
    TETHER_TRY(std::optional<IdentityInfo> found, store_.getIdentity(id));
    if (!found || found->poolId != poolId)
      return Status::unauthenticated("Invalid login token. Its identity no longer exists.");
    if (found->disabled) return forbidden(id);
    TETHER_TRY(std::vector<LoginLink> links, store_.listLogins(id));
    linksOf[id] = std::move(links);
    involved[id] = std::move(*found);
    return Status::ok();
  };
  if (given) TETHER_RETURN_IF_ERROR(load(given->id));
  for (const std::string& id : proven) TETHER_RETURN_IF_ERROR(load(id));
  for (const Presented& e : external)
    if (e.linkedTo) TETHER_RETURN_IF_ERROR(load(*e.linkedTo));

  // Placeholders of imported logins (store.h pendingLoginSubject) the given identity gives up now:
  // a verified, unlinked login of that provider presented with the identity's ID proves it (the
  // device kept the ID AWS gave it), and a placeholder beside a real login of its provider (left
  // by an interrupted relink) is stale.
  std::set<std::string> relinking;
  if (given) {
    for (const LoginLink& l : linksOf[given->id]) {
      if (!isPendingLoginSubject(l.subject)) continue;
      for (const Presented& e : external)
        if (!e.linkedTo && e.provider == l.provider) relinking.insert(l.provider);
      for (const LoginLink& other : linksOf[given->id])
        if (other.provider == l.provider && !isPendingLoginSubject(other.subject)) relinking.insert(l.provider);
    }
  }
  auto relinked = [&](const std::string& id, const LoginLink& l) {
    return given && id == given->id && isPendingLoginSubject(l.subject) && relinking.count(l.provider) > 0;
  };

  if (given && !linksOf[given->id].empty()) {
    // An authenticated identity answers only to one of its own logins (or our token for it).
    bool provenGiven = proven.count(given->id) > 0;
    for (const Presented& e : external)
      provenGiven = provenGiven || (!e.linkedTo && relinking.count(e.provider) > 0);
    for (const Presented& e : external) provenGiven = provenGiven || (e.linkedTo && *e.linkedTo == given->id);
    if (!provenGiven) return logins.empty() ? forbidden(given->id) : Status::unauthenticated(kLoginsDontMatch);
  }

  // ---- the survivor: the oldest authenticated identity among those the logins own; a guest
  // named by IdentityId is folded into it (spec 7.14); with none authenticated, the oldest.
  std::optional<std::string> winner;
  {
    std::vector<const IdentityInfo*> contenders;
    for (const auto& [id, info] : involved)
      if (!(given && id == given->id && involved.size() > 1 && linksOf[id].empty())) contenders.push_back(&info);
    auto authenticated = [&](const IdentityInfo* i) { return !linksOf[i->id].empty(); };
    auto older = [&](const IdentityInfo* a, const IdentityInfo* b) {
      if (authenticated(a) != authenticated(b)) return authenticated(a);
      if (a->createdMs != b->createdMs) return a->createdMs < b->createdMs;
      return a->id < b->id;
    };
    if (!contenders.empty()) winner = (*std::min_element(contenders.begin(), contenders.end(), older))->id;
  }

  // ---- one login per provider per identity, at most kMaxLinkedLogins, on the merged result
  std::map<std::string, std::string> subjectOf;
  size_t total = 0;
  auto claim = [&](const std::string& provider, const std::string& subject) -> Status {
    auto [it, fresh] = subjectOf.emplace(provider, subject);
    if (!fresh && it->second != subject)
      return Status::conflict("An identity can have only one login of provider '" + provider +
                              "'; these logins belong to different users of it.");
    ++total;
    return Status::ok();
  };
  for (const auto& [id, links] : linksOf)
    for (const LoginLink& l : links)
      if (!relinked(id, l)) TETHER_RETURN_IF_ERROR(claim(l.provider, l.subject));
  for (const Presented& e : external)
    if (!e.linkedTo) TETHER_RETURN_IF_ERROR(claim(e.provider, e.subject));
  if (total > static_cast<size_t>(kMaxLinkedLogins))
    return Status::limitExceeded("An identity may have at most " + std::to_string(kMaxLinkedLogins) + " linked logins.");
  if (total == 0 && !pool->allowGuests) return Status::unauthenticated(kGuestsNotAllowed);

  // ---- writes
  bool created = false;
  if (!winner) {
    IdentityInfo fresh{newRandomId(regionOf(poolId)), poolId, now, false};
    TETHER_RETURN_IF_ERROR(store_.createIdentity(fresh));
    involved[fresh.id] = fresh;
    winner = fresh.id;
    created = true;
  }
  const IdentityInfo winnerInfo = involved[*winner];
  for (const Presented& e : external) {
    if (e.linkedTo) continue;
    Status s = store_.linkLogin(LoginLink{poolId, e.provider, e.subject, *winner});
    if (s.code() == StatusCode::kConflict) {
      if (created) (void)store_.deleteIdentity(*winner);
      lostLinkRace = true;  // a concurrent call linked it between our check and our write
      return Status::conflict("login linked concurrently");
    }
    TETHER_RETURN_IF_ERROR(s);
  }
  // The real login is linked first, so an interruption leaves the identity authenticated (the
  // stale placeholder goes on the next call).
  for (const std::string& provider : relinking) {
    Status s = store_.unlinkLogin(given->id, provider, pendingLoginSubject(given->id));
    if (!s.isOk() && s.code() != StatusCode::kNotFound) return s;
    spdlog::info("identity {}: imported {} login linked to its user", given->id, provider);
  }
  std::vector<std::string> merged;
  for (const auto& [id, info] : involved) {
    if (id == *winner) continue;
    TETHER_RETURN_IF_ERROR(merge(poolId, *winner, id).status());
    merged.push_back(id);
  }
  return finish(winnerInfo, created, std::move(merged));
}

Result<ResolvedIdentity> LoginResolver::resolveDeveloper(std::string_view poolIdIn, std::string_view identityIdIn,
                                                         std::string_view provider, std::string_view subjectIn,
                                                         DeveloperRefusal* refusal) {
  if (refusal != nullptr) *refusal = DeveloperRefusal::kNone;
  std::string poolId(poolIdIn);
  std::string subject(subjectIn);
  TETHER_RETURN_IF_ERROR(validatePoolId(poolId));
  if (provider.empty()) return Status::invalidArgument("Identity pool " + poolId + " has no developer provider configured.");
  if (subject.empty() || subject.size() > 1024)
    return Status::invalidArgument("DeveloperUserIdentifier must be 1-1024 characters");
  TETHER_TRY(std::optional<PoolInfo> pool, store_.getPool(poolId));
  if (!pool) return Status::notFound("IdentityPool '" + poolId + "' not found.");
  TETHER_TRY(std::optional<std::string> linked, store_.findLogin(poolId, provider, subject));
  const int64_t now = clock_.nowMs();
  auto alreadyRegistered = [&]() {
    if (refusal != nullptr) *refusal = DeveloperRefusal::kAlreadyRegistered;
    return Status::conflict("Developer user '" + subject + "' is already registered with another identity.");
  };

  IdentityInfo target;
  bool created = false;
  std::vector<std::string> merged;
  if (!identityIdIn.empty()) {
    TETHER_RETURN_IF_ERROR(validateIdentityId(identityIdIn));
    TETHER_TRY(std::optional<IdentityInfo> found, store_.getIdentity(identityIdIn));
    if (!found || found->poolId != poolId)
      return Status::notFound("Identity '" + std::string(identityIdIn) + "' not found.");
    if (found->disabled) return forbidden(found->id);
    target = *found;
    if (linked && *linked != target.id) {
      // The user already has an identity: a guest is folded into it, an authenticated identity is not.
      TETHER_TRY(std::vector<LoginLink> links, store_.listLogins(target.id));
      if (!links.empty()) return alreadyRegistered();
      TETHER_TRY(std::optional<IdentityInfo> owner, store_.getIdentity(*linked));
      if (!owner) return Status::internal("login points at a missing identity");
      if (owner->disabled) return forbidden(owner->id);
      TETHER_RETURN_IF_ERROR(merge(poolId, owner->id, target.id).status());
      merged.push_back(target.id);
      return finish(*owner, false, std::move(merged));
    }
  } else if (linked) {
    TETHER_TRY(std::optional<IdentityInfo> owner, store_.getIdentity(*linked));
    if (!owner) return Status::internal("login points at a missing identity");
    if (owner->disabled) return forbidden(owner->id);
    return finish(*owner, false, {});
  } else {
    // A developer identity exists whether or not the pool allows guests.
    target = IdentityInfo{newRandomId(regionOf(pool->id)), pool->id, now, false};
    TETHER_RETURN_IF_ERROR(store_.createIdentity(target));
    created = true;
  }
  if (!linked) {
    TETHER_TRY(std::vector<LoginLink> links, store_.listLogins(target.id));
    // Several developer user IDs may share one identity (LookupDeveloperIdentity lists them), so
    // the one-login-per-provider rule does not apply to the developer provider.
    if (links.size() >= static_cast<size_t>(kMaxLinkedLogins)) {
      if (created) (void)store_.deleteIdentity(target.id);
      return Status::limitExceeded("An identity may have at most 20 linked logins.");
    }
    Status s = store_.linkLogin(LoginLink{poolId, std::string(provider), subject, target.id});
    if (s.code() == StatusCode::kConflict) {
      if (created) (void)store_.deleteIdentity(target.id);
      return alreadyRegistered();
    }
    TETHER_RETURN_IF_ERROR(s);
  }
  return finish(target, created, std::move(merged));
}

}  // namespace tether::server
