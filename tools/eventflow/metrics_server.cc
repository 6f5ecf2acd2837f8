#include "metrics_server.h"

#include <functional>
#include <string_view>

#include "eventflow/core/log.h"
#include "kafka_client_metrics.h"
#include "prometheus_text.h"

namespace eventflow::tools {
namespace {

using State = streams::KafkaStreams::State;
constexpr State kStates[] = {State::kCreated,         State::kRebalancing, State::kRunning,
                             State::kPendingShutdown, State::kNotRunning,  State::kError};

using streams::StreamsMetrics;
using streams::TaskMetrics;
using streams::ThreadMetrics;

void WriteInstance(PrometheusText& out, const StreamsMetrics& m, const ApplicationStatus& s) {
  out.Family("eventflow_up", "gauge", "1 while a streams application is attached to this endpoint");
  out.Sample("eventflow_up", {}, s.attached ? 1 : 0);
  if (!s.attached) return;
  out.Family("eventflow_application_state", "gauge",
             "1 for the application's current state, 0 for the others");
  for (State state : kStates) {
    out.Sample("eventflow_application_state",
               {{"state", std::string(streams::KafkaStreams::StateName(state))}},
               state == s.state ? 1 : 0);
  }
  out.Family("eventflow_ready", "gauge",
             "1 when every stream thread runs with its tasks restored and no partition is "
             "stalled (what /readyz answers)");
  out.Sample("eventflow_ready", {}, s.ready ? 1 : 0);
  out.Family("eventflow_stalled_partitions", "gauge",
             "Input partitions stalled now (non-zero: /readyz answers 503)");
  out.Sample("eventflow_stalled_partitions", {}, s.stalled_partitions);
  out.Family("eventflow_partition_stalls_total", "counter",
             "Input partitions found stalled: records to read and none taken for "
             "--partition-stall-timeout-ms");
  out.Sample("eventflow_partition_stalls_total", {}, double(s.partition_stalls_total));
  out.Family("eventflow_restored_records_total", "counter",
             "Changelog records restored into state stores, per store");
  for (const auto& [store, r] : m.restore) {
    out.Sample("eventflow_restored_records_total", {{"store", store}},
               double(r.restored_records_total));
  }
  out.Family("eventflow_restore_remaining_records", "gauge",
             "Changelog records still to restore, per store (0: none running)");
  for (const auto& [store, r] : m.restore) {
    out.Sample("eventflow_restore_remaining_records", {{"store", store}},
               double(r.remaining_records));
  }
  out.Family("eventflow_warming_up", "gauge",
             "1 while the instance warms the tasks it will get before joining the group "
             "(--standby-replicas; the old owners keep processing meanwhile)");
  out.Sample("eventflow_warming_up", {}, m.warming_up ? 1 : 0);
  out.Family("eventflow_warmup_tasks", "gauge", "Tasks the instance warms up before joining");
  out.Sample("eventflow_warmup_tasks", {}, m.warmup_tasks);
  out.Family("eventflow_records_lost_total", "counter",
             "Records skipped because the broker no longer had them (deleted by retention or "
             "DeleteRecords before they were read), per topic; 0 unless --on-data-loss=skip");
  for (const auto& [topic, n] : m.records_lost) {
    out.Sample("eventflow_records_lost_total", {{"topic", topic}}, double(n));
  }
  auto gauge = [&](const char* name, const char* help, uint64_t value) {
    out.Family(name, "gauge", help);
    out.Sample(name, {}, double(value));
  };
  gauge("eventflow_rocksdb_block_cache_capacity_bytes",
        "Capacity of the instance's shared RocksDB block cache (the state memory budget less "
        "the record caches)",
        m.block_cache_capacity_bytes);
  gauge("eventflow_rocksdb_block_cache_usage_bytes",
        "Bytes held by the shared block cache: blocks, index and filter blocks, and the "
        "memtables charged to it",
        m.block_cache_usage_bytes);
  gauge("eventflow_rocksdb_block_cache_pinned_bytes", "Bytes of the block cache pinned in use",
        m.block_cache_pinned_bytes);
  gauge("eventflow_rocksdb_memtable_limit_bytes",
        "Limit of all memtables of the instance (the write buffer manager's)",
        m.memtable_limit_bytes);
  gauge("eventflow_rocksdb_memtable_usage_bytes",
        "Bytes of all memtables of the instance (the write buffer manager's)",
        m.memtable_usage_bytes);
  gauge("eventflow_record_cache_limit_bytes",
        "The instance's record cache budget, split among its threads' tasks",
        m.record_cache_limit_bytes);
}

void WriteThreads(PrometheusText& out, const StreamsMetrics& m) {
  auto per_task = [&](const char* name, const char* type, const char* help, bool active_only,
                      const std::function<double(const TaskMetrics&)>& value) {
    out.Family(name, type, help);
    for (const ThreadMetrics& t : m.threads) {
      for (const TaskMetrics& task : t.tasks) {
        if (active_only && !task.active) continue;
        out.Sample(name, {{"thread", t.thread}, {"task", task.task}}, value(task));
      }
    }
  };
  per_task("eventflow_records_processed_total", "counter",
           "Records the topology processed, per task (dead-lettered ones are counted in "
           "eventflow_dlq_records_total; records processed again after an aborted transaction "
           "count again)",
           false, [](const TaskMetrics& t) { return double(t.processed); });
  per_task("eventflow_dlq_records_total", "counter",
           "Records sent to the dead-letter topic <application_id>-dlq, per task", false,
           [](const TaskMetrics& t) { return double(t.dead_lettered); });
  per_task("eventflow_punctuations_total", "counter", "Punctuator calls, per task", false,
           [](const TaskMetrics& t) { return double(t.punctuations); });
  per_task("eventflow_watermark_records_total", "counter",
           "Watermark records consumed from repartition topics, per task", false,
           [](const TaskMetrics& t) { return double(t.watermark_records); });
  per_task("eventflow_record_cache_hits_total", "counter",
           "Record cache reads served from the cache, per task", false,
           [](const TaskMetrics& t) { return double(t.cache_hits); });
  per_task("eventflow_record_cache_misses_total", "counter",
           "Record cache reads that went to the store, per task", false,
           [](const TaskMetrics& t) { return double(t.cache_misses); });
  per_task("eventflow_record_cache_evictions_total", "counter",
           "Record cache entries evicted (written through) to stay within its bound, per task",
           false, [](const TaskMetrics& t) { return double(t.cache_evictions); });
  per_task("eventflow_record_cache_bytes", "gauge", "Bytes in the task's record cache", true,
           [](const TaskMetrics& t) { return double(t.cache_bytes); });
  per_task("eventflow_record_cache_entries", "gauge", "Entries in the task's record cache", true,
           [](const TaskMetrics& t) { return double(t.cache_entries); });

  out.Family("eventflow_records_dropped_total", "counter",
             "Records (window updates) dropped, by reason; late: their window had closed on the "
             "watermark (counted at commit)");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_records_dropped_total", {{"thread", t.thread}, {"reason", "late"}},
               double(t.dropped_late));
  }
  out.Family("eventflow_process_duration_seconds", "histogram",
             "Time a record takes through the topology: each batch a task processes (up to 200 "
             "records) is timed once and its average counted for each of its records");
  for (const ThreadMetrics& t : m.threads) {
    out.Histogram("eventflow_process_duration_seconds", {{"thread", t.thread}}, t.process_duration);
  }
  out.Family("eventflow_commit_duration_seconds", "histogram",
             "Duration of a commit: record caches flushed, watermarks sent, the Kafka "
             "transaction (or offset commit) and the state stores");
  for (const ThreadMetrics& t : m.threads) {
    out.Histogram("eventflow_commit_duration_seconds", {{"thread", t.thread}}, t.commit_duration);
  }
  out.Family("eventflow_commit_failures_total", "counter",
             "Commits that failed (the thread then aborts and rewinds, or stops)");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_commit_failures_total", {{"thread", t.thread}}, double(t.commits_failed));
  }
  out.Family("eventflow_transactions_total", "counter",
             "Exactly-once transactions, by result: committed, or aborted (including those lost "
             "with a fenced or fatal producer)");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_transactions_total", {{"thread", t.thread}, {"result", "committed"}},
               double(t.transactions_committed));
    out.Sample("eventflow_transactions_total", {{"thread", t.thread}, {"result", "aborted"}},
               double(t.transactions_aborted));
  }
  out.Family("eventflow_thread_time_seconds_total", "counter",
             "Time the stream thread spent per activity; rate() is the time ratio. poll includes "
             "rebalances, restores and waiting when idle");
  for (const ThreadMetrics& t : m.threads) {
    for (const auto& [activity, seconds] :
         {std::pair<const char*, double>{"poll", t.poll_seconds},
          {"process", t.process_seconds},
          {"punctuate", t.punctuate_seconds},
          {"commit", t.commit_seconds}}) {
      out.Sample("eventflow_thread_time_seconds_total",
                 {{"thread", t.thread}, {"activity", activity}}, seconds);
    }
  }
  out.Family("eventflow_rebalances_total", "counter",
             "Assignments the stream thread received (each rebalance it took part in)");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_rebalances_total", {{"thread", t.thread}}, double(t.rebalances));
  }
  out.Family("eventflow_active_tasks", "gauge",
             "Active tasks of the stream thread, by state: running, or restoring their stores");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_active_tasks", {{"thread", t.thread}, {"state", "running"}},
               t.active_tasks - t.restoring_tasks);
    out.Sample("eventflow_active_tasks", {{"thread", t.thread}, {"state", "restoring"}},
               t.restoring_tasks);
  }
  out.Family("eventflow_standby_tasks", "gauge",
             "Standby tasks of the stream thread: warm copies of tasks other instances run "
             "(also the tasks it warms up before joining)");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_standby_tasks", {{"thread", t.thread}}, t.standby_tasks);
  }
  out.Family("eventflow_standby_lag_records", "gauge",
             "Changelog offsets a standby task's copy of a store is behind its changelog's end "
             "(as the restore consumer last saw it; 0 at its end), per standby task and store");
  for (const ThreadMetrics& t : m.threads) {
    for (const streams::StandbyMetrics& sb : t.standbys) {
      if (sb.lag < 0) continue;
      out.Sample("eventflow_standby_lag_records",
                 {{"thread", t.thread}, {"task", sb.task}, {"store", sb.store}}, double(sb.lag));
    }
  }
  out.Family("eventflow_standby_records_total", "counter",
             "Changelog records applied to the stream thread's standby tasks");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_standby_records_total", {{"thread", t.thread}}, double(t.standby_records));
  }
  out.Family("eventflow_task_restores_total", "counter",
             "Tasks that arrived on the stream thread through an assignment (a move, a start, or "
             "a rebalance they stayed through), by how their stores restored: none (at the "
             "changelog's end), tail (from the stored offsets: a local or standby copy), full "
             "(a store without a usable offset)");
  for (const ThreadMetrics& t : m.threads) {
    for (const auto& [kind, n] : {std::pair<const char*, uint64_t>{"none", t.arrivals.restores_none},
                                  {"tail", t.arrivals.restores_tail},
                                  {"full", t.arrivals.restores_full}}) {
      out.Sample("eventflow_task_restores_total", {{"thread", t.thread}, {"kind", kind}}, double(n));
    }
  }
  out.Family("eventflow_task_restore_records_total", "counter",
             "Changelog records replayed for tasks arriving on the stream thread");
  for (const ThreadMetrics& t : m.threads) {
    out.Sample("eventflow_task_restore_records_total", {{"thread", t.thread}},
               double(t.arrivals.restore_records));
  }
  out.Family("eventflow_task_move_gap_seconds", "histogram",
             "Processing gap of a task across a rebalance: from the last record processed before "
             "it (by whichever instance; the time travels in the committed offsets' metadata) to "
             "its first record here; moved=\"true\": the task came from elsewhere, \"false\": "
             "this thread ran it before the rebalance too");
  for (const ThreadMetrics& t : m.threads) {
    out.Histogram("eventflow_task_move_gap_seconds", {{"thread", t.thread}, {"moved", "true"}},
                  t.move_gap_moved);
    out.Histogram("eventflow_task_move_gap_seconds", {{"thread", t.thread}, {"moved", "false"}},
                  t.move_gap_stayed);
  }
  out.Family("eventflow_consumer_lag_records", "gauge",
             "Offsets between the partition's end (last stable offset under exactly-once, "
             "from the consumer's statistics every statistics.interval.ms) and the thread's "
             "position, per assigned input partition");
  for (const ThreadMetrics& t : m.threads) {
    for (const streams::PartitionLag& p : t.partitions) {
      if (p.lag < 0) continue;
      out.Sample("eventflow_consumer_lag_records",
                 {{"thread", t.thread}, {"topic", p.topic}, {"partition", std::to_string(p.partition)}},
                 double(p.lag));
    }
  }
  out.Family("eventflow_e2e_latency_seconds", "histogram",
             "End-to-end latency per output topic: the wall clock when the record is sent minus "
             "its timestamp (the event time in the pipeline)");
  for (const ThreadMetrics& t : m.threads) {
    for (const auto& [topic, h] : t.e2e_latency) {
      out.Histogram("eventflow_e2e_latency_seconds", {{"thread", t.thread}, {"topic", topic}},
                    h);
    }
  }
  auto per_store = [&](const char* name, const char* help,
                       const std::function<double(const streams::StoreMetrics&)>& value) {
    out.Family(name, "gauge", help);
    for (const ThreadMetrics& t : m.threads) {
      for (const streams::StoreMetrics& s : t.stores) {
        out.Sample(name, {{"thread", t.thread}, {"task", s.task}, {"store", s.store}}, value(s));
      }
    }
  };
  per_store("eventflow_state_store_bytes",
            "Size of a task's state store: RocksDB's live SST files plus memtables (sampled "
            "every 5 s; 0 for in-memory stores)",
            [](const streams::StoreMetrics& s) {
              return double(s.live_sst_bytes + s.memtable_bytes);
            });
  per_store("eventflow_rocksdb_live_sst_bytes", "rocksdb.live-sst-files-size of the store",
            [](const streams::StoreMetrics& s) { return double(s.live_sst_bytes); });
  per_store("eventflow_rocksdb_memtable_bytes", "rocksdb.cur-size-all-mem-tables of the store",
            [](const streams::StoreMetrics& s) { return double(s.memtable_bytes); });
  per_store("eventflow_rocksdb_estimated_keys",
            "rocksdb.estimate-num-keys of the store (an estimate: memtable overwrites count)",
            [](const streams::StoreMetrics& s) { return double(s.estimated_keys); });

  std::vector<KafkaClientEntry> clients;
  for (const ThreadMetrics& t : m.threads) {
    clients.push_back({{{"thread", t.thread}, {"client", "consumer"}}, t.consumer_statistics});
    clients.push_back({{{"thread", t.thread}, {"client", "producer"}}, t.producer_statistics});
  }
  WriteKafkaClientMetrics(out, clients);
}

}  // namespace

