// StreamThread: one OS thread running the loop of a group consumer, a
// producer and the tasks assigned to them (Kafka Streams' StreamThread).
//
// The loop (RunOnce): poll a batch of records — the consumer queue first
// (rebalances run inside that poll, on this thread, through the
// RebalanceListener), then each assigned partition's own queue up to what
// its task has room for (PartitionRouter) — hand each to its task, process
// the tasks' buffers, fire wall-clock and idle-driven stream-time
// punctuators, commit every commit interval, purge committed repartition
// records, and about once a second run the stall guard. The work is done by:
//   - TaskManager: the tasks — creation from an assignment (with restore),
//     commit, rewind, revocation, lost assignment, corrupted stores,
//     out-of-range positions, repartition purge;
//   - StreamsProducer: the producer and its transaction, and the one way out
//     of a failed one (abort, or recreate the producer; a zombie stops);
//   - ChangelogReader: restoring stores from their changelogs;
//   - PartitionRouter: the assigned partitions, their queues, the stall guard;
//   - KafkaClientSupplier: where the clients come from (the seam that unit
//     tests fill with fake clients).
//
// Exactly-once: a transaction is opened only when a task has records to
// process or a punctuator that may produce is due, so an idle thread commits
// nothing. When processing fails because the producer refuses everything
// (IsTransactionFailure: its transaction failed, it was fenced or is fatal),
// or a commit fails, the thread recovers (StreamsProducer::Recover) and
// rewinds its tasks to the last commit (TaskManager::Rewind) — a commit that
// times out is retried inside the commit, never aborted — and stops after
// kMaxFailedCommits in a row. A failed state store (IsStoreFailure) stops the
// thread: never a rewind, never a dead-lettered record; the instance goes to
// ERROR and a restart recovers the store from its changelog.
//
// A static member whose consumer turns fatal with FENCED_INSTANCE_ID after
// its own assignment was lost was fenced by its own rejoin (librdkafka
// #3437), not by another process: self_fenced() tells the supervisor to
// replace the thread.
//
// Test seam: Init() and RunOnce() let a test drive the loop on its own
// thread with fake clients (ThreadShared::client_supplier), and
// ThreadShared::test_hook is called at the fault-injection points.
//
// Thread-safety: Start/RequestShutdown/Join/state()/error() and the counters
// may be called from any thread; everything else runs on the stream thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "changelog_reader.h"
#include "client_supplier.h"
#include "streams_producer.h"
#include "task_manager.h"
#include "thread_shared.h"

namespace eventflow::streams {

//! Life of a stream thread.
enum class ThreadState { kCreated, kStarting, kRebalancing, kRunning, kPendingShutdown, kDead };

class StreamThread final : private RebalanceListener {
 public:
  //! Rewinds in a row after which the thread gives up.
  static constexpr int kMaxFailedCommits = 5;

  //! `on_state` is called (from the stream thread) on every state change.
  StreamThread(int index, const ThreadShared* shared,
               std::function<void(int, ThreadState)> on_state);
  ~StreamThread() override;

