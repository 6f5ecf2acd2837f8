// ThreadProbe: the metrics of one stream thread (Redpanda's *_probe): what
// KafkaStreams::metrics() reports per thread (streams_metrics.h has the
// figures and what each costs the record path).
//
// Ownership and life: KafkaStreams creates one probe per thread index at
// Start() and keeps it for the instance's life; a thread that replaces a dead
// one gets the same probe, so counters never go back. Slots for tasks,
// stores, input partitions and output topics are created on first use (at
// assignment, under the probe's mutex) and never removed: a task that moves
// away keeps its totals (active = false) and its slot is reused when it
// comes back. Their number is bounded by the topology's tasks, stores and
// topics.
//
// Thread-safety: one writer — the stream thread owning the probe (the
// Publish*/Set*/Add* calls and every slot's values) — and any number of
// readers (Snapshot()). Values are relaxed atomics written with plain loads
// and stores; the mutex guards only the slot maps (creation, and readers
// walking them), never taken per record or per batch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "eventflow/core/histogram.h"
#include "eventflow/kafka/client_statistics.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/streams_metrics.h"

namespace eventflow::streams {

//! A counter with one writer: Add() is a relaxed load and store (no locked
//! read-modify-write); Get() from any thread.
class OwnedCounter {
 public:
  void Add(uint64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void Set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class ThreadProbe {
 public:
  //! One task's slot (see file comment).
  struct TaskSlot {
    OwnedCounter processed, dead_lettered, punctuations, watermark_records;
    OwnedCounter cache_hits, cache_misses, cache_evictions;
    OwnedCounter cache_bytes, cache_entries;  // gauges
    std::atomic<bool> active{false};
    std::atomic<bool> restoring{false};
    // The stream thread's own bookkeeping (never read by readers): the totals
    // of the task's earlier instances on this thread (a task is rebuilt after
    // a rewind, and comes back after a move).
    TaskCounters folded;
    uint64_t folded_hits = 0, folded_misses = 0, folded_evictions = 0;
  };
  //! One store of a task.
  struct StoreSlot {
    OwnedCounter live_sst_bytes, memtable_bytes, estimated_keys;
    std::atomic<bool> persistent{false};
    std::atomic<bool> active{false};
  };
  //! One changelog partition of a standby task.
  struct StandbySlot {
    std::atomic<int64_t> position{0};
    std::atomic<int64_t> lag{-1};
    std::atomic<bool> active{false};
  };
  //! One input partition.
  struct PartitionSlot {
    std::atomic<int64_t> position{-1};  //!< see streams_metrics.h (PartitionLag)
    std::atomic<bool> assigned{false};
    //! Publishes the thread's position (never moves back while assigned).
    void Advance(int64_t p) {
      if (p > position.load(std::memory_order_relaxed)) {
        position.store(p, std::memory_order_relaxed);
      }
    }
  };

  //! `thread` names the thread in the snapshot; `exactly_once` picks the end
  //! offset lag is measured to (last stable offset, else high watermark).
  ThreadProbe(std::string thread, bool exactly_once);

  // Slots, created on first use (the stream thread, at assignment).
  TaskSlot* Task(const TaskId& id);
  StoreSlot* Store(const TaskId& id, const std::string& store);
  PartitionSlot* Partition(const std::string& topic, int32_t partition);
  //! The end-to-end latency histogram of an output topic (TaskOptions).
  Histogram* E2eLatency(const std::string& topic);
  //! Marks every store slot of `id` inactive (its task closed).
  void DeactivateStores(const TaskId& id);
  StandbySlot* Standby(const TaskId& id, const std::string& store);
  //! Marks every standby slot of `id` inactive (its standby closed).
  void DeactivateStandby(const TaskId& id);

  //! The clients whose statistics the snapshot carries (either may be null).
  void SetClientStatistics(std::shared_ptr<kafka::StatisticsMailbox> consumer,
                           std::shared_ptr<kafka::StatisticsMailbox> producer);

  //! Copies a live task's counters (and its record cache's) into its slot.
  static void Publish(TaskSlot* slot, StreamTask& task);
  //! Adds a closing task's counters to its slot's folded totals and marks it inactive.
  static void Fold(TaskSlot* slot, StreamTask& task);

  // Thread-level figures (the stream thread writes them directly).
  OwnedCounter dropped_late;
  OwnedCounter rebalances;
  OwnedCounter commits_failed;
  OwnedCounter transactions_committed;
  OwnedCounter transactions_aborted;
  OwnedCounter poll_ns, process_ns, punctuate_ns, commit_ns;
  Histogram process_duration{kProcessDurationBuckets};
  Histogram commit_duration{kCommitDurationBuckets};
  std::atomic<int> active_tasks{0};
  std::atomic<int> restoring_tasks{0};
  std::atomic<int> standby_tasks{0};
  OwnedCounter standby_records;
  OwnedCounter restores_none, restores_tail, restores_full, restore_records;
  Histogram move_gap_moved{kMoveGapBuckets};
  Histogram move_gap_stayed{kMoveGapBuckets};

  //! Returns the thread's figures now (any thread).
  ThreadMetrics Snapshot() const;

 private:
  const std::string thread_;
  const bool exactly_once_;
  mutable std::mutex mu_;  // guards the maps and the mailboxes, not the values
  std::map<TaskId, std::unique_ptr<TaskSlot>> tasks_;
  std::map<std::pair<TaskId, std::string>, std::unique_ptr<StoreSlot>> stores_;
  std::map<std::pair<TaskId, std::string>, std::unique_ptr<StandbySlot>> standbys_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<PartitionSlot>> partitions_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> e2e_;
  std::shared_ptr<kafka::StatisticsMailbox> consumer_stats_;
  std::shared_ptr<kafka::StatisticsMailbox> producer_stats_;
};

//! Nanoseconds between two steady-clock readings.
inline uint64_t NanosBetween(std::chrono::steady_clock::time_point from,
                             std::chrono::steady_clock::time_point to) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

}  // namespace eventflow::streams
