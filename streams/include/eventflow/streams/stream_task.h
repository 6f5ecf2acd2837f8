// StreamTask: one sub-topology working on one partition number — the unit of
// work, of scaling and of commit.
//
// The task owns its node instances, buffers the records its stream thread
// hands it (one queue per input partition), processes them one at a time,
// choosing among its partitions the head record with the smallest timestamp
// (as Kafka Streams' PartitionGroup does; the Kafka record timestamp is used
// for the choice, the extracted event time for processing), fires punctuators
// and tracks, per input partition, the next offset to commit and the
// partition's stream time. The same class runs under the Kafka runtime
// (StreamThread) and in TopologyTestDriver, so tests exercise the real path.
//
// Bad records never stop the task silently: a record that cannot be decoded,
// has an invalid or implausibly future timestamp, makes a processor throw, or
// produces output the producer refuses at once (e.g. too large) is handed to
// the error policy: by default it goes to the dead-letter topic
// "<application.id>-dlq" (through the task's collector, so inside the
// transaction under exactly-once) with headers naming the error, stage,
// source topic, partition and offset, and is counted; with kFail the task
// returns the error and the application stops. A failed state store (a
// processor or punctuator throwing StateStoreError: disk full, I/O error,
// corruption) is not a bad record: whatever the policy, nothing is
// dead-lettered and Process() or the punctuation returns the store's error,
// on which the stream thread stops without committing.
//
// Time and watermarks (DESIGN.md "Time"). Every input partition has a time:
// a source partition's is its stream time (the largest valid event time
// processed from it; -1 before the first); a repartition partition's (a topic
// listed in TaskOptions::upstream_tasks) is the minimum of the watermarks of
// the upstream tasks writing it, each learnt from the "eventflow.wm" header
// on their records or from their watermark records, an upstream task not yet
// heard from counting as -1. The task's watermark is the minimum over its
// input partitions (every partition registered with AddInputPartition() or
// seen in a record counts, so one not yet read holds it back), never
// decreases during the task's life, and is what windows close by and
// stream-time punctuators fire on. Records with an invalid or implausibly
// future timestamp never advance a partition's time.
//
// Through repartition topics (TaskOptions::repartition_sinks) the task carries
// its watermark downstream: every record it writes there gets the header
// "eventflow.wm" = "<task id>:<watermark ms>:<origin time ms>" (replacing one
// it had; the origin time is record_partition_time() of the record being
// processed, or the watermark when sent from a punctuator or cache flush), and
// EmitWatermarks() — called at every commit, so inside the transaction under
// exactly-once — sends, when the watermark advanced since the last call, one
// watermark record (no key, no value, header "eventflow.wm.record" with the
// same value) to every partition of each such topic. Watermark records are
// consumed by the downstream task (their offsets are committed like any
// other), never handed to processors nor dead-lettered; the "eventflow.wm"
// header is removed before a record reaches the processors.
//
// Idle partitions: with TaskOptions::watermark_idle_timeout > 0, a partition
// whose buffer is empty and which received nothing for that long of wall
// clock (checked by RefreshIdle(), sampled by the caller's loop, never read
// per record) stops holding the watermark back, and so does an upstream
// task not heard from for that long on a repartition partition with an empty
// buffer — until it gets data again. When every partition is idle the
// watermark stays where it is. Off by default: then a quiet partition holds
// windows open for as long as it is quiet, and nothing is ever dropped for
// being late relative to another partition.
//
// Persistence: the caller commits each partition's times with its offset as
// offset metadata (FormatOffsetMetadata) and gives them back through
// ResetPartition() after a restart or rewind.
//
// Lifecycle: construct → Init() → AddRecord()/Process()/Punctuate...() →
// Close(). Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/histogram.h"
#include "eventflow/core/status.h"
#include "eventflow/kafka/dead_letter.h"
#include "eventflow/kafka/handles.h"
#include "eventflow/state/changelog_writer.h"
#include "eventflow/state/memory_budget.h"
#include "eventflow/state/state_store.h"
#include "eventflow/state/store_options.h"
#include "eventflow/streams/processor.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

class ProcessorStateManager;

//! What to do with a record that cannot be processed.
enum class ErrorPolicy {
  kDeadLetter,  //!< send it to "<application.id>-dlq" with error headers, count it, go on
  kFail,        //!< stop the task (and the application) with the error
};

