// The server's metrics, exported at /metrics in the Prometheus text format (every family is
// described in docs/operations.md; keep the two in step: a test checks). Counters are
// lock-free; the labelled families (common/metrics.h) look a series up under a short mutex.
// Any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <utility>

#include "common/metrics.h"
#include "net/process_metrics.h"

namespace tether::server {

struct ServerMetrics {
  // Abuse limits (docs/security.md): each refusal counts under its limit's label.
  enum Limit {
    kConnectionsPerAddress,
    kRequestHeadTimeout,
    kPendingRequestsPerConnection,
    kIdentityCreationPerAddress,
    kIdentityCreationPerPool,
    kTokenIssuancePerAddress,
    kTokenIssuancePerPool,
    kSignInPerAddress,
    kSignInPerPool,
    kWritesPerAddress,
    kWritesPerPool,
    kLimitCount
  };
  static constexpr const char* kLimitNames[kLimitCount] = {
      "connections_per_address", "request_head_timeout", "pending_requests_per_connection",
      "identity_creation_per_address", "identity_creation_per_pool", "token_issuance_per_address",
      "token_issuance_per_pool", "sign_in_per_address", "sign_in_per_pool", "writes_per_address",
      "writes_per_pool"};
  std::atomic<int64_t> limitRejections[kLimitCount] = {};

  // Requests refused for their framing, by status (request_head.h and the HTTP callback).
  static constexpr int kFramingStatuses[] = {400, 408, 411, 413, 414, 431, 501, 505};
  std::atomic<int64_t> framingRejections[std::size(kFramingStatuses)] = {};
  void countHeadRejection(int status) {
    for (size_t i = 0; i < std::size(kFramingStatuses); ++i)
      if (kFramingStatuses[i] == status) framingRejections[i]++;
  }

  std::atomic<int64_t> tcpConnectionsOpen{0};   // every accepted socket (HTTP, WebSocket, pending)
  std::atomic<int64_t> tcpConnectionsTotal{0};
  std::atomic<int64_t> connectionsOpen{0};
  std::atomic<int64_t> connectionsTotal{0};
  std::atomic<int64_t> requestsTotal{0};
  std::atomic<int64_t> conflictsTotal{0};
  std::atomic<int64_t> batchesAcceptedTotal{0};
  std::atomic<int64_t> recordsAcceptedTotal{0};
  std::atomic<int64_t> protocolErrorsTotal{0};
  std::atomic<int64_t> httpRequestsTotal{0};
  std::atomic<int64_t> slowReadersClosedTotal{0};
  // Live-sync change notices (docs/live-sync.md) to native-protocol connections: written to the
  // socket, superseded by a newer one for the same dataset before they were written, or dropped
  // (the connection was closing or gone).
  std::atomic<int64_t> noticesSentTotal{0};
  std::atomic<int64_t> pushesCoalescedTotal{0};
  std::atomic<int64_t> noticesDroppedTotal{0};

  // Requests by surface (cognito-identity, cognito-sync, cognito-idp, native, ops, ...) and
  // operation, from arrival to answer; error answers by the error name the client sees.
  metrics::HistogramFamily requestSeconds{"tether_request_duration_seconds",
                                          "Requests from arrival to answer, by surface and operation.",
                                          {"surface", "operation"}, 400, metrics::kLatencyBuckets};
  metrics::CounterFamily requestErrors{"tether_request_errors_total",
                                       "Requests answered with an error, by surface and error name.",
                                       {"surface", "error"}, 300};
  // More families, rendered by their owner (the cross-node change bus when the store is
  // shared). Set before serving; called on the network thread.
  std::function<std::string()> moreText;

  std::string prometheusText() const {
    std::string out;
    auto line = [&out](const char* name, const char* type, const char* help, int64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
             name + " " + std::to_string(v) + "\n";
    };
    auto labelled = [&out](const char* name, const char* type, const char* help, const char* label,
                           std::initializer_list<std::pair<const char*, int64_t>> series) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
      for (const auto& [value, v] : series)
        out += std::string(name) + "{" + label + "=\"" + value + "\"} " + std::to_string(v) + "\n";
    };
    const int64_t wsOpen = connectionsOpen.load();
    labelled("tether_connections_open", "gauge",
             "Connections now open, by protocol (http: every other TCP connection, including pending heads).",
             "protocol", {{"http", std::max<int64_t>(0, tcpConnectionsOpen.load() - wsOpen)}, {"websocket_native", wsOpen}});
    labelled("tether_connections_total", "counter", "Native protocol (WebSocket) connections accepted.", "protocol",
             {{"websocket_native", connectionsTotal.load()}});
    labelled("tether_requests_total", "counter", "Requests received, by protocol (HTTP requests, native request frames).",
             "protocol", {{"http", httpRequestsTotal.load()}, {"websocket_native", requestsTotal.load()}});
    requestSeconds.render(out);
    requestErrors.render(out);
    line("tether_conflicts_total", "counter", "Batches rejected for a stale sync count.", conflictsTotal.load());
    line("tether_batches_accepted_total", "counter", "Record batches accepted.", batchesAcceptedTotal.load());
    line("tether_records_accepted_total", "counter", "Records written by accepted batches.", recordsAcceptedTotal.load());
    line("tether_protocol_errors_total", "counter", "Frames that could not be understood.", protocolErrorsTotal.load());
    line("tether_slow_readers_closed_total", "counter",
         "Connections closed (1008) because their outbound queue passed its bound.",
         slowReadersClosedTotal.load());
    labelled("tether_live_sync_notices_total", "counter",
             "Live-sync change notices to native connections: sent, coalesced (superseded by a newer one "
             "before they were written) or dropped (connection closing or gone).",
             "result", {{"sent", noticesSentTotal.load()}, {"coalesced", pushesCoalescedTotal.load()},
                        {"dropped", noticesDroppedTotal.load()}});
    line("tether_tcp_connections_open", "gauge", "TCP connections now open (all kinds, including pending heads).",
         tcpConnectionsOpen.load());
    line("tether_tcp_connections_total", "counter", "TCP connections accepted.", tcpConnectionsTotal.load());
    out += "# HELP tether_limit_rejections_total Requests or connections refused by an abuse limit.\n"
           "# TYPE tether_limit_rejections_total counter\n";
    for (int i = 0; i < kLimitCount; ++i)
      out += std::string("tether_limit_rejections_total{limit=\"") + kLimitNames[i] + "\"} " +
             std::to_string(limitRejections[i].load()) + "\n";
    out += "# HELP tether_http_framing_rejections_total HTTP requests refused for their framing, by status.\n"
           "# TYPE tether_http_framing_rejections_total counter\n";
    for (size_t i = 0; i < std::size(kFramingStatuses); ++i)
      out += "tether_http_framing_rejections_total{status=\"" + std::to_string(kFramingStatuses[i]) + "\"} " +
             std::to_string(framingRejections[i].load()) + "\n";
    out += metrics::StoreMetrics::get().text();
    out += processMetricsText();
    if (moreText) out += moreText();
    return out;
  }
};

}  // namespace tether::server
