#include "eventflow/sinks/pg_sink.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "eventflow/core/log.h"
#include "eventflow/kafka/client_config.h"
#include "eventflow/kafka/dead_letter.h"
#include "eventflow/kafka/kafka_admin.h"
#include "eventflow/kafka/kafka_client.h"
#include "eventflow/sinks/pg_connection.h"
#include "eventflow/sinks/sink_schema.h"
#include "partition_stall_guard.h"
#include "sink_batch.h"

namespace eventflow::sinks {
namespace {

using kafka::FromKafkaError;
using kafka::KafkaHandle;
using kafka::KafkaPartitionList;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kComponent = "pg-sink";
constexpr std::string_view kStageDecode = "sink-decode";
constexpr std::string_view kStagePostgres = "sink-postgres";
constexpr int kKafkaTimeoutMs = 30'000;
// One question for a partition's end (progress line, stall guard); the
// broker away is asked again later.
constexpr std::chrono::seconds kEndQueryTimeout{5};
// Bad rows logged one by one per batch; the rest are only counted.
constexpr size_t kMaxBadRowsLogged = 10;

std::string Coordinates(std::string_view topic, int32_t partition, int64_t offset) {
  return std::string(topic) + " partition " + std::to_string(partition) + " offset " +
         std::to_string(offset);
}

}  // namespace

Status PgSinkOptions::Validate() const {
  if (bootstrap_servers.empty()) return Status::InvalidArgument("bootstrap_servers: not set");
  if (postgres_url.empty()) return Status::InvalidArgument("postgres_url: not set");
  if (group_id.empty()) return Status::InvalidArgument("group_id: must not be empty");
  if (batch_size == 0) return Status::InvalidArgument("batch_size: must be at least 1");
  if (batch_time.count() <= 0) return Status::InvalidArgument("batch_time: must be positive");
  if (dlq_topic.empty()) return Status::InvalidArgument("dlq_topic: must not be empty");
  if (dlq_partitions < 1) return Status::InvalidArgument("dlq_partitions: must be at least 1");
  if (progress_interval.count() <= 0) {
    return Status::InvalidArgument("progress_interval: must be positive");
  }
  if (partition_stall_timeout.count() < 0) {
    return Status::InvalidArgument("partition_stall_timeout: must not be negative, got " +
                                   std::to_string(partition_stall_timeout.count()) + " ms");
  }
  if (reconnect_backoff_min.count() <= 0 || reconnect_backoff_max < reconnect_backoff_min) {
    return Status::InvalidArgument("reconnect_backoff_min/max: need 0 < min <= max");
  }
  for (const TableSpec& table : PipelineTables()) {
    if (topic_prefix + std::string(table.name) == dlq_topic) {
      return Status::InvalidArgument("dlq_topic: \"" + dlq_topic + "\" is an input topic");
    }
  }
  // Exactly-once depends on the consumer's forced settings (isolation.level,
  // enable.auto.commit, auto.offset.reset): a pass-through that disagrees
  // with one is refused here, naming it.
  auto consumer = kafka::BuildClientConfig(kafka::ClientRole::kSinkConsumer, {}, kafka);
  return consumer.status();
}

PgSinkProbe::Snapshot PgSinkProbe::Read() const {
  Snapshot s;
  for (size_t t = 0; t < kTableCount; ++t) {
    s.rows_written[t] = rows_written_[t].load(std::memory_order_relaxed);
    s.rows_deleted[t] = rows_deleted_[t].load(std::memory_order_relaxed);
  }
  s.records_consumed = records_consumed_.load(std::memory_order_relaxed);
  s.dlq_records = dlq_records_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.fenced = fenced_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.partition_stalls = partition_stalls_.load(std::memory_order_relaxed);
  s.stalled_partitions = stalled_partitions_.load(std::memory_order_relaxed);
  for (size_t t = 0; t < kTableCount; ++t) {
    s.records_lost[t] = records_lost_[t].load(std::memory_order_relaxed);
  }
  s.topics = topics_;
  s.batch_duration = batch_duration_.Read();
  s.commit_duration = commit_duration_.Read();
  s.state = state_.load(std::memory_order_relaxed);
  s.postgres_connected = postgres_connected_.load(std::memory_order_relaxed);
  std::vector<Progress> progress;
  {
    std::lock_guard<std::mutex> lock(progress_mu_);
    progress = progress_;
  }
  s.consumer_statistics = statistics_->Latest();
  for (const Progress& p : progress) {
    PartitionLag& lag = s.partitions.emplace_back();
    lag.topic = topics_[p.table];
    lag.partition = p.partition;
    lag.stored_next = p.stored_next;
    // Both are lower bounds of the end: the statistics come every
    // statistics.interval.ms, but from the fetcher, which a stalled
    // partition's may no longer update; the sink's own questions come at
    // every progress line and stall check.
    int64_t end = p.end;
    int64_t log_start = -1;
    const kafka::PartitionStatistics* ps =
        s.consumer_statistics ? s.consumer_statistics->Find(lag.topic, lag.partition) : nullptr;
    if (ps != nullptr) {
      end = std::max(end, ps->ls_offset);
      log_start = ps->lo_offset;
    }
    if (end < 0) continue;
    lag.end = end;
    // No row yet: the sink starts at the log start.
    const int64_t from = p.stored_next >= 0 ? p.stored_next : log_start;
    if (from >= 0) lag.lag = std::max<int64_t>(0, lag.end - from);
  }
  return s;
}

void PgSinkProbe::PublishProgress(std::vector<Progress> progress) {
  std::lock_guard<std::mutex> lock(progress_mu_);
  progress_ = std::move(progress);
}

// ---------------------------------------------------------------------------

class PgSink::Runner {
 public:
  Runner(PgSinkOptions options, std::atomic<bool>* stop, PgSinkProbe* probe)
      : options_(std::move(options)),
        stop_(stop),
        probe_(probe),
        guard_(options_.partition_stall_timeout),
        writer_(&batch_) {
    for (size_t t = 0; t < kTableCount; ++t) {
      topics_[t] = options_.topic_prefix + std::string(PipelineTables()[t].name);
    }
  }

  Status Init();
  Status Run();
  Status RunLoop();

