// StreamThread: one consumer, one producer and the tasks assigned to them,
// driven by one OS thread (Kafka Streams' StreamThread).
//
// Loop: poll a batch of records (the rebalance callback runs inside the poll,
// on this thread) → route each to the task of its (sub-topology, partition) →
// process the tasks' buffers → fire wall-clock punctuators → commit every
// commit interval. Records are taken from each partition's own queue (detached
// from the consumer queue) only while its task has fewer than
// max_buffered_records_per_partition buffered; what is not taken waits in
// librdkafka, whose fetcher stops when that queue is full. (Pausing
// partitions instead would make librdkafka 2.0.2 discard and refetch
// prefetched data on every pause — measured at 4× the CPU per record.)
//
// Exactly-once (v2): one transaction per thread spans all its tasks. It is
// begun before the first record of a commit interval is processed; at commit,
// the tasks send their watermark records (StreamTask::EmitWatermarks), then
// the tasks' next offsets (with each partition's times as offset metadata,
// FormatOffsetMetadata: "st=<ms>[;up=<n>:<deltas>]") are sent with the
// consumer's group metadata and the transaction is committed. With
// watermark.idle.timeout.ms set, the loop samples idleness (StreamTask::
// RefreshIdle) and, when that advances a watermark, opens the transaction
// before the stream-time punctuators run. A commit that times out is retried, never
// aborted. An abortable error aborts, rewinds every partition to the last
// committed offset and rebuilds the tasks (their in-memory state belonged to
// the aborted transaction). A fenced producer is recreated and the thread
// rewinds as after an abort — unless its consumer was fenced too (static
// membership: another process runs with this instance id), in which case this
// thread is the zombie and stops with kFenced. A fatal producer error
// recreates the producer, then rewinds as after an abort.
//
// At-least-once: at commit, the producer is flushed; only if every record was
// acknowledged are the offsets committed, otherwise the thread rewinds.
//
// A failed state store (IsStoreFailure: disk full, I/O error, corruption) stops
// the thread — never a rewind, never a dead-lettered record: while processing
// or flushing the caches, the open transaction is aborted; after the Kafka
// commit (the stores commit second), the output is final but a store missed
// it, and processing on would leave the store behind its changelog. Either
// way the instance goes to ERROR with the store's name, path and cause, and a
// restart recovers the store from its changelog (a tail replay from its
// stored offset).
//
// Rebalance (eager, range assignor): on revoke, commit and close all tasks; on
// assign, read the committed offsets and partition times (metadata that does
// not parse is logged and treated as unknown times, which only hold the
// watermark back), create the tasks, register every assigned partition with
// its task (so a partition not yet read holds the watermark back) and resume.
//
// Thread-safety: Start/RequestShutdown/Join/state()/error() may be called from
// any thread; everything else runs on the stream thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/kafka/kafka_client.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/streams/topology.h"
#include "record_collector.h"

namespace eventflow::streams {

//! Life of a stream thread.
enum class ThreadState { kCreated, kStarting, kRebalancing, kRunning, kPendingShutdown, kDead };

//! Restore progress per store name, updated by the threads per restored
//! batch (never per record), read by KafkaStreams::restore_metrics().
class RestoreProgress {
 public:
  using Metrics = KafkaStreams::StoreRestoreMetrics;
  //! Adds `restored` records and `remaining_delta` to the store's figures.
  void Add(const std::string& store, uint64_t restored, int64_t remaining_delta) {
    std::lock_guard<std::mutex> lock(mu_);
    Metrics& m = by_store_[store];
    m.restored_records_total += restored;
    m.remaining_records += remaining_delta;
  }
  std::map<std::string, Metrics> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_store_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Metrics> by_store_;
};

//! Records the broker no longer had when a thread (or its restore) read a
//! partition, per topic, summed over the instance's threads; updated per
//! event, never per record (eventflow_records_lost_total{topic}).
class LostRecords {
 public:
  //! Adds `count` lost records of `topic`.
  void Add(const std::string& topic, uint64_t count) {
    std::lock_guard<std::mutex> lock(mu_);
    by_topic_[topic] += count;
  }
  //! Returns the counts per topic (topics with at least one event).
  std::map<std::string, uint64_t> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_topic_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> by_topic_;
};

//! What all threads of an instance share (immutable while they run, except
//! the thread-safe restore_progress and lost_records).
struct ThreadShared {
  const Topology* topology = nullptr;
  std::vector<Topology::SubTopology> subtopologies;
  const StreamsConfig* config = nullptr;
  std::string instance_id;
  TopicResolver resolve;
  std::map<std::string, int> subtopology_of_topic;  //!< resolved source topic → sub-topology
  std::vector<std::string> source_topics;           //!< resolved, all sub-topologies
  //! Repartition topics (resolved) → the tasks writing them, sorted (TaskOptions::upstream_tasks).
  std::map<std::string, std::vector<TaskId>, std::less<>> upstream_tasks;
  //! Repartition topics (resolved) → partition count (TaskOptions::repartition_sinks).
  std::map<std::string, int, std::less<>> repartition_partitions;
  //! The instance's state memory (RocksDB block cache, write buffers, record caches).
  std::unique_ptr<state::StateMemoryBudget> memory_budget;
  //! Restore metrics of the instance.
  std::unique_ptr<RestoreProgress> restore_progress = std::make_unique<RestoreProgress>();
  //! Records lost to retention or DeleteRecords (DataLossPolicy::kSkip).
  std::unique_ptr<LostRecords> lost_records = std::make_unique<LostRecords>();
};

class StreamThread {
 public:
  //! `on_state` is called (from the stream thread) on every state change.
  StreamThread(int index, const ThreadShared* shared,
               std::function<void(int, ThreadState)> on_state);
  ~StreamThread();

