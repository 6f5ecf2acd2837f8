#include "stream_thread.h"

#include <algorithm>
#include <limits>
#include <thread>

#include "eventflow/core/log.h"

namespace eventflow::streams {
namespace {

constexpr size_t kPollBatch = 500;    // records taken from one partition queue per loop
constexpr int kProcessPerTask = 200;  // records processed per task per loop
// A task whose stream time is more than kAheadSlackMs ahead of the earliest
// task of its sub-topology that has records buffered processes only
// kProcessPerTaskAhead records per loop (see ProcessAndPunctuate).
constexpr int64_t kAheadSlackMs = 1000;
constexpr int kProcessPerTaskAhead = 20;

std::shared_ptr<ThreadProbe> ProbeFor(int index, const ThreadShared* shared,
                                      const std::string& name) {
  if (static_cast<size_t>(index) < shared->thread_probes.size()) {
    return shared->thread_probes[static_cast<size_t>(index)];
  }
  return std::make_shared<ThreadProbe>(
      name, shared->config->processing_guarantee == ProcessingGuarantee::kExactlyOnceV2);
}

}  // namespace

StreamThread::StreamThread(int index, const ThreadShared* shared,
                           std::function<void(int, ThreadState)> on_state)
    : index_(index),
      shared_(shared),
      config_(*shared->config),
      on_state_(std::move(on_state)),
      name_(shared->instance_id + "-" + std::to_string(index)),
      probe_(ProbeFor(index, shared, name_)) {}

StreamThread::~StreamThread() {
  RequestShutdown();
  Join();
}

void StreamThread::SetState(ThreadState s) {
  const ThreadState old = state_.exchange(s);
  if (old != s && on_state_) on_state_(index_, s);
}

Status StreamThread::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

void StreamThread::RunHook(RuntimeHookPoint point) const {
  if (shared_->test_hook) shared_->test_hook(point, index_);
}

Status StreamThread::Init() {
  SetState(ThreadState::kStarting);
  KafkaClientSupplier* supplier = shared_->client_supplier.get();
  producer_ = std::make_unique<StreamsProducer>(supplier, config_, name_, probe_.get());
  EVENTFLOW_RETURN_IF_ERROR(producer_->Init());
  auto consumer = supplier->CreateMainConsumer(config_, name_);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  // The test seam (empty in production): fault injection at two points.
  std::function<void()> mid_restore, after_kafka_commit;
  if (shared_->test_hook) {
    mid_restore = [this] { RunHook(RuntimeHookPoint::kMidRestore); };
    after_kafka_commit = [this] { RunHook(RuntimeHookPoint::kAfterKafkaCommit); };
  }
  changelog_reader_ =
      std::make_unique<ChangelogReader>(supplier, config_, name_, shared_->restore_progress.get(),
                                        shared_->lost_records.get(), std::move(mid_restore));
  task_manager_ =
      std::make_unique<TaskManager>(shared_, index_, name_, consumer_.get(), producer_.get(),
                                    changelog_reader_.get(), probe_.get(),
                                    std::move(after_kafka_commit));
  probe_->SetClientStatistics(consumer_->statistics(), producer_->statistics());
  last_commit_ = Clock::now();
  // A joining instance with standbys warms the tasks it will get first
  // (StandbyCoordinator); the loop subscribes once it may join.
  if (shared_->standby && !shared_->standby->may_join()) return Status::OK();
  return Subscribe();
}

Status StreamThread::Subscribe() {
  EVENTFLOW_RETURN_IF_ERROR(consumer_->Subscribe(shared_->source_topics, this));
  subscribed_ = true;
  SetState(ThreadState::kRebalancing);
  return Status::OK();
}

Status StreamThread::RunWarmup() {
  StandbyCoordinator& coordinator = *shared_->standby;
  if (coordinator.may_join()) {
    Log(LogLevel::kInfo, "stream-thread " + name_, "subscribing (joining the group)");
    return Subscribe();
  }
  EVENTFLOW_RETURN_IF_ERROR(FollowStandbyPlan());
  const auto before = last_standby_report_;
  // Nothing else to do: wait a little for changelog records.
  EVENTFLOW_RETURN_IF_ERROR(
      task_manager_->MaintainStandbys(loop_now_, std::chrono::milliseconds(10)));
  if (task_manager_->standbys().empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // nothing to wait on
  }
  if (loop_now_ - before >= config_.EffectiveCommitInterval()) {
    last_standby_report_ = loop_now_;
    coordinator.ReportWarmup(index_, standby_version_, task_manager_->MaxStandbyLag());
  }
  return Status::OK();
}

Status StreamThread::FollowStandbyPlan() {
  if (!shared_->standby) return Status::OK();
  const uint64_t version = shared_->standby->version();
  if (version != standby_version_) {
    standby_version_ = version;
    task_manager_->SetStandbys(shared_->standby->StandbysOf(index_));
  }
  return Status::OK();
}

Status StreamThread::Start() {
  EVENTFLOW_RETURN_IF_ERROR(Init());
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void StreamThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void StreamThread::Run() {
  Status status;
  while (status.ok() && !shutdown_.load()) status = RunOnce();
  Shutdown(std::move(status));
}

void StreamThread::Shutdown(Status status) {
  SetState(ThreadState::kPendingShutdown);
  if (status.ok()) {
    status = MaybeCommit(/*force=*/true);
  } else if (producer_ && producer_->transaction_open()) {
    IgnoreError(producer_->Abort(),
                "the thread stops with `status`, logged below; a transaction left open is "
                "aborted by the next producer with its transactional.id or times out");
  }
  // Logged before the stores close: closing a store whose disk failed may
  // fail (or, in RocksDB builds with assertions, abort) too.
  if (!status.ok()) Log(LogLevel::kError, "stream-thread " + name_, status.ToString());
  batch_.clear();
  if (task_manager_) {
    task_manager_->CloseAll();
    task_manager_->CloseStandbys();  // what they read is applied first
  }
  // Static members keep their partitions for session.timeout.ms (no rebalance on restart).
  if (consumer_) consumer_->Close();
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error_ = status;
  }
  SetState(ThreadState::kDead);
}

void StreamThread::Account(OwnedCounter& counter, Clock::time_point* mark) {
  const Clock::time_point now = Clock::now();
  counter.Add(NanosBetween(*mark, now));
  *mark = now;
}

Status StreamThread::RunOnce() {
  loop_now_ = Clock::now();
  // The tasks' wall clock (changelog and dead-letter timestamps), once per loop.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (!subscribed_) return RunWarmup();
  for (auto& [id, task] : task_manager_->tasks()) task->SetWallClock(now);
  Clock::time_point mark = loop_now_;
  const Status polled = PollBatch();
  Account(probe_->poll_ns, &mark);
  EVENTFLOW_RETURN_IF_ERROR(polled);
  const Status processed = ProcessAndPunctuate(now);
  if (!processed.ok()) {
    // The producer refused everything (its transaction failed, it was fenced
    // or is fatal): recover as after a failed commit. Anything else stops.
    if (!IsTransactionFailure(processed)) return processed;
    return RecoverFromFailedTransaction(processed);
  }
  EVENTFLOW_RETURN_IF_ERROR(MaybeCommit(/*force=*/false));
  EVENTFLOW_RETURN_IF_ERROR(FollowStandbyPlan());
  EVENTFLOW_RETURN_IF_ERROR(
      task_manager_->MaintainStandbys(loop_now_, std::chrono::milliseconds(0)));
  // Also when idle: what was committed last is purged an interval later.
  task_manager_->MaybePurgeRepartitionTopics(loop_now_);
  if (loop_now_ - last_store_sample_ >= kStoreSampleInterval) {
    last_store_sample_ = loop_now_;
    task_manager_->SampleStores();
  }
  if (config_.partition_stall_timeout.count() > 0 &&
      loop_now_ - last_stall_check_ >= std::chrono::seconds(1)) {
    last_stall_check_ = loop_now_;
    task_manager_->router().CheckStalls(
        loop_now_, config_.partition_stall_timeout,
        [this]() -> ConsumerClient* {
          auto client = changelog_reader_->consumer();
          return client.ok() ? *client : nullptr;
        },
        [this](const std::string& topic, int32_t partition) {
          return task_manager_->CommittedOffset(topic, partition);
        });
  }
  return Status::OK();
}

Status StreamThread::PollBatch() {
  // 1. The consumer queue: rebalance callbacks, errors, and records fetched
  //    before their partition queue was detached. Drained completely, so that
  //    such records come before the partition queue's later ones. It waits
  //    (briefly) only when there is nothing to do.
  PartitionRouter& router = task_manager_->router();
  size_t taken = 0;
  ConsumerItem item;
  for (bool more = consumer_->Poll(std::chrono::milliseconds(idle_ ? 10 : 0), &item); more;
       more = consumer_->Poll(std::chrono::milliseconds(0), &item)) {
    EVENTFLOW_RETURN_IF_ERROR(rebalance_error_);
    if (item.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      EVENTFLOW_RETURN_IF_ERROR(HandleConsumerError(item));
      continue;
    }
    PartitionRouter::Route* route = router.Find(item);
    if (route == nullptr) continue;  // a partition revoked meanwhile
    route->position = item.record.raw.offset + 1;
    if (route->lag != nullptr) route->lag->Advance(route->position);
    route->Progressed(loop_now_);
    route->task->AddRecord(std::move(item.record));
    ++taken;
  }
  EVENTFLOW_RETURN_IF_ERROR(rebalance_error_);

  // 2. The partition queues, each up to what its partition's buffer in the
  //    task has room for. Records left in a partition queue stay there: the
  //    client stops fetching when its queue is full, which is the
  //    backpressure. Per partition, not per task: the task takes the head
  //    with the smallest timestamp, so a partition running ahead in event
  //    time keeps its records buffered; counted against the task, they would
  //    leave no room for the partition behind, which would run dry and let
  //    the one ahead be processed — hours ahead in a catch-up, with all its
  //    windows held open until the other catches up.
  const size_t limit = static_cast<size_t>(config_.max_buffered_records_per_partition);
  for (PartitionRouter::Route& r : router.routes()) {
    if (!r.queue) continue;
    const size_t held = r.task->buffered(r.topic, r.partition);
    if (held >= limit) continue;
    batch_.clear();
    if (r.queue->Consume(std::min(limit - held, kPollBatch), &batch_) > 0) {
      r.Progressed(loop_now_);
    }
    for (ConsumerItem& consumed : batch_) {
      if (consumed.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        EVENTFLOW_RETURN_IF_ERROR(HandleConsumerError(consumed));
        continue;
      }
      r.position = consumed.record.raw.offset + 1;
      r.task->AddRecord(std::move(consumed.record));
      ++taken;
    }
    if (r.lag != nullptr) r.lag->Advance(r.position);  // once per partition batch
  }
  batch_.clear();
  bool any_buffered = false;
  for (auto& [id, task] : task_manager_->tasks()) {
    any_buffered = any_buffered || task->buffered() > 0;
  }
  idle_ = taken == 0 && !any_buffered;
  return Status::OK();
}

Status StreamThread::HandleConsumerError(const ConsumerItem& item) {
  const RawRecord& raw = item.record.raw;
  if (item.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    // The fetcher reached the partition's end: its offset is past the
    // transaction markers the thread never sees as records (lag 0 then).
    if (!raw.topic.empty()) {
      PartitionRouter::Route* r = task_manager_->router().Find(std::string(raw.topic), raw.partition);
      if (r != nullptr && r->lag != nullptr && raw.offset >= r->position) r->lag->Advance(raw.offset);
    }
    return Status::OK();
  }
  if (item.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && !raw.topic.empty()) {
    return task_manager_->HandleOutOfRange(std::string(raw.topic), raw.partition, raw.offset);
  }
  if (item.err == RD_KAFKA_RESP_ERR__FATAL) {
    std::string reason;
    rd_kafka_resp_err_t cause = consumer_->FatalError(&reason);
    if (cause == RD_KAFKA_RESP_ERR_NO_ERROR) cause = item.err;
    const Status s = kafka::FromKafkaError(cause, "consumer fatal error (" + reason + ")");
    return FencedByOwnRejoin(s);
  }
  const Status s = kafka::FromKafkaError(item.err, "consumer");
  if (s.code() == StatusCode::kFenced) return s;
  Log(LogLevel::kWarn, "stream-thread " + name_, s.ToString());
  return Status::OK();
}

Status StreamThread::ProcessAndPunctuate(int64_t now) {
  // One clock reading per task batch: its duration, averaged over its
  // records, goes to the process-duration histogram once per record.
  //
  // The tasks of one sub-topology advance together in event time: a task
  // more than kAheadSlackMs ahead of the earliest sibling with records to
  // process gets a small batch. Their watermarks are what the sub-topologies
  // downstream of a repartition topic close windows by (the minimum over the
  // writing tasks), so a task running ahead — equal batches, but partitions
  // of unequal sizes, advance unequally in event time — only holds more
  // windows open downstream: in a catch-up of the pipeline that was hours of
  // windows and join records by the end. The batch is small, never none, so
  // a task whose stream time does not advance (e.g. bad records) cannot stop
  // its siblings; tasks with nothing buffered do not count.
  auto& tasks = task_manager_->tasks();
  earliest_.clear();
  for (auto& [id, task] : tasks) {
    if (task->buffered() == 0) continue;
    const auto sub = static_cast<size_t>(id.subtopology);
    if (earliest_.size() <= sub) earliest_.resize(sub + 1, std::numeric_limits<int64_t>::max());
    earliest_[sub] = std::min(earliest_[sub], task->stream_time());
  }
  Clock::time_point mark = Clock::now();
  for (auto& [id, task] : tasks) {
    if (task->buffered() == 0) continue;
    EVENTFLOW_RETURN_IF_ERROR(producer_->MaybeBeginTransaction());
    const int64_t earliest = earliest_[static_cast<size_t>(id.subtopology)];
    const int batch = task->stream_time() - earliest > kAheadSlackMs ? kProcessPerTaskAhead
                                                                     : kProcessPerTask;
    uint64_t done = 0;
    for (int i = 0; i < batch; ++i) {
      auto r = task->Process();
      if (!r.ok()) return r.status();
      if (!*r) break;
      ++done;
    }
    const Clock::time_point end = Clock::now();
    const uint64_t nanos = NanosBetween(mark, end);
    probe_->process_ns.Add(nanos);
    mark = end;
    if (done > 0) {
      probe_->process_duration.ObserveN(static_cast<double>(nanos) / 1e9 / static_cast<double>(done),
                                        done);
      task_manager_->MarkDirty();
      task_manager_->PublishTask(id);
      task_manager_->OnProcessed(id, now);
      processed_.fetch_add(done, std::memory_order_relaxed);
    }
  }
  producer_->Poll();
  for (auto& [id, task] : task_manager_->tasks()) {
    // Open a transaction only when a punctuator will run (it may produce):
    // an idle thread commits nothing.
    if (!task->WallClockPunctuationDue(now)) continue;
    EVENTFLOW_RETURN_IF_ERROR(producer_->MaybeBeginTransaction());
    auto fired = task->PunctuateWallClock(now);
    if (!fired.ok()) return fired.status();
    if (*fired > 0) task_manager_->MarkDirty();
  }
  // Idle partitions (watermark.idle.timeout.ms): a watermark they stop
  // holding back fires stream-time punctuators, which may produce.
  if (config_.watermark_idle_timeout.count() > 0) {
    for (auto& [id, task] : task_manager_->tasks()) {
      if (!task->RefreshIdle(now)) continue;
      EVENTFLOW_RETURN_IF_ERROR(producer_->MaybeBeginTransaction());
      EVENTFLOW_RETURN_IF_ERROR(task->AdvanceWatermark());
      task_manager_->MarkDirty();
    }
  }
  Account(probe_->punctuate_ns, &mark);
  return Status::OK();
}

Status StreamThread::MaybeCommit(bool force) {
  if (!force && Clock::now() - last_commit_ < config_.EffectiveCommitInterval()) {
    return Status::OK();
  }
  last_commit_ = Clock::now();
  if (!task_manager_->dirty() && !producer_->transaction_open()) return Status::OK();
  bool store_failed = false;
  const Status s = task_manager_->Commit(&store_failed);
  const uint64_t nanos = NanosBetween(last_commit_, Clock::now());
  probe_->commit_ns.Add(nanos);
  probe_->commit_duration.Observe(static_cast<double>(nanos) / 1e9);
  if (!s.ok()) probe_->commits_failed.Add(1);
  if (s.ok()) {
    failed_commits_ = 0;
    return s;
  }
  // A failed store stops the thread: no rewind, which after the Kafka commit
  // would process committed records again (see TaskManager::Commit).
  if (store_failed || s.IsInvalidArgument()) return s;
  return RecoverFromFailedTransaction(s);
}

Status StreamThread::RecoverFromFailedTransaction(const Status& cause) {
  // The same output failing again and again (e.g. a topic whose
  // max.message.bytes is below the producer's limit) must not loop forever.
  if (++failed_commits_ >= kMaxFailedCommits) {
    return cause.WithContext(std::to_string(failed_commits_) + " commits in a row failed; last");
  }
  EVENTFLOW_RETURN_IF_ERROR(FencedByOwnRejoin(producer_->Recover(cause, *consumer_)));
  return task_manager_->Rewind(cause);
}

Status StreamThread::FencedByOwnRejoin(Status s) {
  // The session expired: handled already (TaskManager), or known to the
  // consumer with the lost revocation not polled yet (the thread was blocked
  // in a transactional call while the broker was away).
  const bool lost = task_manager_->assignment_lost() || consumer_->AssignmentLost();
  if (s.code() != StatusCode::kFenced || !lost) return s;
  std::string reason;
  if (consumer_->FatalError(&reason) != RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) return s;
  // Our own rejoin after the lost session fenced the member id this consumer
  // still used: not another process (that one would have fenced us while we
  // held an assignment). The supervisor replaces the thread.
  self_fenced_ = true;
  return s.WithContext("static member " + name_ +
                       " fenced by its own rejoin after its session expired");
}

void StreamThread::OnPartitionsAssigned(const TopicPartitionOffsets& partitions) {
  probe_->rebalances.Add(1);
  if (shared_->metadata) shared_->metadata->OnRebalance();  // tasks moved: describe again
  if (shared_->standby) shared_->standby->OnRebalance();    // and place the standbys again
  // Before the committed offsets are read: a member that left with an open
  // transaction holds them (and its output partitions) until it is fenced.
  if (shared_->departed_members) shared_->departed_members->OnAssignment(name_);
  const Status s = task_manager_->HandleAssignment(partitions);
  if (s.ok()) {
    Log(LogLevel::kInfo, "stream-thread " + name_,
        "assigned " + std::to_string(partitions.size()) + " partition(s), " +
            std::to_string(task_manager_->tasks().size()) + " task(s)");
    SetState(ThreadState::kRunning);
  }
  // Explicit positions: the committed offsets just read, else the beginning.
  const Status assigned = consumer_->Assign(task_manager_->StartPositions(partitions));
  task_manager_->router().AttachQueues();  // partitions that had no queue before the assignment
  if (!s.ok() && rebalance_error_.ok()) rebalance_error_ = s;
  KeepAssignmentError(assigned);
}

void StreamThread::OnPartitionsRevoked(const TopicPartitionOffsets& /*partitions*/) {
  SetState(ThreadState::kRebalancing);
  if (shared_->metadata) shared_->metadata->OnRebalance();
  if (shared_->standby) shared_->standby->OnRebalance();
  // A lost assignment's abort may find the producer fenced (a broker down
  // longer than the transaction time-out aborted the transaction) while the
  // consumer's own rejoin fenced it too: FencedByOwnRejoin.
  const Status s = consumer_->AssignmentLost() ? FencedByOwnRejoin(task_manager_->HandleLost())
                                               : task_manager_->HandleRevocation();
  const Status unassigned = consumer_->Unassign();
  if (!s.ok() && rebalance_error_.ok()) rebalance_error_ = s;
  KeepAssignmentError(unassigned);
}

void StreamThread::KeepAssignmentError(const Status& s) {
  // A consumer that raised a fatal error refuses (un)assignments with kFatal;
  // the loop reports that error with its cause when it polls it
  // (HandleConsumerError), so the refusal is not kept in its place. Any other
  // refusal leaves the consumer fetching other partitions than the tasks have.
  if (s.ok() || s.code() == StatusCode::kFatal || !rebalance_error_.ok()) return;
  rebalance_error_ = s;
}

}  // namespace eventflow::streams
