// ChangelogReader: restores a stream thread's state stores from their
// changelogs (Kafka Streams' StoreChangelogReader).
//
// Tasks register their logged stores (Register: the task's state manager says
// where each changelog partition starts — the store's stored offset, or 0
// after wiping a store without a usable offset); RestoreActive() then reads
// every registered changelog partition to its end with the thread's restore
// consumer (manual assignment, read_committed, created on first use), all
// partitions in one pass so a restart costs one fetch round trip, not one per
// store. Records are applied in batches of at most restore_batch_records,
// each with the changelog offset it reaches (a crash mid-restore resumes
// there); under read_committed the end is the last stable offset, found by an
// end-of-partition event. Progress goes to RestoreProgress per batch (the
// remaining-records gauge returns to 0 however the restore ends) and to the
// log every 10 s; each restored store is logged with its kind (full restore
// or tail replay), record count, offsets and duration. A restore that has not
// finished within restore_timeout fails.
//
// Gaps: a changelog that starts above where a store needs it lost records.
// For a window or session store that is its time retention at work (WARN);
// for a key-value store (compacted) it is data loss under the data loss
// policy: fail with DataLoss, or (skip) log an ERROR, count the records in
// LostRecords and restore from the log start. A head deleted while it is
// read is handled the same way.
//
// Corrupted offsets: a store whose stored offset lies beyond its changelog's
// end (the topic was deleted and recreated, or truncated) holds state the
// changelog does not: RestoreActive() returns Corruption without reading and
// lists the stores in TakeCorrupted(); the TaskManager wipes them and
// registers the task again for a full restore.
//
// Standby tasks (RegisterStandby) keep a copy of another instance's task:
// their changelog partitions stay assigned to the restore consumer beside any
// restore in progress, and are never "done". UpdateStandbys(), called by the
// thread loop between iterations, takes what the consumer has fetched for
// them without waiting and applies it in batches of restore_batch_records;
// CommitStandbys(), every commit interval, applies what is pending and
// stores each standby's position — the offset after the last committed
// record read, past transaction markers once the end is reached — atomically
// with its data, as a restore batch does: a standby's stored offset is a
// valid restart point, so when its task becomes active here (or the
// instance restarts) only the changelog after it is replayed. Lag =
// the changelog's end as the consumer last saw it − that position (0 at an
// end-of-partition event). RestoreActive() restores new active tasks while
// the standby partitions keep being read and applied. A standby whose
// offset lies beyond its changelog's end is wiped and read from the start;
// a gap at the head of a window or session changelog is skipped (WARN, as in
// a restore); a gap at the head of a key-value changelog (data loss) wipes
// the copy and drops the standby (TakeFailedStandbys(): ERROR; an active
// restore there would apply the data loss policy).
//
// Per record, a standby costs what a restore costs: finding its partition
// (the last one found is tried first) and keeping the item in a batch.
//
// Thread-safety: the stream thread only. Ownership: registered state
// managers must outlive their registration (Unregister before closing a task).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client_supplier.h"
#include "processor_state_manager.h"

namespace eventflow::streams {

class RestoreProgress;
class LostRecords;

class ChangelogReader {
 public:
  //! A store whose offset is outside its changelog.
  struct Corrupted {
    TaskId task;
    ProcessorStateManager::Changelog changelog;
    std::string reason;  //!< e.g. "its offset 120 is beyond its changelog's end 80 ..."
  };

  //! How a task's stores were restored when it became active here.
  enum class RestoreKind {
    kNone,  //!< every store was at its changelog's end: nothing replayed
    kTail,  //!< from the stores' stored offsets (a local or standby copy)
    kFull,  //!< at least one store had no usable offset: from the changelog's start
  };
  //! Returns "none", "tail" or "full".
  static const char* KindName(RestoreKind kind);
  //! One task's restore, as RestoreActive() finished it.
  struct RestoredTask {
    TaskId task;
    RestoreKind kind = RestoreKind::kNone;
    uint64_t records = 0;  //!< changelog records replayed into its stores
  };
  //! One standby changelog partition.
  struct StandbyPartition {
    TaskId task;
    std::string store;
    int64_t position = 0;  //!< the offset after the last record applied or pending
    int64_t lag = -1;      //!< see file comment; -1 until the end is known
  };

  //! `supplier`, `config`, `progress` and `lost` must outlive the reader.
  //! `on_batch_restored` (may be empty) runs after every batch applied to a
  //! store (a test seam: crash injection mid-restore).
  ChangelogReader(KafkaClientSupplier* supplier, const StreamsConfig& config, std::string thread,
                  RestoreProgress* progress, LostRecords* lost,
                  std::function<void()> on_batch_restored = {});
  ~ChangelogReader();

