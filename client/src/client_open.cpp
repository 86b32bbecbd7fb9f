// Client::open: wires the production pieces (LocalStore + SyncEngine + WsTransport).
#include "client_impl.h"
#include "transport/ws_transport.h"
#include "tether/limits.h"
#include "tuning.h"

namespace tether {

Result<std::unique_ptr<Client>> Client::open(ClientOptions options) {
  if (options.serverUrl.empty()) return Status::invalidArgument("a server URL is required");
  if (options.identityPoolId.empty() && options.identityId.empty())
    return Status::invalidArgument("an identity pool ID (or a known identity ID) is required");
  if (!options.identityPoolId.empty()) TETHER_RETURN_IF_ERROR(validatePoolId(options.identityPoolId));
  client::WsTransportOptions t;
  t.url = options.serverUrl;
  t.caFile = options.caFile;
  t.identityPoolId = options.identityPoolId;
  t.requestTimeout = options.requestTimeout;
  t.connectTimeout = options.connectTimeout;
  TETHER_TRY(std::shared_ptr<client::WsTransport> transport, client::WsTransport::start(std::move(t)));
  client::SyncEngineOptions engine;
  engine.maxRetries = client::tuning::kMaxSyncRetries;
  engine.pullPageSize = client::tuning::kPullPageSize;
  Result<std::unique_ptr<Client>> c = client::openClientWith(options, transport, transport, engine);
  if (!c.isOk()) transport->shutdown();
  return c;
}

}  // namespace tether