std::string StreamsMetricsText(const StreamsMetrics& metrics, const ApplicationStatus& status,
                               const std::string& application_id, const std::string& instance) {
  PrometheusText out(Labels{{"application_id", application_id}, {"instance", instance}});
  WriteInstance(out, metrics, status);
  if (status.attached) WriteThreads(out, metrics);
  return out.Take();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address, int port,
                                                            const std::string& application_id,
                                                            const std::string& instance) {
  http::ServerOptions options;
  options.address = address;
  options.port = port;
  auto server = http::Server::Start(options);
  if (!server.ok()) return server.status();
  std::unique_ptr<MetricsServer> metrics(new MetricsServer(application_id, instance));
  metrics->server_ = std::move(*server);
  MetricsServer* self = metrics.get();
  metrics->server_->Handle("/metrics", [self](const http::Request&) {
    http::Response response = http::Response::Text(200, self->ScrapeText());
    response.content_type = PrometheusText::kContentType;
    return response;
  });
  metrics->server_->Handle("/healthz", [self](const http::Request&) { return self->Health(false); });
  metrics->server_->Handle("/readyz", [self](const http::Request&) { return self->Health(true); });
  Log(LogLevel::kInfo, "http",
      "serving /metrics, /healthz, /readyz on " + address + ":" + std::to_string(self->port()));
  return metrics;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->Stop();  // no handler runs once this returns
}

