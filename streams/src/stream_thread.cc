#include "stream_thread.h"

#include <algorithm>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <set>

#include "eventflow/core/log.h"
#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/kafka_admin.h"

namespace eventflow::streams {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollBatch = 500;          // records taken from one partition queue per loop
constexpr int kProcessPerTask = 200;     // records processed per task per loop
constexpr auto kClientTimeout = std::chrono::seconds(60);
constexpr int kCommitRetries = 10;
constexpr int kMaxFailedCommits = 5;     // rewinds in a row before the thread gives up

// Offset commit metadata carries the partition's times (FormatOffsetMetadata).
// Metadata that does not parse is logged and read as unknown times: they
// only hold the watermark back until the partition has data.
PartitionTimes ReadTimes(const rd_kafka_topic_partition_t& tp, const std::string& thread) {
  const std::string_view text(static_cast<const char*>(tp.metadata),
                              tp.metadata != nullptr ? tp.metadata_size : 0);
  auto times = ParseOffsetMetadata(text);
  if (times.ok()) return std::move(*times);
  Log(LogLevel::kWarn, "stream-thread " + thread,
      std::string("topic ") + tp.topic + ", partition " + std::to_string(tp.partition) + ": " +
          times.status().message() + "; its times count as unknown");
  return PartitionTimes{};
}

void SetMetadata(rd_kafka_topic_partition_t* tp, const std::string& metadata) {
  // librdkafka frees it with the list.
  tp->metadata = ::malloc(metadata.size());
  std::memcpy(tp->metadata, metadata.data(), metadata.size());
  tp->metadata_size = metadata.size();
}

}  // namespace

StreamThread::StreamThread(int index, const ThreadShared* shared,
                           std::function<void(int, ThreadState)> on_state)
    : index_(index),
      shared_(shared),
      config_(*shared->config),
      eos_(shared->config->processing_guarantee == ProcessingGuarantee::kExactlyOnceV2),
      on_state_(std::move(on_state)),
      name_(shared->instance_id + "-" + std::to_string(index)) {}

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

Status StreamThread::CreateProducer() {
  collector_.Reset(nullptr);
  producer_.reset();
  auto props = kafka::BuildClientConfig(
      eos_ ? kafka::ClientRole::kTransactionalProducer : kafka::ClientRole::kAtLeastOnceProducer,
      {.bootstrap_servers = config_.bootstrap_servers,
       .client_id = config_.application_id + "-" + name_ + "-producer",
       .transactional_id = config_.application_id + "-" + name_},
      config_.kafka);
  if (!props.ok()) return props.status();
  auto conf = kafka::BuildKafkaConf(*props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), &collector_);
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaRecordCollector::OnDelivery);
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  collector_.Reset(producer_.get());
  transaction_open_ = false;
  if (eos_) {
    kafka::KafkaError err(rd_kafka_init_transactions(producer_.get(), 
                                              static_cast<int>(std::chrono::milliseconds(kClientTimeout).count())));
    EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(err.get(), "initialising transactions for " +
                                                            config_.application_id + "-" + name_));
  }
  return Status::OK();
}

