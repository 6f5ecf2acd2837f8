#include "task_manager.h"

#include <climits>
#include <set>

#include "eventflow/core/log.h"
#include "eventflow/core/time.h"

namespace eventflow::streams {
namespace {

using Clock = std::chrono::steady_clock;

// Offset commit metadata carries the partition's times (FormatOffsetMetadata).
// Metadata that does not parse is logged and read as unknown times: they
// only hold the watermark back until the partition has data.
PartitionTimes ReadTimes(const TopicPartitionOffset& tp, const std::string& thread) {
  auto times = ParseOffsetMetadata(tp.metadata);
  if (times.ok()) return std::move(*times);
  Log(LogLevel::kWarn, "stream-thread " + thread,
      "topic " + tp.topic + ", partition " + std::to_string(tp.partition) + ": " +
          times.status().message() + "; its times count as unknown");
  return PartitionTimes{};
}

}  // namespace

TaskManager::TaskManager(const ThreadShared* shared, int index, std::string thread,
                         ConsumerClient* consumer, StreamsProducer* producer,
                         ChangelogReader* changelog_reader, ThreadProbe* probe,
                         std::function<void()> after_kafka_commit)
    : shared_(shared),
      config_(*shared->config),
      index_(index),
      thread_(std::move(thread)),
      consumer_(consumer),
      producer_(producer),
      changelog_reader_(changelog_reader),
      after_kafka_commit_(std::move(after_kafka_commit)),
      probe_(probe),
      router_(thread_, consumer) {}

TaskManager::~TaskManager() {
  CloseAll();
  CloseStandbys();
}

int64_t TaskManager::CommittedOffset(const std::string& topic, int32_t partition) const {
  auto c = committed_.find({topic, partition});
  return c != committed_.end() ? c->second.offset : RD_KAFKA_OFFSET_BEGINNING;
}

Status TaskManager::HandleAssignment(const TopicPartitionOffsets& partitions) {
  // Committed offsets and stream times (read_committed consumers get stable offsets).
  // The coordinator answers UNSTABLE_OFFSET_COMMIT while a previous owner's
  // transaction with offsets for these partitions is open (a killed instance
  // that has not come back): librdkafka retries until the call's timeout, and
  // the broker aborts the transaction after transaction.timeout.ms (60 s) plus
  // its clean-up interval (10 s by default), longer than one call: retry a
  // time-out twice (Kafka Streams retries within task.timeout.ms, 5 min).
  TopicPartitionOffsets committed;
  constexpr int kCommittedAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    committed = partitions;
    const Status s = consumer_->Committed(&committed, StreamsProducer::kClientTimeout);
    if (s.ok()) break;
    if (s.code() != StatusCode::kTimedOut || attempt == kCommittedAttempts) return s;
    Log(LogLevel::kWarn, "stream-thread " + thread_,
        s.ToString() + " (an open transaction of the partitions' previous owner?); retrying");
  }
  committed_.clear();
  for (const TopicPartitionOffset& tp : committed) {
    if (tp.offset >= 0) {
      committed_[{tp.topic, tp.partition}] = Committed{tp.offset, ReadTimes(tp, thread_)};
    }
  }
  assignment_lost_ = false;
  return CreateTasks(partitions, /*arrival=*/true);
}

TopicPartitionOffsets TaskManager::StartPositions(const TopicPartitionOffsets& partitions) const {
  TopicPartitionOffsets positions = partitions;
  for (TopicPartitionOffset& tp : positions) tp.offset = CommittedOffset(tp.topic, tp.partition);
  return positions;
}

TaskOptions TaskManager::MakeTaskOptions(size_t task_count) const {
  TaskOptions options;
  options.application_id = config_.application_id;
  options.deserialization_errors = config_.deserialization_errors;
  options.processing_errors = config_.processing_errors;
  options.production_errors = config_.production_errors;
  options.max_future_skew = config_.max_future_skew;
  options.state_dir = config_.state_dir;
  options.memory_budget = shared_->memory_budget.get();
  options.rocksdb_config_setter = config_.rocksdb_config_setter;
  options.upstream_tasks = shared_->upstream_tasks;
  options.repartition_sinks = shared_->repartition_partitions;
  options.watermark_idle_timeout = config_.watermark_idle_timeout;
  options.e2e_latency = [probe = probe_](const std::string& topic) {
    return probe->E2eLatency(topic);
  };
  // The record caches: the instance's share split evenly among the threads,
  // then among this thread's tasks.
  if (options.memory_budget != nullptr && task_count > 0) {
    options.record_cache_bytes = options.memory_budget->record_cache_bytes() /
                                 static_cast<size_t>(config_.num_stream_threads) / task_count;
  }
  return options;
}

