// MetricsServer: the eventflow binary's HTTP endpoints on one port
// (--http-port, --http-address), served by eventflow::http:
//
//   /metrics  Prometheus text format: everything KafkaStreams::metrics()
//             reports (streams_metrics.h), the application's state, health
//             and restore progress, and the stream threads' librdkafka client
//             figures (kafka_client_metrics.h). Every series is labelled
//             application_id and instance; per-thread series add thread, per
//             task task, per store store, per partition topic and partition —
//             never a key. docs/architecture.md ("Operating it") lists them.
//   /healthz  200 unless the application is in ERROR (503 then)
//   /readyz   200 when every stream thread is RUNNING with its tasks restored
//             (none restoring) and no partition is stalled, else 503
//
// The record path never touches this class: a scrape reads the threads'
// probes and parses the clients' latest statistics reports. Other routes
// (interactive queries) may be added to the same port through http().
//
// Scrape with honor_labels: true, or Prometheus renames our `instance` label
// (the application instance) to exported_instance.
//
// Lifecycle: Start() binds and starts serving; Attach() points it at the
// running application (nullptr detaches, waiting for a scrape in progress:
// call it before destroying the KafkaStreams); the destructor stops the
// server. Thread-safety: every method from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "eventflow/core/status.h"
#include "eventflow/http/server.h"
#include "eventflow/streams/kafka_streams.h"

namespace eventflow::tools {

//! What /metrics writes besides the StreamsMetrics.
struct ApplicationStatus {
  bool attached = false;  //!< an application is attached (eventflow_up)
  streams::KafkaStreams::State state = streams::KafkaStreams::State::kCreated;
  bool ready = false;                    //!< what /readyz answers (eventflow_ready)
  int stalled_partitions = 0;            //!< eventflow_stalled_partitions
  uint64_t partition_stalls_total = 0;   //!< eventflow_partition_stalls_total
};

//! Returns the /metrics text for `metrics` and `status`, every series
//! labelled application_id and instance.
std::string StreamsMetricsText(const streams::StreamsMetrics& metrics,
                               const ApplicationStatus& status, const std::string& application_id,
                               const std::string& instance);

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
  //! The HTTP server, to serve more routes on the same port.
  http::Server& http() { return *server_; }

  //! Returns the response body of /metrics as of now (also used by tests).
  std::string ScrapeText();

 private:
  MetricsServer(std::string application_id, std::string instance)
      : application_id_(std::move(application_id)), instance_(std::move(instance)) {}
  http::Response Health(bool readiness);

  const std::string application_id_;
  const std::string instance_;
  std::mutex mu_;  // guards app_; held while reading it, so Attach(nullptr) waits
  const streams::KafkaStreams* app_ = nullptr;
  std::unique_ptr<http::Server> server_;  // stopped first by the destructor
};

}  // namespace eventflow::tools