Status StreamThread::Start() {
  SetState(ThreadState::kStarting);
  // Test-only fault injection (read once): EVENTFLOW_TEST_CRASH_POINT =
  // after-kafka-commit | mid-restore, EVENTFLOW_TEST_CRASH_AFTER = N (the Nth time).
  if (const char* point = std::getenv("EVENTFLOW_TEST_CRASH_POINT")) {
    const std::string p = point;
    crash_point_ = p == "after-kafka-commit" ? CrashPoint::kAfterKafkaCommit
                   : p == "mid-restore"      ? CrashPoint::kMidRestore
                                             : CrashPoint::kNone;
    if (const char* n = std::getenv("EVENTFLOW_TEST_CRASH_AFTER")) crash_after_ = std::atoi(n);
  }
  EVENTFLOW_RETURN_IF_ERROR(CreateProducer());
  // auto.offset.reset=error: a position out of range is HandleOutOfRange's.
  auto props = kafka::BuildClientConfig(
      kafka::ClientRole::kMainConsumer,
      {.bootstrap_servers = config_.bootstrap_servers,
       .client_id = config_.application_id + "-" + name_ + "-consumer",
       .group_id = config_.application_id,
       .group_instance_id = config_.instance_id.empty() ? std::string() : name_,
       .session_timeout = config_.session_timeout,
       .exactly_once = eos_},
      config_.kafka);
  if (!props.ok()) return props.status();
  auto conf = kafka::BuildKafkaConf(*props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), this);
  rd_kafka_conf_set_rebalance_cb(conf->get(), &StreamThread::RebalanceCallback);
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  rd_kafka_poll_set_consumer(consumer_.get());
  kafka::KafkaPartitionList topics(rd_kafka_topic_partition_list_new(
      static_cast<int>(shared_->source_topics.size())));
  for (const std::string& t : shared_->source_topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  EVENTFLOW_RETURN_IF_ERROR(
      kafka::FromKafkaError(rd_kafka_subscribe(consumer_.get(), topics.get()), "subscribing"));
  last_commit_ = Clock::now();
  SetState(ThreadState::kRebalancing);
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void StreamThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void StreamThread::Run() {
  Status status = RunLoop();
  SetState(ThreadState::kPendingShutdown);
  if (status.ok()) {
    status = MaybeCommit(/*force=*/true);
  } else if (transaction_open_ && producer_) {
    kafka::KafkaError ignored(rd_kafka_abort_transaction(producer_.get(), 10'000));
    transaction_open_ = false;
  }
  // Logged before the stores close: closing a store whose disk failed may
  // fail (or, in RocksDB builds with assertions, abort) too.
  if (!status.ok()) {
    Log(LogLevel::kError, "stream-thread " + name_, status.ToString());
  }
  CloseTasks();
  if (consumer_) {
    // Static members keep their partitions for session.timeout.ms (no rebalance on restart).
    rd_kafka_consumer_close(consumer_.get());
  }
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error_ = status;
  }
  SetState(ThreadState::kDead);
}

Status StreamThread::RunLoop() {
  while (!shutdown_.load()) {
    loop_now_ = Clock::now();
    // The tasks' wall clock (changelog and dead-letter timestamps), once per loop.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (auto& [id, task] : tasks_) task->SetWallClock(now);
    EVENTFLOW_RETURN_IF_ERROR(PollBatch());
    Status s = ProcessAndPunctuate(now);
    if (!s.ok()) {
      // The producer refused everything (its transaction failed, it was
      // fenced or is fatal): abort and rewind, or recreate it, as after a
      // failed commit. Anything else stops the thread.
      if (!IsTransactionFailure(s)) return s;
      EVENTFLOW_RETURN_IF_ERROR(RecoverFromFailedTransaction(s));
      continue;
    }
    EVENTFLOW_RETURN_IF_ERROR(MaybeCommit(/*force=*/false));
    // Also when idle: what was committed last is purged an interval later.
    MaybePurgeRepartitionTopics();
    if (purge_in_flight_) ReapPurge();
    if (config_.partition_stall_timeout.count() > 0 &&
        loop_now_ - last_stall_check_ >= std::chrono::seconds(1)) {
      last_stall_check_ = loop_now_;
      CheckStalls(loop_now_);
    }
  }
  return Status::OK();
}

Status StreamThread::ProcessAndPunctuate(int64_t now) {
  EVENTFLOW_RETURN_IF_ERROR(ProcessTasks());
  for (auto& [id, task] : tasks_) {
    // Open a transaction only when a punctuator will run (it may produce):
    // an idle thread commits nothing.
    if (!task->WallClockPunctuationDue(now)) continue;
    EVENTFLOW_RETURN_IF_ERROR(BeginTransactionIfNeeded());
    auto fired = task->PunctuateWallClock(now);
    if (!fired.ok()) return fired.status();
    if (*fired > 0) dirty_ = true;
  }
  // Idle partitions (watermark.idle.timeout.ms): a watermark they stop
  // holding back fires stream-time punctuators, which may produce.
  if (config_.watermark_idle_timeout.count() > 0) {
    for (auto& [id, task] : tasks_) {
      if (!task->RefreshIdle(now)) continue;
      EVENTFLOW_RETURN_IF_ERROR(BeginTransactionIfNeeded());
      EVENTFLOW_RETURN_IF_ERROR(task->AdvanceWatermark());
      dirty_ = true;
    }
  }
  return Status::OK();
}

StreamThread::Route* StreamThread::RouteFor(const rd_kafka_message_t* msg) {
  if (last_route_ < routes_.size() && routes_[last_route_].rkt == msg->rkt &&
      routes_[last_route_].partition == msg->partition) {
    return &routes_[last_route_];
  }
  for (size_t i = 0; i < routes_.size(); ++i) {
    Route& r = routes_[i];
    if (r.partition != msg->partition) continue;
    if (r.rkt != msg->rkt) {
      if (r.topic != rd_kafka_topic_name(msg->rkt)) continue;
      r.rkt = msg->rkt;
    }
    last_route_ = i;
    return &r;
  }
  return nullptr;
}

namespace {

// Builds a buffered record around a consumed message (taking it over).
BufferedRecord ToBufferedRecord(kafka::KafkaMessage msg) {
  BufferedRecord record;
  record.raw.topic = rd_kafka_topic_name(msg->rkt);
  record.raw.partition = msg->partition;
  record.raw.offset = msg->offset;
  record.raw.timestamp = rd_kafka_message_timestamp(msg.get(), nullptr);
  if (msg->key != nullptr) {
    record.raw.key = std::string_view(static_cast<const char*>(msg->key), msg->key_len);
  }
  if (msg->payload != nullptr) {
    record.raw.value = std::string_view(static_cast<const char*>(msg->payload), msg->len);
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.raw.headers.Add(name, std::string_view(static_cast<const char*>(value), size));
    }
  }
  record.message = std::move(msg);
  return record;
}

}  // namespace

Status StreamThread::HandleConsumerError(const rd_kafka_message_t* msg) {
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return Status::OK();
  if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && msg->rkt != nullptr) {
    return HandleOutOfRange(rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset);
  }
  if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512] = "";
    rd_kafka_resp_err_t cause = rd_kafka_fatal_error(consumer_.get(), reason, sizeof reason);
    if (cause == RD_KAFKA_RESP_ERR_NO_ERROR) cause = msg->err;
    const Status s = kafka::FromKafkaError(cause, std::string("consumer fatal error (") + reason + ")");
    if (cause == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID && assignment_lost_) {
      // Our own rejoin after the lost session fenced the member id this
      // consumer still used: not another process (that one would have fenced
      // us while we held an assignment). The supervisor replaces the thread.
      self_fenced_ = true;
      return s.WithContext("static member " + name_ +
                           " fenced by its own rejoin after its session expired");
    }
    return s;
  }
  const Status s = kafka::FromKafkaError(msg->err, "consumer");
  if (msg->err == RD_KAFKA_RESP_ERR__FATAL || s.code() == StatusCode::kFenced) return s;
  Log(LogLevel::kWarn, "stream-thread " + name_, s.ToString());
  return Status::OK();
}

void StreamThread::AttachPartitionQueues() {
  for (Route& r : routes_) {
    if (r.queue) continue;
    r.queue.reset(rd_kafka_queue_get_partition(consumer_.get(), r.topic.c_str(), r.partition));
    // Stop forwarding the partition's records to the consumer queue: the loop
    // takes them per partition, as many as the task has room for.
    if (r.queue) rd_kafka_queue_forward(r.queue.get(), nullptr);
  }
}

Status StreamThread::PollBatch() {
  // 1. The consumer queue: rebalance callbacks, errors, and records fetched
  //    before their partition queue was detached. Drained completely, so that
  //    such records come before the partition queue's later ones. It waits
  //    (briefly) only when there is nothing to do.
  const int timeout_ms = (idle_ ? 10 : 0);
  kafka::KafkaMessage msg(rd_kafka_consumer_poll(consumer_.get(), timeout_ms));
  size_t taken = 0;
  for (; msg; msg.reset(rd_kafka_consumer_poll(consumer_.get(), 0))) {
    EVENTFLOW_RETURN_IF_ERROR(rebalance_error_);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      EVENTFLOW_RETURN_IF_ERROR(HandleConsumerError(msg.get()));
      continue;
    }
    Route* route = RouteFor(msg.get());
    if (route == nullptr) continue;  // a partition revoked meanwhile
    route->position = msg->offset + 1;
    route->last_progress = loop_now_;
    route->stalled = false;
    route->lag_seen = Clock::time_point{};
    route->task->AddRecord(ToBufferedRecord(std::move(msg)));
    ++taken;
  }
  EVENTFLOW_RETURN_IF_ERROR(rebalance_error_);

  // 2. The partition queues, each up to what its task has room for. Records
  //    left in a partition queue stay there: librdkafka stops fetching when
  //    its queue is full (queued.max.messages.kbytes), which is the
  //    backpressure — no pause/resume, which would discard prefetched data.
  const size_t limit = static_cast<size_t>(config_.max_buffered_records_per_partition);
  rd_kafka_message_t* batch[kPollBatch];
  for (Route& r : routes_) {
    if (!r.queue || r.task->buffered() >= limit) continue;
    const size_t room = std::min(limit - r.task->buffered(), static_cast<size_t>(kPollBatch));
    const ssize_t n = rd_kafka_consume_batch_queue(r.queue.get(), 0, batch, room);
    if (n > 0) {
      r.last_progress = loop_now_;
      r.stalled = false;
      r.lag_seen = Clock::time_point{};
    }
    for (ssize_t i = 0; i < n; ++i) {
      kafka::KafkaMessage m(batch[i]);
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const Status s = HandleConsumerError(m.get());
        if (!s.ok()) {
          for (ssize_t j = i + 1; j < n; ++j) rd_kafka_message_destroy(batch[j]);
          return s;
        }
        continue;
      }
      r.position = m->offset + 1;
      r.task->AddRecord(ToBufferedRecord(std::move(m)));
      ++taken;
    }
  }
  bool any_buffered = false;
  for (auto& [id, task] : tasks_) any_buffered = any_buffered || task->buffered() > 0;
  idle_ = taken == 0 && !any_buffered;
  return Status::OK();
}