Status TaskManager::CreateTasks(const TopicPartitionOffsets& assignment, bool arrival) {
  std::set<TaskId> assigned;
  for (const TopicPartitionOffset& tp : assignment) {
    auto sub = shared_->subtopology_of_topic.find(tp.topic);
    if (sub != shared_->subtopology_of_topic.end()) {
      assigned.insert(TaskId{sub->second, tp.partition});
    }
  }
  const TaskOptions options = MakeTaskOptions(assigned.size());
  for (auto& [id, task] : tasks_) {  // existing ones are resized
    EVENTFLOW_RETURN_IF_ERROR(task->ResizeCache(options.record_cache_bytes));
  }
  std::vector<StreamTask*> created;
  std::vector<StreamTask*> task_of(assignment.size(), nullptr);
  for (size_t i = 0; i < assignment.size(); ++i) {
    const TopicPartitionOffset& tp = assignment[i];
    auto sub = shared_->subtopology_of_topic.find(tp.topic);
    if (sub == shared_->subtopology_of_topic.end()) continue;
    const TaskId id{sub->second, tp.partition};
    auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      // A standby of the task here turns into it: what it read is applied
      // and its stores closed, for the active task to open them.
      const bool from_standby = standbys_.count(id) > 0;
      if (from_standby) EVENTFLOW_RETURN_IF_ERROR(CloseStandby(id, /*flush=*/true));
      EVENTFLOW_RETURN_IF_ERROR(shared_->claims->ClaimActive(
          id, index_, kClaimTimeout, [this] { ServeReleaseRequests(); }));
      if (arrival) {
        Arrival& a = arrivals_[id];
        a = Arrival{};
        a.moved = revoked_.count(id) == 0;
        a.from_standby = from_standby;
      }
      auto task =
          std::make_unique<StreamTask>(id, *shared_->topology, shared_->subtopologies[sub->second],
                                       options, producer_->collector());
      EVENTFLOW_RETURN_IF_ERROR(task->Init());
      // Queryable once restored (below); until then reads answer "restoring".
      if (shared_->queryable_stores) shared_->queryable_stores->Register(id, task->state_manager());
      created.push_back(task.get());
      it = tasks_.emplace(id, std::move(task)).first;
      ThreadProbe::TaskSlot* slot = probe_->Task(id);
      slot->active.store(true, std::memory_order_relaxed);
      slots_[id] = slot;
    }
    // Every partition first, so each holds the watermark back from the start.
    it->second->AddInputPartition(tp.topic, tp.partition);
    task_of[i] = it->second.get();
  }
  for (size_t i = 0; i < assignment.size(); ++i) {
    StreamTask* task = task_of[i];
    if (task == nullptr) continue;
    const TopicPartitionOffset& tp = assignment[i];
    auto c = committed_.find({tp.topic, tp.partition});
    if (c != committed_.end()) {
      task->ResetPartition(tp.topic, tp.partition, c->second.offset, c->second.times.stream_time,
                           c->second.times.upstream_watermarks);
      // Where the task was last processed before it arrived (the previous
      // owner's commits carry it); new commits carry it on until it processes.
      const int64_t lp = c->second.times.last_processed;
      auto a = arrivals_.find(task->task_id());
      if (lp >= 0 && a != arrivals_.end() && lp > a->second.last_processed) {
        a->second.last_processed = lp;
        int64_t& kept = last_processed_[task->task_id()];
        kept = std::max(kept, lp);
      }
    }
    PartitionRouter::Route route;
    route.topic = tp.topic;
    route.partition = tp.partition;
    route.task = task;
    route.position = c != committed_.end() ? c->second.offset : -1;
    route.last_progress = Clock::now();
    route.lag = probe_->Partition(tp.topic, tp.partition);
    route.lag->position.store(route.position, std::memory_order_relaxed);
    route.lag->assigned.store(true, std::memory_order_relaxed);
    router_.Add(std::move(route));
  }
  router_.AttachQueues();
  probe_->active_tasks.store(static_cast<int>(tasks_.size()), std::memory_order_relaxed);
  // Stores catch up with their changelogs before the tasks process anything.
  // The pass restores the new tasks together: they count as restoring until
  // it ends.
  probe_->restoring_tasks.store(static_cast<int>(created.size()), std::memory_order_relaxed);
  for (StreamTask* task : created) {
    slots_.at(task->task_id())->restoring.store(true, std::memory_order_relaxed);
  }
  const auto restore_began = Clock::now();
  Status restored = RestoreStores(created);
  for (StreamTask* task : created) {
    if (!restored.ok()) break;
    restored = task->Resume();
    // What the resume hooks changed (a window store's expiry horizon moved to
    // the restored watermark) follows from the committed Kafka state alone:
    // the stores commit it now, with their restored changelog offsets, not
    // at the next commit — which never comes if no record arrives before
    // the task closes.
    if (restored.ok()) restored = task->state_manager().Commit({});
  }
  const int64_t restore_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 Clock::now() - restore_began)
                                 .count();
  for (StreamTask* task : created) {
    slots_.at(task->task_id())->restoring.store(false, std::memory_order_relaxed);
  }
  probe_->restoring_tasks.store(0, std::memory_order_relaxed);
  // Scaling events: how each arriving task restored (tasks without logged
  // stores restore nothing).
  std::map<TaskId, ChangelogReader::RestoredTask> how;
  for (const ChangelogReader::RestoredTask& r : changelog_reader_->TakeRestored()) how[r.task] = r;
  if (restored.ok() && arrival) {
    for (StreamTask* task : created) {
      auto a = arrivals_.find(task->task_id());
      if (a == arrivals_.end()) continue;
      auto h = how.find(task->task_id());
      if (h != how.end()) {
        a->second.kind = h->second.kind;
        a->second.records = h->second.records;
      }
      a->second.restore_ms = restore_ms;
      switch (a->second.kind) {
        case ChangelogReader::RestoreKind::kNone:
          probe_->restores_none.Add(1);
          break;
        case ChangelogReader::RestoreKind::kTail:
          probe_->restores_tail.Add(1);
          break;
        case ChangelogReader::RestoreKind::kFull:
          probe_->restores_full.Add(1);
          break;
      }
      probe_->restore_records.Add(a->second.records);
    }
  }
  SampleStores();
  if (restored.ok() && shared_->queryable_stores) {
    for (StreamTask* task : created) shared_->queryable_stores->SetRunning(task->task_id());
  }
  return restored;
}