  //! Creates the clients, subscribes and starts the OS thread.
  Status Start();
  //! Asks the loop to finish its batch, commit, close and leave.
  void RequestShutdown() { shutdown_.store(true); }
  //! Waits for the OS thread.
  void Join();
  //! The current state.
  ThreadState state() const { return state_.load(); }
  //! Why the thread died (OK after a clean shutdown).
  Status error() const;
  //! True when the thread died because librdkafka fenced its own static
  //! member: after the consumer's session expired locally (e.g. while the
  //! broker restarted) its rejoin replaced the member id the consumer still
  //! used, and the consumer turned fatal (librdkafka issue #3437). No other
  //! process is involved, so a new thread (new consumer) may take its place.
  bool self_fenced() const { return self_fenced_.load(); }
  //! Records processed by this thread's tasks so far.
  uint64_t processed() const { return processed_.load(std::memory_order_relaxed); }
  //! Window updates dropped as late by this thread's tasks, as of their last commit.
  uint64_t dropped_late() const { return dropped_late_.load(std::memory_order_relaxed); }
  int index() const { return index_; }
  //! Partitions found stalled (lag and nothing taken for partition_stall_timeout)
  //! and not moving since.
  int stalled_partitions() const { return stalled_partitions_.load(std::memory_order_relaxed); }
  //! Stalls detected since the thread started (each counted once).
  uint64_t partition_stalls_total() const {
    return partition_stalls_total_.load(std::memory_order_relaxed);
  }

 private:
  struct Route {
    const rd_kafka_topic_t* rkt = nullptr;
    std::string topic;
    int32_t partition = 0;
    StreamTask* task = nullptr;
    kafka::KafkaQueue queue;  // the partition's own queue, detached from the consumer queue
    // Stall check (CheckStalls): the offset after the last record taken (-1:
    // none yet), when the last record was taken (or the partition was last
    // found not lagging), and whether it is counted as stalled (until a
    // record is taken from it again).
    int64_t position = -1;
    std::chrono::steady_clock::time_point last_progress{};
    bool stalled = false;
    std::chrono::steady_clock::time_point next_stall_check{};  // rate of broker queries
    // When the partition was first found lagging with nothing taken since
    // (zero: not lagging), and the stable end offset seen then.
    std::chrono::steady_clock::time_point lag_seen{};
    int64_t lag_end = -1;
  };