Status StreamThread::BeginTransactionIfNeeded() {
  if (!eos_ || transaction_open_) return Status::OK();
  kafka::KafkaError err(rd_kafka_begin_transaction(producer_.get()));
  EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(err.get(), "beginning a transaction"));
  transaction_open_ = true;
  return Status::OK();
}

Status StreamThread::ProcessTasks() {
  for (auto& [id, task] : tasks_) {
    if (task->buffered() == 0) continue;
    EVENTFLOW_RETURN_IF_ERROR(BeginTransactionIfNeeded());
    uint64_t done = 0;
    for (int i = 0; i < kProcessPerTask; ++i) {
      auto r = task->Process();
      if (!r.ok()) return r.status();
      if (!*r) break;
      ++done;
    }
    if (done > 0) {
      dirty_ = true;
      processed_.fetch_add(done, std::memory_order_relaxed);
    }
  }
  collector_.Poll();
  return Status::OK();
}

kafka::KafkaPartitionList StreamThread::ProgressList() {
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(8));
  for (auto& [id, task] : tasks_) {
    for (const PartitionProgress& p : task->Progress()) {
      rd_kafka_topic_partition_t* tp =
          rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
      tp->offset = p.next_offset;
      SetMetadata(tp, FormatOffsetMetadata(PartitionTimes{p.stream_time, p.upstream_watermarks}));
    }
  }
  return list;
}

Status StreamThread::MaybeCommit(bool force) {
  if (!force && Clock::now() - last_commit_ < config_.EffectiveCommitInterval()) {
    return Status::OK();
  }
  last_commit_ = Clock::now();
  if (!dirty_ && !transaction_open_) return Status::OK();
  bool store_failed = false;
  Status s = Commit(&store_failed);
  if (s.ok()) {
    dirty_ = false;
    failed_commits_ = 0;
    return s;
  }
  // A failed store stops the thread: no rewind, which after the Kafka commit
  // would process committed records again (see Commit).
  if (store_failed || s.IsInvalidArgument()) return s;
  // The same output failing again and again (e.g. a topic whose
  // max.message.bytes is below the producer's limit) must not loop forever.
  return RecoverFromFailedTransaction(s);
}

Status StreamThread::RecoverFromFailedTransaction(const Status& s) {
  if (++failed_commits_ >= kMaxFailedCommits) {
    return s.WithContext(std::to_string(failed_commits_) + " commits in a row failed; last");
  }
  if (s.code() == StatusCode::kFenced) {
    // Our consumer fenced too (static membership: another process runs with
    // our instance id): we are the zombie and stop. Otherwise the producer was
    // fenced on its own (e.g. its transaction timed out): recreate it and
    // resume from the last commit.
    char reason[256];
    if (rd_kafka_fatal_error(consumer_.get(), reason, sizeof(reason)) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return s.WithContext(std::string("consumer fenced too (") + reason + ")");
    }
    transaction_open_ = false;  // the fenced producer's transaction is gone
    EVENTFLOW_RETURN_IF_ERROR(CreateProducer());
  }
  return Rewind(s);
}

Status StreamThread::Commit(bool* store_failed) {
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
  kafka::KafkaPartitionList offsets = ProgressList();
  Status s = eos_ ? CommitTransaction(offsets.get()) : CommitAtLeastOnce(offsets.get());
  if (!s.ok()) return s;
  // The Kafka commit made the tasks' output final, whatever happens to the
  // stores below.
  for (int i = 0; i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = offsets->elems[i];
    committed_[{tp.topic, tp.partition}] = Committed{tp.offset, ReadTimes(tp, name_)};
  }
  // Now the stores' pending writes become durable too (a crash in between
  // loses only local writes, which recovery replays from the changelog).
  MaybeCrash(CrashPoint::kAfterKafkaCommit);
  for (auto& [id, task] : tasks_) {
    std::map<std::string, int64_t> changelog_offsets;
    for (const auto& [name, store] : task->stores()) {
      const int64_t last = collector_.LastDeliveredOffset(
          ChangelogTopic(config_.application_id, name), id.partition);
      if (last >= 0) changelog_offsets[name] = last + 1;  // where a replay would resume
    }
    s = task->CommitStores(changelog_offsets);
    if (!s.ok()) {
      // E.g. the disk is full. The transaction cannot be taken back, and
      // processing on would leave the store behind its changelog: the thread
      // stops. On restart the store replays the changelog from the offset of
      // its last successful commit, which re-applies exactly what is missing.
      *store_failed = true;
      return s.WithContext("stream-thread " + name_ +
                           ": committing the state stores after the Kafka transaction "
                           "committed (they recover from their changelogs on restart)");
    }
    uint64_t& counted = dropped_late_committed_[id];
    dropped_late_.fetch_add(task->counters().dropped_late - counted, std::memory_order_relaxed);
    counted = task->counters().dropped_late;
  }
  return s;
}

