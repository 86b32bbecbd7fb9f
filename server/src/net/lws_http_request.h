// Reading an HTTP request out of libwebsockets once lws has parsed its head: the method, the
// headers (the ones lws knows by name, the Cognito APIs' x-amz-* ones, and whatever else a SigV4
// signature names), the query pairs, and the RFC 9112 framing checks on the lengths. Used by the
// HTTP side of net_server.cpp; kept apart because it is about lws's header API, not about
// connections and threads.
// Thread-safety: call on the network thread, with a wsi whose head lws has parsed.
#pragma once

#include <libwebsockets.h>

#include <string>
#include <utility>
#include <vector>

#include "net/http.h"

namespace tether::server {

// "GET", "POST", ... or "" when lws saw none it knows.
std::string methodOf(lws* wsi);
// One header lws knows by token; "" when absent.
std::string copyHeader(lws* wsi, lws_token_indexes tok);
// Every header of the request into req.headers, names lower-cased.
void collectHeaders(lws* wsi, HttpRequest& req);
// The query string as decoded (name, value) pairs, in order.
std::vector<std::pair<std::string, std::string>> queryOf(lws* wsi);
// RFC 9112 section 6 checks: 0, or the status to answer (with the reason in `why`).
int framingStatus(lws* wsi, std::string& why);

}  // namespace tether::server