 private:
  struct PartitionState {
    bool assigned = false;
    bool stored = false;      // eventflow_sink_offsets has a row (as last read or written)
    int64_t stored_next = 0;  // its next_offset
    int64_t position = 0;     // next offset expected from Kafka
    bool in_batch = false;
    // Moved back under the sink: takes nothing until its fetch restarts there
    // (what arrives meanwhile comes from past the gap).
    bool held = false;
    int64_t end = -1;         // last stable offset as last asked (-1: not asked)
    PartitionStallGuard::Watch watch;
  };

  bool stopping() const { return stop_->load(std::memory_order_relaxed); }
  PartitionState& State(size_t table, int32_t partition) {
    auto& v = partitions_[table];
    if (static_cast<size_t>(partition) >= v.size()) v.resize(static_cast<size_t>(partition) + 1);
    return v[static_cast<size_t>(partition)];
  }
  int TableOf(const rd_kafka_message_t* msg) const {
    const char* name = rd_kafka_topic_name(msg->rkt);
    for (size_t t = 0; t < kTableCount; ++t) {
      if (topics_[t] == name) return static_cast<int>(t);
    }
    return -1;
  }

  // PostgreSQL.
  Status Connect();
  Status ReadStoredOffsets();
  Status RereadStoredOffsets();
  void MovePositionsToStored();
  Status Resync();
  Result<bool> RecoverBatch();
  void DropConnection() {
    conn_.reset();
    probe_->postgres_connected_.store(false, std::memory_order_relaxed);
  }
  // The assigned partitions' stored offsets, for the probe's lag (per batch).
  void PublishProgress() {
    std::vector<PgSinkProbe::Progress> progress;
    for (size_t t = 0; t < kTableCount; ++t) {
      for (size_t p = 0; p < partitions_[t].size(); ++p) {
        const PartitionState& ps = partitions_[t][p];
        if (!ps.assigned) continue;
        progress.push_back({t, static_cast<int32_t>(p), ps.stored ? ps.stored_next : -1, ps.end});
      }
    }
    probe_->PublishProgress(std::move(progress));
  }
  static int OnStatistics(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
    static_cast<Runner*>(opaque)->probe_->statistics_->Put(std::string_view(json, json_len));
    return 0;  // librdkafka frees the text
  }
  void Backoff(std::chrono::milliseconds* delay);

  // Kafka.
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  Status OnAssign(rd_kafka_topic_partition_list_t* partitions);
  void OnRevoke();
  Status CollectBatch();
  void AddRecord(const rd_kafka_message_t* msg);
  bool AdvanceToEnd(const rd_kafka_message_t* eof);
  Result<bool> HandleOutOfRange(const rd_kafka_message_t* msg);
  Status AssignAgain();
  void MaybeRewind(bool queue_drained);
  Status EnsureDlqTopic();
  Status SendDeadLetters();
  Result<int64_t> StableEnd(size_t table, int32_t partition);
  void CheckStalls();
  std::string FetcherView(const std::string& topic, int32_t partition) const;
  void MaybeLogProgress(Clock::time_point now);

  // Batches.
  Status CommitBatch();
  Status WriteOnce();
  Status CompareAndSetOffsets();
  void AfterCommit();
  void DiscardBatch();

  PgSinkOptions options_;
  std::atomic<bool>* stop_;
  PgSinkProbe* probe_;
  PartitionStallGuard guard_;
  std::array<std::string, kTableCount> topics_;
  KafkaHandle consumer_;
  KafkaHandle producer_;
  std::optional<PgConnection> conn_;
  bool ever_connected_ = false;
  std::array<std::vector<PartitionState>, kTableCount> partitions_;
  std::vector<std::pair<size_t, int32_t>> touched_;  // partitions with records in the batch
  SinkBatch batch_;
  BatchWriter writer_;
  RowDecoder decoder_;
  Status rebalance_error_;
  bool rewind_pending_ = false;  // held partitions wait for AssignAgain (MaybeRewind)
  std::atomic<uint64_t> delivery_failures_{0};
  std::string first_delivery_error_;
  rd_kafka_resp_err_t last_consumer_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  // Progress line (MaybeLogProgress).
  Clock::time_point progress_at_ = Clock::now();
  uint64_t progress_records_ = 0;
  uint64_t progress_batches_ = 0;
};

Status PgSink::Runner::Init() {
  // enable.partition.eof: the end of a partition tells where its last
  // transaction marker is (AdvanceToEnd); auto.offset.reset=error: records
  // deleted before the sink wrote them are HandleOutOfRange's.
  auto consumer_props = kafka::BuildClientConfig(
      kafka::ClientRole::kSinkConsumer,
      {.bootstrap_servers = options_.bootstrap_servers,
       .client_id = "eventflow-sink",
       .group_id = options_.group_id},
      options_.kafka);
  if (!consumer_props.ok()) return consumer_props.status();
  auto conf = kafka::BuildKafkaConf(*consumer_props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), this);
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Runner::OnRebalance);
  // Served by the consumer poll (the main queue is redirected to it below).
  rd_kafka_conf_set_stats_cb(conf->get(), &Runner::OnStatistics);
  auto consumer = kafka::CreateKafkaClient(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  rd_kafka_poll_set_consumer(consumer_.get());

  auto producer_props = kafka::BuildClientConfig(
      kafka::ClientRole::kSinkProducer,
      {.bootstrap_servers = options_.bootstrap_servers, .client_id = "eventflow-sink-dlq"},
      options_.kafka);
  if (!producer_props.ok()) return producer_props.status();
  auto pconf = kafka::BuildKafkaConf(*producer_props);
  if (!pconf.ok()) return pconf.status();
  rd_kafka_conf_set_opaque(pconf->get(), this);
  rd_kafka_conf_set_dr_msg_cb(pconf->get(), &Runner::OnDelivery);
  auto producer = kafka::CreateKafkaClient(RD_KAFKA_PRODUCER, std::move(*pconf));
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  return Status::OK();
}

// --- PostgreSQL ----------------------------------------------------------------