Status StreamThread::CommitTransaction(rd_kafka_topic_partition_list_t* offsets) {
  if (!transaction_open_) EVENTFLOW_RETURN_IF_ERROR(BeginTransactionIfNeeded());
  const int timeout_ms = static_cast<int>(std::chrono::milliseconds(kClientTimeout).count());
  if (offsets->cnt > 0) {
    // Fresh group metadata: its generation fences a member that was kicked out.
    kafka::KafkaGroupMetadata metadata(rd_kafka_consumer_group_metadata(consumer_.get()));
    kafka::KafkaError err(rd_kafka_send_offsets_to_transaction(producer_.get(), offsets,
                                                        metadata.get(), timeout_ms));
    EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(err.get(), "sending offsets to the transaction"));
  }
  // A commit that times out is retried with the same call (librdkafka resumes
  // the commit in progress); it is never turned into an abort.
  for (int attempt = 1;; ++attempt) {
    kafka::KafkaError err(rd_kafka_commit_transaction(producer_.get(), timeout_ms));
    const Status s = kafka::FromKafkaError(err.get(), "committing the transaction");
    if (s.ok()) break;
    if (s.IsTimedOut() && attempt < kCommitRetries) {
      Log(LogLevel::kWarn, "stream-thread " + name_, s.ToString() + "; retrying the commit");
      continue;
    }
    return s;
  }
  transaction_open_ = false;
  return collector_.TakeError();
}

Status StreamThread::CommitAtLeastOnce(rd_kafka_topic_partition_list_t* offsets) {
  EVENTFLOW_RETURN_IF_ERROR(collector_.Flush(kClientTimeout));
  if (offsets->cnt == 0) return Status::OK();
  return kafka::FromKafkaError(rd_kafka_commit(consumer_.get(), offsets, /*async=*/0),
                        "committing offsets");
}