//! Header names on dead-letter records (eventflow/kafka/dead_letter.h; the
//! PostgreSQL sink's dead letters carry the same).
using kafka::kDlqErrorHeader;
using kafka::kDlqOffsetHeader;
using kafka::kDlqPartitionHeader;
using kafka::kDlqStageHeader;
using kafka::kDlqTimestampHeader;
using kafka::kDlqTopicHeader;

//! The changelog topic of a store: "<application.id>-<store>-changelog".
inline std::string ChangelogTopic(const std::string& application_id, const std::string& store) {
  return application_id + "-" + store + "-changelog";
}

//! The dead-letter topic of an application.
inline std::string DeadLetterTopic(const std::string& application_id) {
  return application_id + "-dlq";
}

//! Header carrying the writing task's watermark on every record it sends to a
//! repartition topic: "<task id>:<watermark ms>:<origin time ms>", e.g.
//! "0_2:1700000000000:1700000004000" (the origin time may be absent).
inline constexpr std::string_view kWatermarkHeader = "eventflow.wm";
//! Marker header of a watermark record (no key, no value), same value format.
inline constexpr std::string_view kWatermarkRecordHeader = "eventflow.wm.record";

//! A task's watermark as stamped on repartition records.
struct WatermarkStamp {
  TaskId task;
  int64_t watermark = -1;
  //! Data records only: the stream time of the record's origin partition
  //! (TaskContext::record_partition_time()); -1 when absent.
  int64_t origin_time = -1;
  friend bool operator==(const WatermarkStamp&, const WatermarkStamp&) = default;
};

//! Returns "<subtopology>_<partition>:<watermark>[:<origin time>]" (the
//! origin time only when >= 0).
std::string FormatWatermarkStamp(const WatermarkStamp& stamp);
//! Parses FormatWatermarkStamp's output; InvalidArgument quoting the text otherwise.
Result<WatermarkStamp> ParseWatermarkStamp(std::string_view text);

//! The times of one input partition, as committed with its offset.
struct PartitionTimes {
  int64_t stream_time = -1;  //!< largest valid event time processed (-1: none)
  //! Repartition partitions: the watermark of each upstream task (in the
  //! order of TaskOptions::upstream_tasks; -1: not heard from). Empty otherwise.
  std::vector<int64_t> upstream_watermarks;
  //! Wall-clock time (epoch ms) the task owning the partition last processed
  //! a record, as of the commit (-1: unknown). A task's next owner measures
  //! its processing gap across a rebalance from it.
  int64_t last_processed = -1;
  friend bool operator==(const PartitionTimes&, const PartitionTimes&) = default;
};

//! Returns the offset commit metadata of a partition: "st=<stream time>",
//! followed for a repartition partition by ";up=<n>:<d0>,...,<dn-1>" where
//! d_i = upstream watermark i − stream time (small numbers, so the text stays
//! short: the broker's offset.metadata.max.bytes is 4096 by default), then,
//! when known, ";lp=<last processed, epoch ms>". Backward-compatible: a plain
//! "st=<ms>" (with or without ";up=") is what earlier versions wrote; they
//! read metadata with ";lp=" as unknown times.
std::string FormatOffsetMetadata(const PartitionTimes& times);
//! Parses FormatOffsetMetadata's output. Empty metadata (committed by another
//! tool) gives unknown times; anything else that is not exactly that grammar
//! (decimal integers, times >= -1, n matching the list) is InvalidArgument
//! quoting the text and naming what is wrong.
Result<PartitionTimes> ParseOffsetMetadata(std::string_view metadata);