  void Run();
  Status RunLoop();
  Status CreateProducer();
  Status PollBatch();
  Status ProcessTasks();
  Status MaybeCommit(bool force);
  //! Processes the tasks' buffers and fires due wall-clock and idle-driven
  //! stream-time punctuators (`now`: epoch ms).
  Status ProcessAndPunctuate(int64_t now);
  //! After a failed commit, or a producer that refused a record because its
  //! transaction failed (IsTransactionFailure): recreates a fenced or fatal
  //! producer and rewinds to the last commit; stops after too many failures
  //! in a row, or when the consumer was fenced too (we are the zombie).
  Status RecoverFromFailedTransaction(const Status& cause);
  //! Flushes the caches, commits the transaction (or the offsets), then the
  //! stores. Sets *store_failed when a state store failed (IsStoreFailure in
  //! the flush, or any store commit error after the Kafka commit): the
  //! thread must stop, not rewind.
  Status Commit(bool* store_failed);
  Status CommitTransaction(rd_kafka_topic_partition_list_t* offsets);
  Status CommitAtLeastOnce(rd_kafka_topic_partition_list_t* offsets);
  Status BeginTransactionIfNeeded();
  Status Rewind(const Status& cause);
  Status CreateTasks(const rd_kafka_topic_partition_list_t* assignment);
  void CloseTasks();
  Status RestoreStores(const std::vector<StreamTask*>& tasks);
  //! Creates the restore consumer (manual assignment, read_committed) on first use.
  Status EnsureRestoreConsumer();
  enum class CrashPoint { kNone, kAfterKafkaCommit, kMidRestore };
  //! Test-only fault injection: exits the process (status 137) at `point`
  //! when EVENTFLOW_TEST_CRASH_POINT names it, the EVENTFLOW_TEST_CRASH_AFTER-th time.
  void MaybeCrash(CrashPoint point);
  Status OnAssign(rd_kafka_topic_partition_list_t* partitions);
  Status OnRevoke();
  //! Revocation of a lost assignment (session expired): aborts, commits nothing.
  Status OnLost();
  Route* RouteFor(const rd_kafka_message_t* msg);
  kafka::KafkaPartitionList ProgressList();
  void AttachPartitionQueues();
  Status HandleConsumerError(const rd_kafka_message_t* msg);
  //! A fetch position below the log start (records deleted before they were
  //! read) or beyond the log end: stops with DataLoss (DataLossPolicy::kFail)
  //! or logs, counts and goes on from the log start (kSkip).
  Status HandleOutOfRange(const std::string& topic, int32_t partition, int64_t offset);
  //! From the loop, every repartition_purge_interval: deletes the records of
  //! the thread's repartition partitions below their committed offsets
  //! (DeleteRecords, asynchronous; ReapPurge collects the outcome).
  void MaybePurgeRepartitionTopics();
  void ReapPurge();
  //! The stall guard (partition_stall_timeout), from the loop about once a second.
  void CheckStalls(std::chrono::steady_clock::time_point now);
  //! Restarts the fetch of every assigned partition by assigning them again,
  //! `partition` of `topic` at `offset` (if >= 0), the others where the thread
  //! expects to read next.
  Status RestartFetch(const std::string& topic, int32_t partition, int64_t offset);
  //! Refreshes stalled_partitions_ from the routes.
  void CountStalled();
  void SetState(ThreadState s);
  static void RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque);

  const int index_;
  const ThreadShared* shared_;
  const StreamsConfig& config_;
  const bool eos_;
  std::function<void(int, ThreadState)> on_state_;
  std::string name_;  // "<instance>-<index>" for logs

  kafka::KafkaHandle consumer_;
  kafka::KafkaHandle producer_;
  kafka::KafkaHandle restore_consumer_;  // manual assignment, read_committed; created on first use
  KafkaRecordCollector collector_;
  std::map<TaskId, std::unique_ptr<StreamTask>> tasks_;
  std::vector<Route> routes_;
  size_t last_route_ = 0;
  // Last committed position per (topic, partition): where a rewind goes.
  struct Committed {
    int64_t offset = -1;
    PartitionTimes times;
  };
  std::map<std::pair<std::string, int32_t>, Committed> committed_;
  bool transaction_open_ = false;
  bool dirty_ = false;  // processed something since the last commit
  bool assignment_lost_ = false;  // lost (session expired) and not reassigned since
  int failed_commits_ = 0;
  bool idle_ = false;  // the last poll found nothing to do
  CrashPoint crash_point_ = CrashPoint::kNone;
  int crash_after_ = 1;
  int crash_hits_ = 0;  // consecutive failed commits (each followed by a rewind)
  std::chrono::steady_clock::time_point last_commit_;
  Status rebalance_error_;
  // Repartition purging: the last offset purged per partition, the async
  // DeleteRecords result queue (on the consumer handle), one request at a time.
  std::map<std::pair<std::string, int32_t>, int64_t> purged_;
  kafka::KafkaQueue purge_queue_;
  bool purge_in_flight_ = false;
  std::string last_purge_error_;  // logged once until a purge succeeds
  std::chrono::steady_clock::time_point last_purge_{};
  std::chrono::steady_clock::time_point last_stall_check_{};
  std::chrono::steady_clock::time_point loop_now_{};  // read once per loop iteration

  std::thread thread_;
  std::atomic<bool> shutdown_{false};
  std::atomic<bool> self_fenced_{false};
  std::atomic<ThreadState> state_{ThreadState::kCreated};
  std::atomic<uint64_t> processed_{0};
  std::atomic<uint64_t> dropped_late_{0};
  std::atomic<int> stalled_partitions_{0};
  std::atomic<uint64_t> partition_stalls_total_{0};
  // Each task's dropped_late counter as of the last commit (reset with the tasks).
  std::map<TaskId, uint64_t> dropped_late_committed_;
  mutable std::mutex error_mu_;
  Status error_;
};

}  // namespace eventflow::streams