void MetricsServer::Attach(const streams::KafkaStreams* app) {
  std::lock_guard<std::mutex> lock(mu_);
  app_ = app;
}

std::string MetricsServer::ScrapeText() {
  std::lock_guard<std::mutex> lock(mu_);
  ApplicationStatus status;
  streams::StreamsMetrics metrics;
  if (app_ != nullptr) {
    status.attached = true;
    status.state = app_->state();
    status.ready = app_->ready();
    status.stalled_partitions = app_->stalled_partitions();
    status.partition_stalls_total = app_->partition_stalls_total();
    metrics = app_->metrics();
  }
  return StreamsMetricsText(metrics, status, application_id_, instance_);
}

http::Response MetricsServer::Health(bool readiness) {
  std::optional<State> state;
  int stalled = 0;
  bool ready = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (app_ != nullptr) {
      state = app_->state();
      stalled = app_->stalled_partitions();
      ready = app_->ready();
    }
  }
  std::string name =
      state ? std::string(streams::KafkaStreams::StateName(*state)) : std::string("STARTING");
  if (!readiness) return http::Response::Text(state != State::kError ? 200 : 503, name + "\n");
  if (stalled > 0) {
    name += " (" + std::to_string(stalled) + " stalled partition(s))";
  } else if (state == State::kRunning && !ready) {
    name += " (tasks restoring)";
  }
  return http::Response::Text(ready ? 200 : 503, name + "\n");
}

}  // namespace eventflow::tools