void PgSink::Runner::Backoff(std::chrono::milliseconds* delay) {
  const auto until = Clock::now() + *delay;
  while (!stopping() && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *delay = std::min(*delay * 2, options_.reconnect_backoff_max);
}

// Connects, retrying with capped exponential backoff until it works or the sink
// stops (Aborted). One log line when the outage starts, one when it ends.
Status PgSink::Runner::Connect() {
  std::chrono::milliseconds delay = options_.reconnect_backoff_min;
  const auto start = Clock::now();
  int attempts = 0;
  bool logged = false;
  while (!stopping()) {
    ++attempts;
    Result<PgConnection> conn = PgConnection::Connect(options_.postgres_url, options_.connect_timeout);
    Status s = conn.status();
    if (conn.ok()) {
      const std::array<std::optional<std::string_view>, 1> name = {options_.application_name};
      Result<PgResult> set =
          conn->Query("SELECT set_config('application_name', $1, false)", name);
      s = set.status();
      if (set.ok()) {
        conn_.emplace(std::move(*conn));
        probe_->postgres_connected_.store(true, std::memory_order_relaxed);
        if (ever_connected_) probe_->reconnects_.fetch_add(1, std::memory_order_relaxed);
        if (logged) {
          const auto seconds =
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
          Log(LogLevel::kInfo, kComponent,
              "PostgreSQL at " + conn_->target() + " reachable again after " +
                  std::to_string(attempts) + " attempts, " +
                  std::to_string(seconds.count()) + " ms");
        }
        ever_connected_ = true;
        return Status::OK();
      }
    }
    // A wrong password or a missing database will not fix itself at start-up.
    if (!ever_connected_ && s.IsInvalidArgument()) return s;
    if (!logged) {
      Log(LogLevel::kWarn, kComponent,
          s.message() + "; retrying with backoff (up to " +
              std::to_string(options_.reconnect_backoff_max.count()) + " ms) until it answers");
      logged = true;
    }
    Backoff(&delay);
  }
  return Status::Aborted("stopped while waiting for PostgreSQL");
}

Status PgSink::Runner::ReadStoredOffsets() {
  for (size_t t = 0; t < kTableCount; ++t) {
    for (PartitionState& ps : partitions_[t]) ps.stored = false;
    const std::array<std::optional<std::string_view>, 1> params = {topics_[t]};
    Result<PgResult> rows = conn_->Query(
        "SELECT partition, next_offset FROM eventflow_sink_offsets WHERE topic = $1", params);
    if (!rows.ok()) return rows.status();
    for (int r = 0; r < rows->rows(); ++r) {
      const int32_t partition = static_cast<int32_t>(std::stol(std::string(rows->Get(r, 0))));
      PartitionState& ps = State(t, partition);
      ps.stored = true;
      ps.stored_next = std::stoll(std::string(rows->Get(r, 1)));
    }
  }
  return Status::OK();
}

// (Re)connects when needed and reads eventflow_sink_offsets, for as long as
// PostgreSQL is away; Aborted when the sink stops meanwhile.
Status PgSink::Runner::RereadStoredOffsets() {
  while (true) {
    if (!conn_) EVENTFLOW_RETURN_IF_ERROR(Connect());
    Status s = ReadStoredOffsets();
    if (s.code() != StatusCode::kUnavailable) return s;
    DropConnection();
  }
}

// Moves every assigned partition outside the batch to its stored offset, as
// just read. Forward (another instance wrote past what we read): the records
// before it are ignored as they come. Back (another instance wrote less than
// the batch we dropped had read, or the rows were moved back by hand): the
// partition is held — it takes nothing — until MaybeRewind restarts the
// fetchers there. No seek: librdkafka 2.0.2 can lose one that meets a fetch
// start or stop, and then discard what it fetches without a word.
void PgSink::Runner::MovePositionsToStored() {
  for (size_t t = 0; t < kTableCount; ++t) {
    for (PartitionState& ps : partitions_[t]) {
      if (!ps.assigned || ps.in_batch) continue;
      const int64_t stored = ps.stored ? ps.stored_next : 0;
      if (stored < ps.position) {
        ps.held = true;
        rewind_pending_ = true;
      }
      ps.position = stored;
    }
  }
  PublishProgress();
}

// After being fenced, or when the stored offsets moved under us: the batch is
// not ours to write; go on from what PostgreSQL holds.
Status PgSink::Runner::Resync() {
  DiscardBatch();
  EVENTFLOW_RETURN_IF_ERROR(RereadStoredOffsets());
  MovePositionsToStored();
  return Status::OK();
}

// The connection broke during the batch (its COMMIT's outcome unknown) or was
// dropped before it: reconnects, re-reads the stored offsets and tells from the
// batch's partitions what happened. Returns true when the batch is to be
// written again (PostgreSQL still holds the offsets it started from), false
// when it is done: it landed (accounted here), or the offsets moved otherwise
// — another instance wrote — and the batch is dropped as after kFenced.
Result<bool> PgSink::Runner::RecoverBatch() {
  std::vector<std::pair<bool, int64_t>> before;
  before.reserve(touched_.size());
  for (const auto& [t, p] : touched_) {
    const PartitionState& ps = partitions_[t][static_cast<size_t>(p)];
    before.emplace_back(ps.stored, ps.stored_next);
  }
  EVENTFLOW_RETURN_IF_ERROR(RereadStoredOffsets());
  // Every touched partition's position differs from its offset before the
  // batch, so at most one of these holds.
  bool unchanged = true;
  bool landed = !touched_.empty();
  for (size_t i = 0; i < touched_.size(); ++i) {
    const PartitionState& ps = partitions_[touched_[i].first][static_cast<size_t>(touched_[i].second)];
    unchanged = unchanged && ps.stored == before[i].first &&
                (!ps.stored || ps.stored_next == before[i].second);
    landed = landed && ps.stored && ps.stored_next == ps.position;
  }
  if (landed) {
    Log(LogLevel::kInfo, kComponent, "the batch had landed before the connection broke");
    AfterCommit();
    MovePositionsToStored();
    return false;
  }
  if (unchanged) {
    MovePositionsToStored();
    return true;
  }
  probe_->fenced_.fetch_add(1, std::memory_order_relaxed);
  Log(LogLevel::kWarn, kComponent,
      "eventflow_sink_offsets moved while PostgreSQL was away: another sink instance wrote; "
      "going on from the stored offsets");
  DiscardBatch();
  MovePositionsToStored();
  return false;
}

// --- Kafka -------------------------------------------------------------------

void PgSink::Runner::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<Runner*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Status s = self->OnAssign(partitions);
    if (!s.ok() && self->rebalance_error_.ok() && s.code() != StatusCode::kAborted) {
      self->rebalance_error_ = s;
    }
    rd_kafka_assign(rk, partitions);
  } else {
    self->OnRevoke();
    rd_kafka_assign(rk, nullptr);
  }
}

