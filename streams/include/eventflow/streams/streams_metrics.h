// StreamsMetrics: what an instance of a streams application reports about
// itself (KafkaStreams::metrics()), by stream thread, task, store and input
// partition — the figures of DESIGN.md "Observability", with no per-key
// detail. The eventflow binary exports them in Prometheus' text format
// (docs/architecture.md, "Operating it", lists the metric names).
//
// Where they come from, and what each costs the record path:
//   - Each stream thread owns one probe (streams/src/thread_metrics.h), kept
//     for the instance's life (a replaced thread continues its counters). The
//     thread is its only writer: counters and histograms are relaxed atomics
//     updated with plain loads and stores, never a lock, allocation or system
//     call per record. Per record: nothing new (tasks keep counting in their
//     own TaskCounters, which the thread copies into the probe after each
//     batch a task processes, at commits and when tasks close); per output
//     record to a topic outside the application, one histogram observation
//     (end-to-end latency, against the task's wall clock, which the thread
//     reads once per loop). Per batch: one clock reading per task batch
//     (process duration) and per loop phase (time ratios). Per commit: one
//     observation (commit duration).
//   - Store figures (RocksDB properties) are read by the stream thread every
//     store_metrics_interval and after each assignment, not per record.
//   - Consumer lag: the end offsets come from librdkafka's statistics (every
//     statistics.interval.ms; kafka::ClientStatistics, parsed when read, off
//     the stream thread); the positions are published by the thread once per
//     partition batch. lag = end − position, where end is the last stable
//     offset under exactly-once (read_committed), else the high watermark,
//     and position the offset after the last record the thread took from the
//     partition (or the end the consumer signalled when it reached it, which
//     steps over transaction markers). Known only once the consumer reported
//     statistics for the partition.
//
// Thread-safety: a StreamsMetrics is a plain value, read at one moment; the
// figures of one thread may be a few records apart from each other.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eventflow/core/histogram.h"
#include "eventflow/kafka/client_statistics.h"

namespace eventflow::streams {

//! Bucket bounds (seconds) of eventflow_process_duration_seconds: the time a
//! record takes through the topology.
inline constexpr double kProcessDurationBuckets[] = {1e-6,   2.5e-6, 5e-6, 1e-5, 2.5e-5,
                                                     5e-5,   1e-4,   2.5e-4, 5e-4, 1e-3,
                                                     2.5e-3, 1e-2,   1e-1,   1};
//! Bucket bounds (seconds) of eventflow_commit_duration_seconds.
inline constexpr double kCommitDurationBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10,   30,
                                                    60};
//! Bucket bounds (seconds) of eventflow_e2e_latency_seconds: from a record's
//! timestamp to its output. Windowed results emitted on window close wait
//! for the window and its grace, hence the long tail.
inline constexpr double kE2eLatencyBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,
                                                2.5,   5,    10,    30,   60,  300,  900,  3600};

//! Bucket bounds (seconds) of eventflow_task_move_gap_seconds: a task's
//! processing gap across a rebalance (last record processed before, first
//! after, wherever each ran).
inline constexpr double kMoveGapBuckets[] = {0.05, 0.1, 0.25, 0.5, 1,  2,   3,   5,
                                             7.5,  10,  15,   20,  30, 60, 120, 300};

//! Restore progress of one store name, summed over this instance's tasks.
struct StoreRestoreMetrics {
  //! Changelog records restored since the instance started
  //! (eventflow_restored_records_total{store}).
  uint64_t restored_records_total = 0;
  //! Changelog records still to restore right now, 0 when no restore runs
  //! (eventflow_restore_remaining_records{store}; counts offsets, so
  //! transaction markers and aborted records are included until skipped).
  int64_t remaining_records = 0;
};

//! One task of a thread: every task the thread ever ran, so that counters
//! never go back when a task moves away (active tells whether it runs here now).
struct TaskMetrics {
  std::string task;          //!< task id, e.g. "0_2"
  bool active = false;       //!< assigned to this thread now
  bool restoring = false;    //!< its stores are being restored now
  uint64_t processed = 0;    //!< records the topology processed (not dead-lettered ones)
  uint64_t dead_lettered = 0;    //!< records sent to the dead-letter topic
  uint64_t punctuations = 0;     //!< punctuator calls
  uint64_t watermark_records = 0;  //!< watermark records consumed (repartition inputs)
  uint64_t cache_hits = 0;       //!< record cache reads served from the cache
  uint64_t cache_misses = 0;     //!< record cache reads that went to the store
  uint64_t cache_evictions = 0;  //!< entries evicted to fit the cache's bound
  uint64_t cache_bytes = 0;      //!< bytes in the record cache now (active tasks)
  uint64_t cache_entries = 0;    //!< entries in the record cache now (active tasks)
};