Status StreamThread::Rewind(const Status& cause) {
  Log(LogLevel::kWarn, "stream-thread " + name_,
      "rewinding to the last committed offsets after: " + cause.ToString());
  if (eos_ && transaction_open_) {
    kafka::KafkaError err(rd_kafka_abort_transaction(producer_.get(), 60'000));
    const Status s = kafka::FromKafkaError(err.get(), "aborting the transaction");
    if (!s.ok()) {
      if (s.code() == StatusCode::kFenced) return s;
      Log(LogLevel::kWarn, "stream-thread " + name_, s.ToString() + "; recreating the producer");
      EVENTFLOW_RETURN_IF_ERROR(CreateProducer());
    }
    transaction_open_ = false;
  } else if (cause.code() == StatusCode::kFatal) {
    EVENTFLOW_RETURN_IF_ERROR(CreateProducer());
  }
  (void)collector_.TakeError();
  // Seek every partition back and rebuild the tasks: their in-memory state
  // belonged to the output that was rolled back. A seek, not a new
  // assignment: assigning clears librdkafka's "assignment lost" state, and a
  // member whose session expired must still see its revocation as lost
  // (OnLost; a static member fenced by its own rejoin is then replaced, not
  // shut down). librdkafka 2.0.2 refuses a seek that races its own fetch
  // start/stop and then drops the partition's fetched records as outdated
  // (and takes a seek's time-out as microseconds, #4230): every partition's
  // result is checked, and a refused one is restarted by assigning again
  // unless the assignment is lost anyway.
  kafka::KafkaPartitionList assignment(rd_kafka_topic_partition_list_new(static_cast<int>(routes_.size())));
  for (const Route& r : routes_) {
    auto it = committed_.find({r.topic, r.partition});
    rd_kafka_topic_partition_list_add(assignment.get(), r.topic.c_str(), r.partition)->offset =
        it != committed_.end() ? it->second.offset : RD_KAFKA_OFFSET_BEGINNING;
  }
  kafka::KafkaPartitionList seek(rd_kafka_topic_partition_list_copy(assignment.get()));
  kafka::KafkaError err(rd_kafka_seek_partitions(consumer_.get(), seek.get(), 30'000));
  std::string refused = err ? rd_kafka_error_string(err.get()) : "";
  for (int i = 0; refused.empty() && i < seek->cnt; ++i) {
    if (seek->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      refused = std::string(seek->elems[i].topic) + " partition " +
                std::to_string(seek->elems[i].partition) + ": " +
                rd_kafka_err2str(seek->elems[i].err);
    }
  }
  if (!refused.empty() && !rd_kafka_assignment_lost(consumer_.get())) {
    Log(LogLevel::kWarn, "stream-thread " + name_,
        "seeking to the committed offsets failed (" + refused + "); assigning them again");
    EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(rd_kafka_assign(consumer_.get(), assignment.get()),
                                             "assigning the committed offsets again"));
  }
  CloseTasks();
  dirty_ = false;
  return CreateTasks(assignment.get());
}

Status StreamThread::CreateTasks(const rd_kafka_topic_partition_list_t* assignment) {
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
  // The record caches: the instance's share split evenly among the threads,
  // then among this thread's tasks (existing ones are resized).
  std::set<TaskId> assigned;
  for (int i = 0; i < assignment->cnt; ++i) {
    auto sub = shared_->subtopology_of_topic.find(assignment->elems[i].topic);
    if (sub != shared_->subtopology_of_topic.end()) {
      assigned.insert(TaskId{sub->second, assignment->elems[i].partition});
    }
  }
  if (options.memory_budget != nullptr && !assigned.empty()) {
    options.record_cache_bytes = options.memory_budget->record_cache_bytes() /
                                 static_cast<size_t>(config_.num_stream_threads) /
                                 assigned.size();
  }
  for (auto& [id, task] : tasks_) {
    EVENTFLOW_RETURN_IF_ERROR(task->ResizeCache(options.record_cache_bytes));
  }
  std::vector<StreamTask*> created;
  std::vector<StreamTask*> task_of(static_cast<size_t>(assignment->cnt), nullptr);
  for (int i = 0; i < assignment->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    auto sub = shared_->subtopology_of_topic.find(tp.topic);
    if (sub == shared_->subtopology_of_topic.end()) continue;
    const TaskId id{sub->second, tp.partition};
    auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      auto task = std::make_unique<StreamTask>(id, *shared_->topology,
                                               shared_->subtopologies[sub->second], options,
                                               &collector_);
      EVENTFLOW_RETURN_IF_ERROR(task->Init());
      created.push_back(task.get());
      it = tasks_.emplace(id, std::move(task)).first;
    }
    // Every partition first, so each holds the watermark back from the start.
    it->second->AddInputPartition(tp.topic, tp.partition);
    task_of[static_cast<size_t>(i)] = it->second.get();
  }
  for (int i = 0; i < assignment->cnt; ++i) {
    StreamTask* task = task_of[static_cast<size_t>(i)];
    if (task == nullptr) continue;
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    auto c = committed_.find({tp.topic, tp.partition});
    if (c != committed_.end()) {
      task->ResetPartition(tp.topic, tp.partition, c->second.offset, c->second.times.stream_time,
                           c->second.times.upstream_watermarks);
    }
    Route route{nullptr, tp.topic, tp.partition, task, nullptr};
    route.position = c != committed_.end() ? c->second.offset : -1;
    route.last_progress = Clock::now();
    routes_.push_back(std::move(route));
  }
  AttachPartitionQueues();
  // Stores catch up with their changelogs before the tasks process anything.
  return RestoreStores(created);
}

void StreamThread::MaybeCrash(CrashPoint point) {
  if (crash_point_ != point || ++crash_hits_ < crash_after_) return;
  Log(LogLevel::kWarn, "stream-thread " + name_,
      std::string("test fault injection: crashing at ") +
          (point == CrashPoint::kAfterKafkaCommit ? "after-kafka-commit" : "mid-restore"));
  ::_exit(137);
}

Status StreamThread::EnsureRestoreConsumer() {
  if (restore_consumer_) return Status::OK();
  // auto.offset.reset=error: a position below the log start (deleted while
  // restoring) is gap() in RestoreStores, never a silent jump to the end.
  auto props = kafka::BuildClientConfig(
      kafka::ClientRole::kRestoreConsumer,
      {.bootstrap_servers = config_.bootstrap_servers,
       .client_id = config_.application_id + "-" + name_ + "-restore",
       .group_id = config_.application_id + "-restore"},  // never joins or commits
      config_.kafka);
  if (!props.ok()) return props.status().WithContext("restore consumer");
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, *props);
  if (!consumer.ok()) return consumer.status().WithContext("restore consumer");
  restore_consumer_ = std::move(*consumer);
  return Status::OK();
}

Status StreamThread::RestoreStores(const std::vector<StreamTask*>& tasks) {
  // One pass over every changelog partition to restore: they are read
  // together, so the restart time is one fetch round trip, not one per store.
  struct Restoring {
    state::StateStore* store;
    std::string store_name;
    std::string topic;
    int32_t partition;
    std::string what;
    bool full;
    int64_t from;
    int64_t high;
    int64_t next;
    uint64_t restored = 0;
    int64_t remaining = 0;  // as last reported to restore_progress
    bool done = false;
    std::vector<kafka::KafkaMessage> batch;
    bool windowed = false;  // a window or session store: its changelog has time retention
  };
  RestoreProgress& progress = *shared_->restore_progress;
  std::vector<Restoring> restoring;
  for (StreamTask* task : tasks) {
    for (const auto& [name, store] : task->stores()) {
      const StoreSpec* spec = shared_->topology->FindStore(name);
      if (spec == nullptr || !spec->logging) continue;
      Restoring r{store.get(), name, ChangelogTopic(config_.application_id, name),
                  task->task_id().partition, "task " + task->task_id().ToString() + " store " + name,
                  true, 0, 0, 0, 0, 0, false, {}};
      r.windowed = spec->kind != StoreSpec::Kind::kKeyValue;
      if (store->OffsetStatus().ok()) {
        r.from = *store->CommittedOffset();
        r.full = false;
      } else {
        // A new store has no offset (normal); a corrupt one is worth a warning.
        const Status why = store->OffsetStatus();
        Log(why.IsNotFound() ? LogLevel::kInfo : LogLevel::kWarn, "restore",
            r.what + ": " + why.ToString() + "; wiping it for a full restore");
        EVENTFLOW_RETURN_IF_ERROR(store->Wipe());
      }
      restoring.push_back(std::move(r));
    }
  }
  if (restoring.empty()) return Status::OK();
  EVENTFLOW_RETURN_IF_ERROR(EnsureRestoreConsumer());
  rd_kafka_t* rk = restore_consumer_.get();
  const auto began = Clock::now();
  // Whatever way this returns, the remaining-records gauge goes back to 0.
  auto report = [&](Restoring& r, uint64_t restored, int64_t remaining) {
    progress.Add(r.store_name, restored, remaining - r.remaining);
    r.remaining = remaining;
  };
  struct ClearRemaining {
    std::vector<Restoring>* restoring;
    RestoreProgress* progress;
    ~ClearRemaining() {
      for (Restoring& r : *restoring) {
        if (r.remaining != 0) progress->Add(r.store_name, 0, -r.remaining);
      }
    }
  } clear_remaining{&restoring, &progress};
  // The changelog starts at `low`, above `from`, where the store needs it to
  // start: the records in between are gone. A window or session changelog
  // deletes by time (retention.ms counted from when each record was written,
  // see TaskChangelogWriter): expected, said at WARN. A key-value changelog is
  // compacted and never loses its head by itself: that is data loss, handled
  // by the data loss policy.
  auto gap = [&](Restoring& r, int64_t from, int64_t low) -> Status {
    const std::string range = "offsets " + std::to_string(from) + " to " +
                              std::to_string(low - 1) + " (up to " +
                              std::to_string(low - from) + " record(s))";
    const std::string where = r.what + ": changelog " + r.topic + " partition " +
                              std::to_string(r.partition) + " starts at offset " +
                              std::to_string(low) + ", ";
    if (r.windowed) {
      Log(LogLevel::kWarn, "restore",
          where + range + " were deleted by its time retention (retention.ms, counted from when " +
              "each record was written); restoring from " + std::to_string(low) +
              ": windows last written longer ago than that are not restored (they have expired " +
              "unless this application was stopped or idle that long)");
      return Status::OK();
    }
    const std::string what = where + range +
                             " are gone (deleted by DeleteRecords or a retention set on this "
                             "compacted topic): the store cannot be restored completely";
    if (config_.data_loss_policy == DataLossPolicy::kFail) {
      return Status::DataLoss(what + "; stopping (on-data-loss=fail). To restore from offset " +
                              std::to_string(low) +
                              " and count the records lost, restart with on-data-loss=skip");
    }
    Log(LogLevel::kError, "restore",
        what + "; restoring from offset " + std::to_string(low) +
            " (on-data-loss=skip), counted in eventflow_records_lost_total");
    shared_->lost_records->Add(r.topic, static_cast<uint64_t>(low - from));
    return Status::OK();
  };
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(restoring.size())));
  for (Restoring& r : restoring) {
    auto marks = kafka::QueryWatermarks(rk, r.topic, r.partition, std::chrono::seconds(30));
    if (!marks.ok()) return marks.status().WithContext(r.what + ": reading the end of the changelog");
    r.high = marks->high;
    const int64_t needed_from = r.full ? 0 : r.from;
    if (needed_from < marks->low) {
      EVENTFLOW_RETURN_IF_ERROR(gap(r, needed_from, marks->low));
      r.from = marks->low;
    }
    r.next = r.from;
    r.done = r.from >= r.high;
    report(r, 0, r.done ? 0 : r.high - r.from);
    if (!r.done) {
      rd_kafka_topic_partition_list_add(list.get(), r.topic.c_str(), r.partition)->offset = r.from;
    }
  }
  auto flush = [&](Restoring& r) -> Status {
    std::vector<state::ChangelogRecord> records;
    records.reserve(r.batch.size());
    for (const kafka::KafkaMessage& m : r.batch) {
      state::ChangelogRecord rec;
      rec.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) {
        rec.value = std::string_view(static_cast<const char*>(m->payload), m->len);
      }
      records.push_back(rec);
    }
    // The records are views into the messages: restore before releasing them.
    EVENTFLOW_RETURN_IF_ERROR(r.store->RestoreBatch(records, r.next).WithContext(r.what));
    r.restored += r.batch.size();
    report(r, r.batch.size(), std::max<int64_t>(0, r.high - r.next));
    r.batch.clear();
    MaybeCrash(CrashPoint::kMidRestore);
    return Status::OK();
  };
  if (list->cnt > 0) {
    EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(rd_kafka_assign(rk, list.get()), "restore"));
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    auto last_progress_log = Clock::now();
    auto pending = [&] {
      return std::any_of(restoring.begin(), restoring.end(),
                         [](const Restoring& r) { return !r.done; });
    };
    for (uint64_t polls = 0; pending(); ++polls) {
      if ((polls & 1023) == 0) {
        const auto now = Clock::now();
        if (now > deadline) return Status::TimedOut("restore did not finish in 5 minutes");
        if (now - last_progress_log >= std::chrono::seconds(10)) {
          last_progress_log = now;
          uint64_t restored = 0;
          int64_t remaining = 0;
          for (const Restoring& r : restoring) {
            restored += r.restored + r.batch.size();
            remaining += r.done ? 0 : std::max<int64_t>(0, r.high - r.next);
          }
          Log(LogLevel::kInfo, "restore",
              "stream-thread " + name_ + ": restoring " + std::to_string(restoring.size()) +
                  " store partition(s): " + std::to_string(restored) + " record(s) restored, " +
                  std::to_string(remaining) + " to go");
        }
      }
      kafka::KafkaMessage m(rd_kafka_consumer_poll(rk, 200));
      if (!m) continue;
      auto it = std::find_if(restoring.begin(), restoring.end(), [&](const Restoring& r) {
        return r.partition == m->partition && r.topic == rd_kafka_topic_name(m->rkt);
      });
      if (it == restoring.end()) continue;
      Restoring& r = *it;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Under read_committed the end is the last stable offset.
        r.next = std::max(r.next, static_cast<int64_t>(m->offset));
        EVENTFLOW_RETURN_IF_ERROR(flush(r));
        r.done = true;
        report(r, 0, 0);
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        // The head was deleted while we read it: go on from the new start.
        auto marks = kafka::QueryWatermarks(rk, r.topic, r.partition, std::chrono::seconds(30));
        if (!marks.ok()) return marks.status().WithContext(r.what + ": restoring from " + r.topic);
        EVENTFLOW_RETURN_IF_ERROR(flush(r));
        const int64_t low = std::max(marks->low, r.next);
        if (r.next < low) EVENTFLOW_RETURN_IF_ERROR(gap(r, r.next, low));
        r.next = low;
        kafka::KafkaPartitionList seek(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(seek.get(), r.topic.c_str(), r.partition)->offset = low;
        kafka::KafkaError err(rd_kafka_seek_partitions(rk, seek.get(), 30'000));
        EVENTFLOW_RETURN_IF_ERROR(kafka::FromKafkaError(err.get(), r.what + ": seeking " + r.topic));
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka::FromKafkaError(m->err, r.what + ": restoring from " + r.topic);
      }
      r.next = m->offset + 1;
      r.batch.push_back(std::move(m));
      if (r.batch.size() >= 10'000) EVENTFLOW_RETURN_IF_ERROR(flush(r));
    }
    rd_kafka_assign(rk, nullptr);
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count();
  for (const Restoring& r : restoring) {
    Log(LogLevel::kInfo, "restore",
        r.what + ": " + (r.full ? "full restore" : "tail replay") + " of " +
            std::to_string(r.restored) + " record(s) from offset " + std::to_string(r.from) +
            " (changelog end " + std::to_string(r.high) + "); all stores restored in " +
            std::to_string(ms) + " ms");
  }
  return Status::OK();
}

void StreamThread::CloseTasks() {
  // Partition queues go back to forwarding into the consumer queue before
  // their handles are dropped (librdkafka's advice for queues detached from
  // a high-level consumer, confluentinc/librdkafka#1335): a partition assigned
  // again later is never left with a queue nobody reads.
  if (consumer_) {
    kafka::KafkaQueue consumer_queue(rd_kafka_queue_get_consumer(consumer_.get()));
    for (Route& r : routes_) {
      if (r.queue && consumer_queue) rd_kafka_queue_forward(r.queue.get(), consumer_queue.get());
    }
  }
  for (auto& [id, task] : tasks_) task->Close();
  tasks_.clear();
  dropped_late_committed_.clear();
  routes_.clear();
  last_route_ = 0;
  stalled_partitions_.store(0, std::memory_order_relaxed);
}

Status StreamThread::OnRevoke() {
  SetState(ThreadState::kRebalancing);
  if (consumer_ && rd_kafka_assignment_lost(consumer_.get())) return OnLost();
  Status s = Status::OK();
  bool store_failed = false;
  if (dirty_ || transaction_open_) {
    s = Commit(&store_failed);
    if (!s.ok() && eos_ && transaction_open_) {
      kafka::KafkaError err(rd_kafka_abort_transaction(producer_.get(), 30'000));
      transaction_open_ = false;
    }
    dirty_ = false;
  }
  CloseTasks();
  committed_.clear();
  if (!s.ok() && !store_failed) {
    Log(LogLevel::kWarn, "stream-thread " + name_,
        "commit on revocation failed, the new owner resumes from the previous commit: " +
            s.ToString());
  }
  return s.code() == StatusCode::kFenced || store_failed ? s : Status::OK();
}

Status StreamThread::OnLost() {
  // The session expired (e.g. the process was stopped): the group has given
  // these partitions to other members, which resume from the last commit.
  // Whatever this thread did since then must not be committed — it is a
  // zombie's work — so the open transaction is aborted and the tasks are
  // closed without committing (Kafka Streams' handleLostAll).
  Log(LogLevel::kWarn, "stream-thread " + name_,
      std::string("assignment lost (consumer session expired): closing the tasks without "
                  "committing") +
          (eos_ && transaction_open_ ? " and aborting the open transaction" : ""));
  assignment_lost_ = true;
  Status s = Status::OK();
  if (eos_ && transaction_open_) {
    kafka::KafkaError err(rd_kafka_abort_transaction(producer_.get(), 30'000));
    transaction_open_ = false;
    s = kafka::FromKafkaError(err.get(), "aborting the transaction of lost partitions");
    if (!s.ok() && s.code() != StatusCode::kFenced) {
      Log(LogLevel::kWarn, "stream-thread " + name_, s.ToString() + "; recreating the producer");
      s = CreateProducer();
    }
  }
  (void)collector_.TakeError();
  dirty_ = false;
  CloseTasks();
  committed_.clear();
  return s;
}

Status StreamThread::OnAssign(rd_kafka_topic_partition_list_t* partitions) {
  // Committed offsets and stream times (read_committed consumers get stable offsets).
  // The coordinator answers UNSTABLE_OFFSET_COMMIT while a previous owner's
  // transaction with offsets for these partitions is open (a killed instance
  // that has not come back): librdkafka retries until the call's timeout, and
  // the broker aborts the transaction after transaction.timeout.ms (60 s) plus
  // its clean-up interval (10 s by default), longer than one call: retry a
  // time-out twice (Kafka Streams retries within task.timeout.ms, 5 min).
  kafka::KafkaPartitionList committed(nullptr);
  constexpr int kCommittedAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    committed.reset(rd_kafka_topic_partition_list_copy(partitions));
    Status s = kafka::FromKafkaError(
        rd_kafka_committed(consumer_.get(), committed.get(),
                           static_cast<int>(std::chrono::milliseconds(kClientTimeout).count())),
        "reading committed offsets");
    if (s.ok()) break;
    if (s.code() != StatusCode::kTimedOut || attempt == kCommittedAttempts) return s;
    Log(LogLevel::kWarn, "stream-thread " + name_,
        s.ToString() + " (an open transaction of the partitions' previous owner?); retrying");
  }
  committed_.clear();
  for (int i = 0; i < committed->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = committed->elems[i];
    if (tp.offset >= 0) {
      committed_[{tp.topic, tp.partition}] = Committed{tp.offset, ReadTimes(tp, name_)};
    }
  }
  assignment_lost_ = false;
  EVENTFLOW_RETURN_IF_ERROR(CreateTasks(partitions));
  Log(LogLevel::kInfo, "stream-thread " + name_,
      "assigned " + std::to_string(partitions->cnt) + " partition(s), " +
          std::to_string(tasks_.size()) + " task(s)");
  SetState(ThreadState::kRunning);
  return Status::OK();
}

void StreamThread::RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<StreamThread*>(opaque);
  Status s;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    s = self->OnAssign(partitions);
    // Explicit positions: the committed offsets OnAssign read, else the
    // beginning. librdkafka does not look them up again, and auto.offset.reset
    // (error) applies only to a position that is out of range.
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = partitions->elems[i];
      auto c = self->committed_.find({tp.topic, tp.partition});
      tp.offset = c != self->committed_.end() ? c->second.offset : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, partitions);
    self->AttachPartitionQueues();  // for partitions that had no queue before the assignment
  } else {
    s = self->OnRevoke();
    rd_kafka_assign(rk, nullptr);
  }
  if (!s.ok() && self->rebalance_error_.ok()) self->rebalance_error_ = s;
}


Status StreamThread::HandleOutOfRange(const std::string& topic, int32_t partition,
                                      int64_t offset) {
  auto marks = kafka::QueryWatermarks(consumer_.get(), topic, partition, std::chrono::seconds(30));
  if (!marks.ok()) {
    return marks.status().WithContext("topic " + topic + " partition " +
                                      std::to_string(partition) + ": position " +
                                      std::to_string(offset) + " is out of range");
  }
  const bool internal = shared_->repartition_partitions.count(topic) > 0;
  const std::string where = (internal ? "repartition topic " : "topic ") + topic +
                            " partition " + std::to_string(partition);
  // Records below the group's committed offset were processed, by this
  // member or another: their deletion (the owner's repartition purge, or
  // retention) loses nothing. A position below it is stale — e.g. this member's
  // session expired while it was stopped and another took the partition over
  // and purged it — and reading goes on from the committed offset (a stale
  // member's next commit is refused anyway).
  kafka::KafkaPartitionList committed(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(committed.get(), topic.c_str(), partition);
  if (rd_kafka_committed(consumer_.get(), committed.get(), 30'000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      committed->elems[0].offset >= marks->low && committed->elems[0].offset > offset) {
    const int64_t group_offset = committed->elems[0].offset;
    Log(LogLevel::kWarn, "stream-thread " + name_,
        where + ": position " + std::to_string(offset) + " is below the log start " +
            std::to_string(marks->low) + ", but the group has committed " +
            std::to_string(group_offset) +
            ": those records were processed; going on from the committed offset");
    EVENTFLOW_RETURN_IF_ERROR(RestartFetch(topic, partition, group_offset).WithContext(where));
    for (Route& r : routes_) {
      if (r.partition == partition && r.topic == topic) r.position = group_offset;
    }
    return Status::OK();
  }
  for (const Route& r : routes_) {
    if (r.partition != partition || r.topic != topic) continue;
    if (r.position > offset && r.position >= marks->low && r.position <= marks->high) {
      // Already handled: an error queued by an earlier fetcher of this
      // partition (every assignment restarts them all) before the thread
      // moved on. Nothing more is lost; make sure it fetches where expected.
      Log(LogLevel::kDebug, "stream-thread " + name_,
          where + ": out-of-range error for offset " + std::to_string(offset) +
              " after moving on to " + std::to_string(r.position) + "; ignored");
      return RestartFetch(topic, partition, r.position).WithContext(where);
    }
  }
  const kafka::OutOfRange gone = kafka::ExplainOutOfRange(where, "this application", offset, *marks);
  const int64_t resume = gone.resume;
  const uint64_t lost = gone.lost;
  const std::string& what = gone.what;
  if (config_.data_loss_policy == DataLossPolicy::kFail) {
    return Status::DataLoss(what + "; stopping (on-data-loss=fail). To go on from offset " +
                            std::to_string(resume) +
                            " and count the records lost, restart with on-data-loss=skip");
  }
  Log(LogLevel::kError, "stream-thread " + name_,
      what + "; going on from offset " + std::to_string(resume) +
          " (on-data-loss=skip), counted in eventflow_records_lost_total");
  if (lost > 0) shared_->lost_records->Add(topic, lost);
  EVENTFLOW_RETURN_IF_ERROR(RestartFetch(topic, partition, resume).WithContext(where));
  for (Route& r : routes_) {
    if (r.partition != partition || r.topic != topic) continue;
    r.position = resume;
    r.last_progress = Clock::now();
    // Commit the new position even if no record follows, so a restart does
    // not find (and count) the same gap again.
    if (r.task->AdvancePartitionTo(topic, partition, resume)) dirty_ = true;
  }
  auto c = committed_.find({topic, partition});
  if (c != committed_.end() && c->second.offset < resume) c->second.offset = resume;
  return Status::OK();
}

void StreamThread::MaybePurgeRepartitionTopics() {
  if (config_.repartition_purge_interval.count() == 0 || purge_in_flight_ ||
      shared_->repartition_partitions.empty()) {
    return;
  }
  const auto now = Clock::now();
  if (now - last_purge_ < config_.repartition_purge_interval) return;
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
  if (!purge_queue_) purge_queue_.reset(rd_kafka_queue_new(consumer_.get()));
  kafka::StartDeleteRecords(consumer_.get(), offsets, std::chrono::seconds(30), purge_queue_.get());
  purge_in_flight_ = true;
}

void StreamThread::ReapPurge() {
  kafka::KafkaEvent ev(rd_kafka_queue_poll(purge_queue_.get(), 0));
  if (!ev || rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_DELETERECORDS_RESULT) return;
  purge_in_flight_ = false;
  const Status s = kafka::DeleteRecordsOutcome(ev.get());
  if (!s.ok()) {
    // Not an error for processing: the records stay until the next purge.
    // Logged once per kind of failure (e.g. no permission to delete records).
    if (s.message() != last_purge_error_) {
      Log(LogLevel::kWarn, "stream-thread " + name_,
          "purging repartition topics: " + s.ToString() + "; retried at every purge");
      last_purge_error_ = s.message();
    }
    purged_.clear();
  } else {
    last_purge_error_.clear();
  }
}

void StreamThread::CheckStalls(Clock::time_point now) {
  const auto timeout = config_.partition_stall_timeout;
  for (Route& r : routes_) {
    if (now - r.last_progress < timeout || now < r.next_stall_check) continue;
    r.next_stall_check = now + std::min<Clock::duration>(timeout, std::chrono::seconds(10));
    // Nothing taken from this partition for the time-out: is there anything
    // to take? Its last stable offset (asked on the restore consumer's
    // connection: on the main consumer's it would wait behind the fetcher's
    // long poll) against where we are, and against the high watermark the
    // fetcher last saw: a fetcher that runs has seen the data (its cached
    // high watermark reaches the stable offset), so transaction markers and
    // aborted records past our position are no stall.
    if (!EnsureRestoreConsumer().ok()) return;
    auto marks = kafka::QueryWatermarks(restore_consumer_.get(), r.topic, r.partition,
                                 std::chrono::seconds(5));
    if (!marks.ok()) continue;  // the broker is away: asked again later
    int64_t cached_low = -1;
    int64_t cached_high = -1;
    rd_kafka_get_watermark_offsets(consumer_.get(), r.topic.c_str(), r.partition, &cached_low,
                                   &cached_high);
    const int64_t position = r.position >= 0 ? r.position : marks->low;
    const bool lagging = marks->high > position && cached_high < marks->high;
    if (!lagging) {
      r.last_progress = now;
      r.lag_seen = Clock::time_point{};
      continue;
    }
    // Seen lagging for the first time (e.g. records produced a moment ago,
    // their fetch response in flight): it gets a whole time-out to move.
    if (r.lag_seen == Clock::time_point{}) {
      r.lag_seen = now;
      r.lag_end = marks->high;
      continue;
    }
    // Still nothing taken, and the fetcher has not even seen what the broker
    // had a time-out ago.
    if (now - r.lag_seen < timeout || cached_high >= r.lag_end || r.stalled) continue;
    r.stalled = true;
    partition_stalls_total_.fetch_add(1, std::memory_order_relaxed);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - r.lag_seen);
    Log(LogLevel::kError, "stream-thread " + name_,
        "topic " + r.topic + " partition " + std::to_string(r.partition) +
            " is stalled: nothing taken for " + std::to_string(seconds.count()) +
            " s while the broker has records up to " + std::to_string(marks->high) +
            " past our position " + std::to_string(position) + " (the fetcher last saw " +
            std::to_string(cached_high) + "); restarting its fetch at " +
            std::to_string(position));
    const Status restarted = RestartFetch(r.topic, r.partition, -1);
    if (!restarted.ok()) {
      Log(LogLevel::kWarn, "stream-thread " + name_,
          restarted.WithContext("restarting the fetch of " + r.topic).ToString());
    }
  }
  CountStalled();
}

Status StreamThread::RestartFetch(const std::string& topic, int32_t partition, int64_t offset) {
  // A lost assignment is about to be revoked; assigning would hide that.
  if (rd_kafka_assignment_lost(consumer_.get())) return Status::OK();
  // A seek cannot do this: after an auto.offset.reset=error reset librdkafka
  // leaves the partition's fetcher stopped and refuses seeks on it. Assigning
  // again (every partition at the position the thread expects next: after the
  // last record taken, else the committed offset, else the beginning)
  // restarts every fetcher; records fetched but not taken are fetched again.
  kafka::KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(routes_.size())));
  for (const Route& r : routes_) {
    int64_t at = r.position;
    if (r.partition == partition && r.topic == topic && offset >= 0) at = offset;
    if (at < 0) {
      auto c = committed_.find({r.topic, r.partition});
      at = c != committed_.end() ? c->second.offset : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_topic_partition_list_add(list.get(), r.topic.c_str(), r.partition)->offset = at;
  }
  EVENTFLOW_RETURN_IF_ERROR(
      kafka::FromKafkaError(rd_kafka_assign(consumer_.get(), list.get()), "assigning again"));
  AttachPartitionQueues();
  return Status::OK();
}

void StreamThread::CountStalled() {
  int stalled = 0;
  for (const Route& r : routes_) stalled += r.stalled ? 1 : 0;
  stalled_partitions_.store(stalled, std::memory_order_relaxed);
}

}  // namespace eventflow::streams