void TaskManager::PublishTask(const TaskId& id) {
  auto task = tasks_.find(id);
  auto slot = slots_.find(id);
  if (task != tasks_.end() && slot != slots_.end()) ThreadProbe::Publish(slot->second, *task->second);
}

void TaskManager::SampleStores() {
  for (auto& [id, task] : tasks_) {
    for (const auto& [name, store] : task->state_manager().stores()) {
      ThreadProbe::StoreSlot* slot = probe_->Store(id, name);
      slot->persistent.store(store->persistent(), std::memory_order_relaxed);
      slot->live_sst_bytes.Set(store->GetIntProperty("rocksdb.live-sst-files-size").value_or(0));
      slot->memtable_bytes.Set(
          store->GetIntProperty("rocksdb.cur-size-all-mem-tables").value_or(0));
      slot->estimated_keys.Set(store->GetIntProperty("rocksdb.estimate-num-keys").value_or(0));
      slot->active.store(true, std::memory_order_relaxed);
    }
  }
}

Status TaskManager::RestoreStores(const std::vector<StreamTask*>& created) {
  for (StreamTask* task : created) {
    EVENTFLOW_RETURN_IF_ERROR(changelog_reader_->Register(task->task_id(), &task->state_manager()));
  }
  Status s = changelog_reader_->RestoreActive();
  std::vector<ChangelogReader::Corrupted> corrupted = changelog_reader_->TakeCorrupted();
  if (corrupted.empty()) return s;
  // Once: a wiped store has no offset, so it cannot be found corrupted again.
  EVENTFLOW_RETURN_IF_ERROR(HandleCorrupted(corrupted));
  return changelog_reader_->RestoreActive();
}

Status TaskManager::HandleCorrupted(const std::vector<ChangelogReader::Corrupted>& corrupted) {
  std::set<TaskId> tasks;
  for (const ChangelogReader::Corrupted& c : corrupted) {
    auto it = tasks_.find(c.task);
    if (it == tasks_.end()) continue;
    EVENTFLOW_RETURN_IF_ERROR(it->second->state_manager().Wipe(c.changelog, c.reason));
    tasks.insert(c.task);
  }
  for (const TaskId& id : tasks) {
    EVENTFLOW_RETURN_IF_ERROR(changelog_reader_->Register(id, &tasks_.at(id)->state_manager()));
  }
  return Status::OK();
}

