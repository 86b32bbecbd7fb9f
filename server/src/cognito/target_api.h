// JsonTargetApi: an AWS JSON 1.1 service behind `POST /` with `X-Amz-Target: <Service>.<Op>`,
// for the services CognitoHttp routes to but does not own (Cognito User Pools, idp/idp_api.h),
// so that the front end needs no link-time dependency on them.
// Threading: call() blocks; CognitoHttp runs it on the worker pool.
#pragma once

#include <string_view>

#include "cognito/api_error.h"
#include "cognito/json_fields.h"
#include "net/http.h"

namespace tether::server::cognito {

class JsonTargetApi {
 public:
  virtual ~JsonTargetApi() = default;
  // `operation` = the part of X-Amz-Target after the service prefix.
  virtual ApiResult<Json> call(std::string_view operation, const HttpRequest& request) = 0;
};

}  // namespace tether::server::cognito