Status PgSink::Runner::OnAssign(rd_kafka_topic_partition_list_t* partitions) {
  DiscardBatch();
  for (auto& v : partitions_) {
    for (PartitionState& ps : v) {
      ps.assigned = false;
      ps.held = false;
    }
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = partitions->elems[i];
    for (size_t t = 0; t < kTableCount; ++t) {
      if (topics_[t] == tp.topic) State(t, tp.partition).assigned = true;
    }
  }
  // The truth is in PostgreSQL: start where the last committed batch ended.
  const Status s = RereadStoredOffsets();
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = partitions->elems[i];
    tp.offset = RD_KAFKA_OFFSET_BEGINNING;
    for (size_t t = 0; t < kTableCount; ++t) {
      if (topics_[t] != tp.topic) continue;
      PartitionState& ps = State(t, tp.partition);
      if (ps.stored) tp.offset = ps.stored_next;
      ps.position = ps.stored ? ps.stored_next : 0;
      ps.end = -1;
      guard_.Reset(&ps.watch, ps.position);
    }
  }
  rewind_pending_ = false;
  probe_->stalled_partitions_.store(0, std::memory_order_relaxed);
  PublishProgress();
  Log(LogLevel::kInfo, kComponent,
      "assigned " + std::to_string(partitions->cnt) + " partition(s); resuming from the offsets "
      "stored in PostgreSQL");
  return s;
}

void PgSink::Runner::OnRevoke() {
  // The batch's offsets are not stored yet: whoever owns the partitions next
  // (maybe us) re-reads them from PostgreSQL.
  DiscardBatch();
  for (auto& v : partitions_) {
    for (PartitionState& ps : v) {
      ps.assigned = false;
      ps.held = false;
    }
  }
  rewind_pending_ = false;
  probe_->stalled_partitions_.store(0, std::memory_order_relaxed);
  PublishProgress();
  Log(LogLevel::kInfo, kComponent, "partitions revoked");
}

void PgSink::Runner::OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<Runner*>(opaque);
  if (self->delivery_failures_.fetch_add(1) == 0) {
    self->first_delivery_error_ = rd_kafka_err2str(msg->err);
  }
}

Status PgSink::Runner::EnsureDlqTopic() {
  const auto timeout = std::chrono::milliseconds(kKafkaTimeoutMs);
  Result<int> count = kafka::PartitionCount(producer_.get(), options_.dlq_topic, timeout);
  if (count.ok()) return Status::OK();
  if (!count.status().IsNotFound()) return count.status();
  const kafka::NewTopic topic{options_.dlq_topic, options_.dlq_partitions, -1, {}};
  return kafka::EnsureTopics(producer_.get(), std::span(&topic, 1), timeout);
}

void PgSink::Runner::AddRecord(const rd_kafka_message_t* msg) {
  const int t = TableOf(msg);
  if (t < 0) return;
  PartitionState& ps = State(static_cast<size_t>(t), msg->partition);
  // Records of partitions no longer ours, and records before our position (a
  // refetch after a seek), are not part of this batch.
  if (!ps.assigned || ps.held || msg->offset < ps.position) return;
  ps.position = msg->offset + 1;
  if (!ps.in_batch) {
    ps.in_batch = true;
    touched_.emplace_back(static_cast<size_t>(t), msg->partition);
  }
  const std::optional<std::string_view> key =
      msg->key == nullptr ? std::nullopt
                          : std::optional(std::string_view(static_cast<const char*>(msg->key),
                                                           msg->key_len));
  const std::optional<std::string_view> value =
      msg->payload == nullptr
          ? std::nullopt
          : std::optional(std::string_view(static_cast<const char*>(msg->payload), msg->len));
  const TableSpec& table = PipelineTables()[static_cast<size_t>(t)];
  TableBatch& tb = batch_.tables[static_cast<size_t>(t)];
  ++batch_.records;
  Status s;
  if (!key) {
    s = Status::InvalidArgument(std::string(table.name) +
                                " key: missing (records must be keyed by the table's key)");
  } else if (!value) {
    s = decoder_.DecodeKey(table, *key, &tb.rows);
  } else {
    s = decoder_.DecodeValue(table, *value, &tb.rows);
    if (s.ok()) {
      s = decoder_.CheckKey(table, *key, tb.rows, tb.rows.rows() - 1);
      if (!s.ok()) tb.rows.DropLast();
    }
  }
  if (!s.ok()) {
    batch_.AddBad(static_cast<size_t>(t), msg->partition, msg->offset, key, value, s.message(),
                  kStageDecode);
    return;
  }
  batch_.AddRow(static_cast<size_t>(t), msg->partition, msg->offset, key, value);
}

// Under read_committed the end of a partition (its last stable offset) lies past
// the last record read by the commit marker of the transaction that wrote it,
// and past aborted records, none of which reach the application. Everything
// before the end has been seen, so the stored offset may move to the end: then
// eventflow_sink_offsets equals the topics' end offsets when the sink is idle.
// Returns true when the batch now has something to store.
bool PgSink::Runner::AdvanceToEnd(const rd_kafka_message_t* eof) {
  const int t = eof->rkt != nullptr ? TableOf(eof) : -1;
  if (t < 0) return false;
  PartitionState& ps = State(static_cast<size_t>(t), eof->partition);
  if (!ps.assigned || ps.held || eof->offset <= ps.position) return false;
  ps.position = eof->offset;
  if (!ps.in_batch) {
    ps.in_batch = true;
    touched_.emplace_back(static_cast<size_t>(t), eof->partition);
  }
  return true;
}

