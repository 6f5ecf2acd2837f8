// TaskManager: the tasks of one stream thread (Kafka Streams' TaskManager) —
// created from an assignment, committed together, rewound, revoked, lost.
//
// Assignment (eager, range assignor; HandleAssignment): read the group's
// committed offsets and each partition's times (offset metadata
// FormatOffsetMetadata; metadata that does not parse is logged and read as
// unknown times, which only hold the watermark back), create a task per
// (sub-topology, partition number), register every assigned partition with
// its task (so a partition not yet read holds the watermark back) and its
// route, and restore the new tasks' stores (ChangelogReader) before any of
// them processes. A store whose offset lies beyond its changelog's end is
// corrupted: it is wiped and restored in full (HandleCorrupted). The
// partitions are then assigned at StartPositions(): each at its committed
// offset, else its beginning — explicit positions, so the client never looks
// them up again and auto.offset.reset (error) applies only to a position out
// of range.
//
// Commit (Commit): flush the tasks' record caches and send their watermark
// records (inside the transaction under exactly-once), commit the tasks'
// next offsets with their times through the StreamsProducer, then commit the
// stores (ProcessorStateManager::Commit: the changelog offsets their state
// reaches). The Kafka commit makes the output final: a store that fails
// after it stops the thread (store_failed), never a rewind.
//
// Rewind (after an aborted transaction): seek every partition back to its
// last committed offset and rebuild the tasks, whose in-memory state belonged
// to the rolled-back output. A seek, not a new assignment: assigning clears
// librdkafka's "assignment lost" state, and a member whose session expired
// must still see its revocation as lost. librdkafka 2.0.2 refuses a seek that
// races its own fetch start/stop and then drops the partition's fetched
// records as outdated: every partition's result is checked, and a refused
// one is restarted by assigning again unless the assignment is lost anyway.
//
// Revocation: commit, then close every task. Lost assignment (the session
// expired; the partitions already belong to others): the open transaction is
// aborted — a zombie's work must not be committed — and the tasks closed
// without committing (Kafka Streams' handleLostAll).
//
// Out of range (HandleOutOfRange): a fetch position below the log start
// (records deleted before they were read) or beyond its end stops the thread
// with DataLoss (DataLossPolicy::kFail) or is logged, counted and skipped to
// the log start (kSkip); a position the group has already committed past is
// a stale one (not data loss); an error left over from an earlier fetcher of
// the partition after the thread moved on is ignored.
//
// Repartition purge (MaybePurgeRepartitionTopics): every
// repartition_purge_interval, the records of the thread's repartition
// partitions below their committed offsets are deleted (DeleteRecords,
// asynchronous, one request at a time, failures logged once per kind).
//
// Standby tasks (StandbyTask, num_standby_replicas > 0): the thread's
// warm copies of tasks other instances run, as the StandbyCoordinator places
// them (SetStandbys). MaintainStandbys(), between loop iterations, releases
// standbys another thread of this instance waits for (TaskClaims), creates the
// wanted ones that are missing (a few per iteration while active tasks run,
// so that opening stores never stalls processing for long), closes the ones
// no longer wanted, has the ChangelogReader apply what it fetched for them,
// and every commit interval store their positions and publish their lags.
// They survive revocations, lost assignments and rewinds. A task assigned
// to this thread while it holds its standby turns into the active task: the
// standby is flushed and closed, and the active task opens the same stores,
// whose restore replays only the changelog's tail. Before opening a task's
// stores, active or standby, the manager claims the task (TaskClaims).
//
// Scaling events: every task that arrives through an assignment (moved
// here, first start, or a task this thread ran before an eager rebalance
// closed it) is counted by how its stores restored (none, tail, full) and
// with the records replayed; when it processes its first batch, its
// processing gap — from the wall-clock time its previous owner last
// processed a record (the offset metadata's "lp", which every commit
// carries) to now — goes to the move-gap histogram and one INFO line says
// it all (where from, restore kind, records, restore time, gap).
//
// Metrics: the manager keeps the thread's probe (thread_probe.h) up to date
// with its tasks — a slot per task (PublishTask after each batch, at commits,
// folded when the task closes), per store (SampleStores) and per assigned
// partition (its route's lag slot), the active and restoring task counts, and
// the late drops as of the last commit.
//
// Thread-safety: the stream thread only, except dropped_late().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "changelog_reader.h"
#include "client_supplier.h"
#include "partition_router.h"
#include "standby_task.h"
#include "streams_producer.h"
#include "thread_shared.h"

