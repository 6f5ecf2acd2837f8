// What the stream threads of one instance share: the topology and settings,
// the client supplier, the test hook, and the instance-wide figures they
// update (restore progress, lost records).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client_supplier.h"
#include "departed_members.h"
#include "thread_probe.h"
#include "eventflow/state/memory_budget.h"
#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/memory_split.h"
#include "eventflow/streams/stream_task.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/streams/topology.h"
#include "queryable_stores.h"
#include "standby_coordinator.h"
#include "streams_metadata_state.h"
#include "task_claims.h"

namespace eventflow::streams {

//! Restore progress per store name, updated by the threads per restored
//! batch (never per record), read by KafkaStreams::restore_metrics().
class RestoreProgress {
 public:
  using Metrics = StoreRestoreMetrics;
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
//! the thread-safe restore_progress, lost_records, queryable_stores, metadata,
//! departed_members).
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
  //! Sub-topology id → its task count (the partition count of its sources).
  std::map<int, int> subtopology_tasks;
  //! The instance's state memory (RocksDB block cache, write buffers, record caches).
  std::unique_ptr<state::StateMemoryBudget> memory_budget;
  //! The instance's memory budget split (memory_split.h) and what it gives
  //! each Kafka client (set in Start(), before the threads; read-only then).
  MemorySplit memory_split;
  ClientMemory client_memory;
  //! Where the threads get their Kafka clients (the default one wraps librdkafka).
  std::unique_ptr<KafkaClientSupplier> client_supplier;
  //! Fault injection for tests (KafkaStreams::SetTestHook); empty in production.
  RuntimeTestHook test_hook;
  //! Restore metrics of the instance.
  std::unique_ptr<RestoreProgress> restore_progress = std::make_unique<RestoreProgress>();
  //! Records lost to retention or DeleteRecords (DataLossPolicy::kSkip).
  std::unique_ptr<LostRecords> lost_records = std::make_unique<LostRecords>();
  //! One probe per thread index, for the instance's life (a replacement
  //! thread continues its predecessor's); empty in tests that build their own
  //! threads (each thread then makes its own).
  std::vector<std::shared_ptr<ThreadProbe>> thread_probes;
  //! Interactive queries: the running tasks' stores (threads register them)
  //! and where other instances run theirs (threads report rebalances). Set
  //! before the threads start; nullptr in tests that do not query.
  std::unique_ptr<QueryableStores> queryable_stores;
  std::unique_ptr<StreamsMetadataState> metadata;
  //! Exactly-once: ends departed members' open transactions on assignment
  //! (departed_members.h); nullptr under at-least-once and in tests that
  //! build their own threads.
  std::unique_ptr<DepartedMemberFencer> departed_members;
  //! Which thread has each task's stores open (task_claims.h).
  std::unique_ptr<TaskClaims> claims = std::make_unique<TaskClaims>();
  //! Standby placement and warm-up (num_standby_replicas > 0); nullptr
  //! otherwise, and in tests that build their own threads without one.
  std::unique_ptr<StandbyCoordinator> standby;
};

}  // namespace eventflow::streams
