// KafkaStreams: one instance of a streams application — the object users
// start and close (Kafka Streams' KafkaStreams).
//
// Start() validates the configuration and the topology, creates the internal
// topics (repartition topics and the dead-letter topic "<application.id>-dlq")
// through the Admin API, checks that the source topics of every sub-topology
// are co-partitioned (same partition count), and starts num_stream_threads
// StreamThreads. Instances with the same application.id form one consumer
// group and split the tasks between them; starting or stopping one moves
// tasks (a rebalance).
//
// States (as Kafka Streams): CREATED → REBALANCING ⇄ RUNNING →
// PENDING_SHUTDOWN → NOT_RUNNING, or ERROR when a thread dies and the error
// handler shuts the client down. The state listener is called on changes,
// from the thread that caused them.
//
// Thread-safety: Start/Close/state() from any one thread; listeners must be
// thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/streams/store_query.h"
#include "eventflow/streams/streams_config.h"
#include "eventflow/streams/streams_metrics.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

class StreamThread;
struct ThreadShared;
enum class ThreadState;

//! Points in a stream thread's work where a test may inject a fault
//! (KafkaStreams::SetTestHook).
enum class RuntimeHookPoint {
  //! The Kafka transaction (or offset commit) succeeded; the state stores
  //! have not committed their writes yet.
  kAfterKafkaCommit,
  //! A batch of changelog records was restored into a store.
  kMidRestore,
};

//! Called on stream thread `thread` (its index) each time it reaches `point`.
using RuntimeTestHook = std::function<void(RuntimeHookPoint point, int thread)>;

class KafkaStreams final : public StoreQueries {
 public:
  enum class State { kCreated, kRebalancing, kRunning, kPendingShutdown, kNotRunning, kError };

  //! What to do when a stream thread dies with an error.
  enum class ErrorResponse {
    kReplaceThread,   //!< start a new thread in its place
    kShutdownClient,  //!< close this instance (state ERROR)
  };

  //! Called on every state change with (new, old).
  using StateListener = std::function<void(State, State)>;
  //! Decides what a thread's fatal error leads to (default: shut down the client).
  using ErrorHandler = std::function<ErrorResponse(const Status&)>;

  KafkaStreams(Topology topology, StreamsConfig config);
  ~KafkaStreams() override;
  KafkaStreams(const KafkaStreams&) = delete;
  KafkaStreams& operator=(const KafkaStreams&) = delete;

  //! Sets the state listener; call before Start().
  void SetStateListener(StateListener listener);
  //! Sets the uncaught error handler; call before Start().
  void SetUncaughtErrorHandler(ErrorHandler handler);
  //! For tests only: calls `hook` at the fault-injection points of every
  //! stream thread (e.g. to crash where a kill -9 from outside cannot aim);
  //! call before Start(). Never set in production.
  void SetTestHook(RuntimeTestHook hook);

  //! Starts processing. Returns InvalidArgument naming the setting, topology
  //! node or topic for a bad configuration or topology, or the Kafka error
  //! when topics cannot be created or checked.
  Status Start();

  //! Stops all threads gracefully (finish batch, commit, close, leave group
  //! unless static membership); waits up to `timeout`. Returns false on time-out.
  bool Close(std::chrono::milliseconds timeout = std::chrono::minutes(1));

  //! The current state.
  State state() const;
  //! The error that put the instance in ERROR (OK otherwise).
  Status error() const;
  //! Records processed by all threads so far.
  uint64_t processed() const;
  //! Window updates dropped as late (their window closed by the watermark),
  //! summed over the threads' tasks as of their last successful commit (work
  //! rolled back by an aborted transaction is not counted).
  uint64_t dropped_late() const;

  //! Records the broker no longer had when they were to be read (deleted by
  //! retention or DeleteRecords), per topic, counted when skipped under
  //! DataLossPolicy::kSkip (eventflow_records_lost_total{topic}); empty otherwise.
  std::map<std::string, uint64_t> records_lost() const;
  //! Partitions stalled right now (partition_stall_timeout): lag, and nothing
  //! taken from them for that long. Non-zero makes the instance not ready.
  int stalled_partitions() const;
  //! Stalls detected since start (eventflow_partition_stalls_total).
  uint64_t partition_stalls_total() const;

  //! Restore progress of one store name (streams_metrics.h).
  using StoreRestoreMetrics = streams::StoreRestoreMetrics;
  //! Restore progress per store name (stores restored at least once).
  std::map<std::string, StoreRestoreMetrics> restore_metrics() const;

  //! Everything the instance reports about itself, per thread, task, store
  //! and input partition (streams_metrics.h: what each figure means and what
  //! it costs). Empty threads before Start(). Thread-safe; it reads the
  //! threads' probes and parses new client statistics, so call it at scrape
  //! time, not in a loop.
  StreamsMetrics metrics() const;
  //! True when every thread is RUNNING with its tasks restored (none
  //! restoring) and no partition is stalled: what /readyz answers.
  bool ready() const;
  // Interactive queries (store_query.h). Usable from any thread once Start()
  // has returned OK; before that they return Unavailable.

  //! Returns the topology's stores with their partition counts (empty before Start()).
  std::vector<QueryableStoreInfo> QueryableStoreInfos() const override;
  //! Returns a handle reading `params.store` on this instance (see
  //! ReadOnlyStore). NotFound for a store the topology does not have.
  Result<ReadOnlyStore> Store(const StoreQueryParameters& params) const override;
  //! Where the serialized `key` of `store` lives: its partition and the
  //! instance running its task. NotFound for an unknown store; the Admin
  //! API's error when the group cannot be described (and nothing is cached).
  Result<KeyQueryMetadata> QueryMetadataForKey(std::string_view store,
                                               std::string_view key) const override;
  //! The instances (this one first, when it runs any) running partitions of
  //! `store`, each with its partitions. Errors as QueryMetadataForKey.
  Result<std::vector<StreamsMetadata>> StreamsMetadataForStore(
      std::string_view store) const override;
  //! Tells the metadata cache that an instance it named did not answer (or
  //! answered that it does not run the task): the next query describes the
  //! group again.
  void MarkMetadataStale() const override;

  //! Returns the state's name, e.g. "RUNNING".
  static std::string_view StateName(State state);

 private:
  void OnThreadState(int index, ThreadState state);
  void SetState(State state);
  Status CreateInternalTopics();
  //! Creates ThreadShared's queryable stores and metadata (after the
  //! internal topics, whose partition counts it needs).
  void PrepareInteractiveQueries();
  //! Creates and starts ThreadShared's StandbyCoordinator when
  //! num_standby_replicas > 0 (after the internal topics).
  void PrepareStandbys();
  //! The queryable stores, or Unavailable before Start().
  Result<const QueryableStores*> Queryable() const;
  void Supervise();

  Topology topology_;
  StreamsConfig config_;
  std::unique_ptr<ThreadShared> shared_;
  std::vector<std::unique_ptr<StreamThread>> threads_;
  StateListener listener_;
  ErrorHandler error_handler_;
  RuntimeTestHook test_hook_;
  mutable std::mutex mu_;
  State state_ = State::kCreated;
  Status error_;
  std::vector<ThreadState> thread_states_;
  std::thread supervisor_;
  bool closing_ = false;
  uint64_t stalls_of_replaced_threads_ = 0;  // guarded by mu_
  std::shared_ptr<void> describe_admin_;     // the admin client describing the group
};

}  // namespace eventflow::streams