namespace eventflow::streams {

class TaskManager {
 public:
  using Tasks = std::map<TaskId, std::unique_ptr<StreamTask>>;
  using Standbys = std::map<TaskId, std::unique_ptr<StandbyTask>>;
  using Clock = std::chrono::steady_clock;

  //! How long an active task waits for another thread of this instance to
  //! close its standby of the same task (TaskClaims::ClaimActive).
  static constexpr std::chrono::seconds kClaimTimeout{60};

  //! The clients, the producer and the reader must outlive the manager.
  //! `index` is the thread's index (TaskClaims). `after_kafka_commit` (may be
  //! empty) runs between the Kafka commit and the stores' commit (a test
  //! seam: crash injection).
  TaskManager(const ThreadShared* shared, int index, std::string thread, ConsumerClient* consumer,
              StreamsProducer* producer, ChangelogReader* changelog_reader, ThreadProbe* probe,
              std::function<void()> after_kafka_commit = {});
  ~TaskManager();

  //! The tasks, by id.
  Tasks& tasks() { return tasks_; }
  //! The assigned partitions' routes.
  PartitionRouter& router() { return router_; }
  //! The standby tasks, by id.
  const Standbys& standbys() const { return standbys_; }

  //! The standby tasks the thread should keep (see file comment); applied by
  //! MaintainStandbys (tasks active here are left out).
  void SetStandbys(std::set<TaskId> wanted);
  //! Keeps the standby tasks going (see file comment), waiting up to `wait`
  //! for changelog records. Returns a store's or the client's error.
  Status MaintainStandbys(Clock::time_point now, std::chrono::milliseconds wait);
  //! The largest lag of the wanted standbys' changelog partitions, as of their
  //! last commit; -1 while one is not known or a wanted standby does not run yet.
  int64_t MaxStandbyLag() const;
  //! Flushes and closes every standby task.
  void CloseStandbys();
  //! The thread processed a batch of task `id` at wall-clock `now_ms` (epoch
  //! ms): its last-processed time, and its scaling event when it just arrived.
  void OnProcessed(const TaskId& id, int64_t now_ms);

  //! Creates the tasks of a new assignment and restores their stores (see
  //! file comment). Returns the error of reading committed offsets (a time-out
  //! is retried twice), creating a task or restoring.
  Status HandleAssignment(const TopicPartitionOffsets& partitions);
  //! Where each of `partitions` starts: its committed offset, else its beginning.
  TopicPartitionOffsets StartPositions(const TopicPartitionOffsets& partitions) const;
  //! Commits (when there is work to commit) and closes every task. Returns the
  //! commit's error when it stops the thread — a failed store, or a producer
  //! that cannot recover (zombie) — else OK (a failed commit is logged: the
  //! new owner resumes from the previous commit).
  Status HandleRevocation();
  //! Aborts the open transaction and closes every task without committing.
  //! Returns kFenced when this thread is a zombie, or the producer's error.
  Status HandleLost();
  //! True when the assignment was lost and nothing was assigned since.
  bool assignment_lost() const { return assignment_lost_; }

  //! Commits every task (see file comment). Sets *store_failed when a state
  //! store failed (the thread must stop, not rewind).
  Status Commit(bool* store_failed);
  //! Seeks every partition back to its last committed offset and rebuilds
  //! the tasks; `cause` is logged. Returns the client's or a task's error.
  Status Rewind(const Status& cause);
  //! A fetch position out of range (see file comment).
  Status HandleOutOfRange(const std::string& topic, int32_t partition, int64_t offset);
  //! Deletes committed repartition records every repartition_purge_interval
  //! and collects the outcome of the request in flight.
  void MaybePurgeRepartitionTopics(std::chrono::steady_clock::time_point now);

  //! Notes that the tasks processed something since the last commit.
  void MarkDirty() { dirty_ = true; }
  //! True when there is something to commit.
  bool dirty() const { return dirty_; }
  //! Closes every task and drops the routes (no commit).
  void CloseAll();