TopicPartitionOffsets TaskManager::Progress() const {
  TopicPartitionOffsets offsets;
  for (const auto& [id, task] : tasks_) {
    for (const PartitionProgress& p : task->Progress()) {
      auto lp = last_processed_.find(id);
      offsets.push_back(TopicPartitionOffset{
          p.topic, p.partition, p.next_offset,
          FormatOffsetMetadata(PartitionTimes{p.stream_time, p.upstream_watermarks,
                                              lp != last_processed_.end() ? lp->second : -1})});
    }
  }
  return offsets;
}

Status TaskManager::Commit(bool* store_failed) {
  // The record caches' merged updates (store writes, changelog and output
  // records) belong to this transaction: emit them first.
  for (auto& [id, task] : tasks_) {
    Status flushed = task->FlushCache();
    if (!flushed.ok()) {
      *store_failed = IsStoreFailure(flushed);
      return flushed;
    }
  }
  // Watermark records to the repartition topics, in the same transaction.
  for (auto& [id, task] : tasks_) EVENTFLOW_RETURN_IF_ERROR(task->EmitWatermarks());
  const TopicPartitionOffsets offsets = Progress();
  EVENTFLOW_RETURN_IF_ERROR(producer_->Commit(offsets, *consumer_));
  // The Kafka commit made the tasks' output final, whatever happens to the
  // stores below.
  for (const TopicPartitionOffset& tp : offsets) {
    committed_[{tp.topic, tp.partition}] = Committed{tp.offset, ReadTimes(tp, thread_)};
  }
  // Now the stores' pending writes become durable too (a crash in between
  // loses only local writes, which recovery replays from the changelog).
  if (after_kafka_commit_) after_kafka_commit_();
  const ProcessorStateManager::LastDelivered last_delivered = [this](const std::string& topic,
                                                                     int32_t partition) {
    return producer_->LastDeliveredOffset(topic, partition);
  };
  for (auto& [id, task] : tasks_) {
    const Status s = task->state_manager().Commit(last_delivered);
    if (!s.ok()) {
      // E.g. the disk is full. The transaction cannot be taken back, and
      // processing on would leave the store behind its changelog: the thread
      // stops. On restart the store replays the changelog from the offset of
      // its last successful commit, which re-applies exactly what is missing.
      *store_failed = true;
      return s.WithContext("stream-thread " + thread_ +
                           ": committing the state stores after the Kafka transaction "
                           "committed (they recover from their changelogs on restart)");
    }
    uint64_t& counted = dropped_late_committed_[id];
    probe_->dropped_late.Add(task->counters().dropped_late - counted);
    counted = task->counters().dropped_late;
    PublishTask(id);  // punctuations and the record cache, as of the commit
  }
  dirty_ = false;
  return Status::OK();
}