// A position below the partition's log start: records deleted before the sink
// wrote them. kFail stops with DataLoss naming topic, partition, offsets and
// count; kSkip logs an ERROR, counts them (records_lost) and goes on from the
// log start, storing that position with the next batch (so a restart does not
// find and count the same gap again). Returns whether the batch now has
// something to store.
Result<bool> PgSink::Runner::HandleOutOfRange(const rd_kafka_message_t* msg) {
  const int t = TableOf(msg);
  if (t < 0) return false;
  const std::string& topic = topics_[static_cast<size_t>(t)];
  PartitionState& ps = State(static_cast<size_t>(t), msg->partition);
  if (ps.held) return false;  // from the fetcher before the rewind (MaybeRewind)
  const std::string where = topic + " partition " + std::to_string(msg->partition);
  auto marks = kafka::QueryWatermarks(consumer_.get(), topic, msg->partition,
                                      std::chrono::milliseconds(kKafkaTimeoutMs));
  if (!marks.ok()) return marks.status().WithContext(where + ": position out of range");
  const int64_t offset = msg->offset >= 0 ? msg->offset : ps.position;
  if (ps.assigned && ps.position > offset && ps.position >= marks->low &&
      ps.position <= marks->high) {
    // Already handled: an error queued by an earlier fetcher of this
    // partition (every assignment restarts them all) before the sink moved
    // on. Nothing more is lost; make sure the fetcher runs where expected.
    Log(LogLevel::kDebug, kComponent,
        where + ": out-of-range error for offset " + std::to_string(offset) +
            " after the sink moved on to " + std::to_string(ps.position) + "; ignored");
    EVENTFLOW_RETURN_IF_ERROR(AssignAgain().WithContext(where));
    return false;
  }
  const kafka::OutOfRange gone = kafka::ExplainOutOfRange(where, "the sink", offset, *marks);
  const int64_t resume = gone.resume;
  const uint64_t lost = gone.lost;
  const std::string& what = gone.what;
  if (options_.data_loss_policy == kafka::DataLossPolicy::kFail) {
    return Status::DataLoss(what + "; stopping (--on-data-loss=fail). To go on from offset " +
                            std::to_string(resume) +
                            " and count the records lost, restart with --on-data-loss=skip");
  }
  Log(LogLevel::kError, kComponent,
      what + "; going on from offset " + std::to_string(resume) +
          " (--on-data-loss=skip), counted in eventflow_records_lost_total");
  probe_->records_lost_[static_cast<size_t>(t)].fetch_add(lost, std::memory_order_relaxed);
  const bool moved = ps.assigned && resume != ps.position;
  if (moved) {
    ps.position = resume;
    if (!ps.in_batch) {
      ps.in_batch = true;
      touched_.emplace_back(static_cast<size_t>(t), msg->partition);
    }
  }
  EVENTFLOW_RETURN_IF_ERROR(AssignAgain().WithContext("resuming " + where));
  return moved;
}

// Restarts every fetcher: assigns every assigned partition again at the
// position the sink expects next — unless the assignment is lost (a
// revocation follows, and assigning would hide that). The one way the sink
// moves its fetchers after the assignment: after an "error" reset librdkafka
// stops fetching the partition and refuses seeks, a seek can be lost in a race
// with a fetch start or stop, and a stalled fetcher needs a new start.
// (Assigning outside the rebalance callback while a revocation is being
// delivered can trip librdkafka 2.0.2's assertion that a stopped partition was
// started, rdkafka_assignment.c:872: the paths here are rare — a stall, a
// stale out-of-range error, offsets moved back under the sink.)
Status PgSink::Runner::AssignAgain() {
  if (rd_kafka_assignment_lost(consumer_.get())) return Status::OK();
  KafkaPartitionList assignment(rd_kafka_topic_partition_list_new(12));
  for (size_t tt = 0; tt < kTableCount; ++tt) {
    for (size_t p = 0; p < partitions_[tt].size(); ++p) {
      const PartitionState& s = partitions_[tt][p];
      if (!s.assigned) continue;
      rd_kafka_topic_partition_list_add(assignment.get(), topics_[tt].c_str(),
                                        static_cast<int32_t>(p))
          ->offset = s.stored || s.position > 0 ? s.position : RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  EVENTFLOW_RETURN_IF_ERROR(
      FromKafkaError(rd_kafka_assign(consumer_.get(), assignment.get()), "assigning again"));
  for (auto& v : partitions_) {
    for (PartitionState& ps : v) ps.held = false;
  }
  rewind_pending_ = false;
  return Status::OK();
}

// Restarts the fetchers at the positions of held partitions (moved back under
// the sink) once the consumer's queue has been drained: a revocation already
// on its way is served first (it makes the rewind moot), rather than met by
// the new assignment in librdkafka (see AssignAgain). While the assignment is
// lost, the holds stay until the revocation. Should the queue never drain,
// the stall guard restarts the fetchers all the same.
void PgSink::Runner::MaybeRewind(bool queue_drained) {
  if (!rewind_pending_ || !queue_drained || rd_kafka_assignment_lost(consumer_.get())) return;
  Log(LogLevel::kInfo, kComponent,
      "reading again from the offsets stored in PostgreSQL (assigning the partitions again)");
  const Status s = AssignAgain();
  if (!s.ok()) Log(LogLevel::kWarn, kComponent, s.ToString());
}

Status PgSink::Runner::CollectBatch() {
  const auto poll_slice = std::chrono::milliseconds(100);
  std::optional<Clock::time_point> deadline;
  // Only the time spent here, waiting for records, counts for the stall guard.
  guard_.Resume(Clock::now());
  while (!stopping() && batch_.records < options_.batch_size) {
    auto wait = poll_slice;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) break;
      wait = std::min(wait, left);
    }
    kafka::KafkaMessage msg(
        rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(wait.count())));
    const Clock::time_point now = Clock::now();
    MaybeLogProgress(now);
    if (guard_.Tick(now)) CheckStalls();
    MaybeRewind(/*queue_drained=*/!msg);
    if (!rebalance_error_.ok()) {
      Status s = rebalance_error_;
      rebalance_error_ = Status::OK();
      return s;
    }
    if (!msg) continue;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (AdvanceToEnd(msg.get()) && !deadline) deadline = Clock::now() + options_.batch_time;
        continue;
      }
      if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && msg->rkt != nullptr) {
        auto moved = HandleOutOfRange(msg.get());
        guard_.Resume(Clock::now());  // it asked the broker
        if (!moved.ok()) return moved.status();
        if (*moved && !deadline) deadline = Clock::now() + options_.batch_time;
        continue;
      }
      if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
        return FromKafkaError(msg->err, "consumer");
      }
      if (msg->err != last_consumer_error_) {  // once per kind of trouble, not per poll
        last_consumer_error_ = msg->err;
        const char* topic = msg->rkt != nullptr ? rd_kafka_topic_name(msg->rkt) : nullptr;
        Log(LogLevel::kWarn, kComponent,
            FromKafkaError(msg->err, topic != nullptr ? "consuming " + std::string(topic)
                                                      : std::string("consumer"))
                .message());
      }
      continue;
    }
    last_consumer_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!deadline) deadline = Clock::now() + options_.batch_time;
    AddRecord(msg.get());
  }
  return Status::OK();
}

