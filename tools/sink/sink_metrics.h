// The eventflow-sink binary's HTTP endpoints (--http-port, --http-address),
// served by eventflow::http:
//
//   /metrics  Prometheus text format: PgSinkProbe's figures and the sink
//             consumer's librdkafka client figures, every series labelled
//             group (the sink's consumer group):
//               eventflow_sink_rows_written_total{table}, _rows_deleted_total{table},
//               eventflow_sink_records_total, eventflow_sink_batches_total,
//               eventflow_sink_batch_duration_seconds, eventflow_sink_commit_duration_seconds,
//               eventflow_sink_retries_total, eventflow_sink_fenced_total,
//               eventflow_sink_reconnects_total, eventflow_sink_dlq_records_total,
//               eventflow_sink_partition_stalls_total, eventflow_sink_stalled_partitions,
//               eventflow_sink_lag_records{topic,partition}, eventflow_records_lost_total{topic},
//               eventflow_sink_postgres_connected, eventflow_sink_up, eventflow_sink_ready,
//               eventflow_kafka_* {client="consumer"} (kafka_client_metrics.h)
//   /healthz  200 unless the sink stopped with an error (503 then)
//   /readyz   200 while the sink runs (subscribed) with a PostgreSQL connection up
//             and no partition stalled (PgSinkOptions::partition_stall_timeout)
//
// Thread-safety: SinkMetricsText is reentrant; SinkHealth reads a snapshot.
#pragma once

#include <string>

#include "eventflow/http/message.h"
#include "eventflow/sinks/pg_sink.h"

namespace eventflow::tools {

//! Returns the /metrics text of a snapshot, every series labelled group.
std::string SinkMetricsText(const sinks::PgSinkProbe::Snapshot& snapshot, const std::string& group);

//! Returns the /healthz (readiness false) or /readyz answer for a snapshot.
http::Response SinkHealth(const sinks::PgSinkProbe::Snapshot& snapshot, bool readiness);

}  // namespace eventflow::tools
