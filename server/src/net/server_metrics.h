// Counters exported at /metrics in the Prometheus text format. Lock-free; any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>

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
  std::atomic<int64_t> requestErrorsTotal{0};
  std::atomic<int64_t> conflictsTotal{0};
  std::atomic<int64_t> batchesAcceptedTotal{0};
  std::atomic<int64_t> recordsAcceptedTotal{0};
  std::atomic<int64_t> protocolErrorsTotal{0};
  std::atomic<int64_t> httpRequestsTotal{0};
  std::atomic<int64_t> slowReadersClosedTotal{0};
  std::atomic<int64_t> pushesCoalescedTotal{0};
  // More families, rendered by their owner (the cross-node change bus when the store is
  // shared). Set before serving; called on the network thread.
  std::function<std::string()> moreText;

  std::string prometheusText() const {
    std::string out;
    auto line = [&out](const char* name, const char* type, const char* help, int64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
             name + " " + std::to_string(v) + "\n";
    };
    line("tether_ws_connections_open", "gauge", "Native protocol connections now open.", connectionsOpen.load());
    line("tether_ws_connections_total", "counter", "Native protocol connections accepted.", connectionsTotal.load());
    line("tether_requests_total", "counter", "Native protocol requests received.", requestsTotal.load());
    line("tether_request_errors_total", "counter", "Requests answered with an error.", requestErrorsTotal.load());
    line("tether_conflicts_total", "counter", "Batches rejected for a stale sync count.", conflictsTotal.load());
    line("tether_batches_accepted_total", "counter", "Record batches accepted.", batchesAcceptedTotal.load());
    line("tether_records_accepted_total", "counter", "Records written by accepted batches.", recordsAcceptedTotal.load());
    line("tether_protocol_errors_total", "counter", "Frames that could not be understood.", protocolErrorsTotal.load());
    line("tether_http_requests_total", "counter", "HTTP requests received.", httpRequestsTotal.load());
    line("tether_slow_readers_closed_total", "counter",
         "Connections closed (1008) because their outbound queue passed its bound.",
         slowReadersClosedTotal.load());
    line("tether_pushes_coalesced_total", "counter",
         "Change notifications superseded by a newer one before they were written.",
         pushesCoalescedTotal.load());
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
    if (moreText) out += moreText();
    return out;
  }
};

}  // namespace tether::server