Status TaskManager::Rewind(const Status& cause) {
  Log(LogLevel::kWarn, "stream-thread " + thread_,
      "rewinding to the last committed offsets after: " + cause.ToString());
  TopicPartitionOffsets assignment;
  for (const PartitionRouter::Route& r : router_.routes()) {
    assignment.push_back(
        TopicPartitionOffset{r.topic, r.partition, CommittedOffset(r.topic, r.partition)});
  }
  TopicPartitionOffsets seek = assignment;
  const Status sought = consumer_->Seek(&seek, std::chrono::seconds(30));
  std::string refused = sought.ok() ? "" : sought.message();
  for (size_t i = 0; refused.empty() && i < seek.size(); ++i) {
    if (seek[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      refused = seek[i].topic + " partition " + std::to_string(seek[i].partition) + ": " +
                rd_kafka_err2str(seek[i].err);
    }
  }
  if (!refused.empty() && !consumer_->AssignmentLost()) {
    Log(LogLevel::kWarn, "stream-thread " + thread_,
        "seeking to the committed offsets failed (" + refused + "); assigning them again");
    EVENTFLOW_RETURN_IF_ERROR(
        consumer_->Assign(assignment).WithContext("assigning the committed offsets again"));
  }
  CloseAll();
  dirty_ = false;
  return CreateTasks(assignment, /*arrival=*/false);
}

Status TaskManager::HandleRevocation() {
  Status s = Status::OK();
  Status recovered = Status::OK();
  bool store_failed = false;
  if (dirty_ || producer_->transaction_open()) {
    s = Commit(&store_failed);
    if (!s.ok() && store_failed) {
      // A failed store stops the thread: whatever is open is aborted.
      const Status aborted = producer_->Abort();
      if (!aborted.ok()) Log(LogLevel::kWarn, "stream-thread " + thread_, aborted.ToString());
    } else if (!s.ok()) {
      recovered = producer_->Recover(s, *consumer_);
    }
    dirty_ = false;
  }
  ForgetArrivals();
  CloseAll();
  committed_.clear();
  if (!s.ok() && !store_failed) {
    Log(LogLevel::kWarn, "stream-thread " + thread_,
        "commit on revocation failed, the new owner resumes from the previous commit: " +
            s.ToString());
  }
  return store_failed ? s : recovered;
}

Status TaskManager::HandleLost() {
  // The session expired (e.g. the process was stopped): the group has given
  // these partitions to other members, which resume from the last commit.
  // Whatever this thread did since then must not be committed — it is a
  // zombie's work — so the open transaction is aborted and the tasks are
  // closed without committing (Kafka Streams' handleLostAll).
  Log(LogLevel::kWarn, "stream-thread " + thread_,
      std::string("assignment lost (consumer session expired): closing the tasks without "
                  "committing") +
          (producer_->transaction_open() ? " and aborting the open transaction" : ""));
  assignment_lost_ = true;
  const Status s = producer_->Recover(Status::Aborted("the assignment was lost"), *consumer_);
  dirty_ = false;
  ForgetArrivals();
  CloseAll();
  committed_.clear();
  return s;
}

void TaskManager::CloseAll() {
  // Routes first: their partition queues go back to forwarding into the
  // consumer queue before the tasks they feed are gone.
  for (PartitionRouter::Route& r : router_.routes()) {
    if (r.lag != nullptr) r.lag->assigned.store(false, std::memory_order_relaxed);
  }
  router_.Clear();
  for (auto& [id, task] : tasks_) {
    changelog_reader_->Unregister(id);
    auto slot = slots_.find(id);
    if (slot != slots_.end()) ThreadProbe::Fold(slot->second, *task);
    probe_->DeactivateStores(id);
    // Waits for interactive reads in progress; later ones answer Unavailable.
    if (shared_->queryable_stores) shared_->queryable_stores->Unregister(id);
    task->Close();
    shared_->claims->Release(id, index_);
  }
  tasks_.clear();
  slots_.clear();
  probe_->active_tasks.store(0, std::memory_order_relaxed);
  dropped_late_committed_.clear();
}

Status TaskManager::HandleOutOfRange(const std::string& topic, int32_t partition, int64_t offset) {
  auto marks = consumer_->QueryWatermarks(topic, partition, std::chrono::seconds(30));
  if (!marks.ok()) {
    return marks.status().WithContext("topic " + topic + " partition " + std::to_string(partition) +
                                      ": position " + std::to_string(offset) + " is out of range");
  }
  const bool internal = shared_->repartition_partitions.count(topic) > 0;
  const std::string where = (internal ? "repartition topic " : "topic ") + topic + " partition " +
                            std::to_string(partition);
  const PartitionRouter::CommittedOffset committed_offset =
      [this](const std::string& t, int32_t p) { return CommittedOffset(t, p); };
  // Records below the group's committed offset were processed, by this
  // member or another: their deletion (the owner's repartition purge, or
  // retention) loses nothing. A position below it is stale — e.g. this member's
  // session expired while it was stopped and another took the partition over
  // and purged it — and reading goes on from the committed offset (a stale
  // member's next commit is refused anyway).
  TopicPartitionOffsets group{{topic, partition}};
  if (consumer_->Committed(&group, std::chrono::seconds(30)).ok() &&
      group[0].offset >= marks->low && group[0].offset > offset) {
    const int64_t group_offset = group[0].offset;
    Log(LogLevel::kWarn, "stream-thread " + thread_,
        where + ": position " + std::to_string(offset) + " is below the log start " +
            std::to_string(marks->low) + ", but the group has committed " +
            std::to_string(group_offset) +
            ": those records were processed; going on from the committed offset");
    EVENTFLOW_RETURN_IF_ERROR(
        router_.RestartFetch(committed_offset, topic, partition, group_offset).WithContext(where));
    if (PartitionRouter::Route* r = router_.Find(topic, partition)) r->position = group_offset;
    return Status::OK();
  }
  if (PartitionRouter::Route* r = router_.Find(topic, partition)) {
    if (r->position > offset && r->position >= marks->low && r->position <= marks->high) {
      // Already handled: an error queued by an earlier fetcher of this
      // partition (every assignment restarts them all) before the thread
      // moved on. Nothing more is lost; make sure it fetches where expected.
      Log(LogLevel::kDebug, "stream-thread " + thread_,
          where + ": out-of-range error for offset " + std::to_string(offset) +
              " after moving on to " + std::to_string(r->position) + "; ignored");
      return router_.RestartFetch(committed_offset, topic, partition, r->position)
          .WithContext(where);
    }
  }
  const kafka::OutOfRange gone =
      kafka::ExplainOutOfRange(where, "this application", offset, *marks);
  if (config_.data_loss_policy == DataLossPolicy::kFail) {
    return Status::DataLoss(gone.what + "; stopping (on-data-loss=fail). To go on from offset " +
                            std::to_string(gone.resume) +
                            " and count the records lost, restart with on-data-loss=skip");
  }
  Log(LogLevel::kError, "stream-thread " + thread_,
      gone.what + "; going on from offset " + std::to_string(gone.resume) +
          " (on-data-loss=skip), counted in eventflow_records_lost_total");
  if (gone.lost > 0) shared_->lost_records->Add(topic, gone.lost);
  EVENTFLOW_RETURN_IF_ERROR(
      router_.RestartFetch(committed_offset, topic, partition, gone.resume).WithContext(where));
  if (PartitionRouter::Route* r = router_.Find(topic, partition)) {
    r->position = gone.resume;
    r->last_progress = Clock::now();
    // Commit the new position even if no record follows, so a restart does
    // not find (and count) the same gap again.
    if (r->task->AdvancePartitionTo(topic, partition, gone.resume)) dirty_ = true;
  }
  auto c = committed_.find({topic, partition});
  if (c != committed_.end() && c->second.offset < gone.resume) c->second.offset = gone.resume;
  return Status::OK();
}

void TaskManager::MaybePurgeRepartitionTopics(Clock::time_point now) {
  if (purge_in_flight_) {
    std::optional<Status> result = consumer_->TakeDeleteRecordsResult();
    if (result.has_value()) {
      purge_in_flight_ = false;
      if (!result->ok()) {
        // Not an error for processing: the records stay until the next purge.
        // Logged once per kind of failure (e.g. no permission to delete records).
        if (result->message() != last_purge_error_) {
          Log(LogLevel::kWarn, "stream-thread " + thread_,
              "purging repartition topics: " + result->ToString() + "; retried at every purge");
          last_purge_error_ = result->message();
        }
        purged_.clear();
      } else {
        last_purge_error_.clear();
      }
    }
    return;
  }
  if (config_.repartition_purge_interval.count() == 0 || shared_->repartition_partitions.empty() ||
      now - last_purge_ < config_.repartition_purge_interval) {
    return;
  }
  last_purge_ = now;
  std::vector<kafka::PartitionOffset> offsets;
  for (const auto& [key, c] : committed_) {
    if (shared_->repartition_partitions.count(key.first) == 0 || c.offset <= 0) continue;
    auto purged = purged_.find(key);
    if (purged != purged_.end() && purged->second >= c.offset) continue;
    offsets.push_back(kafka::PartitionOffset{key.first, key.second, c.offset});
    purged_[key] = c.offset;
  }
  if (offsets.empty()) return;
  consumer_->StartDeleteRecords(offsets, std::chrono::seconds(30));
  purge_in_flight_ = true;
}

void TaskManager::ForgetArrivals() {
  revoked_.clear();
  for (const auto& [id, task] : tasks_) revoked_.insert(id);
  arrivals_.clear();
  last_processed_.clear();
}

void TaskManager::OnProcessed(const TaskId& id, int64_t now_ms) {
  last_processed_[id] = now_ms;
  if (arrivals_.empty()) return;
  auto it = arrivals_.find(id);
  if (it == arrivals_.end()) return;
  const Arrival& a = it->second;
  std::string gap = "processing gap unknown (no earlier processing recorded)";
  if (a.last_processed >= 0) {
    const double seconds = static_cast<double>(std::max<int64_t>(0, now_ms - a.last_processed)) / 1e3;
    (a.moved ? probe_->move_gap_moved : probe_->move_gap_stayed).Observe(seconds);
    char text[32];
    std::snprintf(text, sizeof(text), "%.3f", seconds);
    gap = std::string("processing gap ") + text + " s (last record processed before at " +
          FormatTimestamp(a.last_processed) + ", first here at " + FormatTimestamp(now_ms) + ")";
  }
  Log(LogLevel::kInfo, "stream-thread " + thread_,
      "task " + id.ToString() + (a.moved ? " moved here" : " resumed here after the rebalance") +
          (a.from_standby ? " from its standby copy" : "") + ": restore " +
          ChangelogReader::KindName(a.kind) + " of " + std::to_string(a.records) +
          " record(s) in " + std::to_string(a.restore_ms) + " ms, " + gap);
  arrivals_.erase(it);
}

// ------------------------------------------------------------- standbys

void TaskManager::SetStandbys(std::set<TaskId> wanted) {
  if (wanted == wanted_standbys_) return;
  wanted_standbys_ = std::move(wanted);
  refused_standbys_.clear();
  standbys_changed_ = true;
}

void TaskManager::ServeReleaseRequests() {
  if (!shared_->claims->release_requested(index_)) return;
  for (const TaskId& id : shared_->claims->TakeReleaseRequests(index_)) {
    if (standbys_.count(id) == 0) continue;
    Log(LogLevel::kInfo, "standby",
        "stream-thread " + thread_ + ": closing the standby of task " + id.ToString() +
            ", which another thread of this instance runs now");
    const Status s = CloseStandby(id, /*flush=*/true);
    if (!s.ok()) Log(LogLevel::kWarn, "standby", s.ToString());
  }
}

Result<bool> TaskManager::CreateStandby(const TaskId& id) {
  if (static_cast<size_t>(id.subtopology) >= shared_->subtopologies.size()) {
    refused_standbys_.insert(id);
    return false;
  }
  if (!shared_->claims->TryClaimStandby(id, index_)) return false;  // tried again later
  auto standby = std::make_unique<StandbyTask>(
      id, *shared_->topology, shared_->subtopologies[static_cast<size_t>(id.subtopology)],
      ProcessorStateManager::Options{config_.application_id, config_.state_dir,
                                     shared_->memory_budget.get(), config_.rocksdb_config_setter});
  auto refuse = [&](const Status& why, bool retry) -> Result<bool> {
    standby->Close();
    shared_->claims->Release(id, index_);
    if (!retry) refused_standbys_.insert(id);
    Log(retry ? LogLevel::kWarn : LogLevel::kError, "standby",
        "stream-thread " + thread_ + ": no standby of task " + id.ToString() + " for now: " +
            why.ToString() + (retry ? " (tried again in a second)" : ""));
    return false;
  };
  Status s = standby->Open();
  if (!s.ok()) return refuse(s, /*retry=*/false);
  if (standby->state_manager().changelogs().empty()) {
    standby->Close();
    shared_->claims->Release(id, index_);
    refused_standbys_.insert(id);  // nothing to keep warm
    return false;
  }
  s = changelog_reader_->RegisterStandby(id, &standby->state_manager());
  if (!s.ok()) {
    // A key-value changelog missing its head (the copy was wiped): not
    // retried. Anything else (e.g. the broker did not answer): retried.
    if (IsStoreFailure(s)) return s;
    return refuse(s, /*retry=*/s.code() != StatusCode::kDataLoss);
  }
  std::string where;
  for (const ChangelogReader::StandbyPartition& p : changelog_reader_->StandbyPartitions()) {
    if (p.task != id) continue;
    ThreadProbe::StandbySlot* slot = probe_->Standby(id, p.store);
    slot->position.store(p.position, std::memory_order_relaxed);
    slot->lag.store(p.lag, std::memory_order_relaxed);
    slot->active.store(true, std::memory_order_relaxed);
    standby_slots_[{id, p.store}] = slot;
    where += (where.empty() ? "" : ", ") + p.store + " at " + std::to_string(p.position) +
             " (lag " + std::to_string(p.lag) + ")";
  }
  Log(LogLevel::kInfo, "standby",
      "stream-thread " + thread_ + ": standby task " + id.ToString() + " started: " + where);
  standbys_.emplace(id, std::move(standby));
  probe_->standby_tasks.store(static_cast<int>(standbys_.size()), std::memory_order_relaxed);
  return true;
}

Status TaskManager::CloseStandby(const TaskId& id, bool flush) {
  auto it = standbys_.find(id);
  if (it == standbys_.end()) return Status::OK();
  Status s = flush ? changelog_reader_->FlushStandby(id) : Status::OK();
  changelog_reader_->Unregister(id);
  it->second->Close();
  standbys_.erase(it);
  shared_->claims->Release(id, index_);
  probe_->DeactivateStandby(id);
  std::erase_if(standby_slots_, [&](const auto& entry) { return entry.first.first == id; });
  probe_->standby_tasks.store(static_cast<int>(standbys_.size()), std::memory_order_relaxed);
  return s.WithContext("standby task " + id.ToString());
}

void TaskManager::CloseStandbys() {
  while (!standbys_.empty()) {
    const TaskId id = standbys_.begin()->first;
    const Status s = CloseStandby(id, /*flush=*/true);
    if (!s.ok()) Log(LogLevel::kWarn, "standby", "stream-thread " + thread_ + ": " + s.ToString());
  }
}

Status TaskManager::ReconcileStandbys(int budget) {
  for (auto& [task, reason] : changelog_reader_->TakeFailedStandbys()) {
    refused_standbys_.insert(task);
    EVENTFLOW_RETURN_IF_ERROR(CloseStandby(task, /*flush=*/false));
  }
  std::vector<TaskId> unwanted;
  for (const auto& [id, standby] : standbys_) {
    if (wanted_standbys_.count(id) == 0 || tasks_.count(id) > 0) unwanted.push_back(id);
  }
  for (const TaskId& id : unwanted) EVENTFLOW_RETURN_IF_ERROR(CloseStandby(id, /*flush=*/true));
  bool missing = false;
  for (const TaskId& id : wanted_standbys_) {
    if (standbys_.count(id) > 0 || tasks_.count(id) > 0 || refused_standbys_.count(id) > 0) {
      continue;
    }
    if (budget <= 0) {
      missing = true;
      break;
    }
    --budget;
    // One that cannot start now (another thread has the task, the broker did
    // not answer) is tried again at the next periodic reconcile.
    auto created = CreateStandby(id);
    if (!created.ok()) return created.status();
  }
  standbys_changed_ = missing;  // over budget: the rest at the next loop
  return Status::OK();
}

Status TaskManager::MaintainStandbys(Clock::time_point now, std::chrono::milliseconds wait) {
  ServeReleaseRequests();
  if (standbys_changed_ || (!wanted_standbys_.empty() && now - last_reconcile_ >= std::chrono::seconds(1))) {
    last_reconcile_ = now;
    // Opening stores takes a while: a few per loop while active tasks run.
    EVENTFLOW_RETURN_IF_ERROR(ReconcileStandbys(tasks_.empty() ? INT_MAX : 2));
  }
  if (!changelog_reader_->has_standbys()) return Status::OK();
  auto read = changelog_reader_->UpdateStandbys(wait);
  if (!read.ok()) return read.status();
  probe_->standby_records.Add(*read);
  if (now - last_standby_commit_ < config_.EffectiveCommitInterval()) return Status::OK();
  last_standby_commit_ = now;
  EVENTFLOW_RETURN_IF_ERROR(changelog_reader_->CommitStandbys());
  for (const ChangelogReader::StandbyPartition& p : changelog_reader_->StandbyPartitions()) {
    auto slot = standby_slots_.find({p.task, p.store});
    if (slot == standby_slots_.end()) continue;
    slot->second->position.store(p.position, std::memory_order_relaxed);
    slot->second->lag.store(p.lag, std::memory_order_relaxed);
  }
  return Status::OK();
}

int64_t TaskManager::MaxStandbyLag() const {
  int64_t worst = 0;
  for (const TaskId& id : wanted_standbys_) {
    if (standbys_.count(id) == 0 && tasks_.count(id) == 0 && refused_standbys_.count(id) == 0) {
      return -1;  // not running yet
    }
  }
  for (const ChangelogReader::StandbyPartition& p : changelog_reader_->StandbyPartitions()) {
    if (wanted_standbys_.count(p.task) == 0) continue;
    if (p.lag < 0) return -1;
    worst = std::max(worst, p.lag);
  }
  return worst;
}

}  // namespace eventflow::streams