  //! The committed offset of a partition, or RD_KAFKA_OFFSET_BEGINNING.
  int64_t CommittedOffset(const std::string& topic, int32_t partition) const;
  //! Window updates dropped as late by the tasks, as of their last commits
  //! (the probe's, so it continues across replaced threads).
  uint64_t dropped_late() const { return probe_->dropped_late.Get(); }

  //! Copies a task's counters into its probe slot (after each batch it processed).
  void PublishTask(const TaskId& id);
  //! Reads every store's size figures (RocksDB properties) into the probe.
  void SampleStores();

 private:
  struct Committed {
    int64_t offset = -1;
    PartitionTimes times;
  };
  using PartitionKey = std::pair<std::string, int32_t>;

  //! A task that arrived through an assignment, until its first batch.
  struct Arrival {
    bool moved = true;          // this thread did not run it before the rebalance
    bool from_standby = false;  // this thread kept its standby
    int64_t last_processed = -1;  // where it was last processed (wall clock, epoch ms)
    ChangelogReader::RestoreKind kind = ChangelogReader::RestoreKind::kNone;
    uint64_t records = 0;
    int64_t restore_ms = 0;
  };

  //! Creates the tasks of `assignment` not yet running, registers its
  //! partitions and routes, restores the new tasks' stores; `arrival`: they
  //! came through an assignment (scaling events), not a rewind.
  Status CreateTasks(const TopicPartitionOffsets& assignment, bool arrival);
  //! Creates the standby of `id` (see file comment); false when it must wait
  //! (another thread has the task). Failures that only concern the standby
  //! are logged and the task is not tried again until the plan changes.
  Result<bool> CreateStandby(const TaskId& id);
  //! Closes the standby of `id`, applying what it read first when `flush`.
  Status CloseStandby(const TaskId& id, bool flush);
  //! Closes the standbys other threads of this instance wait for.
  void ServeReleaseRequests();
  //! Brings the standbys in line with wanted_ (creating at most `budget`).
  Status ReconcileStandbys(int budget);
  //! At a revocation or lost assignment: the tasks closed now count as
  //! having stayed if they come back; arrivals not processed yet are dropped.
  void ForgetArrivals();
  //! Restores `created` tasks' stores, wiping corrupted ones once.
  Status RestoreStores(const std::vector<StreamTask*>& created);
  //! Wipes the corrupted stores and registers their tasks again.
  Status HandleCorrupted(const std::vector<ChangelogReader::Corrupted>& corrupted);
  //! The tasks' next offsets with their times as offset metadata.
  TopicPartitionOffsets Progress() const;
  TaskOptions MakeTaskOptions(size_t task_count) const;

  const ThreadShared* const shared_;
  const StreamsConfig& config_;
  const int index_;
  const std::string thread_;
  ConsumerClient* const consumer_;
  StreamsProducer* const producer_;
  ChangelogReader* const changelog_reader_;
  const std::function<void()> after_kafka_commit_;
  ThreadProbe* const probe_;
  PartitionRouter router_;
  Tasks tasks_;
  // Last committed position per partition: where a rewind goes.
  std::map<PartitionKey, Committed> committed_;
  bool dirty_ = false;
  bool assignment_lost_ = false;
  // Each task's dropped_late counter as of the last commit (reset with the tasks).
  std::map<TaskId, uint64_t> dropped_late_committed_;
  // The probe slots of the live tasks.
  std::map<TaskId, ThreadProbe::TaskSlot*> slots_;
  // Repartition purging: the last offset purged per partition, one request at a time.
  std::map<PartitionKey, int64_t> purged_;
  bool purge_in_flight_ = false;
  std::string last_purge_error_;  // logged once until a purge succeeds
  std::chrono::steady_clock::time_point last_purge_{};

  // Standbys.
  Standbys standbys_;
  std::set<TaskId> wanted_standbys_;
  std::set<TaskId> refused_standbys_;  // failed for their own reasons; not retried until SetStandbys
  bool standbys_changed_ = false;
  Clock::time_point last_reconcile_{};
  Clock::time_point last_standby_commit_{};
  std::map<std::pair<TaskId, std::string>, ThreadProbe::StandbySlot*> standby_slots_;

  // Scaling events.
  std::set<TaskId> revoked_;                // closed at the last revocation
  std::map<TaskId, Arrival> arrivals_;      // waiting for their first batch
  std::map<TaskId, int64_t> last_processed_;  // wall clock (epoch ms), or inherited
};

}  // namespace eventflow::streams
