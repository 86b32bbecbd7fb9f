// The [user_pools] table of tetherd's configuration (docs/config.md, docs/user-pools.md): how
// the Cognito User Pools service of this deployment presents itself and delivers codes.
//
//   [user_pools]
//   region = "us-east-1"             # pool ids <region>_<suffix>, ARNs, the identity-pool provider name
//   account_id = "000000000000"      # in ARNs
//   issuer = "https://auth.example.com"  # tokens' iss = <issuer>/<poolId>; default: the server's URL
//   aws_issuer = false               # iss = https://cognito-idp.<region>.amazonaws.com/<poolId> instead
//   hosted_ui_url = "https://auth.example.com"  # the hosted UI's base; default: issuer
//   code_delivery = "arn:aws:lambda:...:function:send-code"  # a [[sync_triggers]] entry (webhook/command)
//   dev_codes = false                # log every code and serve GET /_tether/cognito-idp/codes/...
//   key_dir = "/etc/tetherd/idp-keys"  # where the at-rest key lives (outside the database)
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <filesystem>
#include <string>

namespace tether::server {

struct UserPoolsConfig {
  std::string region = "us-east-1";
  std::string accountId = "000000000000";
  std::string issuer;        // "" = the server's effective issuer
  bool awsIssuer = false;
  std::string hostedUiUrl;   // "" = the issuer base
  std::string codeDelivery;  // function ARN; "" = none
  bool devCodes = false;
  std::filesystem::path keyDir;  // "" = <data dir>/keys (SQLite) or the database (PostgreSQL)
  friend bool operator==(const UserPoolsConfig&, const UserPoolsConfig&) = default;
};

}  // namespace tether::server