//! Settings of a task.
struct TaskOptions {
  std::string application_id;                     //!< required
  ErrorPolicy deserialization_errors = ErrorPolicy::kDeadLetter;
  ErrorPolicy processing_errors = ErrorPolicy::kDeadLetter;
  ErrorPolicy production_errors = ErrorPolicy::kDeadLetter;  //!< output the producer refuses
  //! Records whose event time is further than this ahead of the wall clock
  //! are treated as bad input (they never advance stream time).
  std::chrono::milliseconds max_future_skew = std::chrono::hours(24);
  std::function<int64_t()> wall_clock;            //!< epoch ms; default: system clock
  //! Root of the tasks' RocksDB stores (<state_dir>/<application_id>/<task_id>/<store>/).
  std::filesystem::path state_dir = "/tmp/eventflow-streams";
  //! The instance's memory budget for RocksDB (not owned; may be nullptr).
  const state::StateMemoryBudget* memory_budget = nullptr;
  //! Bytes of the task's record cache (its share of the budget's
  //! record_cache_bytes()); 0 turns caching off: every update is written and
  //! forwarded at once.
  size_t record_cache_bytes = 0;
  //! Tunes each RocksDB store after the runtime's options (may be empty).
  state::RocksDbConfigSetter rocksdb_config_setter;
  //! Repartition topics (resolved names) among the task's sources, each with
  //! the tasks writing it, sorted (the writing sub-topology × its partition
  //! count). Their partitions' time is the minimum of these tasks'
  //! watermarks. A source topic not listed is a plain partition.
  std::map<std::string, std::vector<TaskId>, std::less<>> upstream_tasks;
  //! Repartition topics (resolved names) with their partition counts; those
  //! the task's sub-topology writes get its watermark (see class comment).
  std::map<std::string, int, std::less<>> repartition_sinks;
  //! watermark.idle.timeout.ms: wall-clock time after which a quiet partition
  //! (or upstream task) stops holding the watermark back; 0: never.
  std::chrono::milliseconds watermark_idle_timeout{0};
  //! Where the task records the end-to-end latency of the records its sinks
  //! send to topics outside the application (the task's cached wall clock −
  //! the record's timestamp, in seconds; eventflow_e2e_latency_seconds). Asked
  //! once per such topic (resolved name) by Init(); empty, or nullptr for a
  //! topic: not recorded.
  std::function<Histogram*(const std::string& topic)> e2e_latency;
};

//! A consumed record with the storage its views point into.
struct BufferedRecord {
  RawRecord raw;
  kafka::KafkaMessage message;       //!< set when consumed from Kafka
  std::unique_ptr<std::string[]> bytes;  //!< set when piped in by the test driver: topic, key, value
};

//! Builds a BufferedRecord that owns copies of its bytes (test driver, tests).
BufferedRecord MakeOwnedRecord(std::string_view topic, int32_t partition, int64_t offset,
                               int64_t timestamp, std::optional<std::string_view> key,
                               std::optional<std::string_view> value, Headers headers = {});

//! Offset and stream time to commit for one input partition.
struct PartitionProgress {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = -1;   //!< offset of the next record to process (-1: nothing processed)
  int64_t stream_time = -1;   //!< largest valid event time processed (-1: none)
  std::vector<int64_t> upstream_watermarks;  //!< see PartitionTimes
};

//! Counters of one task (exported as metrics by the runtime).
struct TaskCounters {
  uint64_t processed = 0;         //!< records handed to the topology successfully
  uint64_t dead_lettered = 0;     //!< records sent to the DLQ
  uint64_t punctuations = 0;      //!< punctuator calls
  uint64_t punctuation_errors = 0;  //!< punctuator calls that threw
  //! Window updates dropped because the window had closed (end + grace <=
  //! stream time); one per window, as Kafka Streams' dropped-records sensor,
  //! so a record late for all its hopping windows counts once per window.
  uint64_t dropped_late = 0;
  uint64_t watermark_records = 0;  //!< watermark records consumed from repartition topics
  uint64_t watermark_records_sent = 0;  //!< watermark records sent by EmitWatermarks()
};

class StreamTask final : public TaskContext {
 public:
  //! `topology`, `collector` and the sub-topology must outlive the task.
  StreamTask(TaskId id, const Topology& topology, const Topology::SubTopology& subtopology,
             TaskOptions options, RecordCollector* collector);
  ~StreamTask() override;

  //! Builds and initialises the nodes; InvalidArgument on a type mismatch.
  Status Init();

  //! Buffers a consumed record of one of the task's input partitions.
  void AddRecord(BufferedRecord record);

  //! Number of buffered, unprocessed records.
  size_t buffered() const { return buffered_; }

  //! Number of buffered, unprocessed records of one input partition (0 when
  //! the task has no such partition). The stream thread's backpressure is per
  //! partition: a partition whose records wait behind later ones must not
  //! keep the others from being fed (see StreamThread::PollBatch).
  size_t buffered(std::string_view topic, int32_t partition) const;

  //! Processes the next buffered record (see class comment) and fires the
  //! stream-time punctuators it makes due. Returns true when a record was
  //! taken, false when nothing is buffered, or the error under kFail or of a
  //! failed state store.
  Result<bool> Process();