  //! Registers the logged stores of `task` for restoring, replacing an
  //! earlier registration of the task. Returns the error of wiping a store.
  Status Register(TaskId task, ProcessorStateManager* state);
  //! Registers the logged stores of a standby `task` (see file comment),
  //! replacing an earlier registration. Reads the changelogs' watermarks.
  //! Returns the error of reading them or of wiping a store.
  Status RegisterStandby(TaskId task, ProcessorStateManager* state);
  //! Forgets the task's registered changelog partitions (a standby's records
  //! read and not yet applied are dropped: FlushStandby first to keep them).
  void Unregister(TaskId task);
  //! Applies what the standby `task` has read (before closing it cleanly).
  //! Returns the store's error.
  Status FlushStandby(TaskId task);

  //! Restores every registered changelog partition to its end (see file
  //! comment); restored partitions are unregistered. Returns DataLoss (policy
  //! fail), Corruption (TakeCorrupted()), TimedOut (restore_timeout) or the
  //! client's or store's error.
  Status RestoreActive();

  //! The stores RestoreActive() found corrupted (and forgets them).
  std::vector<Corrupted> TakeCorrupted() { return std::exchange(corrupted_, {}); }
  //! The tasks RestoreActive() restored since the last call, by task.
  std::vector<RestoredTask> TakeRestored() { return std::exchange(restored_, {}); }

  //! True when standby partitions are registered.
  bool has_standbys() const { return standby_count_ > 0; }
  //! Applies what the restore consumer has fetched for the standbys, waiting
  //! up to `wait` for the first item, in full batches (see file comment).
  //! Returns the records read, or the client's or a store's error.
  Result<uint64_t> UpdateStandbys(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  //! Applies every standby's pending records and stores its position; refreshes
  //! the lags. Returns the client's or a store's error.
  Status CommitStandbys();
  //! The standby partitions with their positions and lags as of the last
  //! CommitStandbys().
  std::vector<StandbyPartition> StandbyPartitions() const;
  //! Standbys dropped since the last call (see file comment), with the reason.
  std::vector<std::pair<TaskId, std::string>> TakeFailedStandbys() {
    return std::exchange(failed_standbys_, {});
  }

  //! The restore consumer, created on first use (also used by the stall
  //! guard: a connection whose ListOffsets does not wait behind a fetch).
  Result<ConsumerClient*> consumer();

 private:
  struct Partition;
  //! Where a changelog starts above the offset a store needs (see file comment).
  Status Gap(Partition& p, int64_t from, int64_t low);
  //! Applies `p`'s batch to its store.
  Status Flush(Partition& p);
  void Report(Partition& p, uint64_t restored, int64_t remaining);
  //! The registered partition of a consumed item (the last one found first).
  Partition* Find(const RawRecord& raw);
  //! Takes one consumed item into its partition (RestoreActive and
  //! UpdateStandbys): a record goes into the batch (flushed when full), an
  //! end of partition ends a restore or marks a standby caught up, an
  //! out-of-range position moves past the gap. Returns the records taken.
  Result<uint64_t> Take(ConsumerClient& consumer, ConsumerItem& item);
  //! The standby partitions at their positions (the restore consumer's
  //! assignment between restores).
  TopicPartitionOffsets StandbyAssignment() const;
  //! Assigns the standby partitions when they changed since the last time.
  Status SyncStandbyAssignment();
  //! Drops a standby after data loss in its key-value changelog (see file comment).
  Status DropStandby(Partition& p, const std::string& reason);

  KafkaClientSupplier* const supplier_;
  const StreamsConfig& config_;
  const std::string thread_;
  RestoreProgress* const progress_;
  LostRecords* const lost_;
  const std::function<void()> on_batch_restored_;
  std::unique_ptr<ConsumerClient> consumer_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  std::vector<Corrupted> corrupted_;
  std::vector<RestoredTask> restored_;
  std::vector<std::pair<TaskId, std::string>> failed_standbys_;
  std::vector<ConsumerItem> items_;  // reused poll buffer
  Partition* last_found_ = nullptr;  // Find()'s guess; reset when partitions_ changes
  size_t standby_count_ = 0;         // standby partitions registered
  bool standby_assignment_dirty_ = false;  // standby partitions changed since assigned
};

}  // namespace eventflow::streams
