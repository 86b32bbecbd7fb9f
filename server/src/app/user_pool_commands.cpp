// `tetherd user-pool create|list`: user pools (docs/user-pools.md) straight on the store
// (--data-dir or --store), through the same code as CreateUserPool / CreateUserPoolClient /
// ListUserPools, so a pool made here is exactly one made over the API. Safe while servers run
// on the same store (they read pools per request).
#include <iostream>

#include "app/commands.h"
#include "app/open_store.h"
#include "cognito/request_auth.h"
#include "cognito/temporary_credentials.h"
#include "common/clock.h"
#include "idp/code_delivery.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/idp_api.h"

namespace tether::server {
namespace {

// Runs `fn` with an IdpApi over the store; exit 1 when the store or keys cannot be opened.
int withUserPools(const std::string& storeUrl, const std::string& region,
                  const std::function<int(idp::IdpApi&)>& fn) {
  Result<OpenedStore> opened = openStore(storeUrl, OpenMode::kCreate);
  if (!opened.isOk()) {
    std::cerr << "tetherd: " << opened.status() << "\n";
    return 1;
  }
  SystemClock clock;
  Result<std::unique_ptr<cognito::TemporaryCredentials>> credentials =
      cognito::TemporaryCredentials::open(*opened->secrets);
  if (!credentials.isOk()) {
    std::cerr << "tetherd: " << credentials.status() << "\n";
    return 1;
  }
  cognito::RequestAuthenticator authenticator(**credentials, {}, clock, opened->store.get());
  // Creating and listing pools and clients touches no key; the keyring is there for the context.
  idp::IdpKeyring keys(*opened->secrets, *opened->secrets);
  idp::CodeDelivery delivery(nullptr, "", false);
  idp::IdpSettings settings;
  settings.region = region;
  idp::IdpContext ctx{*opened->store, keys, nullptr, nullptr, nullptr, authenticator, clock, delivery, settings};
  idp::IdpApi api(ctx);
  return fn(api);
}

int fail(const cognito::ApiError& e) {
  std::cerr << "tetherd: " << e.type << ": " << e.message << "\n";
  return e.type == "InvalidParameterException" ? 2 : 1;
}

}  // namespace

int runUserPoolCreate(const UserPoolCreateArgs& args) {
  return withUserPools(args.store, args.region, [&](idp::IdpApi& api) {
    nlohmann::json pool = {{"PoolName", args.name}};
    if (!args.autoVerifyEmail) pool["AutoVerifiedAttributes"] = nlohmann::json::array();
    else pool["AutoVerifiedAttributes"] = {"email"};
    if (args.emailAsUsername) pool["UsernameAttributes"] = {"email"};
    cognito::ApiResult<nlohmann::json> created = api.callAsAdministrator("CreateUserPool", pool);
    if (!created.isOk()) return fail(created.error());
    const std::string poolId = (*created)["UserPool"]["Id"];
    std::cout << "UserPoolId\t" << poolId << std::endl;
    for (const std::string& name : args.clients) {
      nlohmann::json client = {{"UserPoolId", poolId}, {"ClientName", name}, {"GenerateSecret", args.generateSecret}};
      if (args.passwordAuth)
        client["ExplicitAuthFlows"] = {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
                                       "ALLOW_ADMIN_USER_PASSWORD_AUTH"};
      cognito::ApiResult<nlohmann::json> c = api.callAsAdministrator("CreateUserPoolClient", client);
      if (!c.isOk()) return fail(c.error());
      std::cout << "ClientId\t" << (*c)["UserPoolClient"]["ClientId"].get<std::string>() << "\t" << name;
      if ((*c)["UserPoolClient"].contains("ClientSecret"))
        std::cout << "\tClientSecret=" << (*c)["UserPoolClient"]["ClientSecret"].get<std::string>();
      std::cout << std::endl;
    }
    return 0;
  });
}

int runUserPoolList(const std::string& storeUrl) {
  return withUserPools(storeUrl, "us-east-1", [&](idp::IdpApi& api) {
    std::string next;
    do {
      nlohmann::json in = {{"MaxResults", 60}};
      if (!next.empty()) in["NextToken"] = next;
      cognito::ApiResult<nlohmann::json> page = api.callAsAdministrator("ListUserPools", in);
      if (!page.isOk()) return fail(page.error());
      for (const nlohmann::json& p : (*page)["UserPools"]) {
        std::cout << p["Id"].get<std::string>() << "\t" << p["Name"].get<std::string>() << "\n";
        cognito::ApiResult<nlohmann::json> clients =
            api.callAsAdministrator("ListUserPoolClients", {{"UserPoolId", p["Id"]}, {"MaxResults", 60}});
        if (!clients.isOk()) return fail(clients.error());
        for (const nlohmann::json& c : (*clients)["UserPoolClients"])
          std::cout << "  client\t" << c["ClientId"].get<std::string>() << "\t" << c["ClientName"].get<std::string>()
                    << "\n";
      }
      next = page->value("NextToken", "");
    } while (!next.empty());
    std::cout << std::flush;
    return 0;
  });
}

}  // namespace tether::server