  //! Fires the wall-clock punctuators due at `now_ms`; returns how many fired.
  //! A punctuator that throws is logged and counted (punctuation_errors), or
  //! under ErrorPolicy::kFail (processing errors) its error is returned; a
  //! failed state store's error (StateStoreError) is always returned.
  Result<int> PunctuateWallClock(int64_t now_ms);

  //! Sets the task's cached wall clock (epoch ms), the Kafka timestamp of its
  //! changelog records and dead letters. The thread calls it once per loop
  //! and before each commit; Process() also refreshes it every 64 records.
  void SetWallClock(int64_t now_ms) { cached_wall_clock_ = now_ms; }

  //! True when a wall-clock punctuator is due at `now_ms`.
  bool WallClockPunctuationDue(int64_t now_ms) const;

  //! Sets where processing resumes for a partition (after a restore of
  //! committed offsets, or a rewind after an aborted transaction) and drops
  //! the buffered records of that partition. `upstream_watermarks` (for a
  //! repartition partition) is ignored, with a warning, when its size is not
  //! the number of upstream tasks (the topology changed): they count as not
  //! heard from.
  void ResetPartition(const std::string& topic, int32_t partition, int64_t next_offset,
                      int64_t stream_time, std::span<const int64_t> upstream_watermarks = {});

  //! Runs the processors' resume hooks (ProcessorContext::OnResume) once the
  //! stores are restored, when the partitions' committed times give the task
  //! a restored watermark; a store failure in a hook fails the task.
  Status Resume();

  //! Moves a registered partition's next offset to commit up to `offset` when
  //! nothing of it is buffered (records skipped because the broker deleted
  //! them: the commit must not fall back below them). Returns true when it
  //! moved.
  bool AdvancePartitionTo(std::string_view topic, int32_t partition, int64_t offset);

  //! Registers an input partition before any record of it arrives, so that
  //! it holds the watermark back until it has a time (the runtime registers
  //! every assigned partition).
  void AddInputPartition(const std::string& topic, int32_t partition);

  //! Samples idleness at `now_ms` (see class comment); returns true when the
  //! watermark would advance, i.e. AdvanceWatermark() has work (which may
  //! produce output: open the transaction first). False when the idle
  //! timeout is off.
  bool RefreshIdle(int64_t now_ms);

  //! Recomputes the watermark and fires the stream-time punctuators it makes
  //! due (after RefreshIdle()); returns the error under kFail.
  Status AdvanceWatermark();

  //! Sends a watermark record to every partition of each repartition topic
  //! the task writes, when its watermark advanced since the last call (call
  //! at every commit, after FlushCache()). Returns the collector's refusal.
  Status EmitWatermarks();

  //! The time of one input partition as the watermark sees it (-1: unknown;
  //! INT64_MAX when idle), or -1 when the task has no such partition. For tests.
  int64_t PartitionTime(std::string_view topic, int32_t partition) const;

  //! Drops every buffered record (e.g. after an aborted transaction).
  void ClearBuffers();

  //! Progress of every input partition that has processed records.
  std::vector<PartitionProgress> Progress() const;

  //! Emits the record cache's merged updates (store writes, changelog and
  //! downstream records) — before every commit, inside the transaction.
  Status FlushCache();

  //! Changes the record cache's bound (when the thread's task count changes);
  //! shrinking emits evicted updates. No-op when caching is off.
  Status ResizeCache(size_t bytes);

  //! Drops every store's pending writes and the record cache's entries
  //! (after an aborted transaction).
  void AbortStores();

  //! The task's stores and their changelog offsets (commit them after the
  //! Kafka commit that made their writes final; restore them).
  ProcessorStateManager& state_manager() { return *state_; }

  //! Closes the nodes and the stores (dropping uncommitted writes); the task
  //! cannot be used afterwards.
  void Close();

  const TaskCounters& counters() const { return counters_; }

  // TaskContext
  const std::string& application_id() const override { return options_.application_id; }
  const TaskId& task_id() const override { return id_; }
  const RecordContext* record_context() const override {
    return in_record_ ? &record_context_ : nullptr;
  }
  int64_t stream_time() const override { return stream_time_; }
  int64_t watermark() const override;
  int64_t restored_watermark() const override { return restored_watermark_; }
  int64_t record_partition_time() const override;
  int64_t wall_clock_ms() const override { return options_.wall_clock(); }
  Cancellable Schedule(std::chrono::milliseconds interval, PunctuationType type,
                       Punctuator punctuator) override;
  void OnResume(Punctuator fn) override { resume_hooks_.push_back(std::move(fn)); }
  RecordCollector& collector() override { return watermark_collector_; }
  state::StateStore* GetStateStore(std::string_view name) override;
  void CountDroppedLate() override { ++counters_.dropped_late; }
  state::RecordCache* record_cache() override { return cache_.get(); }

