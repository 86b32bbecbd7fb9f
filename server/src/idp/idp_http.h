// IdpHttp: the user-pool endpoints outside the JSON API, on tetherd's port (spec
// cognito-user-pools.md 6.1, 7.8, 10.4):
//   GET /<poolId>/.well-known/jwks.json              the pool's two public keys
//   GET /<poolId>/.well-known/openid-configuration   OpenID discovery for generic verifiers
//   GET /_tether/cognito-idp/codes/<poolId>/<user>   the last code sent (dev_codes mode only)
// Anything else goes to `next`. The work (store and key reads) runs on the worker pool.
// Thread-safety: handle() on the network thread; the references outlive this object.
#pragma once

#include "common/work_pool.h"
#include "idp/idp_context.h"
#include "idp/token_service.h"
#include "net/http.h"

namespace tether::server::idp {

class IdpHttp final : public HttpHandler {
 public:
  IdpHttp(IdpContext& ctx, TokenService& tokens, WorkPool& pool, HttpHandler* next)
      : ctx_(ctx), tokens_(tokens), pool_(pool), next_(next) {}
  void handle(HttpRequest request, Reply reply) override;

 private:
  HttpResponse wellKnown(const std::string& poolId, const std::string& document);
  HttpResponse devCode(const std::string& poolId, const std::string& user);

  IdpContext& ctx_;
  TokenService& tokens_;
  WorkPool& pool_;
  HttpHandler* next_;
};

}  // namespace tether::server::idp