// The partition's last stable offset (the end a read_committed consumer
// reaches), asked now — on the dead-letter producer's connection: on the
// consumer's, ListOffsets waits behind the fetcher's long poll.
Result<int64_t> PgSink::Runner::StableEnd(size_t table, int32_t partition) {
  auto marks = kafka::QueryWatermarks(producer_.get(), topics_[table], partition,
                                      kEndQueryTimeout);
  if (!marks.ok()) return marks.status();
  return marks->high;
}

// What librdkafka's latest statistics say of the partition's fetcher (for a
// stall's log line).
std::string PgSink::Runner::FetcherView(const std::string& topic, int32_t partition) const {
  const auto stats = probe_->statistics_->Latest();
  const kafka::PartitionStatistics* ps = stats ? stats->Find(topic, partition) : nullptr;
  if (ps == nullptr) return "no statistics of its fetcher yet";
  return "its fetcher (statistics at " + std::to_string(stats->time) + " s): state " +
         ps->fetch_state + ", next offset " + std::to_string(ps->next_offset) + ", " +
         std::to_string(ps->fetchq_cnt) + " message(s) queued, last end of partition " +
         std::to_string(ps->eof_offset) + ", stable offset " + std::to_string(ps->ls_offset) +
         " as it last saw";
}

// The stall guard's round (partition_stall_guard.h), about once a second of
// time spent waiting for records: partitions whose position has not moved are
// checked against their end, asked fresh; a stalled one is logged, counted,
// and all are assigned again at their positions (restarting every fetcher).
void PgSink::Runner::CheckStalls() {
  bool asked = false;
  bool restart = false;
  for (size_t t = 0; t < kTableCount; ++t) {
    for (size_t p = 0; p < partitions_[t].size(); ++p) {
      PartitionState& ps = partitions_[t][p];
      if (!ps.assigned || !guard_.WantsEnd(&ps.watch, ps.position)) continue;
      const int32_t partition = static_cast<int32_t>(p);
      Result<int64_t> end = StableEnd(t, partition);
      asked = true;
      if (!end.ok()) {  // the broker is away: asked again later, not now for every partition
        Log(LogLevel::kDebug, kComponent, "stall guard: " + end.status().message());
        guard_.Postpone();
        break;
      }
      ps.end = *end;
      const PartitionStallGuard::Verdict verdict = guard_.Judge(&ps.watch, ps.position, *end);
      if (verdict != PartitionStallGuard::Verdict::kStalled &&
          verdict != PartitionStallGuard::Verdict::kStillStalled) {
        continue;
      }
      const bool again = verdict == PartitionStallGuard::Verdict::kStillStalled;
      if (!again) probe_->partition_stalls_.fetch_add(1, std::memory_order_relaxed);
      const auto still =
          std::chrono::duration_cast<std::chrono::seconds>(guard_.Still(ps.watch)).count();
      Log(LogLevel::kError, kComponent,
          topics_[t] + " partition " + std::to_string(p) + (again ? " is still" : " is") +
              " stalled: nothing received for " + std::to_string(still) +
              " s of waiting while the broker has records up to " + std::to_string(*end) +
              " past the sink's position " + std::to_string(ps.position) + " (stored " +
              (ps.stored ? std::to_string(ps.stored_next) : std::string("none")) + "); " +
              FetcherView(topics_[t], partition) + "; restarting its fetch at " +
              std::to_string(ps.position) + " by assigning the partitions again");
      restart = true;
    }
  }
  if (restart) {
    const Status s = AssignAgain();
    if (!s.ok()) Log(LogLevel::kWarn, kComponent, s.WithContext("stall guard").ToString());
  }
  int stalled = 0;
  for (const auto& v : partitions_) {
    for (const PartitionState& ps : v) stalled += ps.assigned && ps.watch.stalled ? 1 : 0;
  }
  probe_->stalled_partitions_.store(stalled, std::memory_order_relaxed);
  if (asked) {
    PublishProgress();
    guard_.Resume(Clock::now());  // the questions were no waiting for records
  }
}

// At most once per progress_interval, and only when batches were committed
// since the last line, or a partition's stored offset is behind its end (its
// last stable offset, asked now: an open transaction holds it back, aborted
// records and transaction markers are inside it), or a partition is stalled.
void PgSink::Runner::MaybeLogProgress(Clock::time_point now) {
  if (now - progress_at_ < options_.progress_interval) return;
  const PgSinkProbe::Snapshot snap = probe_->Read();
  const uint64_t records = snap.records_consumed - progress_records_;
  const uint64_t batches = snap.batches - progress_batches_;
  size_t assigned = 0;
  size_t behind = 0;
  size_t unknown = 0;
  int64_t behind_total = 0;
  std::string worst;
  int64_t worst_lag = 0;
  std::optional<Status> broker_away;
  for (size_t t = 0; t < kTableCount; ++t) {
    for (size_t p = 0; p < partitions_[t].size(); ++p) {
      PartitionState& ps = partitions_[t][p];
      if (!ps.assigned) continue;
      ++assigned;
      Result<int64_t> end = Status::Unavailable("not asked");
      if (!broker_away) {
        end = StableEnd(t, static_cast<int32_t>(p));
        if (!end.ok()) broker_away = end.status();
      }
      if (!end.ok()) {
        ++unknown;
        continue;
      }
      ps.end = *end;
      const int64_t stored = ps.stored ? ps.stored_next : 0;
      if (*end <= stored) continue;
      ++behind;
      behind_total += *end - stored;
      if (*end - stored > worst_lag) {
        worst_lag = *end - stored;
        worst = topics_[t] + " partition " + std::to_string(p) + ": stored " +
                std::to_string(stored) + ", read up to " + std::to_string(ps.position) +
                ", end " + std::to_string(*end);
      }
    }
  }
  PublishProgress();
  guard_.Resume(Clock::now());  // the questions were no waiting for records
  const int stalled = probe_->stalled_partitions_.load(std::memory_order_relaxed);
  if (batches == 0 && behind == 0 && unknown == 0 && stalled == 0) {  // idle, caught up: no line
    progress_at_ = now;
    return;
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - progress_at_).count() / 1000.0;
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f", seconds);
  std::string line = "progress: " + std::to_string(records) + " records in " +
                     std::to_string(batches) + " batches in the last " + elapsed + " s (" +
                     std::to_string(snap.records_consumed) + " records, " +
                     std::to_string(snap.batches) + " batches in all); ";
  if (behind == 0 && unknown == 0) {
    line += "all " + std::to_string(assigned) +
            " assigned partition(s) caught up with their stable ends";
  } else if (behind == 0) {
    line += "the stable ends of " + std::to_string(unknown) + " of " + std::to_string(assigned) +
            " assigned partition(s) unknown (" + broker_away->message() + ")";
  } else {
    line += std::to_string(behind) + " of " + std::to_string(assigned) +
            " assigned partition(s) behind their stable ends by " + std::to_string(behind_total) +
            " offset(s) in all, most " + worst;
    if (unknown > 0) {
      line += "; the ends of " + std::to_string(unknown) + " unknown (" + broker_away->message() +
              ")";
    }
  }
  if (stalled > 0) line += "; " + std::to_string(stalled) + " stalled (see the ERROR above)";
  Log(LogLevel::kInfo, kComponent, line);
  progress_at_ = now;
  progress_records_ = snap.records_consumed;
  progress_batches_ = snap.batches;
}

