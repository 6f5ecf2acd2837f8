// QueryableStores: the stores of an instance's running tasks, as interactive
// queries reach them (store_query.h) — Kafka Streams' QueryableStoreProvider
// and its per-thread StateStoreProviders in one registry.
//
// Stream threads register a task's stores when the task is created (state
// RESTORING), mark them RUNNING once their restore has finished, and
// unregister them before the task closes them; never per record. A reader
// finds the slot of (store, partition) and holds the slot's lock shared for
// the duration of one read through the store's committed view; Unregister
// takes it exclusively, so closing a task waits for the reads in progress and
// every later read of the slot answers Unavailable. A reader never touches a
// closed store.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/shared_mutex.h"
#include "eventflow/kafka/partitioner.h"
#include "eventflow/state/state_store.h"
#include "eventflow/streams/store_query.h"
#include "eventflow/streams/stream_task.h"

namespace eventflow::streams {

class ProcessorStateManager;

class QueryableStores {
 public:
  //! What the stores of a topology look like to queries: each store with its
  //! partition count, its sub-topology and that sub-topology's resolved
  //! source topics (same order).
  struct Layout {
    std::vector<QueryableStoreInfo> infos;
    std::vector<int> subtopologies;
    std::vector<std::vector<std::string>> source_topics;
  };
  //! Returns the layout of `topology`'s stores; `tasks`: sub-topology id →
  //! its task count (as KafkaStreams::Start() finds them).
  static Layout LayoutOf(const Topology& topology,
                         const std::vector<Topology::SubTopology>& subtopologies,
                         const std::map<int, int>& tasks, const TopicResolver& resolve);

  //! `infos`: every store of the topology with its partition count and the
  //! sub-topology it belongs to (same order); `partitioner` places keys (the
  //! data producers' one; an error when it places none: key lookups fail with it).
  QueryableStores(std::vector<QueryableStoreInfo> infos, std::vector<int> subtopologies,
                  Result<kafka::KeyPartitioner> partitioner);

  //! Returns a read handle of `info` (one of infos()) for `partition` (nullopt: see ReadOnlyStore).
  ReadOnlyStore Handle(const QueryableStoreInfo& info, std::optional<int> partition) const {
    return ReadOnlyStore(this, &info, partition);
  }

  //! The stores, in topology order.
  const std::vector<QueryableStoreInfo>& infos() const { return infos_; }
  //! The store named `name`, or nullptr.
  const QueryableStoreInfo* Find(std::string_view name) const;
  //! The sub-topology of a store returned by Find().
  int SubtopologyOf(const QueryableStoreInfo& info) const;
  //! The partition of a serialized key of `info`'s store, or the
  //! partitioner's error (kafka.partitioner places no keys).
  Result<int> PartitionOf(const QueryableStoreInfo& info, std::string_view key) const;

  // Stream threads.
  //! Registers the stores of `task` (restoring: not readable yet).
  void Register(TaskId task, const ProcessorStateManager& stores);
  //! Makes `task`'s registered stores readable (their restore finished).
  void SetRunning(TaskId task);
  //! Unregisters `task`'s stores; waits for the reads in progress. Call
  //! before the task closes them.
  void Unregister(TaskId task);

  // Readers.
  //! Whether a partition of a store runs here, and whether it is readable.
  enum class PartitionState { kAbsent, kRestoring, kRunning };
  PartitionState StateOf(const std::string& store, int partition) const;
  //! The partitions of `store` registered here (restoring or running), ascending.
  std::vector<int> LocalPartitions(const std::string& store) const;
  //! Runs `read` on the store of (`store`, `partition`) while holding it
  //! open. Returns Unavailable (naming store and partition: not here,
  //! restoring, or closed meanwhile) without calling `read`, else its status.
  Status Read(const std::string& store, int partition,
              const std::function<Status(state::StateStore&)>& read) const;

 private:
  struct Slot {
    TaskId task;
    mutable WriterPriorityMutex mu;
    state::StateStore* store = nullptr;  // guarded by mu; nullptr once unregistered
    std::atomic<bool> running{false};
  };
  using SlotKey = std::pair<std::string, int>;

  std::shared_ptr<Slot> FindSlot(const std::string& store, int partition) const;

  const std::vector<QueryableStoreInfo> infos_;
  const std::vector<int> subtopologies_;
  const Result<kafka::KeyPartitioner> partitioner_;
  mutable std::mutex mu_;  // guards slots_
  std::map<SlotKey, std::shared_ptr<Slot>, std::less<>> slots_;
};

}  // namespace eventflow::streams