 private:
  // An upstream task writing a repartition partition.
  struct Upstream {
    int64_t watermark = -1;
    uint64_t heard = 0;           // records and watermark records from it
    uint64_t heard_at_check = 0;  // `heard` at the last RefreshIdle()
    int64_t active_ms = 0;        // wall clock when last seen active
    bool idle = false;
  };
  struct PartitionState {
    std::string topic;
    int32_t partition = 0;
    std::deque<BufferedRecord> queue;
    int64_t next_offset = -1;
    int64_t stream_time = -1;
    SourceNodeBase* source = nullptr;
    const std::vector<TaskId>* upstream_ids = nullptr;  // set: a repartition partition
    std::vector<Upstream> upstream;                     // parallel to *upstream_ids
    uint64_t received = 0;           // records added
    uint64_t received_at_check = 0;  // `received` at the last RefreshIdle()
    int64_t active_ms = 0;
    bool idle = false;
  };
  // Sink nodes' collector: stamps the watermark on records to repartition
  // topics, passes the rest through.
  class WatermarkCollector final : public RecordCollector {
   public:
    explicit WatermarkCollector(StreamTask* task) : task_(task) {}
    Status Send(std::string_view topic, int32_t partition, std::optional<std::string_view> key,
                std::optional<std::string_view> value, int64_t timestamp,
                const Headers& headers) override;

   private:
    StreamTask* task_;
    char stamp_[96];
  };
  struct Schedule_ {
    int64_t next = 0;
    int64_t interval = 0;
    Punctuator fn;
    std::shared_ptr<bool> cancelled;
  };

  PartitionState& StateFor(std::string_view topic, int32_t partition);
  Status HandleBadRecord(const RawRecord& raw, std::string_view stage, const std::string& error,
                         ErrorPolicy policy);
  Status PunctuateStreamTime();
  // The partition's time for the watermark; INT64_MAX when it does not hold
  // the watermark back (idle, or every upstream task idle).
  static int64_t TimeOf(const PartitionState& p);
  // Minimum over the partitions, `current` counted at max(its time, `time`).
  int64_t ComputeWatermark(const PartitionState* current, int64_t time) const;
  // Recomputes watermark_; returns true when it advanced.
  bool UpdateWatermark();
  // Applies an "eventflow.wm" stamp to a repartition partition.
  void ApplyStamp(PartitionState& p, std::string_view text);
  Status FirePunctuators(std::vector<Schedule_>& schedules, int64_t now, std::string_view kind);

  TaskId id_;
  const Topology& topology_;
  const Topology::SubTopology& subtopology_;
  TaskOptions options_;
  RecordCollector* collector_;
  Topology::Instance instance_;
  std::vector<std::unique_ptr<PartitionState>> partitions_;
  size_t buffered_ = 0;
  int64_t stream_time_ = -1;
  int64_t watermark_ = -1;
  int64_t restored_watermark_ = -1;
  std::vector<Punctuator> resume_hooks_;  // ProcessorContext::OnResume, run by Resume()
  int64_t current_origin_time_ = -1;  // the stamp's origin time of the repartition record in process  // watermark_ after the last ResetPartition
  int64_t emitted_watermark_ = -1;  // last sent by EmitWatermarks()
  PartitionState* current_ = nullptr;  // the partition of the record in process
  std::vector<std::pair<std::string, int>> repartition_sinks_;  // this sub-topology's
  std::vector<std::pair<std::string, Histogram*>> latency_sinks_;  // output topics (e2e latency)
  std::string stamp_prefix_;  // "<task id>:"
  bool warned_stamp_ = false;
  WatermarkCollector watermark_collector_{this};
  bool in_record_ = false;
  uint32_t clock_reads_ = 0;
  int64_t cached_wall_clock_ = 0;
  RecordContext record_context_;
  std::vector<Schedule_> stream_time_punctuators_;
  std::vector<Schedule_> wall_clock_punctuators_;
  TaskCounters counters_;
  std::unique_ptr<ProcessorStateManager> state_;
  std::unique_ptr<state::RecordCache> cache_;  // nullptr: caching off
  std::string dlq_topic_;
  bool closed_ = false;
};

}  // namespace eventflow::streams