Status PgSink::Runner::SendDeadLetters() {
  if (batch_.bad.empty()) return Status::OK();
  const uint64_t failures_before = delivery_failures_.load();
  size_t logged = 0;
  for (const BadRecord& bad : batch_.bad) {
    const std::string& topic = topics_[bad.table];
    if (logged++ < kMaxBadRowsLogged) {
      Log(LogLevel::kWarn, kComponent,
          "bad row at " + Coordinates(topic, bad.partition, bad.offset) + " -> " +
              options_.dlq_topic + ": " + bad.error);
    }
    rd_kafka_headers_t* headers = rd_kafka_headers_new(5);
    const std::string partition = std::to_string(bad.partition);
    const std::string offset = std::to_string(bad.offset);
    auto add = [headers](std::string_view name, std::string_view value) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    };
    add(kafka::kDlqErrorHeader, bad.error);
    add(kafka::kDlqStageHeader, bad.stage);
    add(kafka::kDlqTopicHeader, topic);
    add(kafka::kDlqPartitionHeader, partition);
    add(kafka::kDlqOffsetHeader, offset);
    const std::string_view key = batch_.Raw(bad.key);
    const std::string_view value = batch_.Raw(bad.value);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(options_.dlq_topic.c_str()),
        RD_KAFKA_V_KEY(bad.key.present ? key.data() : nullptr, bad.key.present ? key.size() : 0),
        RD_KAFKA_V_VALUE(bad.value.present ? const_cast<char*>(value.data()) : nullptr,
                         bad.value.present ? value.size() : 0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // not taken over on failure
      return FromKafkaError(err, "sending a bad row to " + options_.dlq_topic);
    }
  }
  if (batch_.bad.size() > kMaxBadRowsLogged) {
    Log(LogLevel::kWarn, kComponent,
        std::to_string(batch_.bad.size() - kMaxBadRowsLogged) + " more bad row(s) in this batch");
  }
  EVENTFLOW_RETURN_IF_ERROR(FromKafkaError(rd_kafka_flush(producer_.get(), kKafkaTimeoutMs),
                                           "flushing the dead-letter topic " + options_.dlq_topic));
  if (delivery_failures_.load() != failures_before) {
    return Status::IOError("sending bad rows to " + options_.dlq_topic + " failed: " +
                           first_delivery_error_);
  }
  return Status::OK();
}

// --- Batches -----------------------------------------------------------------

void PgSink::Runner::DiscardBatch() {
  for (const auto& [t, p] : touched_) partitions_[t][static_cast<size_t>(p)].in_batch = false;
  touched_.clear();
  batch_.Clear();
}

Status PgSink::Runner::CompareAndSetOffsets() {
  for (const auto& [t, p] : touched_) {
    const PartitionState& ps = partitions_[t][static_cast<size_t>(p)];
    const std::string partition = std::to_string(p);
    const std::string next = std::to_string(ps.position);
    Result<PgResult> result = Status::Internal("unset");
    if (ps.stored) {
      const std::string expected = std::to_string(ps.stored_next);
      const std::array<std::optional<std::string_view>, 4> params = {topics_[t], partition, next,
                                                                     expected};
      result = conn_->Query(
          "UPDATE eventflow_sink_offsets SET next_offset = $3 "
          "WHERE topic = $1 AND partition = $2 AND next_offset = $4",
          params);
    } else {
      const std::array<std::optional<std::string_view>, 3> params = {topics_[t], partition, next};
      result = conn_->Query(
          "INSERT INTO eventflow_sink_offsets (topic, partition, next_offset) "
          "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
          params);
    }
    if (!result.ok()) return result.status();
    if (result->AffectedRows() != 1) {
      return Status::Fenced(
          "eventflow_sink_offsets for " + topics_[t] + " partition " + partition +
          " is no longer " +
          (ps.stored ? std::to_string(ps.stored_next) : std::string("absent")) +
          ": another sink instance wrote past this one (stale or fenced); not overwriting");
    }
  }
  return Status::OK();
}

// One attempt to write the batch in one transaction. On failure the
// transaction is rolled back (or the connection is gone) and nothing is stored.
Status PgSink::Runner::WriteOnce() {
  auto rollback_and = [this](Status s) {
    if (conn_ && !conn_->Execute("ROLLBACK").ok()) DropConnection();
    return s;
  };
  EVENTFLOW_RETURN_IF_ERROR(conn_->Execute("BEGIN"));
  Status s = CompareAndSetOffsets();
  if (!s.ok()) return rollback_and(s);
  s = writer_.WriteBulk(*conn_);
  if (s.IsInvalidArgument()) {
    // A row PostgreSQL rejects (class 22/23): find it by replaying row by row.
    s = rollback_and(Status::OK());
    EVENTFLOW_RETURN_IF_ERROR(conn_->Execute("BEGIN"));
    s = CompareAndSetOffsets();
    if (!s.ok()) return rollback_and(s);
    s = writer_.WriteRowByRow(*conn_, kStagePostgres);
  }
  if (!s.ok()) return rollback_and(s);
  s = SendDeadLetters();
  if (!s.ok()) return rollback_and(s);
  const Clock::time_point commit_start = Clock::now();
  s = conn_->Execute("COMMIT");
  if (s.ok()) {
    probe_->commit_duration_.Observe(
        std::chrono::duration<double>(Clock::now() - commit_start).count());
  }
  return s;
}

