#include "sink_metrics.h"

#include "eventflow/sinks/table_contract.h"
#include "kafka_client_metrics.h"
#include "prometheus_text.h"

namespace eventflow::tools {
namespace {

using Snapshot = sinks::PgSinkProbe::Snapshot;
using SinkState = sinks::PgSinkProbe::State;

std::string_view StateName(SinkState state) {
  switch (state) {
    case SinkState::kStarting:
      return "STARTING";
    case SinkState::kRunning:
      return "RUNNING";
    case SinkState::kStopped:
      return "STOPPED";
    case SinkState::kFailed:
      return "FAILED";
  }
  return "?";
}

bool Ready(const Snapshot& s) {
  return s.state == SinkState::kRunning && s.postgres_connected && s.stalled_partitions == 0;
}

}  // namespace

std::string SinkMetricsText(const Snapshot& s, const std::string& group) {
  PrometheusText out(Labels{{"group", group}});
  out.Family("eventflow_sink_up", "gauge", "1 while the sink runs (0 once it stopped or failed)");
  out.Sample("eventflow_sink_up", {},
             s.state == SinkState::kStarting || s.state == SinkState::kRunning ? 1 : 0);
  out.Family("eventflow_sink_ready", "gauge",
             "1 while the sink runs with a PostgreSQL connection up and no partition stalled "
             "(what /readyz answers)");
  out.Sample("eventflow_sink_ready", {}, Ready(s) ? 1 : 0);
  out.Family("eventflow_sink_postgres_connected", "gauge",
             "1 while the sink has a PostgreSQL connection (0 during an outage)");
  out.Sample("eventflow_sink_postgres_connected", {}, s.postgres_connected ? 1 : 0);
  const auto& tables = sinks::PipelineTables();
  out.Family("eventflow_sink_rows_written_total", "counter",
             "Rows upserted into PostgreSQL by committed batches, per table");
  for (size_t t = 0; t < sinks::kTableCount; ++t) {
    out.Sample("eventflow_sink_rows_written_total", {{"table", std::string(tables[t].name)}},
               double(s.rows_written[t]));
  }
  out.Family("eventflow_sink_rows_deleted_total", "counter",
             "Rows deleted by tombstones in committed batches, per table");
  for (size_t t = 0; t < sinks::kTableCount; ++t) {
    out.Sample("eventflow_sink_rows_deleted_total", {{"table", std::string(tables[t].name)}},
               double(s.rows_deleted[t]));
  }
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out.Family(name, "counter", help);
    out.Sample(name, {}, double(value));
  };
  counter("eventflow_sink_records_total", "Records covered by committed batches",
          s.records_consumed);
  counter("eventflow_sink_batches_total", "Batches committed (one PostgreSQL transaction each)",
          s.batches);
  counter("eventflow_sink_retries_total",
          "Batches rolled back and retried or re-read (any reason)", s.retries);
  counter("eventflow_sink_fenced_total",
          "Compare-and-set failures: another sink instance wrote past this one", s.fenced);
  counter("eventflow_sink_reconnects_total", "PostgreSQL reconnections after an outage",
          s.reconnects);
  counter("eventflow_sink_dlq_records_total",
          "Records (bad rows) sent to the sink's dead-letter topic", s.dlq_records);
  counter("eventflow_sink_partition_stalls_total",
          "Partitions found stalled (records past the sink's position, none received for "
          "--partition-stall-timeout-ms); each one's fetch was restarted",
          s.partition_stalls);
  out.Family("eventflow_sink_stalled_partitions", "gauge",
             "Assigned partitions stalled now (nothing received since found stalled)");
  out.Sample("eventflow_sink_stalled_partitions", {}, s.stalled_partitions);
  out.Family("eventflow_sink_batch_duration_seconds", "histogram",
             "Time to write a batch: from its first attempt to its COMMIT, retries included");
  out.Histogram("eventflow_sink_batch_duration_seconds", {}, s.batch_duration);
  out.Family("eventflow_sink_commit_duration_seconds", "histogram",
             "Time PostgreSQL took to COMMIT a batch's transaction");
  out.Histogram("eventflow_sink_commit_duration_seconds", {}, s.commit_duration);
  out.Family("eventflow_records_lost_total", "counter",
             "Records deleted by the broker before the sink wrote them, skipped under "
             "--on-data-loss=skip, per topic");
  for (size_t t = 0; t < sinks::kTableCount; ++t) {
    out.Sample("eventflow_records_lost_total", {{"topic", s.topics[t]}},
               double(s.records_lost[t]));
  }
  out.Family("eventflow_sink_lag_records", "gauge",
             "Offsets between the partition's last stable offset (from the consumer's statistics "
             "every statistics.interval.ms) and what PostgreSQL holds, per assigned partition");
  for (const sinks::PgSinkProbe::PartitionLag& p : s.partitions) {
    if (p.lag < 0) continue;
    out.Sample("eventflow_sink_lag_records",
               {{"topic", p.topic}, {"partition", std::to_string(p.partition)}}, double(p.lag));
  }
  WriteKafkaClientMetrics(out, {{{{"client", "consumer"}}, s.consumer_statistics}});
  return out.Take();
}

http::Response SinkHealth(const Snapshot& s, bool readiness) {
  std::string text(StateName(s.state));
  if (!readiness) return http::Response::Text(s.state == SinkState::kFailed ? 503 : 200, text + "\n");
  if (s.state == SinkState::kRunning && !s.postgres_connected) text += " (PostgreSQL unreachable)";
  if (s.state == SinkState::kRunning && s.stalled_partitions > 0) {
    text += " (" + std::to_string(s.stalled_partitions) + " partition(s) stalled)";
  }
  return http::Response::Text(Ready(s) ? 200 : 503, text + "\n");
}

}  // namespace eventflow::tools
