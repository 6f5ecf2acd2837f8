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
// Standby replicas (not built yet) are meant to drop in here: a standby task
// registers its stores the same way, and instead of RestoreActive's blocking
// pass the thread loop would call a bounded step between its iterations that
// applies what the restore consumer has fetched for them, never "finishing".
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
  //! Forgets the task's registered changelog partitions.
  void Unregister(TaskId task);

  //! Restores every registered changelog partition to its end (see file
  //! comment); restored partitions are unregistered. Returns DataLoss (policy
  //! fail), Corruption (TakeCorrupted()), TimedOut (restore_timeout) or the
  //! client's or store's error.
  Status RestoreActive();

  //! The stores RestoreActive() found corrupted (and forgets them).
  std::vector<Corrupted> TakeCorrupted() { return std::exchange(corrupted_, {}); }

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

  KafkaClientSupplier* const supplier_;
  const StreamsConfig& config_;
  const std::string thread_;
  RestoreProgress* const progress_;
  LostRecords* const lost_;
  const std::function<void()> on_batch_restored_;
  std::unique_ptr<ConsumerClient> consumer_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  std::vector<Corrupted> corrupted_;
  std::vector<ConsumerItem> items_;  // reused poll buffer
};

}  // namespace eventflow::streams