  //! Init(), then starts the OS thread running the loop.
  Status Start();
  //! Creates the clients and subscribes. Returns the clients' errors.
  Status Init();
  //! One iteration of the loop (see file comment). Returns the error that
  //! stops the thread.
  Status RunOnce();
  //! Commits when the commit interval has passed, or now when `force`; a
  //! failed commit is recovered from (see file comment). Returns the error
  //! that stops the thread.
  Status MaybeCommit(bool force);
  //! Ends the thread's work after the loop: commits (when `status` is OK) or
  //! aborts, closes the tasks and the consumer, records `status` (or the
  //! final commit's error) as error() and goes to kDead.
  void Shutdown(Status status);
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
  uint64_t dropped_late() const { return task_manager_ ? task_manager_->dropped_late() : 0; }
  int index() const { return index_; }
  //! Partitions found stalled (lag and nothing taken for partition_stall_timeout)
  //! and not moving since.
  int stalled_partitions() const {
    return task_manager_ ? task_manager_->router().stalled_partitions() : 0;
  }
  //! Stalls detected since the thread started (each counted once).
  uint64_t partition_stalls_total() const {
    return task_manager_ ? task_manager_->router().partition_stalls_total() : 0;
  }
  //! The thread's tasks (for tests; the stream thread only).
  TaskManager& task_manager() { return *task_manager_; }
  //! The thread's metrics (ThreadShared::thread_probes, else its own).
  const ThreadProbe& probe() const { return *probe_; }
  //! How often the stream thread samples its stores' sizes (and after each assignment).
  static constexpr std::chrono::seconds kStoreSampleInterval{5};

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  //! Subscribes to the source topics (joins the group).
  Status Subscribe();
  //! One loop iteration before joining: warms the tasks the StandbyCoordinator
  //! predicts for this thread, reports their lag, subscribes once it may join.
  Status RunWarmup();
  //! Takes the coordinator's standby tasks for this thread when its plan changed.
  Status FollowStandbyPlan();
  Status PollBatch();
  //! Processes the tasks' buffers and fires due wall-clock and idle-driven
  //! stream-time punctuators (`now`: epoch ms).
  Status ProcessAndPunctuate(int64_t now);
  //! Adds the time since `*mark` to `counter` and moves the mark to now.
  void Account(OwnedCounter& counter, Clock::time_point* mark);
  //! After a failed commit, or a producer that refused a record because its
  //! transaction failed: recovers the producer and rewinds; stops after
  //! kMaxFailedCommits in a row, or when this thread is the zombie.
  Status RecoverFromFailedTransaction(const Status& cause);
  //! Returns `s`; when it says fenced (by the consumer, or by a producer
  //! whose consumer is fatal too) and the consumer's fatal error is
  //! FENCED_INSTANCE_ID after this thread's assignment was lost (handled, or
  //! reported by the consumer and not polled yet), the fencing was the
  //! consumer's own rejoin (see self_fenced()): marks the thread so and says
  //! so in the status.
  Status FencedByOwnRejoin(Status s);
  Status HandleConsumerError(const ConsumerItem& item);
  void SetState(ThreadState s);
  void RunHook(RuntimeHookPoint point) const;

  // RebalanceListener (called inside consumer_->Poll).
  void OnPartitionsAssigned(const TopicPartitionOffsets& partitions) override;
  void OnPartitionsRevoked(const TopicPartitionOffsets& partitions) override;
  // Keeps the consumer's refusal of an (un)assignment as the rebalance error
  // (unless there is one already), which the loop returns.
  void KeepAssignmentError(const Status& s);

  const int index_;
  const ThreadShared* shared_;
  const StreamsConfig& config_;
  std::function<void(int, ThreadState)> on_state_;
  const std::string name_;  // "<instance>-<index>" for logs and client ids
  const std::shared_ptr<ThreadProbe> probe_;

  // Declared in dependency order: destroyed tasks first, the consumer last.
  std::unique_ptr<ConsumerClient> consumer_;
  std::unique_ptr<StreamsProducer> producer_;
  std::unique_ptr<ChangelogReader> changelog_reader_;
  std::unique_ptr<TaskManager> task_manager_;
  std::vector<ConsumerItem> batch_;  // reused partition-queue batch
  std::vector<int64_t> earliest_;    // per sub-topology: its earliest buffered task's stream time

  int failed_commits_ = 0;  // consecutive failed commits (each followed by a rewind)
  bool idle_ = false;       // the last poll found nothing to do
  Clock::time_point last_commit_;
  Clock::time_point last_stall_check_{};
  Clock::time_point loop_now_{};  // read once per loop iteration
  Clock::time_point last_store_sample_{};
  Status rebalance_error_;
  bool subscribed_ = false;      // joined the group (after any warm-up)
  uint64_t standby_version_ = 0;  // the coordinator's plan version followed
  Clock::time_point last_standby_report_{};

  std::thread thread_;
  std::atomic<bool> shutdown_{false};
  std::atomic<bool> self_fenced_{false};
  std::atomic<ThreadState> state_{ThreadState::kCreated};
  std::atomic<uint64_t> processed_{0};
  mutable std::mutex error_mu_;
  Status error_;
};

}  // namespace eventflow::streams