//! One state store of an active task, as of the thread's last sample.
struct StoreMetrics {
  std::string task;             //!< task id
  std::string store;            //!< store name
  bool persistent = false;      //!< RocksDB (the figures below); false: in memory (zeros)
  uint64_t live_sst_bytes = 0;  //!< rocksdb.live-sst-files-size
  uint64_t memtable_bytes = 0;  //!< rocksdb.cur-size-all-mem-tables
  uint64_t estimated_keys = 0;  //!< rocksdb.estimate-num-keys
};

//! One changelog partition of a standby task of a thread.
struct StandbyMetrics {
  std::string task;       //!< task id
  std::string store;      //!< store name
  int64_t position = 0;   //!< the offset after the last changelog record applied or read
  int64_t lag = -1;       //!< changelog end (as the consumer last saw it) − position; -1: unknown
};

//! How tasks that arrived on a thread (through an assignment: a move, the
//! first start, or a rebalance they stayed through) restored their stores.
struct TaskArrivalMetrics {
  uint64_t restores_none = 0;  //!< every store at its changelog's end
  uint64_t restores_tail = 0;  //!< replayed from the stores' stored offsets
  uint64_t restores_full = 0;  //!< a store without a usable offset, from the changelog's start
  uint64_t restore_records = 0;  //!< changelog records replayed for them
};

//! One input partition assigned to a thread.
struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t position = -1;  //!< the thread's position (see file comment); -1: unknown
  int64_t end = -1;       //!< the partition's end offset as last reported; -1: unknown
  int64_t lag = -1;       //!< max(0, end − position); -1: unknown
};

//! One stream thread.
struct ThreadMetrics {
  std::string thread;  //!< "<instance id>-<index>", as in client ids and logs
  uint64_t dropped_late = 0;  //!< window updates dropped as late, as of the last commit
  uint64_t rebalances = 0;    //!< assignments received
  uint64_t commits_failed = 0;          //!< commits that failed (then recovered or stopped)
  uint64_t transactions_committed = 0;  //!< exactly-once transactions committed
  uint64_t transactions_aborted = 0;    //!< transactions aborted (or lost with a recreated producer)
  //! Seconds the thread spent per activity: poll (including the rebalances
  //! and restores that run inside it, and waiting when idle), process,
  //! punctuate, commit; rate() of each is its time ratio.
  double poll_seconds = 0;
  double process_seconds = 0;
  double punctuate_seconds = 0;
  double commit_seconds = 0;
  //! Time per record through the topology: each batch a task processes (up
  //! to 200 records) is timed once and its average counted once per record,
  //! so count() is the number of records taken from the tasks' buffers.
  Histogram::Snapshot process_duration;
  //! Duration of each commit (flush, watermarks, Kafka commit, stores).
  Histogram::Snapshot commit_duration;
  //! Per output topic (topics outside the application): wall clock at the
  //! sink minus the record's timestamp.
  std::vector<std::pair<std::string, Histogram::Snapshot>> e2e_latency;
  int active_tasks = 0;     //!< tasks assigned, restoring included
  int restoring_tasks = 0;  //!< tasks whose stores are being restored
  int standby_tasks = 0;    //!< standby tasks (warm copies of tasks other instances run)
  //! Changelog records applied to the thread's standby tasks.
  uint64_t standby_records = 0;
  //! The changelog partitions of the standby tasks.
  std::vector<StandbyMetrics> standbys;
  //! Tasks that arrived through an assignment, by restore kind.
  TaskArrivalMetrics arrivals;
  //! Processing gap of each arriving task (last record processed before the
  //! rebalance, wherever, to its first record here): tasks that moved here,
  //! and tasks this thread ran before the rebalance too.
  Histogram::Snapshot move_gap_moved;
  Histogram::Snapshot move_gap_stayed;
  std::vector<TaskMetrics> tasks;
  std::vector<StoreMetrics> stores;
  std::vector<PartitionLag> partitions;
  //! The thread's clients' latest librdkafka statistics (nullptr: none yet,
  //! or statistics.interval.ms is 0).
  std::shared_ptr<const kafka::ClientStatistics> consumer_statistics;
  std::shared_ptr<const kafka::ClientStatistics> producer_statistics;
};

//! The whole instance.
struct StreamsMetrics {
  std::vector<ThreadMetrics> threads;  //!< by thread index
  std::map<std::string, StoreRestoreMetrics> restore;  //!< per store name
  std::map<std::string, uint64_t> records_lost;        //!< per topic (data loss policy skip)
  //! Warming up before joining the group (num_standby_replicas > 0).
  bool warming_up = false;
  int warmup_tasks = 0;  //!< tasks it warms up meanwhile
  //! The instance's state memory (StateMemoryBudget): the shared block cache
  //! (its usage includes the memtables charged to it), the memtables' share
  //! and limit, and the record caches' budget.
  uint64_t block_cache_capacity_bytes = 0;
  uint64_t block_cache_usage_bytes = 0;
  uint64_t block_cache_pinned_bytes = 0;
  uint64_t memtable_limit_bytes = 0;
  uint64_t memtable_usage_bytes = 0;
  uint64_t record_cache_limit_bytes = 0;
};

}  // namespace eventflow::streams
