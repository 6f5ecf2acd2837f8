// MetricsServer: the eventflow binary's HTTP endpoints, on one loopback (by
// default) port:
//
//   /metrics  Prometheus text format (prometheus-cpp core's TextSerializer):
//             eventflow_records_processed_total, eventflow_records_dropped_total
//             {reason="late"}, eventflow_restored_records_total{store},
//             eventflow_restore_remaining_records{store},
//             eventflow_application_state{state} (1 for the current state, else 0),
//             eventflow_records_lost_total{topic}, eventflow_partition_stalls_total,
//             eventflow_stalled_partitions,
//             eventflow_up; every series labelled application_id and instance.
//   /healthz  200 unless the application is in ERROR (503 then)
//   /readyz   200 when the application is RUNNING (all tasks assigned and
//             restored) and no partition is stalled, else 503
//
// The record path never touches this class: each scrape polls KafkaStreams'
// counters (processed(), dropped_late(), restore_metrics(), state()) and turns
// them into the registry's counters and gauges then. Requests are served by an
// http::Server (eventflow/http/server.h): concurrently, bounded in size and
// time.
//
// Lifecycle: Start() binds and starts serving; Attach() points it at the
// running application (nullptr detaches; call before destroying the
// KafkaStreams); the destructor stops the server.
// Thread-safety: Attach() and port() from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "eventflow/core/status.h"
#include "eventflow/http/server.h"
#include "eventflow/streams/kafka_streams.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace eventflow::tools {

class MetricsServer {
 public:
  //! Binds `address`:`port` (port 0: any free port, see port()) and starts
  //! serving. Returns InvalidArgument naming --http-address/--http-port when
  //! the address is bad or the port cannot be bound.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address, int port,
                                                      const std::string& application_id,
                                                      const std::string& instance);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  //! Serves the metrics and health of `app` from now on (nullptr: none; then
  //! /healthz is 200, /readyz 503 and /metrics has eventflow_up 0 only).
  void Attach(const streams::KafkaStreams* app);
  //! Returns the bound port.
  int port() const { return server_->port(); }

  //! Returns the response body of /metrics as of now (also used by tests).
  std::string ScrapeText();

 private:
  MetricsServer(const std::string& application_id, const std::string& instance);
  http::Response Health(bool readiness);

  std::mutex mu_;  // guards app_ and the registry's last-seen values
  const streams::KafkaStreams* app_ = nullptr;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* restored_ = nullptr;
  prometheus::Family<prometheus::Gauge>* remaining_ = nullptr;
  prometheus::Family<prometheus::Gauge>* state_ = nullptr;
  prometheus::Counter* processed_ = nullptr;
  prometheus::Counter* dropped_late_ = nullptr;
  prometheus::Gauge* up_ = nullptr;
  prometheus::Family<prometheus::Counter>* lost_ = nullptr;
  prometheus::Counter* stalls_ = nullptr;
  prometheus::Gauge* stalled_ = nullptr;
  std::map<std::string, prometheus::Gauge*> state_gauges_;
  // The application's counters as of the last scrape: a counter grows by the
  // difference (a restarted count never makes it go back).
  uint64_t last_processed_ = 0;
  uint64_t last_dropped_late_ = 0;
  std::map<std::string, uint64_t> last_restored_;
  std::map<std::string, uint64_t> last_lost_;
  uint64_t last_stalls_ = 0;
  std::unique_ptr<http::Server> server_;  // last: stopped first
};

}  // namespace eventflow::tools
