// Counters exported at /metrics in the Prometheus text format. Lock-free; any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace tether::server {

struct ServerMetrics {
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
    if (moreText) out += moreText();
    return out;
  }
};

}  // namespace tether::server