void PgSink::Runner::AfterCommit() {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(touched_.size())));
  for (const auto& [t, p] : touched_) {
    PartitionState& ps = partitions_[t][static_cast<size_t>(p)];
    ps.stored = true;
    ps.stored_next = ps.position;
    ps.in_batch = false;
    rd_kafka_topic_partition_list_add(list.get(), topics_[t].c_str(), p)->offset = ps.position;
  }
  touched_.clear();
  for (size_t t = 0; t < kTableCount; ++t) {
    probe_->rows_written_[t].fetch_add(writer_.written(t), std::memory_order_relaxed);
    probe_->rows_deleted_[t].fetch_add(writer_.deleted(t), std::memory_order_relaxed);
  }
  probe_->records_consumed_.fetch_add(batch_.records, std::memory_order_relaxed);
  probe_->dlq_records_.fetch_add(batch_.bad.size(), std::memory_order_relaxed);
  probe_->batches_.fetch_add(1, std::memory_order_relaxed);
  batch_.Clear();
  PublishProgress();
  // For lag monitoring only; PostgreSQL holds the truth.
  if (options_.commit_to_kafka && list->cnt > 0) rd_kafka_commit(consumer_.get(), list.get(), 1);
  if (options_.after_batch_for_testing) options_.after_batch_for_testing(consumer_.get());
}

// Writes the batch exactly once, or discards it and resynchronises from the
// stored offsets (the records come again). Returns non-OK only when stopping
// while PostgreSQL is unavailable (Aborted) or on an error that cannot heal.
Status PgSink::Runner::CommitBatch() {
  std::chrono::milliseconds delay = options_.reconnect_backoff_min;
  bool logged = false;
  const Clock::time_point start = Clock::now();
  while (true) {
    if (!conn_) {
      Result<bool> again = RecoverBatch();
      if (!again.ok()) return again.status();
      if (!*again) return Status::OK();
    }
    if (options_.before_transaction_for_testing) options_.before_transaction_for_testing();
    Status s = writer_.Prepare();
    if (s.ok()) s = WriteOnce();
    if (s.ok()) {
      if (logged) Log(LogLevel::kInfo, kComponent, "batch written after retrying");
      AfterCommit();
      probe_->batch_duration_.Observe(std::chrono::duration<double>(Clock::now() - start).count());
      return Status::OK();
    }
    probe_->retries_.fetch_add(1, std::memory_order_relaxed);
    switch (s.code()) {
      case StatusCode::kFenced:
        probe_->fenced_.fetch_add(1, std::memory_order_relaxed);
        Log(LogLevel::kWarn, kComponent, s.message() + "; re-reading the stored offsets");
        return Resync();
      case StatusCode::kUnavailable:
        // The COMMIT's outcome is unknown: the stored offsets tell (RecoverBatch).
        Log(LogLevel::kWarn, kComponent,
            "lost PostgreSQL during a batch (" + s.message() + "); reconnecting");
        DropConnection();
        continue;
      case StatusCode::kAborted:  // serialization failure or deadlock: just retry
        continue;
      default:
        if (!logged) {
          Log(LogLevel::kWarn, kComponent,
              "writing a batch failed: " + s.message() + "; retrying with backoff");
          logged = true;
        }
        Backoff(&delay);
        if (stopping()) {
          DiscardBatch();
          return Status::OK();
        }
    }
  }
}

Status PgSink::Runner::Run() {
  const Status result = RunLoop();
  probe_->state_.store(result.ok() ? PgSinkProbe::State::kStopped : PgSinkProbe::State::kFailed,
                       std::memory_order_relaxed);
  return result;
}

Status PgSink::Runner::RunLoop() {
  Status s = Connect();
  if (!s.ok()) return s.code() == StatusCode::kAborted ? Status::OK() : s;
  while (true) {
    s = EnsureSinkSchema(*conn_);
    if (s.ok()) break;
    if (s.code() != StatusCode::kUnavailable) return s;
    DropConnection();
    s = Connect();
    if (!s.ok()) return s.code() == StatusCode::kAborted ? Status::OK() : s;
  }
  EVENTFLOW_RETURN_IF_ERROR(EnsureDlqTopic());

  KafkaPartitionList topics(rd_kafka_topic_partition_list_new(kTableCount));
  for (const std::string& topic : topics_) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  EVENTFLOW_RETURN_IF_ERROR(
      FromKafkaError(rd_kafka_subscribe(consumer_.get(), topics.get()), "subscribing"));
  probe_->state_.store(PgSinkProbe::State::kRunning, std::memory_order_relaxed);
  Log(LogLevel::kInfo, kComponent,
      "consuming " + topics_[0] + ", " + topics_[1] + ", " + topics_[2] + ", " + topics_[3] +
          " as group " + options_.group_id + " into PostgreSQL at " + conn_->target());

  Status result;
  while (true) {
    s = CollectBatch();
    if (!s.ok()) {
      result = s;
      break;
    }
    if (!touched_.empty()) {
      s = CommitBatch();
      if (!s.ok() && s.code() != StatusCode::kAborted) {
        result = s;
        break;
      }
    }
    if (stopping()) break;
  }
  rd_kafka_consumer_close(consumer_.get());
  rd_kafka_flush(producer_.get(), kKafkaTimeoutMs);
  const PgSinkProbe::Snapshot snap = probe_->Read();
  Log(LogLevel::kInfo, kComponent,
      "stopped after " + std::to_string(snap.batches) + " batches, " +
          std::to_string(snap.records_consumed) + " records, " +
          std::to_string(snap.dlq_records) + " to the dead-letter topic");
  uint64_t lost = 0;
  for (uint64_t n : snap.records_lost) lost += n;
  if (lost > 0) {
    Log(LogLevel::kError, kComponent,
        std::to_string(lost) + " record(s) were deleted by the broker before the sink wrote "
        "them and were skipped (--on-data-loss=skip)");
  }
  return result;
}

// ---------------------------------------------------------------------------

Result<std::unique_ptr<PgSink>> PgSink::Create(PgSinkOptions options) {
  EVENTFLOW_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<PgSink> sink(new PgSink());
  for (size_t t = 0; t < kTableCount; ++t) {
    sink->probe_.topics_[t] = options.topic_prefix + std::string(PipelineTables()[t].name);
  }
  sink->runner_ = std::make_unique<Runner>(std::move(options), &sink->stop_, &sink->probe_);
  EVENTFLOW_RETURN_IF_ERROR(sink->runner_->Init());
  return sink;
}

PgSink::~PgSink() = default;

Status PgSink::Run() { return runner_->Run(); }

}  // namespace eventflow::sinks
