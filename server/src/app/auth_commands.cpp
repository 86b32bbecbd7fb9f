// `tetherd pool add-oidc-provider | remove-oidc-provider | set-developer-provider` and
// `tetherd credentials create | list | delete`: login-provider and developer-credential
// administration straight on the data directory's database. Safe while a server runs on the
// same directory (SQLite WAL): a running tetherd picks up new providers when a login names one
// it does not know (and re-reads them every 30 s), and looks developer credentials up per request.
#include <openssl/rand.h>

#include <iostream>

#include "app/commands.h"
#include "auth/config.h"
#include "auth/login_providers.h"
#include "common/clock.h"
#include "app/open_store.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

// Administration of a directory that has no database yet is a mistake (wrong --data-dir), not a
// reason to create one (OpenMode::kMustExist).
Result<std::unique_ptr<Store>> openExistingStore(const std::string& url) {
  TETHER_TRY(OpenedStore opened, openStore(url, OpenMode::kMustExist));
  return std::move(opened.store);
}

int fail(const Status& s, int code = 1) {
  std::cerr << "tetherd: " << s.message() << "\n";
  return code;
}

Status requirePool(Store& store, const std::string& poolId) {
  TETHER_RETURN_IF_ERROR(validatePoolId(poolId));
  TETHER_TRY(std::optional<PoolInfo> pool, store.getPool(poolId));
  if (!pool) return Status::notFound("no pool " + poolId);
  return Status::ok();
}

// `n` characters drawn uniformly from `alphabet` with the OpenSSL CSPRNG (rejection sampling).
std::string randomString(size_t n, std::string_view alphabet) {
  std::string out;
  const size_t limit = 256 - 256 % alphabet.size();
  while (out.size() < n) {
    unsigned char buf[64];
    if (RAND_bytes(buf, sizeof buf) != 1) {
      std::cerr << "tetherd: the OpenSSL random generator failed\n";
      std::abort();
    }
    for (unsigned char b : buf)
      if (b < limit && out.size() < n) out += alphabet[b % alphabet.size()];
  }
  return out;
}

}  // namespace

int runAddOidcProvider(const OidcProviderArgs& args) {
  if (Status s = validateOidcProviderName(args.name); !s.isOk()) return fail(s, 2);
  if (args.issuer.empty()) return fail(Status::invalidArgument("--issuer must not be empty"), 2);
  if (args.audiences.empty()) return fail(Status::invalidArgument("give at least one --audience"), 2);
  for (const std::string& a : args.audiences)
    if (a.empty() || a.find('\n') != std::string::npos)
      return fail(Status::invalidArgument("--audience must be one non-empty line"), 2);
  if (args.jwksFile.empty() == args.jwks.empty())
    return fail(Status::invalidArgument("give exactly one of --jwks-file and --jwks"), 2);
  Result<std::unique_ptr<Store>> store = openExistingStore(args.store);
  if (!store.isOk()) return fail(store.status());
  if (Status s = requirePool(**store, args.poolId); !s.isOk()) return fail(s);
  Result<std::string> developer = (*store)->getPoolDeveloperProvider(args.poolId);
  if (developer.isOk() && *developer == args.name)
    return fail(Status::invalidArgument("the pool's developer provider is already named " + args.name), 2);

  OidcProviderRow row;
  row.poolId = args.poolId;
  row.name = args.name;
  row.issuer = args.issuer;
  row.audiences = args.audiences;
  // An absolute path: the server's working directory may differ from this command's.
  if (!args.jwksFile.empty()) row.jwksFile = std::filesystem::absolute(args.jwksFile).lexically_normal().string();
  row.jwks = args.jwks;
  row.leewaySeconds = args.leewaySeconds;
  row.createdMs = SystemClock().nowMs();
  // Refuse what the server could not use: the same checks and JWKS parsing it will do.
  if (Result<std::unique_ptr<OidcVerifier>> v = OidcVerifier::create(LoginProviders::configOf(row)); !v.isOk())
    return fail(v.status(), 2);
  if (Status s = (*store)->putOidcProvider(row); !s.isOk()) return fail(s);
  std::cout << "pool " << row.poolId << ": OIDC provider " << row.name << " (issuer " << row.issuer << ") saved\n";
  return 0;
}

int runRemoveOidcProvider(const std::string& storeUrl, const std::string& poolId, const std::string& name) {
  Result<std::unique_ptr<Store>> store = openExistingStore(storeUrl);
  if (!store.isOk()) return fail(store.status());
  if (Status s = requirePool(**store, poolId); !s.isOk()) return fail(s);
  if (Status s = (*store)->deleteOidcProvider(poolId, name); !s.isOk()) return fail(s);
  std::cout << "pool " << poolId << ": OIDC provider " << name << " removed\n";
  return 0;
}

int runSetDeveloperProvider(const std::string& storeUrl, const std::string& poolId, const std::string& name) {
  if (Status s = validateDeveloperProviderName(name); !s.isOk()) return fail(s, 2);
  Result<std::unique_ptr<Store>> store = openExistingStore(storeUrl);
  if (!store.isOk()) return fail(store.status());
  if (Status s = requirePool(**store, poolId); !s.isOk()) return fail(s);
  Result<std::string> current = (*store)->getPoolDeveloperProvider(poolId);
  if (!current.isOk()) return fail(current.status());
  // Cognito never lets DeveloperProviderName change: the identities' developer logins are
  // keyed by it, and renaming would orphan every one of them.
  if (!current->empty() && *current != name)
    return fail(Status::invalidArgument("pool " + poolId + " already has developer provider " + *current +
                                        "; it cannot be changed"), 2);
  if (Status s = (*store)->setPoolDeveloperProvider(poolId, name); !s.isOk()) return fail(s);
  std::cout << "pool " << poolId << ": developer provider " << name << "\n";
  return 0;
}

int runCredentialsCreate(const std::string& storeUrl, const std::string& description) {
  if (description.size() > 256) return fail(Status::invalidArgument("--description must be at most 256 characters"), 2);
  Result<std::unique_ptr<Store>> store = openExistingStore(storeUrl);
  if (!store.isOk()) return fail(store.status());
  DeveloperCredentialRow row;
  row.accessKeyId = "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  row.secret = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  row.description = description;
  row.createdMs = SystemClock().nowMs();
  if (Status s = (*store)->createDeveloperCredential(row); !s.isOk()) return fail(s);
  std::cout << "AccessKeyId: " << row.accessKeyId << "\n"
            << "SecretAccessKey: " << row.secret << std::endl;
  std::cerr << "tetherd: store the secret now; it is not shown again\n";
  return 0;
}

int runCredentialsList(const std::string& storeUrl) {
  Result<std::unique_ptr<Store>> store = openExistingStore(storeUrl);
  if (!store.isOk()) return fail(store.status());
  Result<std::vector<DeveloperCredentialRow>> rows = (*store)->listDeveloperCredentials();
  if (!rows.isOk()) return fail(rows.status());
  for (const DeveloperCredentialRow& r : *rows) std::cout << r.accessKeyId << "\t" << r.description << "\n";
  return 0;
}

int runCredentialsDelete(const std::string& storeUrl, const std::string& accessKeyId) {
  Result<std::unique_ptr<Store>> store = openExistingStore(storeUrl);
  if (!store.isOk()) return fail(store.status());
  if (Status s = (*store)->deleteDeveloperCredential(accessKeyId); !s.isOk()) return fail(s);
  std::cout << "deleted " << accessKeyId << "\n";
  return 0;
}

}  // namespace tether::server
